"""The call lifecycle: TwiML for Twilio's webhooks, the call records, and the calls API.

Every write here is an upsert keyed by CallSid, so Twilio's retries and reordered
callbacks land the same record. The voice webhook answers forwarding TwiML whatever
fails behind it: a call is never dropped because of us.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pynamodb.exceptions import PynamoDBException, UpdateError
from twilio.twiml.voice_response import VoiceResponse

from chalicelib import attribution, blocklist, clock, flow
from chalicelib.errors import BadRequest, StorageUnavailable, dynamodb_code
from chalicelib.models import CallModel, ChannelModel, NumberModel, PoolModel, get_or_404
from chalicelib.observability import logger, metrics
from chalicelib.settings import get_settings
from chalicelib.validation import loose_e164

VOICEMAIL_MAX_SECONDS = 180
UNKNOWN_NUMBER_MESSAGE = "The number you have called is not in service. Goodbye."
MISSED_MESSAGE = "Sorry, nobody could take your call right now. Please call again later. Goodbye."

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
ANSWERED_DIAL_STATUSES = {"completed", "answered"}


@dataclass(frozen=True)
class Route:
    """Where a call to a tracking number goes, and how."""

    kind: str  # "channel", "pool", "overflow" or "unknown"
    target_id: str | None
    name: str | None
    forward_to: str | None
    record: bool
    disclosure: str | None
    flow: dict[str, Any] | None = None


@dataclass(frozen=True)
class Plan:
    """What the call does now: dial a phone (``phones[step]``), take a voicemail, or say sorry."""

    action: str  # "dial", "voicemail" or "message"
    phones: tuple[str, ...] = ()


def plan(route: Route, at: datetime) -> Plan:
    """Business hours decide between the route's phones and the after-hours action."""
    fl = route.flow or {}
    if not flow.is_open(fl, at):
        after = fl.get("after_hours") or {"action": "voicemail"}
        if after["action"] == "forward":
            return Plan("dial", (after["forward_to"],))
        return Plan("voicemail")
    if not route.forward_to:
        return Plan("message")
    return Plan("dial", (route.forward_to, *fl.get("failover", [])))


def _url(path: str) -> str:
    return get_settings().public_base_url + path


def default_route() -> Route:
    return Route("unknown", None, None, get_settings().default_forward_to, False, None)


def lookup(called: str) -> tuple[Route, NumberModel | None, Any]:
    """The route for a called number, its number item and (for pool numbers) its pool."""
    try:
        number = NumberModel.get(called)
    except NumberModel.DoesNotExist:
        return default_route(), None, None
    if number.status != "active":
        return default_route(), None, None
    if number.kind == "channel" and number.channel_id:
        try:
            ch = ChannelModel.get(number.channel_id)
        except ChannelModel.DoesNotExist:
            return default_route(), number, None
        route = Route("channel", ch.channel_id, ch.name, ch.forward_to, bool(ch.record), ch.disclosure, ch.flow)
        return route, number, None
    if number.pool_id:
        try:
            pool = PoolModel.get(number.pool_id)
        except PoolModel.DoesNotExist:
            return default_route(), number, None
        route = Route(
            number.kind, pool.pool_id, pool.name, pool.forward_to, bool(pool.record), pool.disclosure, pool.flow
        )
        return route, number, pool
    return default_route(), number, None


def _say(vr: Any, text: str, fl: dict[str, Any]) -> None:
    kwargs = {}
    if fl.get("disclosure_voice"):
        kwargs["voice"] = fl["disclosure_voice"]
    if fl.get("disclosure_language"):
        kwargs["language"] = fl["disclosure_language"]
    vr.say(text, **kwargs)


def forward_twiml(route: Route, caller: str | None, *, step: int = 0, at: datetime | None = None) -> str:
    """TwiML for the call's next move along ``route``: dial phone ``step``, voicemail, or apologise."""
    vr = VoiceResponse()
    fl = route.flow or {}
    p = plan(route, at or clock.now())
    if p.action == "voicemail" or (p.action == "dial" and step >= len(p.phones) and _unanswered(fl) == "voicemail"):
        return voicemail_twiml(route)
    if p.action == "message" or step >= len(p.phones):
        vr.say(MISSED_MESSAGE if step else UNKNOWN_NUMBER_MESSAGE)
        vr.hangup()
        return str(vr)
    if step == 0 and route.record and route.disclosure:
        _say(vr, route.disclosure, fl)
    dial_args: dict[str, Any] = {
        "action": _url(f"/twilio/dial-status?step={step}"),
        "method": "POST",
        "timeout": get_settings().ring_timeout_seconds,
        "answer_on_bridge": True,
    }
    if caller and caller.startswith("+"):
        dial_args["caller_id"] = caller
    if route.record:
        dial_args["record"] = "record-from-answer-dual"
        dial_args["recording_status_callback"] = _url("/twilio/recording-status")
        dial_args["recording_status_callback_method"] = "POST"
    dial = vr.dial(**dial_args)
    if fl.get("whisper") and route.target_id:
        # The agent hears where the call came from before being connected; the caller does not.
        dial.number(p.phones[step], url=_url(f"/twilio/whisper/{route.kind}/{route.target_id}"), method="POST")
    else:
        dial.number(p.phones[step])
    return str(vr)


def _unanswered(fl: dict[str, Any]) -> str:
    return str(fl.get("when_unanswered", "message"))


def voicemail_twiml(route: Route) -> str:
    vr = VoiceResponse()
    fl = route.flow or {}
    _say(vr, fl.get("voicemail_prompt", flow.DEFAULT_VOICEMAIL_PROMPT), fl)
    vr.record(
        action=_url("/twilio/voicemail"),
        method="POST",
        max_length=VOICEMAIL_MAX_SECONDS,
        timeout=5,
        play_beep=True,
        recording_status_callback=_url("/twilio/recording-status?kind=voicemail"),
        recording_status_callback_method="POST",
    )
    vr.hangup()
    return str(vr)


def whisper_twiml(kind: str, target_id: str) -> str:
    """What the agent hears on answering: "Call from <channel>"; generic if the lookup fails."""
    name, text = None, flow.DEFAULT_WHISPER
    try:
        if kind == "channel":
            ch = ChannelModel.get(target_id)
            name, text = ch.name, (ch.flow or {}).get("whisper_text", text)
        elif kind in ("pool", "overflow"):
            pool = PoolModel.get(target_id)
            name, text = pool.name, (pool.flow or {}).get("whisper_text", text)
    except Exception:
        logger.exception("whisper lookup failed; using a generic whisper")
    vr = VoiceResponse()
    vr.say(text.replace("{name}", name or "a tracked number"))
    return str(vr)


def fallback_twiml(caller: str | None) -> str:
    """Forward to the default phone without touching the database."""
    return forward_twiml(default_route(), caller)


def _caller_fields(params: dict[str, str]) -> dict[str, Any]:
    return {
        "caller": loose_e164(params.get("From")),
        "called": loose_e164(params.get("To")),
        "caller_city": params.get("FromCity") or None,
        "caller_state": params.get("FromState") or None,
        "caller_country": params.get("FromCountry") or None,
    }


def _expiry(started_ms: int) -> datetime:
    return datetime.fromtimestamp(started_ms / 1000, tz=UTC) + timedelta(days=get_settings().call_retention_days)


def _month(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m")


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
        first(CallModel.month, _month(started_ms)),
        first(CallModel.expires_at, _expiry(started_ms)),
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


def _attribution_for(route: Route, number: NumberModel | None, pool: Any, started_ms: int) -> dict[str, Any]:
    return attribution.resolve(number, started_ms, channel_name=route.name, pool=pool)


def answer_voice(params: dict[str, str]) -> str:
    """The voice webhook: route the call, store it, answer TwiML; never fails."""
    call_sid = params.get("CallSid", "")
    fields = _caller_fields(params)
    caller, called = fields["caller"], fields["called"]
    logger.append_keys(call_sid=call_sid)
    now = clock.now_ms()
    degraded = False
    try:
        if blocklist.is_blocked(caller):
            return _reject(call_sid, fields, now)
        route, number, pool = lookup(called or "")
        attr = _attribution_for(route, number, pool, now)
    except Exception:
        logger.exception("routing failed; forwarding to the default phone", called=called)
        route, attr, degraded = default_route(), attribution.unattributed("routing failed"), True
    twiml = forward_twiml(route, caller)
    if not call_sid or degraded:
        # DynamoDB failed once on this request: don't spend Twilio's 15 s on it again.
        # The callbacks create and complete the record (upsert) when it is back.
        return twiml
    try:
        actions = _first_seen_actions(fields, now, exact=True) + _route_actions(route, attr)
        actions += _touch_actions(caller, call_sid, now, attr)
        actions += [CallModel.degraded.set(degraded), CallModel.updated_at.set(now)]
        _rank_status(actions, "ringing")
        CallModel(call_sid).update(actions=actions)
    except Exception:
        # The caller is still forwarded; the status callback completes the record later.
        logger.exception("storing the call failed; it will be completed by its callbacks")
    metrics.add_metric(name="CallsDegraded" if degraded else "CallsAnswered", unit=MetricUnit.Count, value=1)
    logger.info("call answered", route=route.kind, target=route.target_id, confidence=attr.get("confidence"))
    return twiml


def _reject(call_sid: str, fields: dict[str, Any], now: int) -> str:
    """A blocked caller: rejected before anything is dialled, stored as blocked (spam), counted."""
    vr = VoiceResponse()
    vr.reject(reason="rejected")
    metrics.add_metric(name="CallsBlocked", unit=MetricUnit.Count, value=1)
    logger.info("caller blocked")
    if call_sid:
        try:
            actions = _first_seen_actions(fields, now)
            actions += [CallModel.blocked.set(True), CallModel.kind.set(CallModel.kind | "blocked")]
            actions += [CallModel.updated_at.set(now)]
            _rank_status(actions, "blocked")
            item = CallModel(call_sid)
            item.update(actions=actions)
            from chalicelib import reports  # callbacks only: kept out of the voice path's imports

            reports.sync(item)
        except Exception:
            logger.exception("storing the blocked call failed")
    return str(vr)


def _touch_actions(caller: str | None, call_sid: str, started_ms: int, attr: dict[str, Any]) -> list[Any]:
    """First-time or repeat caller, and the first call's source (first touch)."""
    keep = get_settings().call_retention_days
    first = attribution.first_touch(caller, call_sid, started_ms, attr, keep)
    return [CallModel.first_time.set(first.get("call_sid") == call_sid), CallModel.first_touch.set(first)]


def _rank_status(actions: list[Any], status: str) -> None:
    actions.append(CallModel.status.set(CallModel.status | status))
    actions.append(CallModel.status_rank.set(CallModel.status_rank | STATUS_RANK.get(status, 0)))


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def dial_finished(params: dict[str, str], step: int = 0) -> str:
    """The <Dial> action: store answered or missed, then the next phone, voicemail, or goodbye.

    ``step`` is which phone of the route (primary, then the failover list) was dialled. A
    result for an earlier step never overwrites a later one, whatever order Twilio sends them.
    """
    call_sid = params.get("CallSid", "")
    status = params.get("DialCallStatus", "")
    answered = status in ANSWERED_DIAL_STATUSES
    actions: list[Any] = [
        CallModel.dial_status.set(status or "unknown"),
        CallModel.answered.set(answered),
        CallModel.talk_time.set(_int(params.get("DialCallDuration")) or 0),
        CallModel.dial_step.set(step),
        CallModel.updated_at.set(clock.now_ms()),
    ]
    if params.get("DialCallSid"):
        actions.append(CallModel.dial_call_sid.set(params["DialCallSid"]))
    later = CallModel.dial_step.does_not_exist() | (CallModel.dial_step <= step)
    _store_or_go_on(call_sid, params, actions, condition=later)
    if answered:
        vr = VoiceResponse()
        vr.hangup()
        return str(vr)
    try:
        route, _, _ = lookup(loose_e164(params.get("To")) or "")
    except Exception:
        logger.exception("looking up the failover route failed")
        route = default_route()
        if step > 0:
            route = Route("unknown", None, None, None, False, None)
    return forward_twiml(route, loose_e164(params.get("From")), step=step + 1)


def voicemail_finished(params: dict[str, str]) -> str:
    """The <Record> action: the caller left a message (or hung up without one)."""
    call_sid = params.get("CallSid", "")
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
    _store_or_go_on(call_sid, params, actions)
    vr = VoiceResponse()
    vr.say("Thank you. Goodbye.")
    vr.hangup()
    return str(vr)


def call_finished(params: dict[str, str]) -> str:
    """The number's status callback: the call's status (never backwards) and total duration."""
    call_sid = params.get("CallSid", "")
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
    if rank == STATUS_RANK["completed"]:
        condition = condition | (CallModel.status_rank == rank)
    _upsert(call_sid, params, actions, condition=condition, started_ms=_start_from_duration(duration))
    return str(VoiceResponse())


def recording_finished(params: dict[str, str], kind: str = "call") -> str:
    """The recording status callback: the recording's SID, URL and length on the call.

    ``kind`` is ``voicemail`` for a <Record> message, so the call is a voicemail even when
    this callback arrives before (or instead of) the <Record> action.
    """
    call_sid = params.get("CallSid", "")
    if params.get("RecordingStatus", "completed") != "completed":
        return str(VoiceResponse())
    actions: list[Any] = [
        CallModel.recording_sid.set(params.get("RecordingSid") or "unknown"),
        CallModel.recording_duration.set(_int(params.get("RecordingDuration")) or 0),
        CallModel.updated_at.set(clock.now_ms()),
    ]
    if params.get("RecordingUrl"):
        actions.append(CallModel.recording_url.set(params["RecordingUrl"]))
    if kind == "voicemail" and (_int(params.get("RecordingDuration")) or 0) > 0:
        actions.append(CallModel.voicemail.set(True))
    _upsert(call_sid, params, actions)
    return str(VoiceResponse())


def _store_or_go_on(call_sid: str, params: dict[str, str], actions: list[Any], **kw: Any) -> None:
    """For callbacks the caller is waiting on (<Dial> and <Record> actions): the call goes on
    even if DynamoDB is down; the final status callback still completes the record."""
    try:
        _upsert(call_sid, params, actions, **kw)
    except (StorageUnavailable, PynamoDBException):
        metrics.add_metric(name="CallbackStoreFailed", unit=MetricUnit.Count, value=1)
        logger.exception("storing a dial or voicemail result failed; the call goes on")


def _start_from_duration(duration: int | None) -> int:
    return clock.now_ms() - 1000 * (duration or 0)


def _upsert(
    call_sid: str,
    params: dict[str, str],
    actions: list[Any],
    *,
    condition: Any = None,
    started_ms: int | None = None,
) -> None:
    """Apply a callback's changes, creating the call if the voice webhook could not store it."""
    if not call_sid.startswith("CA") or len(call_sid) > 64:
        raise BadRequest("CallSid is missing or malformed")
    logger.append_keys(call_sid=call_sid)
    started = started_ms if started_ms is not None else clock.now_ms()
    full = actions + _first_seen_actions(_caller_fields(params), started)
    try:
        item = CallModel(call_sid)
        item.update(actions=full, condition=condition)
    except UpdateError as exc:
        if dynamodb_code(exc) == "ConditionalCheckFailedException":
            logger.info("callback is older than what is stored; ignored")
            return
        raise StorageUnavailable("the call store is unavailable; send this callback again") from exc
    if item.kind is None or item.degraded:
        _complete_routing(item)
    from chalicelib import reports

    try:
        reports.sync(item)
    except PynamoDBException as exc:
        raise StorageUnavailable("the report aggregates could not be updated; send this callback again") from exc


def _complete_routing(item: CallModel) -> None:
    """Resolve the route and attribution of a call the voice webhook could not store or route."""
    try:
        route, number, pool = lookup(item.called or "")
        started = int(item.started_at or clock.now_ms())
        attr = _attribution_for(route, number, pool, started)
        touch = _touch_actions(item.caller, item.call_sid, started, attr)
        item.update(actions=[*_route_actions(route, attr), *touch, CallModel.degraded.set(False)])
    except PynamoDBException:
        logger.exception("completing the call's routing failed; a later callback will try again")


# --- the calls API -------------------------------------------------------------------------

MAX_PAGE = 200
MAX_RANGE_DAYS = 366


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
                "url": c.recording_url,
                "duration": int(c.recording_duration) if c.recording_duration is not None else None,
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


def result_of(c: CallModel) -> str | None:
    """How the call ended for the business: answered, voicemail, missed or blocked (None while ringing)."""
    if c.blocked:
        return "blocked"
    if c.answered:
        return "answered"
    if c.voicemail:
        return "voicemail"
    if c.answered is False or (c.status_rank is not None and int(c.status_rank) >= STATUS_RANK["completed"]):
        return "missed"
    return None


def load(call_sid: str) -> CallModel:
    return get_or_404(CallModel, call_sid, "call with sid")


def get(call_sid: str) -> dict[str, Any]:
    return to_dict(load(call_sid))


def _months_desc(start_ms: int, end_ms: int) -> list[str]:
    months = []
    cur = datetime.fromtimestamp(end_ms / 1000, tz=UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    first = datetime.fromtimestamp(start_ms / 1000, tz=UTC).strftime("%Y-%m")
    while True:
        months.append(cur.strftime("%Y-%m"))
        if months[-1] <= first:
            return months
        cur = (cur - timedelta(days=1)).replace(day=1)


# Times outside 1970..9998 would take the month arithmetic past what datetime can hold.
MIN_TIME_MS, MAX_TIME_MS = 0, 253_370_764_800_000  # 1970-01-01, 9999-01-01 (UTC)


def _parse_time(value: str | None, name: str, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        ms = clock.parse_iso(value)
    except ValueError:
        raise BadRequest(
            f"'{name}' must be an ISO 8601 date or time, like 2026-11-01 or 2026-11-01T09:00:00Z"
        ) from None
    if not MIN_TIME_MS <= ms < MAX_TIME_MS:
        raise BadRequest(f"'{name}' must be between 1970 and 9998")
    return ms


def parse_range(query: dict[str, str]) -> tuple[int, int]:
    now = clock.now_ms()
    end = _parse_time(query.get("to"), "to", now)
    start = _parse_time(query.get("from"), "from", end - 30 * 86_400_000)
    if start > end:
        raise BadRequest("'from' is after 'to'")
    if end - start > MAX_RANGE_DAYS * 86_400_000:
        raise BadRequest(f"the range is longer than {MAX_RANGE_DAYS} days")
    return start, end


def _cursor_decode(cursor: str) -> tuple[str, dict[str, Any]]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"=" * (-len(cursor) % 4)))
        month, key = data["m"], data["k"]
        if not isinstance(month, str) or not isinstance(key, dict):
            raise ValueError
        if key and not _valid_call_key(key, month):
            raise ValueError
        return month, key
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        raise BadRequest("'cursor' is not one this API gave out") from None


def _valid_call_key(key: dict[str, Any], month: str) -> bool:
    """A cursor goes back to DynamoDB as ExclusiveStartKey: only a well-formed key may."""
    if set(key) != {"call_sid", "month", "started_at"}:
        return False
    sid, m, started = key["call_sid"], key["month"], key["started_at"]
    return (
        sid == {"S": sid.get("S")}
        and isinstance(sid.get("S"), str)
        and 0 < len(sid["S"]) <= 64
        and m == {"S": month}
        and started == {"N": started.get("N")}
        and isinstance(started.get("N"), str)
        and started["N"].isdigit()
    )


def _cursor_encode(month: str, key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps({"m": month, "k": key}).encode()).decode().rstrip("=")


def list_calls(query: dict[str, str], *, max_page: int = MAX_PAGE) -> dict[str, Any]:
    """Calls newest first within [from, to], filtered by channel or pool and answered/missed."""
    unknown = sorted(set(query) - {"from", "to", "limit", "cursor", "channel_id", "pool_id", "answered", "format"})
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(unknown)}")
    start, end = parse_range(query)
    try:
        limit = int(query.get("limit") or min(50, max_page))
    except ValueError:
        raise BadRequest("'limit' must be a whole number") from None
    if not 1 <= limit <= max_page:
        raise BadRequest(f"'limit' must be between 1 and {max_page}")
    answered_q = query.get("answered")
    if answered_q not in (None, "", "true", "false"):
        raise BadRequest("'answered' must be true or false")
    filt = None
    if query.get("channel_id"):
        filt = CallModel.channel_id == query["channel_id"]
    if query.get("pool_id"):
        cond = CallModel.pool_id == query["pool_id"]
        filt = cond if filt is None else filt & cond
    if answered_q:
        cond = CallModel.answered == True if answered_q == "true" else CallModel.answered != True  # noqa: E712
        filt = cond if filt is None else filt & cond

    months = _months_desc(start, end)
    last_key: dict[str, Any] | None = None
    if query.get("cursor"):
        month, key = _cursor_decode(query["cursor"])
        if month not in months:
            raise BadRequest("'cursor' does not belong to this date range")
        months = months[months.index(month) :]
        last_key = key or None

    items: list[dict[str, Any]] = []
    for month in months:
        results = CallModel.month_index.query(
            month,
            CallModel.started_at.between(start, end),
            filter_condition=filt,
            scan_index_forward=False,
            limit=limit - len(items),
            last_evaluated_key=last_key,
        )
        for c in results:
            items.append(to_dict(c))
        last_key = results.last_evaluated_key
        if len(items) >= limit:
            next_cursor = _cursor_encode(month, last_key) if last_key else _next_month_cursor(months, month)
            return {"calls": items, "next_cursor": next_cursor}
        last_key = None
    return {"calls": items, "next_cursor": None}


def _next_month_cursor(months: list[str], month: str) -> str | None:
    """A cursor for the start of the month after ``month`` (older), if the range has one."""
    i = months.index(month)
    return _cursor_encode(months[i + 1], {}) if i + 1 < len(months) else None


CSV_MAX_PAGE = 5000
CSV_COLUMNS = (
    "sid", "started_at", "caller", "called", "caller_city", "caller_state", "caller_country", "kind",
    "channel_id", "channel_name", "pool_id", "forwarded_to", "status", "result", "answered", "dial_status",
    "duration", "talk_time", "voicemail", "blocked", "first_time", "recorded", "recording_sid",
    "recording_url", "recording_duration", "confidence", "source_key", "channel_group", "session_id",
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "referrer", "landing_page",
    "gclid", "fbclid", "msclkid", "yclid", "ga_client_id", "ym_client_id", "device", "first_touch_source",
    "first_touch_call", "outcome", "revenue", "note", "tags", "gbraid", "wbraid", "ga_session_id",
)  # fmt: skip


def calls_csv(query: dict[str, str]) -> tuple[str, str | None]:
    """The calls page as CSV (up to 5,000 rows; the next page's cursor is returned separately)."""
    import csv
    import io

    page = list_calls({k: val for k, val in query.items() if k != "format"}, max_page=CSV_MAX_PAGE)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for c in page["calls"]:
        attr = c.get("attribution") or {}
        src = attr.get("source") or {}
        rec = c.get("recording") or {}
        first = c.get("first_touch") or {}
        row = {
            **c,
            **{k: src.get(k) for k in CSV_COLUMNS if k in src},
            "recording_sid": rec.get("sid"),
            "recording_url": rec.get("url"),
            "recording_duration": rec.get("duration"),
            "confidence": attr.get("confidence"),
            "source_key": attribution.source_key(attr, c.get("kind")),
            "channel_group": attr.get("channel_group"),
            "session_id": attr.get("session_id"),
            "first_touch_source": first.get("source_key"),
            "first_touch_call": first.get("call_sid"),
            "tags": ";".join(c.get("tags") or []),
        }
        writer.writerow({k: _csv_cell(row.get(k)) for k in CSV_COLUMNS})
    return out.getvalue(), page["next_cursor"]


def _csv_cell(value: Any) -> Any:
    """Cells a spreadsheet would run as a formula are quoted as text (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") and not value[1:2].isdigit():
        return "'" + value
    return "" if value is None else value
