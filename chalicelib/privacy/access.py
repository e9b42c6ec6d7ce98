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
    """What we hold about the caller ``raw`` (any phone format ``phonenumbers`` reads)."""
    number = e164(unquote(raw), "number")  # a path parameter may still be percent-encoded
    hashes = callerkeys.caller_hashes(number)
    found = store_calls.batch_get(store_calls.sids_of_caller(number, ctx=ctx), ctx=ctx)
    listed = sorted(found.values(), key=lambda c: -int(c.started_at or 0))
    _, first = callers.first_touch_of([*hashes, number], ctx=ctx)
    waiting = [w for w in callbacks.all_waiting(ctx=ctx) if w.caller == number]
    erased = callers.erased_at(hashes, ctx=ctx)
    integrations = {i.name: registry.load(i.export)(number, ctx) for i in wiring.INTEGRATIONS if i.export}
    log_change(ctx, "callers.access", calls=len(listed))  # never the number
    return {
        "number": number,
        "calls": [calls.to_dict(c) for c in listed],
        "first_touch": first,
        "call_back": [{"call_sid": w.call_sid, "missed_calls": w.missed_calls} for w in waiting],
        "erased_at": clock.iso(erased) if erased else None,
        "integrations": {name: data for name, data in integrations.items() if data},
    }
