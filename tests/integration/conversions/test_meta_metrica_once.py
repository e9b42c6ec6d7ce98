"""Through the shared layer: a Meta or Metrica destination made with the API, a call event delivered
three times (SQS redelivery, a duplicated stream record) sends the call once. The receivers are the
platforms' (``tests/support/meta_receiver.py``, ``metrica_receiver.py``); the events are fed Lambda-shaped
to the events' own ``delivery.deliver``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import calls
from chalicelib.core import clock
from chalicelib.events import delivery as event_delivery
from chalicelib.events.model import Event, dumps, event_id
from chalicelib.store import calls as calls_store
from chalicelib.store.models import CallModel
from tests.support import meta_receiver, metrica_receiver
from tests.support.env import T0, body

NOW = int(T0 * 1000)
CALLER = "+14155550188"


@pytest.fixture
def meta(alerting: Any, settings_env: Any, fake_clock: Any) -> Iterator[meta_receiver.MetaReceiver]:
    with meta_receiver.running() as receiver:
        receiver.now = T0
        settings_env(META_GRAPH_BASE_URL=receiver.url, META_GRAPH_API_VERSION=receiver.version)
        yield receiver


@pytest.fixture
def metrica(alerting: Any, settings_env: Any, fake_clock: Any) -> Iterator[metrica_receiver.MetricaReceiver]:
    with metrica_receiver.running() as receiver:
        receiver.now = T0
        settings_env(METRICA_API_BASE_URL=receiver.url)
        yield receiver


def put_call(sid: str, source: dict[str, Any]) -> dict[str, Any]:
    """A finished web call in the calls table; its API view (what a call event carries)."""
    started = NOW - 3_600_000
    attribution = {"confidence": "active", "pool_id": "pl_1", "session_id": "s1", "lease_started_at": started - 600_000,
                   "source": source, "channel_group": "social"}  # fmt: skip
    CallModel(sid, month=clock.month_key(started), started_at=started, attribution=attribution, caller=CALLER,
              called="+14155550100", kind="pool", status="completed", answered=True, talk_time=80, duration=90,
              first_time=True, status_rank=calls.FINAL_RANK).save()  # fmt: skip
    record = calls_store.get(sid, consistent=True)
    assert record is not None
    return calls.to_dict(record)


def deliver_three_times(call: dict[str, Any], destination_id: str) -> None:
    ev = Event(event_id(call["sid"], "completed", str(NOW)), "call.completed", call["sid"], NOW - 60_000, call, {})
    rec = {"body": dumps(ev, "conversion:" + destination_id), "attributes": {"ApproximateReceiveCount": "1"},
           "receiptHandle": "rh"}  # fmt: skip
    for _ in range(3):
        event_delivery.deliver(rec)


def create(api: Any, payload: dict[str, Any]) -> dict[str, Any]:
    answer = api.call("POST", "/v1/conversions/destinations", {**payload, "backfill_days": 0})
    assert answer.status_code == 201, answer.body
    return dict(body(answer))


def test_a_redelivered_call_event_sends_one_meta_event(api: Any, meta: meta_receiver.MetaReceiver) -> None:
    dest = create(api, {"platform": "meta", "name": "Meta ads", "settings": {"pixel_id": meta.pixel_id},
                        "credentials": {"access_token": meta.token},
                        "rules": [{"action": "Lead", "value": 40, "currency": "usd"}]})  # fmt: skip
    call = put_call("CA" + "m" * 32, {"fbclid": "IwAR0abc", "consent_ad_user_data": "granted"})
    deliver_three_times(call, dest["id"])
    assert meta.requests == 1 and [e["event_id"] for e in meta.events] == [call["sid"]]
    assert meta.events[0]["custom_data"] == {"value": 40, "currency": "USD"} and "ph" in meta.events[0]["user_data"]


def test_metrica_calls_wait_for_the_next_file_and_a_redelivered_event_uploads_one_row(
    api: Any, metrica: metrica_receiver.MetricaReceiver, fake_clock: Any
) -> None:
    from chalicelib.integrations.conversions import delivery

    dest = create(api, {"platform": "metrica", "name": "Metrica", "settings": {"counter_id": metrica.counter},
                        "credentials": {"oauth_token": metrica.token}, "rules": [{"action": "call"}]})  # fmt: skip
    # Given two web calls, one of them delivered three times
    first = put_call("CA" + "y" * 32, {"ym_client_id": "1700000000987654321"})
    second = put_call("CA" + "z" * 32, {"ym_client_id": "1700000000111111111", "consent_ad_user_data": "granted"})
    deliver_three_times(first, dest["id"])
    deliver_three_times(second, dest["id"])
    # Then nothing is uploaded yet: Metrica takes files, one every 30 minutes
    assert metrica.uploads == [] and delivery.run_later()["sent"] == 0
    # When the next slot comes, one file carries both calls, once each
    fake_clock.advance(30 * 60)
    metrica.now = T0 + 30 * 60
    assert delivery.run_later()["sent"] == 2
    assert len(metrica.uploads) == 1
    rows = {r["ClientId"]: r for r in metrica.rows()}
    assert set(rows) == {"1700000000987654321", "1700000000111111111"}
    assert rows["1700000000987654321"]["PhoneNumber"] == ""  # no consent: no number
    assert rows["1700000000111111111"]["PhoneNumber"] == CALLER
    # and a later run or another redelivery sends nothing again
    deliver_three_times(first, dest["id"])
    assert delivery.run_later()["sent"] == 0 and len(metrica.uploads) == 1
    # When Metrica has processed the file, the next check after the half hour logs it for each call,
    # reading the upload's status once for both
    metrica.uploads[0].status = "PROCESSED"
    fake_clock.advance(30 * 60)
    metrica.now = T0 + 60 * 60
    gets = len([r for r in metrica.requests if r[0] == "GET"])
    delivery.run_later()
    assert len([r for r in metrica.requests if r[0] == "GET"]) == gets + 1
    log = body(api.call("GET", f"/v1/conversions/destinations/{dest['id']}/deliveries"))
    lines = log["deliveries"]
    checks = [line for line in lines if line.get("kind") == "check"]
    assert len(checks) == 2 and all("processed" in line["reason"] for line in checks), lines
    # and nothing is asked again
    fake_clock.advance(60 * 60)
    delivery.run_later()
    assert len([r for r in metrica.requests if r[0] == "GET"]) == gets + 1


def test_meta_and_metrica_settings_and_actions_are_checked_by_the_api(api: Any, alerting: Any) -> None:
    def made(platform: str, settings: dict[str, Any], action: str) -> Any:
        payload = {"platform": platform, "settings": settings, "rules": [{"action": action}], "backfill_days": 0}
        return api.call("POST", "/v1/conversions/destinations", payload)

    bad_pixel = made("meta", {"pixel_id": "abc"}, "Lead")
    assert bad_pixel.status_code == 400 and "pixel" in body(bad_pixel)["error"]["message"]
    bad_event = made("meta", {"pixel_id": "123456789012345"}, "Lead!<script>")
    assert bad_event.status_code == 400 and "event name" in body(bad_event)["error"]["message"]
    bad_counter = made("metrica", {"counter_id": "12ab"}, "call")
    assert bad_counter.status_code == 400 and "counter" in body(bad_counter)["error"]["message"]
