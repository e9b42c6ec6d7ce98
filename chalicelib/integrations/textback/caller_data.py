"""What the text-back keeps about a caller: the text-backs claimed for them (one per window, with
the call it answered; they expire a day after their window) and their STOP (``store.texts``).

An erasure deletes both; a STOP is kept on under the caller's keyed hash (``core.callerkeys``),
which names no one, so an erased caller who said STOP is still never texted (the sender checks
both keys, START clears both).
"""

from __future__ import annotations

from typing import Any

from chalicelib.core import callerkeys, clock
from chalicelib.core.context import RequestContext
from chalicelib.store import texts


def export(phone: str, ctx: RequestContext) -> dict[str, Any]:
    """The text-backs sent to the caller, and whether they texted STOP."""
    sent = texts.text_backs_of(phone, ctx=ctx)
    stopped = texts.opted_out(phone, ctx=ctx)
    return {"text_backs": sent, "opted_out": True} if stopped else ({"text_backs": sent} if sent else {})


def erase(phone: str, ctx: RequestContext) -> int:
    """The text-back claims and the STOP under the number deleted (the STOP kept by keyed hash)."""
    stopped = texts.opted_out(phone, ctx=ctx)
    gone = texts.forget_caller(phone, ctx=ctx)
    if stopped:
        texts.set_opted_out(callerkeys.caller_hash(phone), True, clock.now_ms(), ctx=ctx)
    return gone


def opted_out(phone: str, ctx: RequestContext) -> bool:
    """Whether the caller texted STOP, before an erasure (by number) or after it (by keyed hash)."""
    return texts.opted_out(phone, ctx=ctx) or texts.opted_out(callerkeys.caller_hash(phone), ctx=ctx)
