"""Webhooks against a real HTTP receiver that verifies with the ``standardwebhooks`` library:
the events of a call, signed afresh on every attempt, retried, disabled, rotated, refused.

The receiver runs on loopback (allowed on the local and test stages only); the events go
through the same stream, SQS fan-out and local event pump as every subscriber's.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from chalicelib.core import clock
from chalicelib.events import bus, model
from chalicelib.integrations.webhooks import endpoints
from tests.integration.test_events import callbacks, dead_letters, line
from tests.support.database import pump
from tests.support.env import body
from tests.unit.test_webhooks import CALLER, documented_payload_errors


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    verified_by: list[int]  # indexes of the receiver's secrets that verify it
    payload: Any = None


@dataclass
class Receiver:
    url: str
    secrets: list[str] = field(default_factory=list)
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # then 200
    got: list[Delivery] = field(default_factory=list)

    def types(self) -> list[str]:
        return [d.payload["type"] for d in self.got]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            verified, payload = [], None
            for i, secret in enumerate(state.secrets):
                try:
                    payload = Webhook(secret).verify(raw, headers)
                    verified.append(i)
                except WebhookVerificationError:
                    pass
            state.got.append(Delivery(headers, raw, verified, payload or json.loads(raw)))
            status, extra = state.answers.pop(0) if state.answers else (200, {})
            self.send_response(status)
            for k, val in extra.items():
                self.send_header(k, val)
            self.end_headers()
            self.wfile.write(b"ok" if status < 300 else b"nope")

        def log_message(self, *args: Any) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{srv.server_address[1]}/hooks"
    yield state
    srv.shutdown()
    srv.server_close()


def endpoint(api: Any, receiver: Receiver, **extra: Any) -> dict[str, Any]:
    answer = api.call("POST", "/v1/webhooks", {"url": receiver.url, **extra})
    assert answer.status_code == 201, answer.body
    created = body(answer)
    assert created["secret"].startswith("whsec_")
    receiver.secrets.append(created["secret"])
    return dict(created)


def call(api: Any, number: str, sid: str = "CA" + "7" * 32) -> str:
    for path, params in callbacks(sid, number, CALLER, answered=True):
        assert api.twilio(path, params).status_code == 200
    return sid


def test_a_call_is_started_then_completed_then_updated_with_its_changes(api: Any, receiver: Receiver) -> None:
    # Given an endpoint for every call event
    ep = endpoint(api, receiver)
    assert "secret" not in body(api.call("GET", f"/v1/webhooks/{ep['id']}"))
    assert all("secret" not in e for e in body(api.call("GET", "/v1/webhooks"))["webhooks"])
    # When a call comes in and ends
    sid = call(api, line(api))
    pump().drain()
    # Then the receiver got call.started then call.completed, each verified, with the call as the API shows it
    assert receiver.types() == ["call.started", "call.completed"]
    assert all(d.verified_by == [0] for d in receiver.got)
    completed = receiver.got[1].payload
    shown = body(api.call("GET", f"/v1/calls/{sid}"))
    assert completed["version"] == 1 and completed["data"]["call"] == shown
    assert completed["data"]["call"]["result"] == "answered" and completed["data"]["call"]["first_time"] is True
    # When it is tagged
    api.call("PATCH", f"/v1/calls/{sid}", {"tags": ["vip"], "outcome": "sale", "revenue": 120})
    pump().drain()
    # Then call.updated carries the changed fields with their previous values
    assert receiver.types() == ["call.started", "call.completed", "call.updated"]
    updated = receiver.got[2].payload
    assert updated["data"]["changes"] == {"tags": [], "outcome": None, "revenue": None}
    assert updated["data"]["call"]["tags"] == ["vip"] and updated["data"]["call"]["revenue"] == 120
    # and ids are stable per (event, endpoint), distinct across events
    assert len({d.headers["webhook-id"] for d in receiver.got}) == 3
    # and every payload is as docs/openapi.yaml describes it
    assert [documented_payload_errors(d.payload) for d in receiver.got] == [[], [], []]


def test_500_twice_then_200_is_three_attempts_with_one_id_each_signed_afresh(
    api: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    ep = endpoint(api, receiver, events=["call.completed"])
    receiver.answers = [(500, {}), (500, {})]
    ticks = itertools.count()
    real = clock.now_ms
    monkeypatch.setattr(clock, "now_ms", lambda: real() + next(ticks) * 1000)  # time runs fast: stamps differ
    call(api, line(api))
    pump().drain()
    assert receiver.types() == ["call.completed"] * 3
    assert len({d.headers["webhook-id"] for d in receiver.got}) == 1
    assert len({d.headers["webhook-timestamp"] for d in receiver.got}) == 3
    assert len({d.headers["webhook-signature"] for d in receiver.got}) == 3
    assert all(d.verified_by == [0] for d in receiver.got)
    log = body(api.call("GET", f"/v1/webhooks/{ep['id']}/deliveries"))["deliveries"]
    assert [(x["attempt"], x["status"]) for x in log] == [(3, 200), (2, 500), (1, 500)]
    assert log[1]["response"] == "nope" and log[0]["duration_ms"] >= 0
    assert body(api.call("GET", f"/v1/webhooks/{ep['id']}"))["failing_since"] is None


def test_410_disables_the_endpoint(api: Any, receiver: Receiver) -> None:
    ep = endpoint(api, receiver)
    receiver.answers = [(410, {})]
    call(api, line(api))
    pump().drain()
    assert receiver.types() == ["call.started"]  # and nothing after it
    shown = body(api.call("GET", f"/v1/webhooks/{ep['id']}"))
    assert shown["enabled"] is False and "410" in shown["disabled_reason"]


def test_429_is_tried_again_when_the_receiver_says(
    api: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    delays: list[int] = []
    sqs = bus.sqs()
    real = sqs.change_message_visibility

    def spy(**kw: Any) -> Any:
        delays.append(kw["VisibilityTimeout"])
        return real(**{**kw, "VisibilityTimeout": 0})

    monkeypatch.setattr(sqs, "change_message_visibility", spy)
    endpoint(api, receiver, events=["call.completed"])
    receiver.answers = [(429, {"Retry-After": "120"})]
    call(api, line(api))
    pump().drain()
    assert receiver.types() == ["call.completed"] * 2 and delays == [120]


def test_failing_for_five_days_disables(api: Any, receiver: Receiver, fake_clock: Any) -> None:
    ep = endpoint(api, receiver, events=["call.completed"])
    receiver.answers = [(503, {})] * 8
    call(api, line(api))
    pump().stream_once()
    pump().queue_once()  # the fan-out: one message for the endpoint
    for _ in range(8):  # the schedule's attempts, one a day here
        pump().queue_once()
        fake_clock.advance(86_400)
    pump().drain()
    shown = body(api.call("GET", f"/v1/webhooks/{ep['id']}"))
    assert shown["enabled"] is False and shown["disabled_reason"] == "failing for 5 days"
    assert len(receiver.got) == 6  # the first failure, then five days later the sixth: no more


def test_rotation_signs_with_both_secrets_during_the_overlap(api: Any, receiver: Receiver) -> None:
    ep = endpoint(api, receiver, events=["call.completed"])
    rotated = body(api.call("POST", f"/v1/webhooks/{ep['id']}/rotate-secret", {"overlap_hours": 24}))
    receiver.secrets.append(rotated["secret"])
    assert rotated["secret"] != ep["secret"] and rotated["previous_secret_valid_until"]
    call(api, line(api))
    pump().drain()
    [got] = receiver.got
    assert got.verified_by == [0, 1]  # the old secret and the new one both verify
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert all(sig.startswith("v1,") for sig in got.headers["webhook-signature"].split(" "))
    # After the overlap only the new secret signs
    clock.set_source(clock.FakeClock(clock.now_ms() / 1000 + 25 * 3600))
    d = endpoints._load(ep["id"]).settings
    assert endpoints.sign([s["key"] for s in d["secrets"] if s["until"] is None], "msg_x", 0, "{}").count("v1,") == 1
    assert "previous_secret_valid_until" in body(api.call("GET", f"/v1/webhooks/{ep['id']}"))
    assert body(api.call("GET", f"/v1/webhooks/{ep['id']}"))["previous_secret_valid_until"] is None


def test_many_rotations_keep_only_the_newest_previous_secrets(api: Any, receiver: Receiver) -> None:
    # Given an endpoint whose secret is rotated 40 times, each with a week-long overlap
    ep = endpoint(api, receiver, events=["call.completed"])
    rotated = [ep["secret"]]
    for _ in range(40):
        answer = api.call("POST", f"/v1/webhooks/{ep['id']}/rotate-secret", {"overlap_hours": 168})
        rotated.append(body(answer)["secret"])
    # When it is sent a test event
    receiver.secrets[:] = rotated[::-1]  # newest first
    assert body(api.call("POST", f"/v1/webhooks/{ep['id']}/test"))["ok"] is True
    # Then it is signed with the current secret and the previous ones the cap keeps, no more
    [got] = receiver.got
    keep = 1 + endpoints.MAX_PREVIOUS_SECRETS
    assert got.verified_by == list(range(keep))  # the newest verifies, and the two before it still do
    signature = got.headers["webhook-signature"]
    assert len(signature.split(" ")) == keep and len(signature) <= keep * 48
    assert len(endpoints._load(ep["id"]).settings["secrets"]) == keep


def test_resend_and_test_event(api: Any, receiver: Receiver) -> None:
    ep = endpoint(api, receiver, events=["call.completed"])
    call(api, line(api))
    pump().drain()
    [first] = receiver.got
    log = body(api.call("GET", f"/v1/webhooks/{ep['id']}/deliveries"))["deliveries"]
    again = api.call("POST", f"/v1/webhooks/{ep['id']}/deliveries/{log[0]['delivery_id']}/resend")
    assert again.status_code == 202
    pump().drain()
    assert len(receiver.got) == 2 and receiver.got[1].headers["webhook-id"] == first.headers["webhook-id"]
    assert receiver.got[1].verified_by == [0]
    tested = body(api.call("POST", f"/v1/webhooks/{ep['id']}/test"))
    assert tested["ok"] is True and tested["status"] == 200
    assert receiver.got[2].payload["type"] == "webhook.test" and receiver.got[2].verified_by == [0]
    assert documented_payload_errors(receiver.got[2].payload) == []
    missing = api.call("POST", f"/v1/webhooks/{ep['id']}/deliveries/msg_nope/resend")
    assert missing.status_code == 404 and body(missing)["error"]["code"] == "not_found"


def test_filters_by_channel_and_a_disabled_endpoint_gets_nothing(api: Any, receiver: Receiver) -> None:
    number = line(api)
    other = endpoint(api, receiver, channel_id="ch_other")
    off = endpoint(api, receiver)
    assert body(api.call("PATCH", f"/v1/webhooks/{off['id']}", {"enabled": False}))["enabled"] is False
    call(api, number)
    pump().drain()
    assert receiver.got == []
    assert body(api.call("GET", "/v1/webhooks"))["webhooks"][0]["id"] == other["id"]
    assert api.call("DELETE", f"/v1/webhooks/{other['id']}").status_code == 204
    assert api.call("GET", f"/v1/webhooks/{other['id']}").status_code == 404


# --- refusals -----------------------------------------------------------------------------------


def _dns(monkeypatch: pytest.MonkeyPatch, ip: str) -> None:
    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host in ("127.0.0.1", "localhost"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize("ip", ["169.254.169.254", "10.1.2.3", "192.168.0.10", "172.20.0.1", "fd00:ec2::254"])
def test_inside_addresses_are_refused_at_creation(api: Any, monkeypatch: pytest.MonkeyPatch, ip: str) -> None:
    _dns(monkeypatch, ip)
    answer = api.call("POST", "/v1/webhooks", {"url": "https://crm.example.com/hook"})
    assert answer.status_code == 400 and "refused" in body(answer)["error"]["message"]


@pytest.mark.parametrize(
    "url", ["http://crm.example.com/hook", "ftp://crm.example.com/", "https://", "not a url", "https://crm:x@h/"]
)
def test_urls_must_be_https(api: Any, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    _dns(monkeypatch, "93.184.216.34")
    assert api.call("POST", "/v1/webhooks", {"url": url}).status_code == 400


@pytest.mark.parametrize(("ip", "why"), [("169.254.169.254", "metadata"), ("10.1.2.3", "private")])
def test_an_address_that_turns_private_is_refused_at_delivery(
    api: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, ip: str, why: str
) -> None:
    # Given an endpoint whose host resolved to a public address when it was made
    _dns(monkeypatch, "93.184.216.34")
    created = body(
        api.call("POST", "/v1/webhooks", {"url": "https://crm.example.com/hook", "events": ["call.completed"]})
    )
    # When the name later points at the metadata service, or inside the network
    _dns(monkeypatch, ip)
    call(api, line(api))
    pump().drain()
    # Then nothing was sent, the attempt is logged as refused, and the delivery went to the dead-letter queue
    [attempt] = body(api.call("GET", f"/v1/webhooks/{created['id']}/deliveries"))["deliveries"]
    assert attempt["status"] is None and why in attempt["error"] and attempt["error"].startswith("refused")
    [dead] = dead_letters()
    assert json.loads(dead["message"])["subscriber"] == f"webhook:{created['id']}" and dead["attempts"] == 1


def test_loopback_is_refused_on_a_deployed_stage(api: Any, receiver: Receiver, settings_env: Any) -> None:
    ep = endpoint(api, receiver, events=["call.completed"])
    settings_env(STAGE="prod", CALLTRACKING_LOCAL="false")
    answer = api.call("POST", "/v1/webhooks", {"url": "https://127.0.0.1/hooks"})
    assert answer.status_code == 400 and "loopback" in body(answer)["error"]["message"]
    assert api.call("POST", "/v1/webhooks", {"url": receiver.url}).status_code == 400  # http, and loopback
    call(api, line(api))
    pump().drain()
    assert receiver.got == []  # the endpoint made on the local stage is refused at delivery too
    [attempt] = body(api.call("GET", f"/v1/webhooks/{ep['id']}/deliveries"))["deliveries"]
    assert "loopback" in attempt["error"]


def test_bad_bodies_are_4xx(api: Any, receiver: Receiver) -> None:
    for bad in ({"url": receiver.url, "events": ["call.nope"]}, {"url": receiver.url, "extra": 1}, {}):
        answer = api.call("POST", "/v1/webhooks", bad)
        assert answer.status_code == 400 and body(answer)["error"]["code"] == "bad_request"
    assert api.call("GET", "/v1/webhooks/ep_missing").status_code == 404
    assert api.call("POST", "/v1/webhooks/ep_missing/rotate-secret").status_code == 404


def test_no_endpoint_wanting_an_event_means_no_fan_out_message(api: Any, receiver: Receiver) -> None:
    started = model.Event("evt_a", "call.started", "CA1", 0, {"sid": "CA1"})
    completed = model.Event("evt_b", "call.completed", "CA1", 0, {"sid": "CA1"})
    assert bus.publish([started, completed], only="webhooks") == 0  # no endpoints: nothing queued
    ep = endpoint(api, receiver, events=["call.completed"])
    assert bus.publish([started, completed], only="webhooks") == 1  # only what an endpoint wants
    api.call("PATCH", f"/v1/webhooks/{ep['id']}", {"enabled": False})
    assert bus.publish([started, completed], only="webhooks") == 0


def test_a_host_that_does_not_resolve_is_refused_at_creation(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host: str, *args: Any, **kwargs: Any) -> list[Any]:
        if host.endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)  # the embedded DynamoDB's own address

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    answer = api.call("POST", "/v1/webhooks", {"url": "https://nowhere.example.invalid/hook"})
    assert answer.status_code == 400 and "resolved" in body(answer)["error"]["message"]
