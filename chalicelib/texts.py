"""Texts to tracking numbers: STOP and START remembered, so text-back never writes to a caller who said stop.

Twilio's Advanced Opt-Out answers the keywords itself on long codes (the confirmation carriers
require, and HELP's reply) and refuses later sends to that caller; keeping the choice here too
means no text is even attempted, and the choice survives a change of sending number.
"""

from __future__ import annotations

from twilio.twiml.messaging_response import MessagingResponse

from chalicelib.core import callerkeys, clock
from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.core.observability import logger
from chalicelib.core.validation import loose_e164
from chalicelib.store import texts

# The keywords US carriers and Twilio treat as opting out and back in (one word, any case).
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
START_WORDS = frozenset({"START", "YES", "UNSTOP", "OPTIN"})


def keyword(body: str | None) -> str | None:
    """``stop``, ``start`` or ``None``: what a text says about receiving texts."""
    word = (body or "").strip().upper().rstrip(".!")
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return None


def received(params: dict[str, str], *, ctx: RequestContext = SYSTEM) -> str:
    """A text to a tracking number (signature checked by the route): STOP / START remembered; the
    answer is empty TwiML (Twilio sends the carriers' confirmations itself)."""
    caller = loose_e164(params.get("From"))
    said = keyword(params.get("Body"))
    if caller and said:
        texts.set_opted_out(caller, said == "stop", clock.now_ms(), ctx=ctx)
        if said == "start":  # a STOP kept by keyed hash after an erasure goes too
            texts.set_opted_out(callerkeys.caller_hash(caller), False, clock.now_ms(), ctx=ctx)
        logger.info("a caller texted a keyword", keyword=said)
    return str(MessagingResponse())
