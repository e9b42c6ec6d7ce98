"""Erasures re-applied after a restore: every object of the erasure log (``erasurelog``) read
again, and what a point-in-time restore brought back erased once more.

For each logged erasure: each listed call that is back un-erased is erased as it was
(``erasure.erase_call``, at the logged time: recording, session, lease start, anonymised, its
aggregates synced), and with the number such a call still carries, the rest of the erasure
(first-touch items, call-back entry, the integrations' hooks); the caller's first touch under
the logged keyed hash goes, and the last object of an erasure puts its tombstone back. A call
made after the erasure is not in the log and stays. Idempotent: a call already erased is
skipped, a deleted item deleted again is a no-op. Resumable: it stops at ``budget_seconds`` and
says the last object done (``next``), from which a second run goes on (``start_after``).
"""

from __future__ import annotations

import time
from typing import Any

from chalicelib.core.context import SYSTEM, RequestContext, log_change
from chalicelib.privacy import erasure, erasurelog
from chalicelib.store import callbacks, callers
from chalicelib.store import calls as store_calls


def reapply_erasures(
    ctx: RequestContext = SYSTEM, *, start_after: str | None = None, budget_seconds: float | None = None
) -> dict[str, Any]:
    """Every logged erasure (after ``start_after``, a key ``next`` gave) re-applied; counts, and
    ``next``: ``None`` when all were, else the key to go on after."""
    until = None if budget_seconds is None else time.monotonic() + budget_seconds
    objects = erased = 0
    resume: str | None = None
    for key in erasurelog.logged(start_after):
        erased += _reapply(erasurelog.read(key), ctx=ctx)
        objects += 1
        if until is not None and time.monotonic() >= until:
            resume = key
            break
    log_change(ctx, "callers.reapply_erasures", objects=objects, calls=erased)
    return {"objects": objects, "calls": erased, "next": resume}


def _reapply(doc: dict[str, Any], *, ctx: RequestContext) -> int:
    caller_hash, at = str(doc["caller_hash"]), int(doc["erased_at"])
    sids = [str(s) for s in doc.get("calls") or []]
    numbers: set[str] = set()
    erased = 0
    for call in store_calls.batch_get(sids, ctx=ctx).values():
        if call.erased_at:
            continue
        if call.caller:
            numbers.add(call.caller)
        erased += int(erasure.erase_call(call, at, ctx=ctx)[0])
    if numbers:
        waiting = {w.caller: w.call_sid for w in callbacks.all_waiting(ctx=ctx)}
        for number in numbers:
            erasure.forget_elsewhere(number, ctx=ctx)
            if waiting.get(number) in sids:  # an entry of a later call is that call's
                callbacks.delete(number, ctx=ctx)
    callers.forget([caller_hash], ctx=ctx)
    if "erased_calls" in doc and callers.erased_at([caller_hash], ctx=ctx) is None:
        callers.tombstone(caller_hash, int(doc["erased_calls"]), at, ctx=ctx)
    return erased
