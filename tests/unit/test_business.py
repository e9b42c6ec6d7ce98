"""The business profile's formatting (``chalicelib.business``) and one name per source (``attribution``)."""

from __future__ import annotations

from decimal import Decimal

from chalicelib import attribution, business
from chalicelib.store.business import StoredProfile


def test_amounts_carry_the_business_currency_and_unknown_is_a_dash():
    assert business.money(1250, "USD") == "$1,250.00"
    assert business.money(Decimal("99.9"), "EUR") == "€99.90"
    assert business.money(12, "CHF") == "CHF 12.00"
    assert business.money(None, "USD") == "\u2013"


def test_phones_are_national_at_home_international_abroad_and_tappable():
    assert business.phone("+14155550177", "US") == "(415) 555-0177"
    assert business.phone("+442071838750", "US") == "+44 20 7183 8750"
    assert business.phone("+442071838750", "GB") == "020 7183 8750"
    assert business.phone("anonymous", "US") == "anonymous"
    assert business.tel("+14155550177") == "tel:+14155550177" and business.tel("anonymous") is None


def test_places_read_in_their_usual_case():
    assert business.place("SAN FRANCISCO", "CA", "US") == "San Francisco, CA, US"
    assert business.place("Portland", None, "") == "Portland"


def test_a_saved_profile_wins_over_the_settings_field_by_field():
    merged = business.merge(StoredProfile(currency="EUR", conversions=("sale",)))
    assert merged.currency == "EUR" and merged.conversions == ("sale",)
    assert merged.timezone == business.defaults().timezone
    assert business.conversions({"leads": 2, "sales": 1}, ("lead", "sale")) == 3


def test_one_name_per_source():
    web = {"confidence": "active", "pool_id": "pl_1", "source": {"utm_source": "google", "utm_medium": "cpc"}}
    web["channel_group"] = "paid search"
    assert attribution.call_source_name(web, "pool", "Website pool") == "Google"  # never the pool's name
    assert attribution.source_detail(web, "Website pool") == "cpc · paid search · via pool Website pool"
    static = {"confidence": "static", "channel_id": "ch_1", "channel_name": "Radio"}
    assert attribution.call_source_name(static, "channel", "Radio") == "Radio"
    assert attribution.source_name("web:paid search") == "Paid search"
    assert attribution.source_name("web:my-partner") == "My-partner"
    assert attribution.source_name("unknown") == "Unknown number"


def test_a_time_zone_is_an_iana_name_and_a_refusal_says_what_to_write():
    import pytest

    from chalicelib.core.errors import BadRequest

    assert business.check_zone(" America/Los_Angeles ") == "America/Los_Angeles"
    assert business.check_zone("UTC") == "UTC"
    for bad in ("Mars/Olympus", "America", "", None, "../../etc/passwd", "x" * 65):
        with pytest.raises(BadRequest, match="America/Los_Angeles"):
            business.check_zone(bad)


def test_a_rebuild_starts_at_the_table_start_and_reads_as_progress():
    rb = business.new_rebuild("Europe/London", 1_790_000_000_000)
    assert rb["state"] == "running" and rb["phase"] == "scan" and rb["cursor"] is None and rb["done"] == 0
    shown = business.progress("Europe/London", {**rb, "done": 40, "phase": "check"})
    assert shown["state"] == "running" and shown["phase"] == "check" and shown["calls_done"] == 40
    assert shown["started_at"].startswith("2026-") and shown["finished_at"] is None
    never = business.progress("UTC", {})
    assert never == {
        "timezone": "UTC",
        "state": "idle",
        "phase": None,
        "calls_done": 0,
        "calls_checked": 0,
        "started_at": None,
        "finished_at": None,
    }
    done = business.progress("UTC", {**rb, "state": "done", "phase": None, "finished_at": 1_790_000_060_000})
    assert done["phase"] is None and done["finished_at"]
