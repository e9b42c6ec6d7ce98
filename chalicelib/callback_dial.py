"""Calling a caller back from the dashboard: the signed-in user's own phone rings first, showing
the tracking number; answered, it is connected to the caller, who sees the tracking number they called.

Which phone rings first is the caller's to say: the dashboard passes the signed-in user's phone
(their Account page), an API client a ``phone`` in the body. There is no fall-back to the line's
phone: ringing somebody else's phone on your click would surprise both of you, so without a phone
the call-back is refused (409) with words that say where to give one.

The call-back is a record of its own in the calls table: ``medium`` "outbound", ``callback_of`` the
original call's SID, the caller (the person called back: retention, erasure and access cover it
through the caller index, as texts), the tracking number, the user's phone (``forwarded_to``), and
the status and duration from Twilio's signed status callback (``/twilio/callback-status``). The
original keeps ``callback_sid`` and ``called_back_at``. ``calls.is_call`` is false for it, so it is
in no call figure (reports, alerts, conversions, CRMs, ``call.*`` events, the call-back list).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from chalicelib import calls
from chalicelib.core import clock
from chalicelib.core.context import SYSTEM, RequestContext, log_change
from chalicelib.core.errors import BadRequest, Conflict, StorageUnavailable, UpstreamError
from chalicelib.core.settings import get_settings
from chalicelib.core.telephony import TelephonyError, get_provider
from chalicelib.core.validation import e164, is_e164
from chalicelib.store import calls as store
from chalicelib.store.calls import CallChange, CallRecord
from chalicelib.store.ops import expires_after, is_storage_error

STATUS_PATH = "/twilio/callback-status"
NO_PHONE = "give your own phone on your Account page first: a call back rings it, then the caller"


def bridge_path(caller: str, tracking: str) -> str:
    """The TwiML URL the owner's answered leg asks (signed by Twilio with its query)."""
    return "/twilio/bridge?" + urlencode({"to": caller, "from": tracking})


def call_back(call_sid: str, phone: Any, *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """Ring ``phone`` (the user's own; ``None``: refused, see the module), then the caller, showing
    the tracking number; the original call as it is now, with the call-back's SID on it."""
    if phone is None or (isinstance(phone, str) and not phone.strip()):
        raise Conflict(NO_PHONE)
    own = e164(phone, "phone")
    log_change(ctx, "calls.call_back", call_sid=call_sid)
    c = calls.load(call_sid, ctx=ctx)
    if not calls.is_call(c):
        raise Conflict("only a call can be called back (this is a text or a call-back itself)")
    if not (is_e164(c.caller) and is_e164(c.called)):
        raise Conflict("this call has no caller number or tracking number to call back between")
    s = get_settings()
    assert c.caller and c.called  # for the type checker: checked just above
    try:
        sid = get_provider().start_call(
            to=own,
            from_=c.called,
            url=s.public_base_url + bridge_path(c.caller, c.called),
            status_callback=s.public_base_url + STATUS_PATH,
        )
    except TelephonyError as exc:
        if exc.client_error:
            raise Conflict(f"Twilio refused the call back: {exc}") from None
        raise UpstreamError(f"the call back could not be started: {exc}") from None
    now = clock.now_ms()
    store.put_once(sid, calls.OUTBOUND, outbound_record(c, own, now), ctx=ctx)
    store.update(
        call_sid,
        CallChange(set={"callback_sid": sid, "called_back_at": now}),
        guard=store.Guard("exists"),
        ctx=ctx,
    )
    return calls.get(call_sid, ctx=ctx)


def outbound_record(original: CallRecord, phone: str, now_ms: int) -> dict[str, Any]:
    """What a call-back stores: whom it called back (and from which line), the phone rung first. Pure."""
    values: dict[str, Any] = {
        "callback_of": original.call_sid,
        "caller": original.caller,
        "called": original.called,
        "forwarded_to": phone,
        "kind": original.kind,
        "channel_id": original.channel_id,
        "channel_name": original.channel_name,
        "pool_id": original.pool_id,
        "started_at": now_ms,
        "month": store.month_of(now_ms),
        "expires_at": expires_after(now_ms, get_settings().call_retention_days),
        "status": "queued",
        "status_rank": 0,
        "updated_at": now_ms,
    }
    return {k: v for k, v in values.items() if v is not None}


def record_status(params: dict[str, str], *, ctx: RequestContext = SYSTEM) -> CallRecord | None:
    """The call-back's status callback: its status (never backwards) and duration, on its own
    record only (``None`` when older than what is stored, or not a call-back's SID)."""
    sid = params.get("CallSid", "")
    if not sid.startswith("CA") or len(sid) > 64:
        raise BadRequest("CallSid is missing or malformed")
    status = params.get("CallStatus", "")
    rank = calls.STATUS_RANK.get(status)
    if rank is None:
        raise BadRequest(f"unknown CallStatus {status!r}")
    values: dict[str, Any] = {"status": status, "status_rank": rank, "updated_at": clock.now_ms()}
    if params.get("CallDuration", "").isdigit():
        values["duration"] = int(params["CallDuration"])
    if status in ("in-progress", "completed") and params.get("CallDuration", "0") != "0":
        values["answered"] = True
    try:
        return store.update(sid, CallChange(set=values), guard=store.outbound_rank_at_most(rank), ctx=ctx)
    except Exception as exc:
        if not is_storage_error(exc):
            raise
        raise StorageUnavailable("the call store is unavailable; send this callback again") from exc


def callbacks_of(c: CallRecord, *, ctx: RequestContext = SYSTEM) -> list[CallRecord]:
    """The call-back made of ``c`` (its latest; none when it was never called back from here)."""
    if not c.callback_sid:
        return []
    found = store.get(c.callback_sid, ctx=ctx)
    return [found] if found is not None and found.medium == calls.OUTBOUND else []
