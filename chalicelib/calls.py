"""The call record and its lifecycle: one item per CallSid, written by upserts that never move it backwards.

Twilio retries and reorders its requests, so every write here is an upsert keyed by
CallSid with a condition where order matters: the status only moves forward
(``STATUS_RANK``), a dial result for an earlier failover step never overwrites a later
one, and the voice webhook's exact start time replaces the estimate a callback that
arrived first made. A call the voice webhook could not store or route is created and
routed by whichever callback comes next.

The TwiML that answers Twilio is ``chalicelib/voice/``; the calls list and its export
are ``chalicelib/reports/calllog.py``.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import PynamoDBException, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib import attribution
from chalicelib.core import clock
from chalicelib.core.errors import BadRequest, StorageUnavailable
from chalicelib.core.observability import logger
from chalicelib.core.settings import get_settings
from chalicelib.core.validation import loose_e164
from chalicelib.routing import Route, lookup
from chalicelib.store import connections
from chalicelib.store.models import CallModel, CounterModel, NumberModel, PoolModel
from chalicelib.store.ops import condition_failed, expires_after, failed_conditions, get_or_404

# Twilio's call statuses in the order a call moves through them; a callback never
# moves a call backwards, whatever order the callbacks arrive in.
STATUS_RANK = {
    "queued": 0,
    "initiated": 1,
    "ringing": 2,
    "in-progress": 3,
    "completed": 4,
    "busy": 4,
    "no-answer": 4,
    "failed": 4,
    "canceled": 4,
    "blocked": 5,
}
FINAL_RANK = STATUS_RANK["completed"]
ANSWERED_DIAL_STATUSES = {"completed", "answered"}
NO_TOKEN = "-"  # noqa: S105 (not a secret) stored for a voice request without I-Twilio-Idempotency-Token


# --- pure rules ------------------------------------------------------------------------------


def is_final(c: CallModel) -> bool:
    """Whether the call has ended (or was blocked before it began)."""
    return bool(c.blocked) or (c.status_rank is not None and int(c.status_rank) >= FINAL_RANK)


def result_of(c: CallModel) -> str | None:
    """How the call ended for the business: answered, voicemail, missed or blocked (None while ringing)."""
    if c.blocked:
        return "blocked"
    if c.answered:
        return "answered"
    if c.voicemail:
        return "voicemail"
    if c.answered is False or (c.status_rank is not None and int(c.status_rank) >= FINAL_RANK):
        return "missed"
    return None


def caller_fields(params: dict[str, str]) -> dict[str, Any]:
    """Who called which number, from a Twilio request's form."""
    return {
        "caller": loose_e164(params.get("From")),
        "called": loose_e164(params.get("To")),
        "caller_city": params.get("FromCity") or None,
        "caller_state": params.get("FromState") or None,
        "caller_country": params.get("FromCountry") or None,
    }


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


# --- update actions ------------------------------------------------------------------------


def _first_seen_actions(fields: dict[str, Any], started_ms: int, *, exact: bool = False) -> list[Any]:
    """Set each field only if no earlier writer did.

    The voice webhook knows when the call started (``exact``): its time replaces the
    estimate a callback that arrived first made from the call's duration, so the stored
    call is the same whatever order Twilio delivered its requests in.
    """

    def first(attr: Any, value: Any) -> Any:
        return attr.set(value) if exact else attr.set(attr | value)

    actions = [
        first(CallModel.started_at, started_ms),
        first(CallModel.month, clock.month_key(started_ms)),
        first(CallModel.expires_at, expires_after(started_ms, get_settings().call_retention_days)),
    ]
    for key, value in fields.items():
        if value is not None:
            attr = getattr(CallModel, key)
            actions.append(attr.set(attr | value))
    return actions


def _route_actions(route: Route, attr: dict[str, Any]) -> list[Any]:
    return [
        CallModel.kind.set(route.kind),
        CallModel.channel_id.set(route.target_id or "") if route.kind == "channel" else CallModel.channel_id.remove(),
        CallModel.channel_name.set(route.name) if route.name else CallModel.channel_name.remove(),
        CallModel.pool_id.set(route.target_id or "")
        if route.kind in ("pool", "overflow")
        else CallModel.pool_id.remove(),
        CallModel.forwarded_to.set(route.forward_to) if route.forward_to else CallModel.forwarded_to.remove(),
        CallModel.recorded.set(route.record),
        CallModel.attribution.set(attr),
    ]


def _touch_actions(caller: str | None, call_sid: str, started_ms: int, attr: dict[str, Any]) -> list[Any]:
    """First-time or repeat caller, and the first call's source (first touch)."""
    keep = get_settings().call_retention_days
    first = attribution.first_touch(caller, call_sid, started_ms, attr, keep)
    return [CallModel.first_time.set(first.get("call_sid") == call_sid), CallModel.first_touch.set(first)]


def _rank_status(actions: list[Any], status: str) -> None:
    actions.append(CallModel.status.set(CallModel.status | status))
    actions.append(CallModel.status_rank.set(CallModel.status_rank | STATUS_RANK.get(status, 0)))


def attribute(route: Route, number: NumberModel | None, pool: PoolModel | None, started_ms: int) -> dict[str, Any]:
    return attribution.resolve(number, started_ms, channel_name=route.name, pool=pool)


# --- writes ----------------------------------------------------------------------------------


def _first_voice() -> Any:
    """The condition of a voice request's write: no voice request was stored for this call yet,
    and the call has not ended. Twilio waits for the voice webhook's TwiML before the call goes
    on, so a voice request for a stored or finished call is Twilio's retry or a replay (Twilio's
    signatures carry no time): either way it must not re-route or re-attribute the call."""
    not_over = CallModel.status_rank.does_not_exist() | (CallModel.status_rank < FINAL_RANK)
    return CallModel.voice_token.does_not_exist() & not_over


def record_ringing(
    call_sid: str, fields: dict[str, Any], route: Route, attr: dict[str, Any], now: int, *, token: str | None = None
) -> bool:
    """The voice webhook's one write: who called, where it went, why it came (first touch too).

    Only the first voice request for a call writes (``_first_voice``): the call and the
    caller's first-touch item in one transaction, so a refused repeat changes nothing at all.
    ``token`` is the request's I-Twilio-Idempotency-Token, kept to tell Twilio's own retries
    from replays. Returns ``False`` when the call was already stored by a voice request.
    """
    for attempt in range(2):
        first, caller_write = attribution.first_touch_read(
            fields["caller"], call_sid, now, attr, get_settings().call_retention_days
        )
        actions = _first_seen_actions(fields, now, exact=True) + _route_actions(route, attr)
        actions += [CallModel.first_time.set(first.get("call_sid") == call_sid), CallModel.first_touch.set(first)]
        actions += [CallModel.degraded.set(False), CallModel.updated_at.set(now)]
        actions.append(CallModel.voice_token.set(token or NO_TOKEN))
        _rank_status(actions, "ringing")
        try:
            with TransactWrite(connection=connections.transactions()) as tx:
                tx.update(CallModel(call_sid), actions=actions, condition=_first_voice())
                if caller_write is not None:
                    caller = CounterModel(caller_write.key.pk, caller_write.key.sk)
                    tx.update(caller, actions=caller_write.actions, condition=caller_write.condition)
        except TransactWriteError as exc:
            failed = failed_conditions(exc)
            if 0 in failed:
                return False
            if failed == {1} and attempt == 0:
                continue  # another call of this new caller was recorded first: read its first touch again
            raise
        return True
    raise AssertionError("unreachable: the second attempt returns or raises")


def record_blocked(call_sid: str, fields: dict[str, Any], now: int, *, token: str | None = None) -> CallModel | None:
    """A caller on the blocklist: stored as blocked (spam), never dialled; ``None`` for a repeat."""
    actions = _first_seen_actions(fields, now)
    actions += [CallModel.blocked.set(True), CallModel.kind.set(CallModel.kind | "blocked")]
    actions += [CallModel.updated_at.set(now), CallModel.voice_token.set(token or NO_TOKEN)]
    _rank_status(actions, "blocked")
    item = CallModel(call_sid)
    try:
        item.update(actions=actions, condition=_first_voice())
    except UpdateError as exc:
        if condition_failed(exc):
            return None
        raise
    return item


def repeated_voice(call_sid: str, token: str | None) -> str:
    """Why a voice request was not stored: ``retry`` when the stored call came from a request
    with the same I-Twilio-Idempotency-Token (Twilio sent it again), else ``repeat``."""
    if not token:
        return "repeat"
    try:
        stored = CallModel.get(call_sid, attributes_to_get=["voice_token"])
    except (CallModel.DoesNotExist, PynamoDBException):
        return "repeat"
    return "retry" if stored.voice_token == token else "repeat"


def record_dial_result(params: dict[str, str], step: int) -> CallModel | None:
    """The <Dial> action's result: answered or missed, talk time, which failover step it was for.

    A result for an earlier step never overwrites a later one, whatever order Twilio sends them.
    """
    status = params.get("DialCallStatus", "")
    actions: list[Any] = [
        CallModel.dial_status.set(status or "unknown"),
        CallModel.answered.set(status in ANSWERED_DIAL_STATUSES),
        CallModel.talk_time.set(_int(params.get("DialCallDuration")) or 0),
        CallModel.dial_step.set(step),
        CallModel.updated_at.set(clock.now_ms()),
    ]
    if params.get("DialCallSid"):
        actions.append(CallModel.dial_call_sid.set(params["DialCallSid"]))
    later = CallModel.dial_step.does_not_exist() | (CallModel.dial_step <= step)
    return upsert(params, actions, condition=later)


def record_voicemail(params: dict[str, str]) -> CallModel | None:
    """The <Record> action: the caller left a message (or hung up without one)."""
    duration = _int(params.get("RecordingDuration")) or 0
    actions: list[Any] = [CallModel.updated_at.set(clock.now_ms())]
    if params.get("RecordingUrl") and duration > 0:
        actions += [
            CallModel.voicemail.set(True),
            CallModel.recording_url.set(params["RecordingUrl"]),
            CallModel.recording_duration.set(duration),
        ]
        if params.get("RecordingSid"):
            actions.append(CallModel.recording_sid.set(params["RecordingSid"]))
    return upsert(params, actions)


def record_status(params: dict[str, str]) -> CallModel | None:
    """The number's status callback: the call's status (never backwards) and total duration."""
    status = params.get("CallStatus", "")
    rank = STATUS_RANK.get(status)
    if rank is None:
        raise BadRequest(f"unknown CallStatus {status!r}")
    actions: list[Any] = [
        CallModel.status.set(status),
        CallModel.status_rank.set(rank),
        CallModel.updated_at.set(clock.now_ms()),
    ]
    duration = _int(params.get("CallDuration"))
    if duration is not None:
        actions.append(CallModel.duration.set(duration))
    condition = CallModel.status_rank.does_not_exist() | (CallModel.status_rank < rank)
    if rank == FINAL_RANK:
        condition = condition | (CallModel.status_rank == rank)
    return upsert(params, actions, condition=condition, started_ms=clock.now_ms() - 1000 * (duration or 0))


def record_recording(params: dict[str, str], kind: str = "call") -> CallModel | None:
    """The recording status callback: the recording's SID, URL and length on the call.

    ``kind`` is ``voicemail`` for a <Record> message, so the call is a voicemail even when
    this callback arrives before (or instead of) the <Record> action.
    """
    if params.get("RecordingStatus", "completed") != "completed":
        return None
    actions: list[Any] = [
        CallModel.recording_sid.set(params.get("RecordingSid") or "unknown"),
        CallModel.recording_duration.set(_int(params.get("RecordingDuration")) or 0),
        CallModel.updated_at.set(clock.now_ms()),
    ]
    if params.get("RecordingUrl"):
        actions.append(CallModel.recording_url.set(params["RecordingUrl"]))
    if kind == "voicemail" and (_int(params.get("RecordingDuration")) or 0) > 0:
        actions.append(CallModel.voicemail.set(True))
    return upsert(params, actions)


def upsert(
    params: dict[str, str],
    actions: list[Any],
    *,
    condition: Any = None,
    started_ms: int | None = None,
) -> CallModel | None:
    """Apply a callback's changes, creating the call if the voice webhook could not store it.

    ``None`` when the condition says the callback is older than what is stored (ignored).
    A DynamoDB failure is a ``StorageUnavailable`` (503), so that Twilio sends it again.
    """
    call_sid = params.get("CallSid", "")
    if not call_sid.startswith("CA") or len(call_sid) > 64:
        raise BadRequest("CallSid is missing or malformed")
    logger.append_keys(call_sid=call_sid)
    started = started_ms if started_ms is not None else clock.now_ms()
    full = actions + _first_seen_actions(caller_fields(params), started)
    try:
        item = CallModel(call_sid)
        item.update(actions=full, condition=condition)
    except UpdateError as exc:
        if condition_failed(exc):
            logger.info("callback is older than what is stored; ignored")
            return None
        raise StorageUnavailable("the call store is unavailable; send this callback again") from exc
    if item.kind is None or item.degraded:
        _complete_routing(item)
    return item


def _complete_routing(item: CallModel) -> None:
    """Resolve the route and attribution of a call the voice webhook could not store or route."""
    try:
        route, number, pool = lookup(item.called or "")
        started = int(item.started_at or clock.now_ms())
        attr = attribute(route, number, pool, started)
        touch = _touch_actions(item.caller, item.call_sid, started, attr)
        item.update(actions=[*_route_actions(route, attr), *touch, CallModel.degraded.set(False)])
    except PynamoDBException:
        logger.exception("completing the call's routing failed; a later callback will try again")


# --- reading ---------------------------------------------------------------------------------


def to_dict(c: CallModel) -> dict[str, Any]:
    return {
        "sid": c.call_sid,
        "started_at": clock.iso(int(c.started_at)) if c.started_at is not None else None,
        "caller": c.caller,
        "called": c.called,
        "caller_city": c.caller_city,
        "caller_state": c.caller_state,
        "caller_country": c.caller_country,
        "kind": c.kind,
        "channel_id": c.channel_id,
        "channel_name": c.channel_name,
        "pool_id": c.pool_id,
        "forwarded_to": c.forwarded_to,
        "status": c.status,
        "duration": int(c.duration) if c.duration is not None else None,
        "answered": c.answered,
        "dial_status": c.dial_status,
        "talk_time": int(c.talk_time) if c.talk_time is not None else None,
        "recorded": c.recorded,
        "recording": (
            {
                "sid": c.recording_sid,
                # The API's own link (a presigned URL for an authorised caller), never Twilio's media URL.
                "url": f"{get_settings().public_base_url}/v1/calls/{c.call_sid}/recording",
                "duration": int(c.recording_duration) if c.recording_duration is not None else None,
                "size": int(c.recording_size) if c.recording_size is not None else None,
                "archived": bool(c.recording_key and c.recording_size),
            }
            if c.recording_sid
            else None
        ),
        "voicemail": bool(c.voicemail),
        "first_time": c.first_time,
        "first_touch": c.first_touch,
        "outcome": c.outcome,
        "revenue": float(c.revenue) if c.revenue is not None else None,
        "note": c.note,
        "tags": sorted(c.tags or []),
        "blocked": bool(c.blocked),
        "result": result_of(c),
        "attribution": c.attribution,
    }


def load(call_sid: str) -> CallModel:
    return get_or_404(CallModel, call_sid, "call with sid")


def get(call_sid: str) -> dict[str, Any]:
    return to_dict(load(call_sid))
