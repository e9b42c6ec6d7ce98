"""Access: everything held about one caller (GDPR article 15; 152-FZ likewise), as JSON.

The caller's calls (each as ``GET /v1/calls/{sid}`` shows it: times, routing, attribution with
its visit and session, outcome, note, tags, recording link), their first touch and whether they
are a repeat caller, their call-back entry, whether and when they were erased, and what each
integration holds or sent (its ``export`` hook: webhooks, alerts, CRMs, ad platforms). The
access is in the audit log (never the number).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from chalicelib import calls
from chalicelib.core import callerkeys, clock
from chalicelib.core.context import SYSTEM, RequestContext, log_change
from chalicelib.core.validation import e164
from chalicelib.integrations import registry, wiring
from chalicelib.store import callbacks, callers
from chalicelib.store import calls as store_calls


def held(raw: str, *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """What we hold about the caller ``raw`` (any phone format ``phonenumbers`` reads), within this
    call (``privacy.jobs`` builds the same document in chunks for a caller with many calls)."""
    number = e164(unquote(raw), "number")  # a path parameter may still be percent-encoded
    found = store_calls.batch_get(store_calls.sids_of_caller(number, ctx=ctx), ctx=ctx)
    listed = sorted(found.values(), key=lambda c: -int(c.started_at or 0))
    log_change(ctx, "callers.access", calls=len(listed))  # never the number
    return document(number, [calls.to_dict(c) for c in listed], ctx=ctx)


def document(number: str, listed: list[dict[str, Any]], *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """The access answer: the caller's calls (as ``calls.to_dict`` gives them, newest first) and
    everything else held about them."""
    hashes = callerkeys.caller_hashes(number)
    _, first = callers.first_touch_of([*hashes, number], ctx=ctx)
    waiting = [w for w in callbacks.all_waiting(ctx=ctx) if w.caller == number]
    erased = callers.erased_at(hashes, ctx=ctx)
    integrations = {i.name: registry.load(i.export)(number, ctx) for i in wiring.INTEGRATIONS if i.export}
    return {
        "number": number,
        "calls": listed,
        "first_touch": first,
        "call_back": [{"call_sid": w.call_sid, "missed_calls": w.missed_calls} for w in waiting],
        "erased_at": clock.iso(erased) if erased else None,
        "integrations": {name: data for name, data in integrations.items() if data},
    }
