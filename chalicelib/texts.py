"""Texts to tracking numbers: each one stored once (by MessageSid), attributed like a call, and
STOP and START remembered, so text-back never writes to a caller who said stop.

A text is kept in the calls table as a record whose ``medium`` is ``"text"`` and whose sid is
Twilio's MessageSid: so the log, the caller's page, retention and erasure reach it as they reach
calls, and its attribution is the calls' own (``calls.attribute``: the number's channel, or the
visit that held the pool number at that moment). What follows a text (the ``text.received``
event: report counts, the forward to the owner, webhooks) happens in subscribers, never here.

Twilio's Advanced Opt-Out answers the keywords itself on long codes (the confirmation carriers
require, and HELP's reply) and refuses later sends to that caller; keeping the choice here too
means no text is even attempted, and the choice survives a change of sending number.
"""

from __future__ import annotations

from typing import Any

from twilio.twiml.messaging_response import MessagingResponse

from chalicelib import calls
from chalicelib.core import callerkeys, clock
from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.core.observability import logger
from chalicelib.core.settings import get_settings
from chalicelib.core.validation import loose_e164
from chalicelib.routing import lookup
from chalicelib.store import calls as store_calls
from chalicelib.store import texts
from chalicelib.store.ops import expires_after

# The keywords US carriers and Twilio treat as opting out and back in (one word, any case).
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
START_WORDS = frozenset({"START", "YES", "UNSTOP", "OPTIN"})
MAX_BODY = 1600  # Twilio's longest message; anything longer is cut, never refused
TEXT = "text"


def keyword(body: str | None) -> str | None:
    """``stop``, ``start`` or ``None``: what a text says about receiving texts."""
    word = (body or "").strip().upper().rstrip(".!")
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return None


def is_text(c: store_calls.CallRecord) -> bool:
    """Whether a record of the calls table is a text (not a call). Pure."""
    return c.medium == TEXT


def _media_count(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


def record_of(params: dict[str, str], now_ms: int) -> dict[str, Any]:
    """What a text to a tracking number stores: who, to which number, what, when, why it came
    (the route's attribution, as a call's at the same moment)."""
    fields = calls.caller_fields(params)
    route, number, pool = lookup(fields["called"] or "")
    attr = calls.attribute(route, number, pool, now_ms)
    values: dict[str, Any] = {
        **{k: v for k, v in fields.items() if v is not None},
        "body": (params.get("Body") or "")[:MAX_BODY],
        "media_count": _media_count(params.get("NumMedia")),
        "started_at": now_ms,
        "month": store_calls.month_of(now_ms),
        "expires_at": expires_after(now_ms, get_settings().call_retention_days),
        "kind": route.kind,
        "attribution": attr,
        "status": "received",
        "updated_at": now_ms,
    }
    if route.kind == "channel" and route.target_id:
        values["channel_id"] = route.target_id
    if route.kind in ("pool", "overflow") and route.target_id:
        values["pool_id"] = route.target_id
    if route.name:
        values["channel_name"] = route.name
    if route.forward_to:
        values["forwarded_to"] = route.forward_to
    return values


def received(params: dict[str, str], *, ctx: RequestContext = SYSTEM) -> str:
    """A text to a tracking number (signature checked by the route): stored once by its
    MessageSid (a retried webhook stores nothing more), STOP / START remembered; the answer is
    empty TwiML (Twilio sends the carriers' confirmations itself), also when storing fails."""
    caller = loose_e164(params.get("From"))
    said = keyword(params.get("Body"))
    if caller and said:
        texts.set_opted_out(caller, said == "stop", clock.now_ms(), ctx=ctx)
        if said == "start":  # a STOP kept by keyed hash after an erasure goes too
            texts.set_opted_out(callerkeys.caller_hash(caller), False, clock.now_ms(), ctx=ctx)
        logger.info("a caller texted a keyword", keyword=said)
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    if sid:
        # A failure raises (an error answer): Twilio may send the webhook again, and the
        # MessageSid keeps that to one record.
        stored = store_calls.put_text(sid, record_of(params, clock.now_ms()), ctx=ctx)
        logger.info("text received" if stored else "text already stored (Twilio sent it again)", message_sid=sid)
    return str(MessagingResponse())
