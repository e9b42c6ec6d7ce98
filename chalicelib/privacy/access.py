"""Access: everything held about one caller (GDPR article 15; 152-FZ likewise), as JSON.

The caller's calls (each as ``GET /v1/calls/{sid}`` shows it: times, routing, attribution with
its visit and session, outcome, note, tags, recording link), their first touch and whether they
are a repeat caller, their call-back entry, whether and when they were erased, and what each
integration holds or sent (its ``export`` hook: webhooks, alerts, CRMs, ad platforms). The
access is in the audit log (never the number).

A hook whose work grows with the stage (every webhook delivery kept) is read in bounded steps
(``export_step``): within a request for at most ``STEP_SECONDS``, past which the request hands
the access to the caller job (``privacy.jobs``: 202), which runs a step per chunk.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import unquote

from chalicelib import calls
from chalicelib.core import callerkeys, clock
from chalicelib.core.context import SYSTEM, RequestContext, log_change
from chalicelib.core.validation import e164
from chalicelib.integrations import registry, wiring
from chalicelib.store import callbacks, callers
from chalicelib.store import calls as store_calls

STEP_SECONDS = 5.0  # the stepped exports' time within a request; past it the caller job does the access


def held(raw: str, *, step_seconds: float | None = None, ctx: RequestContext = SYSTEM) -> dict[str, Any] | None:
    """What we hold about the caller ``raw`` (any phone format ``phonenumbers`` reads), within this
    call (``privacy.jobs`` builds the same document in chunks for a caller with many calls);
    ``None`` when the stepped exports outlast ``step_seconds`` (default ``STEP_SECONDS``)."""
    number = e164(unquote(raw), "number")  # a path parameter may still be percent-encoded
    until = time.monotonic() + (STEP_SECONDS if step_seconds is None else step_seconds)
    stepped: dict[str, dict[str, Any]] = {}
    for name in stepped_exports():
        part, token = export_step(number, name, None, ctx=ctx)
        while token is not None:
            if time.monotonic() > until:
                return None
            more, token = export_step(number, name, token, ctx=ctx)
            part = join(part, more)
        stepped[name] = part
    found = store_calls.batch_get(store_calls.sids_of_caller(number, ctx=ctx), ctx=ctx)
    listed = sorted(found.values(), key=lambda c: -int(c.started_at or 0))
    log_change(ctx, "callers.access", calls=len(listed))  # never the number
    return document(number, [calls.to_dict(c) for c in listed], stepped=stepped, ctx=ctx)


def stepped_exports() -> list[str]:
    """The integrations whose export runs in steps (``export_step``), in wiring order."""
    return [i.name for i in wiring.INTEGRATIONS if i.export_step]


def export_step(
    number: str, name: str, token: str | None, *, ctx: RequestContext = SYSTEM
) -> tuple[dict[str, Any], str | None]:
    """One bounded step of integration ``name``'s export from ``token``: ``(its part, next token)``."""
    decl = next(i for i in wiring.INTEGRATIONS if i.name == name and i.export_step)
    part, after = registry.load(str(decl.export_step))(number, token, ctx)
    return dict(part), after


def join(done: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    """Two parts of a stepped export as one: their lists joined in order, other values the later's. Pure."""
    out = dict(done)
    for key, value in part.items():
        before = out.get(key)
        out[key] = [*before, *value] if isinstance(before, list) and isinstance(value, list) else value
    return out


def document(
    number: str,
    listed: list[dict[str, Any]],
    *,
    stepped: dict[str, dict[str, Any]] | None = None,
    ctx: RequestContext = SYSTEM,
) -> dict[str, Any]:
    """The access answer: the caller's calls (as ``calls.to_dict`` gives them, newest first) and
    everything else held about them (``stepped``: the stepped exports as already read, by
    integration; an integration not in it is asked at once)."""
    hashes = callerkeys.caller_hashes(number)
    _, first = callers.first_touch_of([*hashes, number], ctx=ctx)
    waiting = [w for w in callbacks.all_waiting(ctx=ctx) if w.caller == number]
    erased = callers.erased_at(hashes, ctx=ctx)
    stepped = stepped or {}
    integrations = {
        i.name: stepped[i.name] if i.name in stepped else registry.load(i.export)(number, ctx)
        for i in wiring.INTEGRATIONS
        if i.export
    }
    return {
        "number": number,
        "calls": listed,
        "first_touch": first,
        "call_back": [{"call_sid": w.call_sid, "missed_calls": w.missed_calls} for w in waiting],
        "erased_at": clock.iso(erased) if erased else None,
        "integrations": {name: data for name, data in integrations.items() if data},
    }
