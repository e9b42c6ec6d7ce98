"""The pure cores, without a database: status ranks and results, a call's contribution to the
aggregates, the lease-end rule of attribution, TwiML building, the store's keys and cache.

Every test here runs with the store's connections replaced by one that fails the test, so a
core that quietly reads DynamoDB cannot pass.
"""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree

import pytest

from chalicelib import attribution, calls
from chalicelib.core import clock
from chalicelib.leasing import limits
from chalicelib.reports import aggregates
from chalicelib.routing import Route
from chalicelib.store import connections, keys
from chalicelib.store.cache import TTLCache
from chalicelib.store.models import CallModel
from chalicelib.voice import twiml

DAY = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # a Monday
T = int(DAY.timestamp() * 1000)


@pytest.fixture(autouse=True)
def no_database(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a pure core asked for a DynamoDB connection")

    monkeypatch.setattr(connections, "table", refuse)
    monkeypatch.setattr(connections, "transactions", refuse)
    monkeypatch.setattr(connections, "shared", refuse)


def call(**fields: object) -> CallModel:
    base: dict[str, object] = {"started_at": T, "caller": "+14155550111", "kind": "channel"}
    base["attribution"] = {"confidence": "static", "channel_id": "ch_radio", "source": {}}
    return CallModel("CA" + "a" * 32, **{**base, **fields})


# --- status ranks and results --------------------------------------------------------------


def test_status_ranks_only_move_forward_to_final() -> None:
    order = ["queued", "initiated", "ringing", "in-progress", "completed"]
    assert [calls.STATUS_RANK[s] for s in order] == sorted(calls.STATUS_RANK[s] for s in order)
    finals = {s for s, r in calls.STATUS_RANK.items() if r == calls.FINAL_RANK}
    assert finals == {"completed", "busy", "no-answer", "failed", "canceled"}


@pytest.mark.parametrize(
    ("fields", "result", "final"),
    [
        ({"status_rank": 2}, None, False),  # still ringing
        ({"status_rank": 4, "answered": True}, "answered", True),
        ({"status_rank": 4, "answered": False}, "missed", True),
        ({"status_rank": 4}, "missed", True),  # ended with no dial result at all
        ({"status_rank": 4, "answered": False, "voicemail": True}, "voicemail", True),
        ({"blocked": True}, "blocked", True),
        ({"status_rank": 3, "answered": False}, "missed", False),  # the dial failed; the call goes on
    ],
)
def test_result_of_a_call(fields: dict[str, object], result: str | None, final: bool) -> None:
    c = call(**fields)
    assert calls.result_of(c) == result
    assert calls.is_final(c) is final


# --- contributions to the aggregates ---------------------------------------------------------


def test_a_call_contributes_nothing_until_it_is_final() -> None:
    assert aggregates.contribution(call(status_rank=2, answered=True, talk_time=30)) == {}


def test_an_answered_call_adds_one_vector_to_last_and_first_touch() -> None:
    c = call(status_rank=4, answered=True, talk_time=30, duration=42, first_time=True, outcome="sale", revenue=125.5)
    c.first_touch = {"source_key": "web:google", "utm_campaign": "boilers"}
    got = aggregates.contribution(c)
    last = keys.aggregate_bucket("last", "ch_radio", "2026-11-02", spam=False)
    first = keys.aggregate_bucket("first", "web:google", "2026-11-02", spam=False)
    # a web source is counted per campaign, keyword, ad and landing page too (a channel is not)
    dims = {
        keys.dimension_bucket("first", "campaign", "web:google", "2026-11-02", "boilers", spam=False),
        keys.dimension_bucket("first", "keyword", "web:google", "2026-11-02", "(not set)", spam=False),
        keys.dimension_bucket("first", "ad", "web:google", "2026-11-02", "(not set)", spam=False),
        keys.dimension_bucket("first", "landing_page", "web:google", "2026-11-02", "(not set)", spam=False),
    }
    # and per local hour of its day, for the overview's "Today" chart (calls and their result only)
    hour = clock.local_hour(T, "UTC")
    hours = {
        keys.hour_bucket("last", "2026-11-02", hour, "ch_radio"),
        keys.hour_bucket("first", "2026-11-02", hour, "web:google"),
    }
    # and the same vector to each day's week (2026-11-02 is a Monday): reports read whole weeks
    weeks = {
        keys.week_bucket("last", "ch_radio", "2026-11-02", spam=False),
        keys.week_bucket("first", "web:google", "2026-11-02", spam=False),
    }
    assert set(got) == {last, first} | dims | hours | weeks
    assert all(got[h] == {"calls": 1, "answered": 1} for h in hours)
    vec = got[last]
    assert vec == got[first] and all(got[w] == vec for w in weeks)
    caller = vec.pop("caller")
    assert caller.endswith(":" + c.call_sid[-10:]) and "+1415" not in caller  # hashed, never the number
    assert vec == {
        "calls": 1,
        "answered": 1,
        "first_time": 1,
        "talk_time": 30,
        "answer_time": 12,
        "answer_timed": 1,
        "sales": 1,
        "revenue": "125.5",
    }


def test_spam_and_blocked_calls_go_to_the_spam_buckets() -> None:
    for c in (call(status_rank=4, outcome="spam"), call(blocked=True, kind="blocked")):
        got = aggregates.contribution(c)
        assert all(bucket.endswith("#spam") for bucket in got if not keys.is_number_bucket(bucket))
        assert not any(keys.is_hour_bucket(bucket) for bucket in got)  # spam is left out of the hours


def test_dimension_values_are_trimmed_capped_and_pages_are_host_and_path() -> None:
    assert aggregates.dimension_value("campaign", {"utm_campaign": "  spring   sale "}) == "spring sale"
    assert aggregates.dimension_value("keyword", {}) == "(not set)"
    assert aggregates.dimension_value("ad", {"utm_content": "x" * 500}) == "x" * aggregates.MAX_VALUE
    page = {"landing_page": "https://example.com/boilers?utm_source=google&gclid=1"}
    assert aggregates.dimension_value("landing_page", page) == "example.com/boilers"


def test_a_call_refused_by_a_full_day_counts_as_other() -> None:
    c = call(status_rank=4, answered=True, talk_time=30, kind="pool")
    c.attribution = {"confidence": "active", "source": {"utm_source": "google", "utm_campaign": "flood-1"}}
    got = aggregates.contribution(c, frozenset({("last", "campaign")}))
    other = keys.dimension_bucket("last", "campaign", "web:google", "2026-11-02", "(other)", spam=False)
    assert other in got
    assert aggregates._counted_as_other(got) == {("last", "campaign")}


def test_bucket_keys_round_trip() -> None:
    bucket = keys.aggregate_bucket("first", "web:google", "2026-11-02", spam=True)
    assert keys.split_bucket(bucket) == keys.Key(keys.aggregate("first", "web:google"), "2026-11-02#spam")
    assert keys.bucket_source(bucket) == "web:google"


# --- the lease-end rule ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call_at", "expected"),
    [(999, "active"), (1000, "active"), (1001, "late"), (1500, "late"), (1501, None)],
)
def test_lease_confidence(call_at: int, expected: str | None) -> None:
    # a lease that ended at 1000 ms, with a 500 ms grace window
    assert attribution.lease_confidence(call_at, 1000, 500) == expected


# --- what one client address holds ------------------------------------------------------------


def test_an_address_counts_a_number_until_the_number_shows_its_lease_ended() -> None:
    # Given an address whose item names five leases it started (one number twice), and two new leases this hour
    held = frozenset({"+12025550101|1", "+12025550102|2", "+12025550103|3", "+12025550104|4", "+12025550101|0"})
    addr = limits.Address(keys.lease_address("p1", "a1"), "a1", held, {"n2026110215": 2})
    assert addr.leases_in("2026-11-02T15") == 2 and addr.leases_in("2026-11-02T16") == 0
    # When it is under its cap, nothing is looked up: every entry counts
    assert addr.to_check(6) == [] and addr.holding() == 5
    # When it is at its cap, every number is looked up (once)
    assert addr.to_check(5) == ["+12025550101", "+12025550102", "+12025550103", "+12025550104"]
    found = {
        "+12025550101": limits.NumberLease("a1", T + 1),  # renewed since: still held (its newest entry)
        "+12025550102": limits.NumberLease("a1", T),  # ran out just now (the clock decides, not TTL)
        "+12025550103": limits.NumberLease("b2", T + 900_000),  # leased since by another address
        "+12025550104": limits.NumberLease(None, None),  # released
    }
    after = addr.checked(found, T)
    # Then only the lease still running counts: the older entry of a number taken again has ended
    assert after.gone == held - {"+12025550101|1"}
    assert after.holding() == 1 and after.to_check(5) == []
    # ... and a number that was not found at all no longer counts either
    assert addr.checked({}, T).holding() == 0


# --- TwiML ---------------------------------------------------------------------------------------

HOURS = {"timezone": "America/New_York", "weekly": {"mon": [["09:00", "17:00"]]}, "closed_dates": []}


def route(**flow: object) -> Route:
    return Route("channel", "ch_radio", "Radio", "+12025550144", True, "We record calls.", dict(flow))


def test_forward_discloses_records_and_dials_the_line() -> None:
    root = ElementTree.fromstring(twiml.forward(route(), "+14155550111", at=DAY))
    assert root[0].tag == "Say" and root[0].text == "We record calls."
    dial = root.find("Dial")
    assert dial is not None and dial.get("record") == "record-from-answer-dual"
    assert dial.get("callerId") == "+14155550111"
    assert dial.get("action", "").endswith("/twilio/dial-status?step=0")
    assert dial.findtext("Number") == "+12025550144"


def test_failover_then_message_after_the_last_phone() -> None:
    r = route(failover=["+12025550111"])
    second = ElementTree.fromstring(twiml.forward(r, None, step=1, at=DAY))
    assert second.findtext("Dial/Number") == "+12025550111" and second.find("Say") is None  # disclosed once
    done = ElementTree.fromstring(twiml.forward(r, None, step=2, at=DAY))
    assert done.findtext("Say") == twiml.MISSED_MESSAGE and done.find("Hangup") is not None


def test_after_hours_goes_to_voicemail() -> None:
    night = datetime(2026, 11, 3, 3, 0, tzinfo=UTC)  # 22:00 Monday in New York
    assert twiml.plan(route(hours=HOURS), night).action == "voicemail"
    assert twiml.plan(route(hours=HOURS), DAY).action == "dial"  # 10:00 in New York
    root = ElementTree.fromstring(twiml.forward(route(hours=HOURS), None, at=night))
    assert root.find("Record") is not None


def test_whisper_names_the_line_and_escapes_text() -> None:
    assert "Call from Radio &amp; TV" in twiml.whisper("Radio & TV", {})
    assert "a tracked number" in twiml.whisper(None, {})


# --- the cache ---------------------------------------------------------------------------------


def test_cache_expires_and_survives_a_clock_going_backwards() -> None:
    now = [100.0]
    cache: TTLCache[str] = TTLCache(30, max_entries=2, now=lambda: now[0])
    loads = []
    assert cache.get_or_load("a", lambda: loads.append("a") or "A") == "A"
    assert cache.get_or_load("a", lambda: loads.append("a") or "A") == "A"
    assert loads == ["a"]
    now[0] += 31
    assert cache.get("a") == (False, None)
    cache.put("a", "A")
    now[0] -= 5  # a clock moved back: the entry is not trusted
    assert cache.get("a") == (False, None)
    cache.put("b", "B")
    cache.put("c", "C")
    cache.put("d", "D")  # over max_entries: the oldest goes
    assert cache.get("b") == (False, None) and cache.get("d") == (True, "D")


def test_one_day_is_charted_by_hour_in_the_day_charts_source_order() -> None:
    from chalicelib.dashboard import overview

    day = {
        "sources": [
            {"source": "web:google", "label": "Google", "colour": "#1", "calls": [3]},
            {"source": "ch_radio", "label": "Radio", "colour": "#2", "calls": [1]},
        ]
    }
    hours = {
        "web:google": {9: {"calls": 2, "answered": 2}, 23: {"calls": 1, "missed": 1}},
        "ch_radio": {9: {"calls": 1, "voicemail": 1}},
    }
    chart = overview.hourly_chart(day, hours)
    assert (
        chart["hourly"] and len(chart["dates"]) == 24 and chart["dates"][0] == "0:00" and chart["dates"][23] == "23:00"
    )
    assert [s["label"] for s in chart["sources"]] == ["Google", "Radio"] and chart["sources"][0]["colour"] == "#1"
    assert (
        chart["sources"][0]["calls"][9] == 2
        and chart["sources"][0]["calls"][23] == 1
        and sum(chart["sources"][1]["calls"]) == 1
    )
    assert (
        chart["answered"][9] == 2
        and chart["voicemail"][9] == 1
        and chart["missed"][23] == 1
        and sum(chart["missed"]) == 1
    )
