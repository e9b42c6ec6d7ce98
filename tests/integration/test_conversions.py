"""Calls as conversions, against local receivers that check requests the way GA4 and Google Ads do.

The call events are fed to the subscribers Lambda-shaped (SQS records into the events' own
``delivery.deliver``), 3x duplicated and shuffled, with receivers that fail the first tries;
the calls the background jobs read are written to the calls table first.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

import pytest

from chalicelib import calls
from chalicelib.core import clock
from chalicelib.events import delivery as event_delivery
from chalicelib.events.model import Event, dumps, event_id
from chalicelib.integrations.alerts import schedule as alert_schedule
from chalicelib.integrations.conversions import delivery
from chalicelib.store import calls as calls_store
from chalicelib.store import conversions as conv_store
from chalicelib.store.models import CallModel
from tests.support.conversions import DEVELOPER_TOKEN, GA4Receiver, GoogleAdsReceiver
from tests.support.env import T0, body

CALLER = "+12025550123"
HOUR = 3_600_000
NOW = int(T0 * 1000)


@pytest.fixture
def conv(alerting: Any, settings_env: Any, ga4: GA4Receiver, google_ads: GoogleAdsReceiver, fake_clock: Any) -> Any:
    settings_env(
        GA4_BASE_URL=ga4.url,
        GOOGLE_ADS_API_BASE_URL=google_ads.url,
        GOOGLE_OAUTH_TOKEN_URL=google_ads.url + "/token",
        CONVERSIONS_BACKFILL_DAYS="0",
    )
    ga4.now_ms = NOW
    return alerting


def put_call(
    sid: str, started_ms: int, *, source: dict[str, Any] | None = None, static: bool = False, **fields: Any
) -> dict[str, Any]:
    """A final call in the calls table (as the voice webhook and callbacks leave it); its API view."""
    attribution = (
        {"confidence": "static", "channel_id": "ch_1"}
        if static
        else {
            "confidence": "active",
            "pool_id": "pl_1",
            "session_id": "s1",
            "lease_started_at": started_ms - 600_000,
            "source": source or {},
            "channel_group": "paid_search",
        }
    )
    values: dict[str, Any] = {
        "caller": CALLER,
        "called": "+12025550111",
        "kind": "channel" if static else "pool",
        "status": "completed",
        "answered": True,
        "talk_time": 60,
        "duration": 70,
        "first_time": True,
        "status_rank": calls.FINAL_RANK,
        **fields,
    }
    CallModel(sid, month=clock.month_key(started_ms), started_at=started_ms, attribution=attribution, **values).save()
    record = calls_store.get(sid, consistent=True)
    assert record is not None
    return calls.to_dict(record)


def event(call: dict[str, Any], kind: str, at: int, **changes: Any) -> Event:
    typ = f"call.{kind}"
    return Event(event_id(call["sid"], kind, str(at)), typ, call["sid"], at, call, changes)


def record(ev: Event, subscriber: str) -> dict[str, Any]:
    return {"body": dumps(ev, subscriber), "attributes": {"ApproximateReceiveCount": "1"}, "receiptHandle": "rh"}


def run_queue(records: list[dict[str, Any]], limit: int = 2000) -> int:
    """Deliver every record as the SQS event source would, a failed one coming back later. Tries made."""
    queue = list(records)
    tries = 0
    while queue:
        tries += 1
        assert tries < limit, "the queue never drained"
        rec = queue.pop(0)
        try:
            event_delivery.deliver(rec)
        except event_delivery.RetryLater:
            n = int(rec["attributes"]["ApproximateReceiveCount"]) + 1
            queue.append({**rec, "attributes": {"ApproximateReceiveCount": str(n)}})
    return tries


def create(api: Any, payload: dict[str, Any]) -> dict[str, Any]:
    answer = api.call("POST", "/v1/conversions/destinations", payload)
    assert answer.status_code == 201, answer.body
    return dict(body(answer))


def ga4_destination(api: Any, **extra: Any) -> dict[str, Any]:
    return create(
        api,
        {
            "platform": "ga4",
            "name": "GA4 site",
            "settings": {"measurement_id": "G-TEST1234"},
            "credentials": {"api_secret": "ga4-secret"},
            "rules": [
                {"action": "phone_call", "min_talk_seconds": 10, "value": 50, "currency": "usd"},
                {"action": "generate_lead", "outcomes": ["lead"], "value": 10, "value_from_revenue": True},
            ],
            "backfill_days": 0,
            **extra,
        },
    )


def google_destination(api: Any, **extra: Any) -> dict[str, Any]:
    return create(
        api,
        {
            "platform": "google_ads",
            "name": "Google Ads main",
            "settings": {
                "customer_id": "123-456-7890",
                "login_customer_id": "111-222-3333",
                "enhanced_conversions": True,
            },
            "credentials": {
                "developer_token": DEVELOPER_TOKEN,
                "client_id": "cid.apps.googleusercontent.com",
                "client_secret": "shh",
                "refresh_token": "1//refresh",
            },
            "rules": [{"action": "customers/1234567890/conversionActions/99", "value": 20, "value_from_revenue": True}],
            "backfill_days": 0,
            **extra,
        },
    )


# --- exactly once ------------------------------------------------------------------------------------


def test_a_month_of_calls_is_sent_exactly_once_under_tripled_shuffled_records_and_a_failing_receiver(
    api: Any, conv: Any, ga4: GA4Receiver
) -> None:
    # Given a GA4 destination with two rules, and a receiver that fails its first two requests
    dest = ga4_destination(api)
    ga4.fail_first = 2
    # And 24 calls of the last day: some missed, some short, some with no GA4 client id, some
    # static, half set to "lead" later (a call.updated after the call.completed)
    records = []
    expected: set[tuple[str, str]] = set()
    for i in range(24):
        sid = f"CA{i:032d}"
        started = NOW - i * HOUR
        source = {} if i % 3 == 0 else {"ga_client_id": f"{1000 + i}.1700000000", "ga_session_id": "1700000001"}
        answered = i % 4 != 1
        talk = 5 if i % 5 == 2 else 60
        static = i == 7
        call = put_call(sid, started, source=source, static=static, answered=answered, talk_time=talk)
        records.append(record(event(call, "completed", started + 80_000), f"conversion:{dest['id']}"))
        countable = answered and bool(source) and not static
        if countable and talk >= 10:
            expected.add(("phone_call", sid))
        if i % 2 == 0:
            lead = {**call, "outcome": "lead", "revenue": 125.5}
            records.append(
                record(
                    event(lead, "updated", started + 200_000, outcome=None, revenue=None), f"conversion:{dest['id']}"
                )
            )
            if countable:
                expected.add(("generate_lead", sid))
    # When every record arrives three times, in a shuffled order
    tripled = records * 3
    random.Random(29).shuffle(tripled)
    run_queue(tripled)
    # Then GA4 got each eligible (call, rule) exactly once, and nothing else
    got = [(ev["name"], ev["params"]["transaction_id"]) for b in ga4.got for ev in b["events"]]
    assert sorted(got) == sorted(expected)
    assert len(got) == len(set(got))
    assert ga4.dropped == []
    # And the lead's value is the call's revenue, the other rule's its fixed value, in the rule's currency
    lead_event = next(ev for b in ga4.got for ev in b["events"] if ev["name"] == "generate_lead")
    assert lead_event["params"]["value"] == 125.5 and lead_event["params"]["currency"] == "USD"
    call_event = next(ev for b in ga4.got for ev in b["events"] if ev["name"] == "phone_call")
    assert call_event["params"]["value"] == 50.0 and call_event["params"]["engagement_time_msec"] == 60_000
    # And a call with no client id says why in its log, in words
    log = body(api.call("GET", f"/v1/conversions/calls/CA{3:032d}"))
    assert any("no GA4 client id" in line["reason"] for line in log["log"])
    # And the destination's log shows the two failed tries and what was sent
    lines = body(api.call("GET", f"/v1/conversions/destinations/{dest['id']}/deliveries"))["deliveries"]
    assert sum(1 for x in lines if x["result"] == "transient" and "GA4 answered 500" in x["reason"]) == 2
    assert any(x["result"] == "sent" and '"client_id"' in x["sent"] for x in lines)


def test_calls_older_than_72_hours_are_skipped_for_ga4_with_that_reason(api: Any, conv: Any, ga4: GA4Receiver) -> None:
    dest = ga4_destination(api)
    old = put_call("CA" + "8" * 32, NOW - 80 * HOUR, source={"ga_client_id": "1.2"})
    run_queue([record(event(old, "completed", NOW - 80 * HOUR), f"conversion:{dest['id']}")])
    assert ga4.got == []
    states = body(api.call("GET", f"/v1/conversions/calls/{old['sid']}"))["conversions"]
    assert states[0]["status"] == "not_sent" and "72 hours" in states[0]["reason"]


# --- Google Ads -------------------------------------------------------------------------------------


def test_google_ads_uploads_reads_row_errors_retries_too_recent_after_6_hours_and_adjusts(
    api: Any, conv: Any, google_ads: GoogleAdsReceiver, fake_clock: Any
) -> None:
    dest = google_destination(api)
    sub = f"conversion:{dest['id']}"
    google_ads.recent.add("gclid-recent")
    google_ads.expired.add("gclid-old")
    consent = {"consent_ad_user_data": "granted", "consent_ad_personalization": "denied"}
    c_ok = put_call("CA" + "1" * 32, NOW - HOUR, source={"gclid": "gclid-ok", **consent})
    c_recent = put_call("CA" + "2" * 32, NOW - HOUR, source={"gclid": "gclid-recent"})
    c_old = put_call("CA" + "3" * 32, NOW - HOUR, source={"gclid": "gclid-old"})
    c_braid = put_call("CA" + "4" * 32, NOW - HOUR, source={"gbraid": "gb-1", "wbraid": "wb-1"})
    c_none = put_call("CA" + "5" * 32, NOW - HOUR, source={"utm_source": "google"})
    c_static = put_call("CA" + "6" * 32, NOW - HOUR, static=True)
    records = [
        record(event(c, "completed", NOW - HOUR + 80_000), sub)
        for c in (c_ok, c_recent, c_old, c_braid, c_none, c_static)
    ]
    run_queue(records * 2)
    # Google took the two it can, each once, as Google's own proto parses them
    assert set(google_ads.conversions) == {c_ok["sid"], c_braid["sid"]}
    ok_row = google_ads.conversions[c_ok["sid"]]
    assert ok_row["conversionAction"] == "customers/1234567890/conversionActions/99"
    assert ok_row["orderId"] == c_ok["sid"] and ok_row["conversionValue"] == 20.0 and ok_row["currencyCode"] == "USD"
    assert ok_row["consent"] == {"adUserData": "GRANTED", "adPersonalization": "DENIED"}
    assert ok_row["userIdentifiers"] == [{"hashedPhoneNumber": hashlib.sha256(CALLER.encode()).hexdigest()}]
    braid_row = google_ads.conversions[c_braid["sid"]]
    assert "gbraid" in braid_row and "wbraid" not in braid_row and "gclid" not in braid_row
    assert "userIdentifiers" not in braid_row  # no consent on that visit: no phone, hashed or not
    assert all(h.get("login-customer-id") == "1112223333" for _, h, _ in google_ads.requests)
    # The too-recent one waits for the later schedule; the expired one is final, in words
    states = {s["status"] for s in body(api.call("GET", f"/v1/conversions/calls/{c_recent['sid']}"))["conversions"]}
    assert states == {"later"}
    old_state = body(api.call("GET", f"/v1/conversions/calls/{c_old['sid']}"))["conversions"][0]
    assert (
        old_state["status"] == "final"
        and "older than the conversion action's click-through window" in old_state["reason"]
    )
    none_state = body(api.call("GET", f"/v1/conversions/calls/{c_none['sid']}"))["conversions"][0]
    assert none_state["status"] == "not_sent" and "no Google click id" in none_state["reason"]
    # Before 6 hours nothing is due; after them (and Google now takes the click) it is sent once
    assert delivery.run_later()["due"] == 0
    fake_clock.advance(6 * 3600 + 60)
    google_ads.recent.clear()
    delivery.run_later()
    delivery.run_later()
    assert c_recent["sid"] in google_ads.conversions
    assert google_ads.rows_sent().count(c_old["sid"]) == 1  # never retried
    # An outcome changed after upload: a restatement, once, even when its record comes twice
    at = clock.now_ms()
    richer = {**c_ok, "outcome": "sale", "revenue": 150.0}
    run_queue([record(event(richer, "updated", at, revenue=None), sub)] * 3)
    assert [a["adjustmentType"] for a in google_ads.adjustments] == ["RESTATEMENT"]
    assert google_ads.adjustments[0]["restatementValue"] == {"adjustedValue": 150.0, "currencyCode": "USD"}
    # A stale call.completed arriving after it restates nothing
    run_queue([record(event(c_ok, "completed", NOW - HOUR + 80_000), sub)])
    assert len(google_ads.adjustments) == 1


def test_an_answer_lost_to_our_timeout_then_already_exists_counts_as_delivered(
    api: Any, conv: Any, google_ads: GoogleAdsReceiver
) -> None:
    dest = google_destination(api)
    google_ads.lose_answer_first = 1
    c = put_call("CA" + "7" * 32, NOW - HOUR, source={"gclid": "gclid-lost"})
    run_queue([record(event(c, "completed", NOW), f"conversion:{dest['id']}")])
    state = body(api.call("GET", f"/v1/conversions/calls/{c['sid']}"))["conversions"][0]
    assert state["status"] == "sent" and "already had it" in state["reason"]
    assert len(google_ads.conversions) == 1


def test_invalid_grant_disables_the_destination_and_raises_events_stuck_naming_it(
    api: Any, conv: Any, google_ads: GoogleAdsReceiver
) -> None:
    dest = google_destination(api)
    google_ads.invalid_grant = True
    c = put_call("CA" + "9" * 32, NOW - HOUR, source={"gclid": "gclid-x"})
    run_queue([record(event(c, "completed", NOW), f"conversion:{dest['id']}")])
    shown = body(api.call("GET", f"/v1/conversions/destinations/{dest['id']}"))
    assert shown["enabled"] is False and "invalid_grant" in shown["disabled_reason"]
    assert "Testing" in shown["disabled_reason"]
    found = [(kind, alert) for _, kind, alert in alert_schedule.conditions(clock.now_ms()) if kind == "events_stuck"]
    assert any("Google Ads main" in json.dumps(alert) for _, alert in found)
    # Nothing more is queued for it (the gate), until a person turns it on again
    assert delivery.wanted_types() == set()


def test_failures_past_the_retries_are_logged_as_given_up_and_alerted(
    api: Any, conv: Any, google_ads: GoogleAdsReceiver, settings_env: Any
) -> None:
    settings_env(CONVERSIONS_RETRY_SECONDS="1,1")
    dest = google_destination(api)
    google_ads.fail_first = 10
    c = put_call("CA" + "a" * 32, NOW - HOUR, source={"gclid": "gclid-y"})
    run_queue([record(event(c, "completed", NOW), f"conversion:{dest['id']}")])
    state = body(api.call("GET", f"/v1/conversions/calls/{c['sid']}"))["conversions"][0]
    assert state["status"] == "failed" and "given up after 3 tries" in state["reason"]
    assert body(api.call("GET", f"/v1/conversions/destinations/{dest['id']}"))["stuck"]["count"] == 1
    assert any(kind == "events_stuck" for _, kind, _ in alert_schedule.conditions(clock.now_ms()))


# --- the API, send test, pause, backfill -------------------------------------------------------------


def test_credentials_are_set_once_and_never_shown_and_bad_input_is_a_400(api: Any, conv: Any) -> None:
    dest = ga4_destination(api)
    text = json.dumps(body(api.call("GET", "/v1/conversions/destinations")))
    assert "ga4-secret" not in text and dest["credentials"] == {
        "api_secret": {"set": True, "set_at": dest["created_at"]}
    }
    for bad, words in (
        ({"platform": "myspace"}, "'platform' must be one of"),
        ({"platform": "ga4", "settings": {"measurement_id": "UA-1"}}, "measurement id"),
        (
            {"platform": "ga4", "settings": {"measurement_id": "G-ABCDEF"}, "rules": [{"action": "session_start"}]},
            "reserves",
        ),
        (
            {
                "platform": "ga4",
                "settings": {"measurement_id": "G-ABCDEF"},
                "rules": [{"action": "x", "static_calls": True}],
            },
            "static",
        ),
        ({"platform": "google_ads", "settings": {"customer_id": "12a"}}, "customer id"),
        (
            {"platform": "google_ads", "settings": {"customer_id": "1234567890"}, "rules": [{"action": "buy"}]},
            "resource name",
        ),
        (
            {"platform": "ga4", "settings": {"measurement_id": "G-ABCDEF"}, "credentials": {"password": "x"}},
            "unknown credential",
        ),
    ):
        answer = api.call("POST", "/v1/conversions/destinations", bad)
        assert answer.status_code == 400, (bad, answer.body)
        assert words in body(answer)["error"]["message"], body(answer)
    assert (
        api.call("PUT", f"/v1/conversions/destinations/{dest['id']}/credentials", {"api_secret": "new"}).status_code
        == 200
    )
    assert "new" not in json.dumps(body(api.call("GET", f"/v1/conversions/destinations/{dest['id']}")))


def test_send_test_shows_ga4s_validation_messages(api: Any, conv: Any, ga4: GA4Receiver) -> None:
    dest = ga4_destination(api)
    ok = body(api.call("POST", f"/v1/conversions/destinations/{dest['id']}/test"))
    assert ok["ok"] is True and ga4.got == []  # the debug endpoint keeps nothing
    api.call("PUT", f"/v1/conversions/destinations/{dest['id']}/credentials", {"api_secret": "wrong"})
    bad = body(api.call("POST", f"/v1/conversions/destinations/{dest['id']}/test"))
    assert bad["ok"] is False and any("api_secret" in m for m in bad["messages"])


def test_google_ads_send_test_is_validate_only(api: Any, conv: Any, google_ads: GoogleAdsReceiver) -> None:
    dest = google_destination(api)
    got = body(api.call("POST", f"/v1/conversions/destinations/{dest['id']}/test"))
    assert got["ok"] is True, got
    assert google_ads.requests[-1][2]["validateOnly"] is True and google_ads.conversions == {}


def test_the_pause_switch_stops_sending_and_the_gate(api: Any, conv: Any, ga4: GA4Receiver) -> None:
    dest = ga4_destination(api)
    assert delivery.wanted_types() == {"call.completed", "call.updated"}
    api.call("PATCH", f"/v1/conversions/destinations/{dest['id']}", {"paused": True})
    assert delivery.wanted_types() == set()
    c = put_call("CA" + "b" * 32, NOW - HOUR, source={"ga_client_id": "1.2"})
    run_queue([record(event(c, "completed", NOW), f"conversion:{dest['id']}")])
    assert ga4.got == []


def test_a_backfill_sends_the_windows_eligible_calls_resuming_from_its_cursor(
    api: Any, conv: Any, ga4: GA4Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    sids = [put_call(f"CB{i:032d}", NOW - i * 10 * HOUR, source={"ga_client_id": f"{i}.1"})["sid"] for i in range(6)]
    dest = ga4_destination(api, backfill_days=30)
    assert dest["backfill"]["state"] == "running"
    monkeypatch.setattr(delivery, "BACKFILL_PAGE", 2)
    delivery.run_backfill(pages=1)
    assert body(api.call("GET", f"/v1/conversions/destinations/{dest['id']}"))["backfill"]["state"] == "running"
    for _ in range(5):
        delivery.run_backfill(pages=1)
    assert body(api.call("GET", f"/v1/conversions/destinations/{dest['id']}"))["backfill"]["state"] == "done"
    # GA4's window is 72 hours: calls 0..7 hours x10 -> 0, 10, ..., 70 h are within it
    sent = sorted(t for t in ga4.transaction_ids())
    assert sent == sorted(s for i, s in enumerate(sids) if i * 10 < 72)
    answer = api.call("POST", f"/v1/conversions/destinations/{dest['id']}/backfill", {"days": 2})
    assert answer.status_code == 202 and body(answer)["follow"].endswith(dest["id"])
    delivery.run_backfill()
    assert sorted(ga4.transaction_ids()) == sent  # sent before: not again


def test_nothing_is_queued_without_a_destination(conv: Any) -> None:
    assert delivery.wanted_types() == set()
    assert conv_store.list_destinations() == []


def test_two_copies_racing_for_the_same_conversion_cannot_both_claim_it(api: Any, conv: Any) -> None:
    # Given a destination and a call that counts
    dest = ga4_destination(api)
    call = put_call("CA" + "c" * 32, NOW - HOUR, source={"ga_client_id": "1.2"})
    item = conv_store.get_destination(dest["id"])
    assert item is not None
    # When one copy has claimed it (and not finished), a second copy of any event finds it busy
    first = delivery._plan(item, call, NOW, None)
    assert [c.rule_id for c, _, _ in first] == [item.data["rules"][0]["id"]]
    with pytest.raises(event_delivery.RetryIn):
        delivery._plan(item, call, NOW, None)


def test_a_calls_page_shows_where_it_was_sent_and_a_viewer_cannot_change_destinations(
    api: Any, conv: Any, ga4: GA4Receiver
) -> None:
    from tests.integration.test_dashboard_pages import Browser, html

    dest = ga4_destination(api)
    c = put_call("CA" + "d" * 32, NOW - HOUR, source={"ga_client_id": "1.2"})
    run_queue([record(event(c, "completed", NOW), f"conversion:{dest['id']}")])
    viewer = Browser(api, "viewer")
    page = html(viewer.get(f"/dashboard/calls/{c['sid']}"))
    assert "Sent to ad platforms" in page and "GA4 site" in page and ">sent<" in page
    # The destination's page shows the log in words; a viewer's post by hand is refused
    detail = html(viewer.get(f"/dashboard/conversions/{dest['id']}"))
    assert "GA4 took the event" in detail and "ga4-secret" not in detail
    refused = viewer.post(f"/dashboard/conversions/{dest['id']}/pause", {"csrf": viewer.csrf})
    assert refused.status_code == 403
    assert body(api.call("GET", f"/v1/conversions/destinations/{dest['id']}"))["paused"] is False
