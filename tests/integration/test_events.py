"""Call events: stream records become events, fanned out through SQS, delivered once in effect,
retried, dead-lettered, parked, swept; the reports follow them; days in the business's time zone.

All against moto's server (DynamoDB, its stream, SQS) through the same local event pump that
``make run`` runs beside the app.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

import pytest

from chalicelib.core import clock
from chalicelib.core.settings import get_settings
from chalicelib.events import bus, delivery, model, stream, sweep
from tests.support.database import pump
from tests.support.env import T0, body
from tests.unit.test_events import CALLER, image, rec

# --- a recording test subscriber -------------------------------------------------------------

RECEIVED: list[tuple[str, str, str]] = []  # (event type, call sid, event id)
FAILURES: Counter[str] = Counter()  # call sid -> failures still to give before succeeding


def record(event: model.Event) -> None:
    if FAILURES[event.call_sid] > 0:
        FAILURES[event.call_sid] -= 1
        raise RuntimeError("the test subscriber is down")
    RECEIVED.append((event.type, event.call_sid, event.id))


def always_fail(event: model.Event) -> None:
    raise RuntimeError("the test subscriber is always down")


@pytest.fixture
def recorder(tables: None) -> Any:
    RECEIVED.clear()
    FAILURES.clear()
    bus.subscribe("test-recorder", model.TYPES, "tests.integration.test_events:record")
    yield RECEIVED
    bus.unsubscribe("test-recorder")


# --- delivery through the stack ----------------------------------------------------------------


def line(api: Any) -> str:
    ch = body(api.call("POST", "/v1/channels", {"name": "Radio", "forward_to": "+12025550144"}))
    return body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]


def callbacks(sid: str, number: str, caller: str, answered: bool) -> list[tuple[str, dict[str, str]]]:
    base = {"CallSid": sid, "From": caller, "To": number}
    dial = {"DialCallStatus": "completed", "DialCallDuration": "30"} if answered else {"DialCallStatus": "no-answer"}
    return [
        ("/twilio/voice", {**base, "CallStatus": "ringing"}),
        ("/twilio/dial-status?step=0", {**base, **dial}),
        ("/twilio/call-status", {**base, "CallStatus": "completed", "CallDuration": "40"}),
    ]


class DoublingPump:
    """The local pump, but every stream batch is handled twice (as a redelivered batch is)."""

    def __init__(self) -> None:
        self.inner = pump()

    def drain(self) -> None:
        real = stream.handle

        def twice(raw: dict[str, Any]) -> dict[str, int]:
            real(raw)
            return real(json.loads(json.dumps(raw)))

        stream.handle = twice  # type: ignore[assignment]
        try:
            self.inner.drain()
        finally:
            stream.handle = real  # type: ignore[assignment]


def test_100_calls_shuffled_and_repeated_make_one_completed_each_and_exact_reports(api: Any, recorder: Any) -> None:
    # Given 100 calls whose callbacks arrive shuffled and some twice, and a stream that delivers twice
    # (200 before every call also fed the call-back list and the per-number and hourly buckets: each
    # costs moto a transaction over the whole table, and the suite must stay within its time)
    bus.subscribe("test-recorder", ["call.completed"], "tests.integration.test_events:record")  # what this test counts
    clock.set_source(clock.FakeClock(T0))
    number = line(api)
    rnd = random.Random(7)
    sids = [f"CA{i:032d}" for i in range(100)]
    for i, sid in enumerate(sids):
        steps = callbacks(sid, number, f"+1415555{i % 75:04d}", answered=i % 3 != 0)
        order = steps[:1] + rnd.sample(steps[1:], 2) + [rnd.choice(steps)]
        for path, params in order:
            assert api.twilio(path, params).status_code == 200
        if i % 50 == 49:
            DoublingPump().drain()
    DoublingPump().drain()
    # Then every call was completed exactly once for the subscriber
    completed = Counter(sid for kind, sid, _ in recorder if kind == "call.completed")
    assert set(completed) == set(sids) and set(completed.values()) == {1}
    # and the reports equal the calls list
    report = body(api.call("GET", "/v1/reports/channels?from=2026-09-21&to=2026-09-21"))["total"]
    listed = body(api.call("GET", "/v1/calls?from=2026-09-21&to=2026-09-22&limit=200"))["calls"]
    assert len(listed) == 100
    assert report["calls"] == 100
    assert report["answered"] == sum(c["result"] == "answered" for c in listed) == 66
    assert report["missed"] == sum(c["result"] == "missed" for c in listed) == 34
    assert report["unique_callers"] == len({c["caller"] for c in listed}) == 75


def one_call(api: Any, number: str, sid: str = "CA" + "1" * 32) -> str:
    for path, params in callbacks(sid, number, CALLER, answered=True):
        api.twilio(path, params)
    return sid


def test_a_subscriber_failing_three_times_then_working_gets_the_event_once(api: Any, recorder: Any) -> None:
    sid = "CA" + "3" * 32
    FAILURES[sid] = 3 * 2  # started and completed each fail three times
    one_call(api, line(api), sid)
    pump().drain()
    got = Counter(kind for kind, s, _ in recorder if s == sid)
    assert got["call.started"] == 1 and got["call.completed"] == 1  # retried, delivered once each
    assert delivery.state_of(model.event_id(sid, "completed"), "test-recorder") == "done"


def dead_letters() -> list[dict[str, Any]]:
    sqs = bus.sqs()
    url = bus.queue_url(get_settings().events_dlq)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [json.loads(m["Body"]) for m in got.get("Messages", [])]


def test_a_subscriber_that_always_fails_ends_in_the_dead_letter_queue_with_its_attempts(api: Any, tables: None) -> None:
    bus.subscribe("test-broken", ["call.completed"], "tests.integration.test_events:always_fail")
    try:
        sid = one_call(api, line(api))
        pump().drain()
    finally:
        bus.unsubscribe("test-broken")
    [dead] = dead_letters()
    attempts = len(get_settings().event_retry_seconds) + 1
    assert dead["attempts"] == attempts and "always down" in dead["error"]
    assert json.loads(dead["message"])["subscriber"] == "test-broken"
    assert delivery.state_of(model.event_id(sid, "completed"), "test-broken") == "failed"
    # and the other subscribers were not held up: the reports have the call
    assert body(api.call("GET", "/v1/reports/channels?from=2026-11-01&to=2026-12-31"))["total"]["calls"] == 1


def test_a_poison_record_is_parked_without_blocking_the_next(api: Any, recorder: Any) -> None:
    good = rec("INSERT", None, image(status="ringing", status_rank=2), "7")
    poison = {"eventID": "poison-1", "eventName": "MODIFY", "dynamodb": {"SequenceNumber": "6"}}
    counts = stream.handle({"Records": [poison, good]})
    assert counts == {"events": 1, "messages": 1, "parked": 1}  # only the recorder wants call.started
    pump().drain()
    assert [kind for kind, _, _ in recorder] == ["call.started"]
    parked = body(api.call("GET", "/v1/events/parked"))["records"]
    assert [p["id"] for p in parked] == ["poison-1"] and "image" in parked[0]["reason"]


def test_a_temporary_failure_raises_so_the_stream_delivers_again(monkeypatch: Any, tables: None) -> None:
    def throttled(**_: Any) -> None:
        raise RuntimeError("ThrottlingException")

    monkeypatch.setattr(bus.sqs(), "send_message_batch", throttled)
    monkeypatch.setattr("time.sleep", lambda s: None)
    good = rec("INSERT", None, image(status="completed", status_rank=4), "8")
    with pytest.raises(RuntimeError, match="stream will deliver them again"):
        stream.handle({"Records": [good]})
    assert stream.parked() == []  # a good record is never parked


def test_the_sweep_resends_what_never_arrived(api: Any, recorder: Any) -> None:
    # Given a call whose event messages were lost (the queue purged before delivery)
    clock.set_source(clock.FakeClock(T0))
    sid = one_call(api, line(api))
    pump().stream_once()
    bus.sqs().purge_queue(QueueUrl=bus.queue_url())
    assert recorder == []
    # When the sweep runs a while later
    found = sweep.run(int(T0 * 1000) + 3_600_000)
    # Then it resent the completion to each subscriber that wants it, and they got it once
    # (the gated subscribers let nothing through: no webhook endpoint or alert recipient here)
    wanting = [n for n, sub in bus.SUBSCRIBERS.items() if "call.completed" in sub.types and sub.gate is None]
    assert {"reports", "recordings", "test-recorder"} <= set(wanting)
    assert found["resent"] == len(wanting) and found["calls_checked"] == 1
    pump().drain()
    assert [kind for kind, s, _ in recorder if s == sid] == ["call.completed"]
    assert body(api.call("GET", "/v1/reports/channels?from=2026-09-21&to=2026-09-21"))["total"]["calls"] == 1
    assert sweep.run(int(T0 * 1000) + 3_600_000)["resent"] == 0  # nothing left to send


# --- the business's days ---------------------------------------------------------------------------

LA_2330 = 1_790_058_600.0  # 2026-09-22T06:30:00Z = 23:30 on 2026-09-21 in Los Angeles (PDT)


def test_a_call_at_2330_local_counts_on_that_local_day(api: Any, settings_env: Any) -> None:
    settings_env(REPORT_TIMEZONE="America/Los_Angeles")
    clock.set_source(clock.FakeClock(LA_2330))
    one_call(api, line(api))
    daily = body(api.call("GET", "/v1/reports/daily?from=2026-09-21&to=2026-09-22"))["days"]
    assert [(d["date"], d["calls"]) for d in daily] == [("2026-09-21", 1), ("2026-09-22", 0)]
    assert body(api.call("GET", "/v1/reports/channels?from=2026-09-21&to=2026-09-21"))["total"]["calls"] == 1


def test_changing_the_time_zone_and_rebuilding_moves_calls_to_their_local_day(api: Any, settings_env: Any) -> None:
    from chalicelib.reports import aggregates

    clock.set_source(clock.FakeClock(LA_2330))
    one_call(api, line(api))
    utc = body(api.call("GET", "/v1/reports/daily?from=2026-09-21&to=2026-09-22"))["days"]
    assert [d["calls"] for d in utc] == [0, 1]  # in UTC it is the 22nd
    settings_env(REPORT_TIMEZONE="America/Los_Angeles")
    assert aggregates.rebuild() == 1
    assert aggregates.rebuild() == 1  # again: nothing moves twice
    local = body(api.call("GET", "/v1/reports/daily?from=2026-09-21&to=2026-09-22"))["days"]
    assert [d["calls"] for d in local] == [1, 0]
