"""The Meta and Metrica platforms' pure parts: registration, Meta's phone form and fbc, Metrica's
window, identifier column and formula-safe cells (no network: the receivers' tests send)."""

from __future__ import annotations

from chalicelib.integrations.conversions import platforms
from chalicelib.integrations.conversions.meta import events
from chalicelib.integrations.conversions.metrica import calls
from chalicelib.integrations.conversions.platform import ClickIds, Conversion, Platform

NOW = 1_796_000_000_000
DAY_MS = 86_400_000


def conversion(**fields: object) -> Conversion:
    base: dict[str, object] = {
        "call_sid": "CA" + "0" * 32,
        "destination_id": "dst",
        "rule_id": "rl",
        "action": "Lead",
        "occurred_at_ms": NOW - 60_000,
        "value": None,
        "currency": "EUR",
    }
    return Conversion(**{**base, **fields})  # type: ignore[arg-type]


def test_both_platforms_are_registered_and_satisfy_the_protocol() -> None:
    for name in ("meta", "metrica"):
        platform = platforms.get(name)
        assert isinstance(platform, Platform) and platform.name == name
    assert platforms.get("meta").window_days == 7 and platforms.get("metrica").window_days == 21
    assert getattr(platforms.get("metrica"), "send_every_minutes", 0) > 0  # files on a schedule, not per event


def test_meta_phone_is_digits_with_country_code_hashed_lower_hex() -> None:
    assert events.normalised_phone("+442071838750") == "442071838750"
    assert events.normalised_phone("not a phone") is None
    # SHA-256 of "442071838750", lower-case hex
    digest = events.hashed("442071838750")
    assert len(digest) == 64 and digest == digest.lower()


def test_fbc_is_the_click_time_in_ms_and_the_fbclid_as_given() -> None:
    assert events.fbc("AbC-d_1", NOW - 5_000, NOW) == f"fb.1.{NOW - 5_000}.AbC-d_1"
    assert events.fbc("AbC", None, NOW) == f"fb.1.{NOW}.AbC"  # no visit start known: the call's time
    assert events.fbc("AbC", NOW + 5_000, NOW) == f"fb.1.{NOW}.AbC"  # never after the event
    assert events.fbc("bad id!", NOW, NOW) is None and events.fbc(None, NOW, NOW) is None


def test_meta_window_and_what_it_cannot_match() -> None:
    week = 7 * DAY_MS
    with_click = {"click_ids": ClickIds(fbclid="abc")}
    assert events.why_not(conversion(**with_click), NOW, week) is None
    assert "7 days" in str(events.why_not(conversion(occurred_at_ms=NOW - week - 1, **with_click), NOW, week))
    assert "no fbclid" in str(events.why_not(conversion(), NOW, week))
    assert events.why_not(conversion(caller_e164="+14155550100"), NOW, week) is None
    assert "adjustments" in str(events.why_not(conversion(adjustment="retraction", **with_click), NOW, week))


def test_metrica_identifier_window_and_static_calls() -> None:
    window = 21 * DAY_MS
    assert calls.id_column(conversion(ym_client_id="123")) == "ClientId"
    assert calls.id_column(conversion(click_ids=ClickIds(yclid="987"))) == "Yclid"
    assert calls.id_column(conversion(ym_client_id="12a")) is None
    assert "not a number" in str(calls.why_not(conversion(ym_client_id="12a"), NOW, window))
    assert "no Metrica ClientID" in str(calls.why_not(conversion(), NOW, window))
    assert calls.why_not(conversion(static_call=True), NOW, window) is None
    old = conversion(ym_client_id="1", occurred_at_ms=NOW - window - 1)
    assert "21 days" in str(calls.why_not(old, NOW, window))


def test_text_cells_are_formula_safe_and_others_untouched() -> None:
    for hostile in ("=1+1", "+SUM(A1)", "-2", "@cmd", "\tx", "\rx"):
        assert calls.safe_text(hostile) == "'" + hostile
    assert calls.safe_text("https://shop.example/a") == "https://shop.example/a"
    assert calls.safe_text(None) == ""


def test_a_batch_becomes_one_file_per_identifier_column() -> None:
    batch = [
        conversion(click_ids=ClickIds(yclid="5")),
        conversion(ym_client_id="1"),
        conversion(static_call=True),
    ]
    assert dict(calls.files(batch)) == {"Yclid": [0], "ClientId": [1, 2]}
    body, content_type = calls.multipart(calls.csv_text(batch, [1, 2], "ClientId"))
    assert content_type.startswith("multipart/form-data; boundary=")
    assert b'name="file"' in body and b"ClientId,DateTime,PhoneNumber" in body
