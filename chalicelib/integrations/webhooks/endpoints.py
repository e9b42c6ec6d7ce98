"""Webhook endpoints: their settings and secrets, the payload, signed delivery, the delivery log.

Deliveries are Standard Webhooks (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``)
signed with the ``standardwebhooks`` package. The ``webhooks`` event subscriber (``on_event``)
queues one message per matching endpoint as subscriber ``webhook:<endpoint id>``; ``deliver``
makes one attempt, signed afresh, and tells the event delivery what to do next: nothing
(2xx, or an endpoint that is gone), try again on the endpoint schedule (timeouts, 5xx), at
the time the receiver named (429 ``Retry-After``), or give up (another 4xx, a refused address).
A 410 disables the endpoint, and so do five days of failures.

Secrets must be able to sign, so they are stored as they are (in the endpoint's counters
item, never returned after creation or rotation), unlike API keys, which are stored hashed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from chalicelib import calls
from chalicelib.core import clock
from chalicelib.core import validation as v
from chalicelib.core.context import SYSTEM, RequestContext, log_change
from chalicelib.core.errors import BadRequest, NotFound
from chalicelib.core.observability import logger
from chalicelib.core.settings import get_settings
from chalicelib.events import bus, delivery
from chalicelib.events.model import TYPES, Event
from chalicelib.integrations import outbound
from chalicelib.store import webhooks
from chalicelib.store.calls import CallRecord
from chalicelib.store.webhooks import Endpoint

SCHEMA_VERSION = 1
SUBSCRIBER_PREFIX = "webhook:"
TIMEOUT_SECONDS = 10.0
SECRET_BYTES = 24
DEFAULT_OVERLAP_HOURS = 24
MAX_PREVIOUS_SECRETS = 2  # previous secrets kept verifying besides the current one (see rotate_secret)
MAX_OVERLAP_HOURS = 7 * 24
DISABLE_AFTER_MS = 5 * 24 * 3_600_000  # an endpoint failing this long is disabled
LOG_DAYS = 30
LOG_BODY_BYTES = 1024
MAX_ENDPOINTS = 50
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
FIELDS = {"url", "events", "channel_id", "pool_id", "enabled", "description"}
TEST_TYPE = "webhook.test"


# --- endpoints ---------------------------------------------------------------------------------


def loopback_allowed() -> bool:
    """Only the local stack and the tests may send to a receiver on this machine (``Settings.local``:
    never in Lambda, whatever the stage is named: there loopback is the runtime API)."""
    return get_settings().local


def check_url(value: Any) -> str:
    """An https URL whose host resolves only to public addresses (http to loopback on the local stage)."""
    url = v.string({"url": value}, "url", required=True, max_len=2000)
    assert url is not None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        raise BadRequest(f"'url' is not a URL: {url!r}") from None
    local = loopback_allowed() and (parts.hostname or "") in LOOPBACK_HOSTS
    if parts.scheme != "https" and not (local and parts.scheme == "http"):
        raise BadRequest("'url' must start with https://")
    try:
        outbound.resolve(url, allow_loopback=loopback_allowed())
    except (outbound.Refused, outbound.Unresolved) as exc:
        raise BadRequest(f"'url' is refused: {exc}") from None
    return url


def _events(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or any(e not in TYPES for e in value):
        raise BadRequest(f"'events' must be a non-empty list of: {', '.join(TYPES)}")
    return sorted(set(value))


def _new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _public(item: Endpoint) -> dict[str, Any]:
    d = item.settings
    now = clock.now_ms()
    previous = [s["until"] for s in d.get("secrets", []) if s.get("until") and s["until"] > now]
    return {
        "id": item.id,
        "url": d["url"],
        "events": d["events"],
        "channel_id": d.get("channel_id"),
        "pool_id": d.get("pool_id"),
        "enabled": bool(d.get("enabled")),
        "disabled_reason": d.get("disabled_reason"),
        "description": d.get("description"),
        "created_at": clock.iso(d.get("created_at")),
        "updated_at": clock.iso(d.get("updated_at")),
        "failing_since": clock.iso(d.get("failing_since")),
        "previous_secret_valid_until": clock.iso(max(previous)) if previous else None,
    }


def _settings_from(body: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    v.reject_unknown(body, FIELDS)
    out = dict(current)
    if "url" in body or "url" not in current:
        out["url"] = check_url(body.get("url"))
    if "events" in body or "events" not in current:
        out["events"] = _events(body.get("events", list(TYPES)))
    for name in ("channel_id", "pool_id"):
        if name in body:
            out[name] = v.string(body, name, max_len=64) or None
    if "description" in body:
        out["description"] = v.string(body, "description", max_len=200) or None
    enabled = v.boolean(body, "enabled")
    if enabled is not None:
        out["enabled"] = enabled
        if enabled:  # turned on again by a person: a fresh start
            out.update(disabled_reason=None, failing_since=None)
    return out


def _load(endpoint_id: str) -> Endpoint:
    found = webhooks.get_endpoint(endpoint_id) if len(endpoint_id) <= 64 else None
    if found is not None:
        return found
    raise NotFound(f"no webhook endpoint {endpoint_id[:64]!r}")


def create(body: dict[str, Any], *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """A new endpoint; the answer is the only place its secret is shown."""
    log_change(ctx, "webhooks.create")
    if len(webhooks.list_endpoints(ctx=ctx)) >= MAX_ENDPOINTS:
        raise BadRequest(f"at most {MAX_ENDPOINTS} webhook endpoints")
    now = clock.now_ms()
    data = _settings_from(body, {"enabled": True, "created_at": now})
    data.setdefault("enabled", True)
    data["updated_at"] = now
    secret = _new_secret()
    data["secrets"] = [{"key": secret, "until": None}]
    endpoint_id = "ep_" + secrets.token_hex(8)
    item = Endpoint(endpoint_id, data)
    webhooks.create_endpoint(item)  # an id collision raises: vanishingly rare, the client may try again
    return {**_public(item), "secret": secret}


def list_all() -> list[dict[str, Any]]:
    found = [_public(item) for item in webhooks.list_endpoints()]
    return sorted(found, key=lambda e: (e["created_at"] or "", e["id"]))


def get(endpoint_id: str) -> dict[str, Any]:
    return _public(_load(endpoint_id))


def update(endpoint_id: str, body: dict[str, Any], *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    log_change(ctx, "webhooks.update", endpoint_id=endpoint_id)
    item = _load(endpoint_id)
    data = _settings_from(body, dict(item.settings))
    data["updated_at"] = clock.now_ms()
    item = Endpoint(item.id, data)
    if not webhooks.save_endpoint(item):
        raise NotFound(f"no webhook endpoint {endpoint_id[:64]!r}")
    return _public(item)


def delete(endpoint_id: str, *, ctx: RequestContext = SYSTEM) -> None:
    log_change(ctx, "webhooks.delete", endpoint_id=endpoint_id)
    webhooks.delete_endpoint(_load(endpoint_id).id, ctx=ctx)


def rotate_secret(endpoint_id: str, body: dict[str, Any], *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """A new secret, shown once; the previous one keeps verifying for the overlap (default 24 h).

    Every delivery is signed with each secret still verifying, so at most ``MAX_PREVIOUS_SECRETS``
    (2) previous secrets are kept, the newest: rotating again drops the oldest even inside its
    overlap. The ``webhook-signature`` header stays at three signatures (about 150 bytes) however
    often the secret is rotated; two rotations in a row still leave a receiver mid-switch verified.
    """
    log_change(ctx, "webhooks.rotate_secret", endpoint_id=endpoint_id)
    v.reject_unknown(body, {"overlap_hours"})
    hours = v.integer(body, "overlap_hours", default=DEFAULT_OVERLAP_HOURS, lo=0, hi=MAX_OVERLAP_HOURS)
    assert hours is not None
    item = _load(endpoint_id)
    now = clock.now_ms()
    data = dict(item.settings)
    until = now + hours * 3_600_000
    kept = [s for s in data.get("secrets", []) if s.get("until") is None or s["until"] > now]
    previous = [{"key": s["key"], "until": until if s.get("until") is None else min(s["until"], until)} for s in kept]
    secret = _new_secret()
    previous = [s for s in previous if s["until"] > now][:MAX_PREVIOUS_SECRETS]  # newest first
    data["secrets"] = [{"key": secret, "until": None}, *previous]
    data["updated_at"] = now
    item = Endpoint(item.id, data)
    if not webhooks.save_endpoint(item):
        raise NotFound(f"no webhook endpoint {endpoint_id[:64]!r}")
    return {**_public(item), "secret": secret}


def _disable(endpoint_id: str, reason: str) -> None:
    item = _load(endpoint_id)
    data = dict(item.settings)
    data.update(enabled=False, disabled_reason=reason, updated_at=clock.now_ms())
    webhooks.save_endpoint(Endpoint(item.id, data))  # deleted meanwhile: nothing left to disable
    logger.warning("webhook endpoint disabled", endpoint_id=endpoint_id, reason=reason)


def _set_failing_since(item: Endpoint, since: int | None) -> None:
    webhooks.save_endpoint(Endpoint(item.id, {**item.settings, "failing_since": since}))


def _failing(item: Endpoint, now: int) -> bool:
    """Note a failure; whether the endpoint has now failed long enough to be disabled."""
    since = item.settings.get("failing_since")
    if since is None:
        _set_failing_since(item, now)
        return False
    return bool(now - int(since) >= DISABLE_AFTER_MS)


# --- the payload -------------------------------------------------------------------------------


def _no_media_url(value: Any) -> Any:
    """A recording as the payload shows it: this API's recording link (GET it with the API key),
    never Twilio's media URL (a call stored before the recordings work may still hold one)."""
    if isinstance(value, dict):
        api_link = get_settings().public_base_url + "/v1/calls/"
        return {k: x for k, x in value.items() if k != "url" or (isinstance(x, str) and x.startswith(api_link))}
    return value


def _call(call: dict[str, Any]) -> dict[str, Any]:
    return {**call, "recording": _no_media_url(call.get("recording"))}


def payload(event: Event) -> dict[str, Any]:
    """What a receiver gets: ``type``, ``version``, the event's id and time, and ``data``."""
    data: dict[str, Any] = {"call": _call(event.call)}
    if event.type == "call.updated":
        data["changes"] = {k: (_no_media_url(x) if k == "recording" else x) for k, x in event.changes.items()}
    if event.type == "call.deleted":
        data["reason"] = event.reason
    return {
        "type": event.type,
        "version": SCHEMA_VERSION,
        "id": event.id,
        "timestamp": clock.iso(event.occurred_at),
        "data": data,
    }


def delivery_id(event_id: str, endpoint_id: str) -> str:
    """The ``webhook-id``: the same for every attempt (and every resend) of an event to an endpoint."""
    return "msg_" + hashlib.sha256(f"{event_id}|{endpoint_id}".encode()).hexdigest()[:32]


def sign(secret_keys: list[str], msg_id: str, at_ms: int, body: str) -> str:
    """``webhook-signature``: one ``v1,`` entry per valid secret, space-separated."""
    from standardwebhooks import Webhook

    at = datetime.fromtimestamp(at_ms // 1000, tz=UTC)
    return " ".join(Webhook(key).sign(msg_id, at, body) for key in secret_keys)


# --- fan-out and delivery --------------------------------------------------------------------------


def _matches(data: dict[str, Any], event: Event) -> bool:
    if not data.get("enabled") or event.type not in data.get("events", []):
        return False
    return all(not data.get(f) or data[f] == event.call.get(f) for f in ("channel_id", "pool_id"))


def wanted_types() -> set[str]:
    """The event types some enabled endpoint wants (the subscriber's gate: no endpoint, no message)."""
    found: set[str] = set()
    for item in webhooks.list_endpoints():
        data = item.settings
        if data.get("enabled"):
            found.update(data.get("events", []))
    return found


def on_event(event: Event) -> None:
    """The ``webhooks`` subscriber: one message per endpoint that wants this event."""
    wanted = [item.id for item in webhooks.list_endpoints() if _matches(item.settings, event)]
    if wanted:
        bus.publish_to(event, [SUBSCRIBER_PREFIX + endpoint_id for endpoint_id in wanted])


def _count_attempt(endpoint_id: str, msg_id: str, event: Event, now: int) -> int:
    return webhooks.count_attempt(endpoint_id, msg_id, event.to_json(), expires_at_ms=now + LOG_DAYS * 86_400_000)


def _attempt(data: dict[str, Any], msg_id: str, body: str) -> tuple[outbound.Answer | None, str | None, int]:
    """One signed POST: (answer or None, error, duration ms)."""
    now = clock.now_ms()
    valid = [s["key"] for s in data.get("secrets", []) if s.get("until") is None or s["until"] > now]
    valid = valid[: 1 + MAX_PREVIOUS_SECRETS]  # an endpoint rotated before the cap may still hold more
    headers = {
        "content-type": "application/json",
        "user-agent": "calltracking-webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(now // 1000),
        "webhook-signature": sign(valid, msg_id, now, body),
    }
    started = clock.now_ms()
    try:
        answer = outbound.request(
            "POST",
            data["url"],
            headers=headers,
            body=body.encode(),
            timeout=TIMEOUT_SECONDS,
            allow_loopback=loopback_allowed(),
        )
    except outbound.Refused as exc:
        return None, f"refused: {exc}", 0
    except (OSError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:300], clock.now_ms() - started
    return answer, None, answer.duration_ms


def _log(endpoint_id: str, msg_id: str, event: Event, attempt: int, answer: Any, error: str | None, ms: int) -> None:
    now = clock.now_ms()
    webhooks.log_attempt(
        endpoint_id,
        now,
        msg_id,
        attempt,
        {
            "delivery_id": msg_id,
            "event_id": event.id,
            "type": event.type,
            "call_sid": event.call_sid,
            "attempt": attempt,
            "at": now,
            "status": answer.status if answer else None,
            "duration_ms": ms,
            "response": answer.body[:LOG_BODY_BYTES].decode("utf-8", "replace") if answer else None,
            "error": error,
        },
        expires_at_ms=now + LOG_DAYS * 86_400_000,
    )


def _retry_after(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return max(0, int(value.strip()))
    except ValueError:
        pass
    try:
        from email.utils import parsedate_to_datetime

        return max(0, int(parsedate_to_datetime(value).timestamp() - clock.now_ms() / 1000))
    except (TypeError, ValueError):
        return None


def deliver(event: Event, member: str) -> None:
    """The ``webhook:<endpoint id>`` subscriber: one signed attempt; raises to be tried again."""
    endpoint_id = member.split(":", 1)[0]
    try:
        item = _load(endpoint_id)
    except NotFound:
        return  # deleted since: nothing to deliver to
    data = item.settings
    if not data.get("enabled"):
        return
    msg_id = delivery_id(event.id, endpoint_id)
    now = clock.now_ms()
    attempt = _count_attempt(endpoint_id, msg_id, event, now)
    body = json.dumps(payload(event), separators=(",", ":"))
    answer, error, ms = _attempt(data, msg_id, body)
    _log(endpoint_id, msg_id, event, attempt, answer, error, ms)
    status = answer.status if answer else None
    if status is not None and 200 <= status < 300:
        if data.get("failing_since") is not None:
            _set_failing_since(item, None)
        return
    if status == 410:
        _disable(endpoint_id, "the endpoint answered 410 Gone")
        return
    if _failing(item, now):
        _disable(endpoint_id, "failing for 5 days")
        return
    what = f"endpoint {endpoint_id} answered {status}" if status else f"endpoint {endpoint_id}: {error}"
    if error and error.startswith("refused"):
        raise delivery.GiveUp(what)
    if status == 429:
        raise delivery.RetryIn(what, _retry_after(answer.headers.get("retry-after") if answer else None))
    if status is None or status >= 500 or status == 408:
        raise RuntimeError(what)
    raise delivery.GiveUp(what)  # another 4xx: the receiver refuses this payload; a person can resend it


# --- the delivery log and its actions --------------------------------------------------------------


def deliveries(endpoint_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The endpoint's attempts, newest first."""
    _load(endpoint_id)
    out = []
    for d in webhooks.attempts(endpoint_id, limit):
        d["at"] = clock.iso(d.get("at"))
        out.append(d)
    return out


def resend(endpoint_id: str, msg_id: str, *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """Queue a delivery again (same ``webhook-id``), whatever became of it before."""
    log_change(ctx, "webhooks.resend", endpoint_id=endpoint_id, delivery_id=msg_id)
    _load(endpoint_id)
    if len(msg_id) > 64:
        raise NotFound("no such delivery")
    stored = webhooks.delivery_event(endpoint_id, msg_id)
    if stored is None:
        raise NotFound(f"no delivery {msg_id!r} for this endpoint")
    event = Event.from_json(stored)
    # A subscriber name of its own, so the delivery markers of earlier attempts do not skip it.
    bus.publish_to(event, [f"{SUBSCRIBER_PREFIX}{endpoint_id}:resend-{clock.now_ms()}"])
    return {"delivery_id": msg_id, "event_id": event.id, "status": "queued"}


def send_test(endpoint_id: str) -> dict[str, Any]:
    """Send a ``webhook.test`` event now (once, not retried) and say what the endpoint answered."""
    data = _load(endpoint_id).settings
    now = clock.now_ms()
    test_id = "evt_test_" + secrets.token_hex(12)
    event = Event(test_id, "call.completed", "CA" + "0" * 32, now, _sample_call(now))
    msg_id = delivery_id(test_id, endpoint_id)
    body = json.dumps({**payload(event), "type": TEST_TYPE}, separators=(",", ":"))
    answer, error, ms = _attempt(data, msg_id, body)
    logged = Event(test_id, TEST_TYPE, event.call_sid, now, {})
    _log(endpoint_id, msg_id, logged, 1, answer, error, ms)
    return {
        "delivery_id": msg_id,
        "status": answer.status if answer else None,
        "duration_ms": ms,
        "response": answer.body[:LOG_BODY_BYTES].decode("utf-8", "replace") if answer else None,
        "error": error,
        "ok": bool(answer and 200 <= answer.status < 300),
    }


def _sample_call(now: int) -> dict[str, Any]:
    """A made-up answered call, shaped exactly like a real one."""
    sample = CallRecord(
        "CA" + "0" * 32,
        started_at=now,
        caller="+12025550100",
        called="+12025550111",
        kind="channel",
        channel_name="Test",
        status="completed",
        answered=True,
        talk_time=42,
        first_time=True,
    )
    return calls.to_dict(sample)
