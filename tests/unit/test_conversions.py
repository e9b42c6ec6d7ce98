"""Conversions' pure parts: rules, what each platform client writes and reads, no I/O."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from chalicelib.core.errors import BadRequest
from chalicelib.integrations.conversions import platform, platforms, rules
from chalicelib.integrations.conversions.ga4 import client as ga4
from chalicelib.integrations.conversions.google_ads import client as gads
from chalicelib.integrations.conversions.platform import ClickIds, Consent, Conversion

NOW = 1_790_000_000_000
HOUR = 3_600_000


def call(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "sid": "CA" + "1" * 32,
        "started_at": "2026-09-21T12:00:00.000Z",
        "caller": "+12025550123",
        "kind": "pool",
        "status": "completed",
        "answered": True,
        "talk_time": 60,
        "duration": 75,
        "first_time": True,
        "outcome": None,
        "revenue": None,
        "tags": [],
        "blocked": False,
        "attribution": {"confidence": "active", "source": {"gclid": "g1", "utm_source": "google"}},
    }
    return {**base, **kw}


def test_every_registered_platform_satisfies_the_protocol() -> None:
    for name in platforms.names():
        got = platforms.get(name)
        assert isinstance(got, platform.Platform) and got.name == name


def test_a_rule_is_checked_and_says_why_a_call_does_not_count() -> None:
    rule = rules.check({"action": "phone_call", "min_talk_seconds": 30, "outcomes": ["lead"], "currency": "eur"})
    assert rule["currency"] == "EUR" and rule["answered"] is True and rule["id"].startswith("ru_")
    assert rules.why_not(rule, call(outcome="lead")) is None
    assert rules.why_not(rule, call(outcome="sale")) == "outcome is not lead"
    assert rules.why_not(rule, call(outcome="lead", talk_time=10)) == "talk time under 30 s"
    assert rules.why_not(rule, call(outcome="lead", answered=False)) == "the call was not answered"
    assert rules.why_not(rule, call(outcome="spam")) == "a blocked or spam caller"
    static = call(outcome="lead", kind="channel", attribution={"confidence": "static", "channel_id": "ch1"})
    assert "static" in (rules.why_not(rule, static) or "")
    assert rules.why_not({**rule, "sources": ["web:google"]}, call(outcome="lead")) is None
    assert rules.why_not({**rule, "sources": ["web:bing"]}, call(outcome="lead")) is not None


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"action": ""},
        {"action": "x", "value": -1},
        {"action": "x", "currency": "EURO"},
        {"action": "x", "outcomes": ["won"]},
    ],
)
def test_a_bad_rule_is_a_400(bad: dict[str, Any]) -> None:
    with pytest.raises(BadRequest):
        rules.check(bad)


def test_the_value_is_the_revenue_when_the_rule_takes_it_else_the_fixed_one() -> None:
    rule = rules.check({"action": "x", "value": "12.50", "value_from_revenue": True})
    assert rules.value_of(rule, call()) == 12.5
    assert rules.value_of(rule, call(revenue=99.99)) == 99.99


def test_the_callers_number_goes_only_with_user_data_consent() -> None:
    rule = rules.check({"action": "x"})
    granted = call(attribution={"confidence": "active", "source": {"gclid": "g", "consent_ad_user_data": "granted"}})
    assert rules.conversion(granted, "d", rule).caller_e164 == "+12025550123"
    assert rules.conversion(call(), "d", rule).caller_e164 is None


def conv(**kw: Any) -> Conversion:
    base: dict[str, Any] = {
        "call_sid": "CA" + "2" * 32,
        "destination_id": "cd_1",
        "rule_id": "ru_1",
        "action": "customers/1234567890/conversionActions/9",
        "occurred_at_ms": NOW - HOUR,
        "value": 10.0,
        "currency": "USD",
        "click_ids": ClickIds(gclid="g1"),
        "click_at_ms": NOW - 2 * HOUR,
    }
    return Conversion(**{**base, **kw})


def test_google_ads_rows_carry_one_click_id_the_time_format_the_order_id_and_hashed_phone_with_consent() -> None:
    both = gads.click_conversion(conv(click_ids=ClickIds(gbraid="gb", wbraid="wb")), {})
    assert "gbraid" in both and "wbraid" not in both
    assert gads.date_time(NOW) == "2026-09-21 14:13:20+00:00"
    consented = conv(caller_e164="+1 (202) 555-0123", consent=Consent("granted", "denied"))
    row = gads.click_conversion(consented, {"enhanced_conversions": True})
    assert row["orderId"] == consented.call_sid and row["consent"] == {
        "adUserData": "GRANTED",
        "adPersonalization": "DENIED",
    }
    assert row["userIdentifiers"][0]["hashedPhoneNumber"] == hashlib.sha256(b"+12025550123").hexdigest()
    assert "userIdentifiers" not in gads.click_conversion(consented, {"enhanced_conversions": False})
    assert "…redacted" in gads.redact({"conversions": [row]})


def test_google_ads_takes_no_call_without_a_click_id_or_past_its_window() -> None:
    p = gads.PLATFORM
    assert "no Google click id" in (p.why_not(conv(click_ids=ClickIds()), NOW, {}) or "")
    old = conv(click_at_ms=NOW - 31 * 86_400_000)
    assert p.why_not(old, NOW, {"window_days": 90}) is None
    assert "30-day window" in (p.why_not(old, NOW, {"window_days": 30}) or "")


def test_google_ads_row_errors_are_read_by_their_index() -> None:
    answer = {
        "partialFailureError": {
            "details": [
                {
                    "errors": [
                        {
                            "errorCode": {"conversionUploadError": "TOO_RECENT_EVENT"},
                            "location": {"fieldPathElements": [{"fieldName": "conversions", "index": 1}]},
                        }
                    ]
                }
            ]
        }
    }
    assert gads._row_errors(answer, "conversions") == {1: [("TOO_RECENT_EVENT", "")]}


def test_ga4_sends_the_call_as_one_event_within_72_hours() -> None:
    c = conv(action="phone_call", ga_client_id="1.2", ga_session_id="3", talk_seconds=42)
    body = ga4.payload(c)
    assert body["client_id"] == "1.2" and body["timestamp_micros"] == c.occurred_at_ms * 1000
    assert body["events"][0]["params"] == {
        "engagement_time_msec": 42_000,
        "transaction_id": c.call_sid,
        "session_id": "3",
        "value": 10.0,
        "currency": "USD",
    }
    assert ga4.PLATFORM.why_not(c, NOW, {}) is None
    assert "72 hours" in (
        ga4.PLATFORM.why_not(conv(action="phone_call", ga_client_id="1.2", occurred_at_ms=NOW - 73 * HOUR), NOW, {})
        or ""
    )
    assert "reserves" in (ga4.event_name_problem("session_start") or "")
    json.dumps(body)
