"""Meta Conversions API against a local receiver that checks requests as Meta documents them
(``tests/support/meta_receiver.py``): one event per converting call, hashing, fbc, the 7-day window,
Meta's error shape, test events, and Meta's own deduplication on ``event_id``."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.integrations.conversions.platform import (
    ClickIds,
    Consent,
    Conversion,
    Destination,
    DisableDestination,
)
from tests.support import meta_receiver

CALLER = "+14155550177"
FBCLID = "IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk"
DAY_MS = 86_400_000


@pytest.fixture
def meta(settings_env: Any) -> Iterator[meta_receiver.MetaReceiver]:
    with meta_receiver.running() as receiver:
        settings_env(META_GRAPH_BASE_URL=receiver.url, META_GRAPH_API_VERSION=receiver.version)
        yield receiver


def destination(receiver: meta_receiver.MetaReceiver, **settings: Any) -> Destination:
    return Destination(
        "dst_meta",
        "meta",
        {"pixel_id": receiver.pixel_id, **settings},
        {"access_token": receiver.token},
        local=True,
    )


def conversion(now_ms: int, **fields: Any) -> Conversion:
    base: dict[str, Any] = {
        "call_sid": "CA" + "1" * 32,
        "destination_id": "dst_meta",
        "rule_id": "rl_1",
        "action": "Lead",
        "occurred_at_ms": now_ms - 3_600_000,
        "value": 125.5,
        "currency": "USD",
        "click_ids": ClickIds(fbclid=FBCLID),
        "click_at_ms": now_ms - 4_000_000,
        "consent": Consent(ad_user_data="granted"),
        "caller_e164": CALLER,
    }
    return Conversion(**{**base, **fields})


def send(receiver: meta_receiver.MetaReceiver, batch: list[Conversion], now_ms: int, **settings: Any) -> list[Any]:
    from chalicelib.integrations.conversions import platforms

    return platforms.get("meta").send(destination(receiver, **settings), batch, now_ms)


def test_a_converting_call_is_one_phone_call_event_meta_accepts(meta: meta_receiver.MetaReceiver) -> None:
    # Given a call from a visit that clicked a Meta ad, with consent for ad user data
    now = int(time.time() * 1000)
    c = conversion(now)
    # When it is sent
    [outcome] = send(meta, [c], now)
    # Then Meta took one event, shaped as documented
    assert outcome.kind == "sent", outcome
    [event] = meta.events
    assert event["action_source"] == "phone_call"
    assert event["event_id"] == c.call_sid and event["event_name"] == "Lead"
    assert event["event_time"] == c.occurred_at_ms // 1000
    assert event["user_data"]["fbc"] == f"fb.1.{c.click_at_ms}.{FBCLID}"
    # the phone: digits with the country code, no "+", SHA-256 in lower-case hex (computed here, not by our code)
    assert event["user_data"]["ph"] == [hashlib.sha256(b"14155550177").hexdigest()]
    assert event["custom_data"] == {"value": 125.5, "currency": "USD"}
    # and the log's copy carries neither the token nor a whole phone hash
    assert meta.token not in outcome.sent and event["user_data"]["ph"][0] not in outcome.sent
    assert json.loads(outcome.answer)["events_received"] == 1


def test_no_consent_means_no_phone_and_no_fbclid_means_nothing_to_send(meta: meta_receiver.MetaReceiver) -> None:
    from chalicelib.integrations.conversions import platforms

    now = int(time.time() * 1000)
    # Given a call without consent (the shared layer leaves caller_e164 None) but with an fbclid
    [sent] = send(meta, [conversion(now, caller_e164=None, consent=Consent())], now)
    assert sent.kind == "sent" and "ph" not in meta.events[0]["user_data"]
    # Given one with neither: Meta could match it to no one, so nothing is sent and the log says why
    bare = conversion(now, call_sid="CA" + "2" * 32, caller_e164=None, click_ids=ClickIds())
    why = platforms.get("meta").why_not(bare, now, {"pixel_id": meta.pixel_id})
    assert why is not None and "no fbclid" in why
    assert send(meta, [bare], now)[0].kind == "final"
    assert meta.requests == 1


def test_calls_older_than_meta_s_seven_days_are_skipped_with_that_reason(meta: meta_receiver.MetaReceiver) -> None:
    now = int(time.time() * 1000)
    old = conversion(now, call_sid="CA" + "3" * 32, occurred_at_ms=now - 7 * DAY_MS - 60_000, click_at_ms=None)
    fresh = conversion(now)
    # When a batch holds an 8-day-old call beside a fresh one
    outcomes = send(meta, [old, fresh], now)
    # Then the old one is not sent (Meta would refuse the whole request) and says why; the fresh one goes
    assert [o.kind for o in outcomes] == ["final", "sent"]
    assert "7 days" in outcomes[0].reason
    assert [e["event_id"] for e in meta.events] == [fresh.call_sid]
    assert meta.refused == []


def test_one_bad_event_is_refused_alone_with_meta_s_words(meta: meta_receiver.MetaReceiver) -> None:
    now = int(time.time() * 1000)
    bad = conversion(now, call_sid="CA" + "4" * 32, currency="US")  # not ISO 4217
    good = conversion(now)
    outcomes = send(meta, [bad, good], now)
    assert [o.kind for o in outcomes] == ["final", "sent"]
    assert outcomes[0].reason.startswith("Meta: Invalid currency") and outcomes[0].code == "100/2804017"
    assert outcomes[0].status == 400
    assert [e["event_id"] for e in meta.events] == [good.call_sid]


def test_a_dead_token_disables_the_destination(meta: meta_receiver.MetaReceiver) -> None:
    from chalicelib.integrations.conversions import platforms

    now = int(time.time() * 1000)
    dead = Destination("dst_meta", "meta", {"pixel_id": meta.pixel_id}, {"access_token": "expired"}, local=True)
    with pytest.raises(DisableDestination, match="access token"):
        platforms.get("meta").send(dead, [conversion(now)], now)
    assert meta.events == []


def test_a_redelivered_event_is_counted_once(meta: meta_receiver.MetaReceiver) -> None:
    # Given Meta failing once (a 500: transient, the delivery tries again) ...
    now = int(time.time() * 1000)
    c = conversion(now)
    meta.fail_next = [500]
    assert send(meta, [c], now)[0].kind == "transient"
    # ... and the same conversion delivered twice more (a retry, then a duplicate after a lost answer)
    assert send(meta, [c], now)[0].kind == "sent"
    assert send(meta, [c], now)[0].kind == "sent"
    # Then Meta holds one event for the call: event_id is the call's sid
    assert [e["event_id"] for e in meta.events] == [c.call_sid]


def test_send_test_uses_the_test_event_code(meta: meta_receiver.MetaReceiver) -> None:
    from chalicelib.integrations.conversions import platforms

    now = int(time.time() * 1000)
    meta_platform = platforms.get("meta")
    result = meta_platform.send_test(destination(meta, test_event_code="TEST12345"), now)
    assert result.ok, result
    assert len(meta.test_events) == 1 and meta.events == []
    assert meta.test_events[0]["action_source"] == "phone_call"
    missing = meta_platform.send_test(destination(meta), now)
    assert not missing.ok and "test event code" in missing.messages[0]


def test_an_unknown_dataset_disables_the_destination(meta: meta_receiver.MetaReceiver) -> None:
    from chalicelib.integrations.conversions import platforms

    now = int(time.time() * 1000)
    wrong = Destination("dst_meta", "meta", {"pixel_id": "999999999"}, {"access_token": meta.token}, local=True)
    with pytest.raises(DisableDestination, match="dataset"):
        platforms.get("meta").send(wrong, [conversion(now), conversion(now, call_sid="CA" + "5" * 32)], now)
    assert meta.requests == 1  # not tried again event by event
