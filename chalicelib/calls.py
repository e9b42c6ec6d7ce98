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

from chalicelib import attribution, handling
from chalicelib.core import clock
from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.core.errors import BadRequest, StorageUnavailable
from chalicelib.core.observability import logger
from chalicelib.core.settings import get_settings
from chalicelib.core.validation import loose_e164
from chalicelib.routing import Route, lookup
from chalicelib.store import calls as store
from chalicelib.store import lines
from chalicelib.store.calls import CallChange, CallRecord
from chalicelib.store.lines import Number, Pool
from chalicelib.store.ops import expires_after, is_storage_error

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


TEXT, OUTBOUND = "text", "outbound"  # the other records of the calls table (``medium``)


def is_call(c: CallRecord) -> bool:
    """Whether a record of the calls table is an inbound call: not a text to a tracking number
    (``chalicelib/texts.py``), not a call-back made from the dashboard (``callback_dial.py``).
    The one rule by which every call figure (reports, alerts, conversions, CRMs, webhooks'
    ``call.*`` events, spam scoring, the call-back list) leaves the other records out. Pure."""
    return c.medium is None


def is_final(c: CallRecord) -> bool:
    """Whether the call has ended (or was blocked before it began)."""
    return bool(c.blocked) or (c.status_rank is not None and int(c.status_rank) >= FINAL_RANK)


def result_of(c: CallRecord) -> str | None:
    """How the call ended for the business: answered, voicemail, missed or blocked (None while
    ringing); ``text`` for a text to a tracking number (``chalicelib/texts.py``), which never rings;
    ``outbound`` for a call-back made from the dashboard (``callback_dial.py``)."""
    if c.medium == TEXT:
        return "text"
    if c.medium == OUTBOUND:
        return "outbound"
    if c.blocked:
        return "blocked"
    if c.answered:
        return "answered"
    if c.voicemail:
        return "voicemail"
    if c.answered is False or (c.status_rank is not None and int(c.status_rank) >= FINAL_RANK):
        return "missed"
    return None


def screen_passed(dial_status: str, step: int, c: CallRecord | None) -> bool:
    """A screened phone was taken: it answered and whoever answered pressed a key for this very
    phone (``step``). Twilio says ``completed`` for a phone whose voicemail answered and heard the
    prompt: only the stored press tells a person from a machine."""
    return (
        dial_status in ANSWERED_DIAL_STATUSES
        and c is not None
        and bool(c.screen_key)
        and c.screen_step is not None
        and int(c.screen_step) == step
    )


def caller_fields(params: dict[str, str]) -> dict[str, Any]:
    """Who called which number, from a Twilio request's form."""
    return {
        "caller": loose_e164(params.get("From")),
        "called": loose_e164(params.get("To")),
        "caller_city": params.get("FromCity") or None,
        "caller_state": params.get("FromState") or None,
        "caller_country": params.get("FromCountry") or None,
    }


def verstat_fields(params: dict[str, str]) -> dict[str, Any]:
    """The voice request's STIR/SHAKEN result (``StirVerstat``, e.g. ``TN-Validation-Passed-A``),
    stored on the call where it is first written: text-back reads it (``attestation_failed``)."""
    value = (params.get("StirVerstat") or "").strip()[:64]
    return {"stir_verstat": value} if value else {}


def attestation_failed(verstat: str | None) -> bool:
    """Whether the carrier's STIR/SHAKEN check of the caller id failed (``TN-Validation-Failed*``):
    the number may be spoofed, so nobody texts it. Pure."""
    return bool(verstat) and str(verstat).startswith("TN-Validation-Failed")


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


# --- changes ---------------------------------------------------------------------------------


def _first_seen(fields: dict[str, Any], started_ms: int, *, exact: bool = False) -> CallChange:
    """Set each field only if no earlier writer did.

    The voice webhook knows when the call started (``exact``): its time replaces the
    estimate a callback that arrived first made from the call's duration, so the stored
    call is the same whatever order Twilio delivered its requests in.
    """
    times = {
        "started_at": started_ms,
        "month": store.month_of(started_ms),
        "expires_at": expires_after(started_ms, get_settings().call_retention_days),
    }
    given = {key: value for key, value in fields.items() if value is not None}
    return CallChange(set=times, set_if_absent=given) if exact else CallChange(set_if_absent={**times, **given})


def _route_change(route: Route, attr: dict[str, Any]) -> CallChange:
    values: dict[str, Any] = {"kind": route.kind, "recorded": route.record, "attribution": attr}
    if route.kind == "channel":
        values["channel_id"] = route.target_id or ""
    if route.name:
        values["channel_name"] = route.name
    if route.kind in ("pool", "overflow"):
        values["pool_id"] = route.target_id or ""
    if route.forward_to:
        values["forwarded_to"] = route.forward_to
    gone = tuple(k for k in ("channel_id", "channel_name", "pool_id", "forwarded_to") if k not in values)
    return CallChange(set=values, remove=gone)


def _touch_change(caller: str | None, call_sid: str, started_ms: int, attr: dict[str, Any]) -> CallChange:
    """First-time or repeat caller, and the first call's source (first touch)."""
    keep = get_settings().call_retention_days
    first = attribution.first_touch(caller, call_sid, started_ms, attr, keep)
    return CallChange(set={"first_time": first.get("call_sid") == call_sid, "first_touch": first})


def _ranked(status: str) -> CallChange:
    return CallChange(set_if_absent={"status": status, "status_rank": STATUS_RANK.get(status, 0)})


def attribute(route: Route, number: Number | None, pool: Pool | None, started_ms: int) -> dict[str, Any]:
    return attribution.resolve(number, started_ms, channel_name=route.name, pool=pool)


# --- writes ----------------------------------------------------------------------------------
# The voice path's writes run as Twilio (``ctx``: the edge's TWILIO context when it passes one,
# else SYSTEM): the store reads the context for the audit log and a later tenancy only.


def _first_voice() -> store.Guard:
    """The condition of a voice request's write: no voice request was stored for this call yet,
    and the call has not ended. Twilio waits for the voice webhook's TwiML before the call goes
    on, so a voice request for a stored or finished call is Twilio's retry or a replay (Twilio's
    signatures carry no time): either way it must not re-route or re-attribute the call."""
    return store.first_voice(FINAL_RANK)


def record_ringing(
    call_sid: str,
    fields: dict[str, Any],
    route: Route,
    attr: dict[str, Any],
    now: int,
    *,
    token: str | None = None,
    ctx: RequestContext = SYSTEM,
) -> bool:
    """The voice webhook's one write: who called, where it went, why it came (first touch too).

    Only the first voice request for a call writes (``_first_voice``): the call and the
    caller's first-touch item in one transaction, so a refused repeat changes nothing at all.
    ``token`` is the request's I-Twilio-Idempotency-Token, kept to tell Twilio's own retries
    from replays. Returns ``False`` when the call was already stored by a voice request.
    """
    return record_ringing_or_old(call_sid, fields, route, attr, now, token=token, ctx=ctx)[0]


def record_ringing_or_old(
    call_sid: str,
    fields: dict[str, Any],
    route: Route,
    attr: dict[str, Any],
    now: int,
    *,
    token: str | None = None,
    first_touch: dict[str, dict[str, Any]] | None = None,
    ctx: RequestContext = SYSTEM,
) -> tuple[bool, str | None]:
    """``record_ringing``, and for a refused repeat the stored call's voice token (returned by the
    refused write itself). ``first_touch``: the caller's first-touch items as the voice webhook's
    batch read them (``attribution.first_touch_candidates``), so the first try reads nothing."""
    for attempt in range(2):
        first, caller_write = attribution.first_touch_read(
            fields["caller"],
            call_sid,
            now,
            attr,
            get_settings().call_retention_days,
            found=first_touch if attempt == 0 else None,
        )
        change = _first_seen(fields, now, exact=True) + _route_change(route, attr)
        change += CallChange(set={"first_time": first.get("call_sid") == call_sid, "first_touch": first})
        change += CallChange(set={"degraded": False, "updated_at": now, "voice_token": token or NO_TOKEN})
        change += _ranked("ringing")
        outcome, old_token = store.write_with_old(call_sid, change, guard=_first_voice(), also=caller_write, ctx=ctx)
        if outcome == "call_refused":
            return False, old_token
        if outcome == "also_refused":
            if attempt == 0:
                continue  # another call of this new caller was recorded first: read its first touch again
            raise StorageUnavailable("the caller's first touch kept changing; Twilio may send the call again")
        return True, None
    raise AssertionError("unreachable: the second attempt returns or raises")


def record_blocked(
    call_sid: str, fields: dict[str, Any], now: int, *, token: str | None = None, ctx: RequestContext = SYSTEM
) -> CallRecord | None:
    """A caller on the blocklist: stored as blocked (spam), never dialled; ``None`` for a repeat."""
    change = _first_seen(fields, now) + CallChange(
        set={"blocked": True, "updated_at": now, "voice_token": token or NO_TOKEN}, set_if_absent={"kind": "blocked"}
    )
    return store.update(call_sid, change + _ranked("blocked"), guard=_first_voice(), ctx=ctx)


def repeated_voice(
    call_sid: str, token: str | None, *, stored_token: str | None = None, ctx: RequestContext = SYSTEM
) -> str:
    """Why a voice request was not stored: ``retry`` when the stored call came from a request
    with the same I-Twilio-Idempotency-Token (Twilio sent it again), else ``repeat``.
    ``stored_token``: the stored call's token as the refused write returned it (else one read)."""
    if not token:
        return "repeat"
    stored = stored_token if stored_token is not None else store.voice_token(call_sid, ctx=ctx)
    return "retry" if stored == token else "repeat"


def record_dial_result(
    params: dict[str, str],
    step: int,
    *,
    screened: bool = False,
    option: str | None = None,
    phone: str | None = None,
    alert_after: int | None = None,
    ctx: RequestContext = SYSTEM,
) -> CallRecord | None:
    """The <Dial> action's result: answered or missed, talk time, which failover step it was for.

    A result for an earlier step never overwrites a later one, whatever order Twilio sends them.
    A screened dial (``screened``) counts as answered only with a key press stored for its step
    (one read more, on this callback only); one answered without a press is marked refused, and
    the line's refused screens in a row are counted (one write more: ``_screen_streak``).
    ``phone``: the one phone this step rang, stored as the phone that answered.
    """
    status = params.get("DialCallStatus", "")
    answered = status in ANSWERED_DIAL_STATUSES
    refused = False
    streak: dict[str, Any] = {}
    if screened and answered:
        before = store.get(params.get("CallSid", ""), consistent=True, ctx=ctx)
        answered = screen_passed(status, step, before)
        refused = not answered
        streak = _screen_streak(before, step, refused=refused, alert_after=alert_after)
    values: dict[str, Any] = {
        "dial_status": status or "unknown",
        "answered": answered,
        "talk_time": _int(params.get("DialCallDuration")) or 0,
        "dial_step": step,
        "updated_at": clock.now_ms(),
    }
    if option:
        values["menu_option"] = option  # carried in the action's URL: no write of its own
    if refused:
        values["screen_refused"] = step + 1  # which phone (1-based) last answered without pressing
    if answered and phone:
        values["answered_phone"] = phone
    values.update(streak)
    if params.get("DialCallSid"):
        values["dial_call_sid"] = params["DialCallSid"]
    return upsert(params, CallChange(set=values), guard=store.dial_step_at_most(step), ctx=ctx)


def screen_alert_due(streak: int, after: int) -> bool:
    """Whether a line's refused screens in a row call for its alert: at ``after``, and again at every
    further ``after`` (a phone whose voicemail keeps answering is said again, not on every call). Pure."""
    return after > 0 and streak > 0 and streak % after == 0


def _screen_streak(c: CallRecord | None, step: int, *, refused: bool, alert_after: int | None) -> dict[str, Any]:
    """Count this screened answer on its line (one write); the call's share of it: the streak, and
    ``screen_alert`` when it reached the line's alert count. Nothing when the line is unknown."""
    if c is None or c.kind not in ("channel", "pool", "overflow"):
        return {}
    target = c.channel_id if c.kind == "channel" else c.pool_id
    if not target:
        return {}
    entry = f"{c.call_sid}:{step}"
    streak = lines.screen_streak(c.kind, target, refused=refused, entry=entry)
    out: dict[str, Any] = {"screen_streak": streak}
    if refused and screen_alert_due(streak, alert_after or handling.DEFAULT_SCREEN_ALERT_AFTER):
        out["screen_alert"] = True
    return out


def record_screen_press(
    call_sid: str, step: int, digits: str, *, phone: str | None = None, ctx: RequestContext = SYSTEM
) -> CallRecord | None:
    """Whoever answered screened phone ``step`` (``phone``, of phones rung together) pressed ``digits``:
    the call is theirs. Stored before the <Dial> ends, so its result can tell a person from a phone's
    voicemail."""
    values: dict[str, Any] = {"screen_key": digits[:8], "screen_step": step, "updated_at": clock.now_ms()}
    if phone:
        values["answered_phone"] = phone
    return upsert({"CallSid": call_sid}, CallChange(set=values), ctx=ctx)


def record_answered_phone(call_sid: str, phone: str, *, ctx: RequestContext = SYSTEM) -> CallRecord | None:
    """One of the phones rung together answered (its leg's status callback): the first one stored
    is the one that took the call (Twilio connects the first to answer and ends the others)."""
    return upsert({"CallSid": call_sid}, CallChange(set_if_absent={"answered_phone": phone}), ctx=ctx)


def record_voicemail(
    params: dict[str, str], *, option: str | None = None, ctx: RequestContext = SYSTEM
) -> CallRecord | None:
    """The <Record> action: the caller left a message (or hung up without one)."""
    duration = _int(params.get("RecordingDuration")) or 0
    values: dict[str, Any] = {"updated_at": clock.now_ms()}
    if option:
        values["menu_option"] = option
    if params.get("RecordingUrl") and duration > 0:
        values.update(voicemail=True, recording_url=params["RecordingUrl"], recording_duration=duration)
        if params.get("RecordingSid"):
            values["recording_sid"] = params["RecordingSid"]
    return upsert(params, CallChange(set=values), ctx=ctx)


def record_status(params: dict[str, str], *, ctx: RequestContext = SYSTEM) -> CallRecord | None:
    """The number's status callback: the call's status (never backwards) and total duration."""
    status = params.get("CallStatus", "")
    rank = STATUS_RANK.get(status)
    if rank is None:
        raise BadRequest(f"unknown CallStatus {status!r}")
    values: dict[str, Any] = {"status": status, "status_rank": rank, "updated_at": clock.now_ms()}
    duration = _int(params.get("CallDuration"))
    if duration is not None:
        values["duration"] = duration
    guard = store.rank_below(rank, or_equal=rank == FINAL_RANK)
    started = clock.now_ms() - 1000 * (duration or 0)
    return upsert(params, CallChange(set=values), guard=guard, started_ms=started, ctx=ctx)


def record_recording(params: dict[str, str], kind: str = "call", *, ctx: RequestContext = SYSTEM) -> CallRecord | None:
    """The recording status callback: the recording's SID, URL and length on the call.

    ``kind`` is ``voicemail`` for a <Record> message, so the call is a voicemail even when
    this callback arrives before (or instead of) the <Record> action.
    """
    if params.get("RecordingStatus", "completed") != "completed":
        return None
    values: dict[str, Any] = {
        "recording_sid": params.get("RecordingSid") or "unknown",
        "recording_duration": _int(params.get("RecordingDuration")) or 0,
        "updated_at": clock.now_ms(),
    }
    if params.get("RecordingUrl"):
        values["recording_url"] = params["RecordingUrl"]
    if kind == "voicemail" and (_int(params.get("RecordingDuration")) or 0) > 0:
        values["voicemail"] = True
    return upsert(params, CallChange(set=values), ctx=ctx)


def upsert(
    params: dict[str, str],
    change: CallChange,
    *,
    guard: store.Guard | None = None,
    started_ms: int | None = None,
    ctx: RequestContext = SYSTEM,
) -> CallRecord | None:
    """Apply a callback's changes, creating the call if the voice webhook could not store it.

    ``None`` when the guard says the callback is older than what is stored (ignored).
    A DynamoDB failure is a ``StorageUnavailable`` (503), so that Twilio sends it again.
    """
    call_sid = params.get("CallSid", "")
    if not call_sid.startswith("CA") or len(call_sid) > 64:
        raise BadRequest("CallSid is missing or malformed")
    logger.append_keys(call_sid=call_sid)
    started = started_ms if started_ms is not None else clock.now_ms()
    full = change + _first_seen(caller_fields(params), started)
    try:
        item = store.update(call_sid, full, guard=guard, ctx=ctx)
    except Exception as exc:
        if not is_storage_error(exc):
            raise
        raise StorageUnavailable("the call store is unavailable; send this callback again") from exc
    if item is None:
        logger.info("callback is older than what is stored; ignored")
        return None
    if item.kind is None or item.degraded:
        item = _complete_routing(item, ctx)
    return item


def _complete_routing(item: CallRecord, ctx: RequestContext) -> CallRecord:
    """Resolve the route and attribution of a call the voice webhook could not store or route."""
    try:
        route, number, pool = lookup(item.called or "")
        started = int(item.started_at or clock.now_ms())
        attr = attribute(route, number, pool, started)
        touch = _touch_change(item.caller, item.call_sid, started, attr)
        change = _route_change(route, attr) + touch + CallChange(set={"degraded": False})
        done = store.update(item.call_sid, change, ctx=ctx)
        return done or item
    except Exception as exc:
        if not is_storage_error(exc):
            raise
        logger.exception("completing the call's routing failed; a later callback will try again")
        return item


# --- reading ---------------------------------------------------------------------------------


TRANSCRIPT_FIELDS = ("status", "language", "turns", "words", "seconds", "keywords", "rule_tags", "score", "excerpt")


def transcript_summary(t: dict[str, Any]) -> dict[str, Any]:
    """The transcript's summary as the API, the CSV and the webhooks show it (never the whole text:
    ``GET /v1/calls/{sid}/transcript`` gives that). ``seconds`` and ``score`` are whole numbers or None."""
    out: dict[str, Any] = {k: t.get(k) for k in TRANSCRIPT_FIELDS}
    out["keywords"] = list(out["keywords"] or [])
    out["rule_tags"] = list(out["rule_tags"] or [])
    if t.get("error"):
        out["error"] = t["error"]
    return out


def to_dict(c: CallRecord) -> dict[str, Any]:
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
        "medium": c.medium or "call",
        "text": {"body": c.body, "media_count": int(c.media_count or 0)} if c.medium == "text" else None,
        "stir_verstat": c.stir_verstat,
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
        "transcript": transcript_summary(c.transcript) if c.transcript else None,
        "screen": _screen_of(c),
        "answered_phone": c.answered_phone if c.answered else None,
        "menu_option": c.menu_option,
        "called_back": (
            {"at": clock.iso(int(c.called_back_at)), "call_sid": c.callback_sid} if c.called_back_at else None
        ),
        "callback_of": c.callback_of,
        "first_time": c.first_time,
        "first_touch": c.first_touch,
        "outcome": c.outcome,
        "revenue": float(c.revenue) if c.revenue is not None else None,
        "note": c.note,
        "tags": sorted(c.tags or []),
        "blocked": bool(c.blocked),
        "spam": (
            {"likely": bool(c.spam.get("likely")), "reasons": list(c.spam.get("reasons") or [])}
            | ({"caller_name": str(c.spam["caller_name"])} if c.spam.get("caller_name") else {})
        )
        if c.spam
        else None,
        "result": result_of(c),
        "attribution": c.attribution,
        "called_back_at": clock.iso(int(c.called_back_at)) if c.called_back_at is not None else None,
        "source": attribution.source_key(c.attribution, c.kind),
        "source_name": attribution.call_source_name(c.attribution, c.kind, c.channel_name),
    }


def load(call_sid: str, *, ctx: RequestContext = SYSTEM) -> CallRecord:
    """The call, or a 404."""
    return store.get_or_404(call_sid, ctx=ctx)


def get(call_sid: str, *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    return to_dict(load(call_sid, ctx=ctx))


def _screen_of(c: CallRecord) -> dict[str, Any] | None:
    """The call screening's outcome: the key pressed and on which phone, or that a phone refused."""
    out: dict[str, Any] | None = None
    if c.screen_key:
        out = {"pressed": c.screen_key, "phone": int(c.screen_step or 0) + 1}
    elif c.screen_refused:
        out = {"pressed": None, "phone": int(c.screen_refused)}
    if out is not None and c.screen_streak is not None:
        out["refused_in_row"] = int(c.screen_streak)  # on the line, after this call
        out["alert"] = bool(c.screen_alert)
    return out
