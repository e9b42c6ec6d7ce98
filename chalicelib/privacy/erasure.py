"""Erasure: a caller taken out of everything we hold (GDPR article 17; 152-FZ likewise).

For each of the caller's calls (the calls table's caller index): the recording deleted in S3
and at Twilio, the website visit that led to it deleted (its session: visitor id, source, page
views), then the call anonymised in one conditional write (``store.calls.anonymise``): no
number, place, note, tags or recording; of its attribution only what reports count by stays
(the source, medium, campaign and keyword, the channel or pool, the channel group), so reports
by source and campaign still equal the calls. The call keeps ``erased_at``: no Twilio callback
lands on it again (a late or replayed one changes nothing). Its aggregates are synced at once,
which takes the caller out of the unique-caller sets (the counts stay). Then the caller's
first-touch items (their keyed hashes, and the number older code keyed them by) and their
call-back entry are deleted, every integration's ``erase`` hook runs, and a tombstone keeps the
erasure's time under the keyed hash only. A hook whose work grows with the stage (every webhook
delivery kept) also has a bounded ``erase_step``: ``erase`` runs those steps for at most
``STEP_SECONDS`` and answers ``Unfinished`` past them (``privacy.jobs`` hands the rest to a job).

The stream sees each anonymising write and makes a ``caller.erased`` event (never a
``call.updated`` whose changes would carry the number to every subscriber). No log line or
audit entry names the number.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from chalicelib.core import callerkeys, clock
from chalicelib.core.context import SYSTEM, RequestContext, log_change
from chalicelib.core.observability import logger
from chalicelib.core.telephony import get_provider
from chalicelib.core.validation import e164
from chalicelib.integrations import registry, wiring
from chalicelib.privacy import erasurelog
from chalicelib.recordings import archive
from chalicelib.reports import aggregates, seal
from chalicelib.store import callbacks, callers, leases
from chalicelib.store import calls as store_calls

# What stays of a call's attribution: what reports count it by, nothing that points at a person.
KEPT_ATTRIBUTION = ("confidence", "channel_id", "pool_id", "channel_group", "kind")
KEPT_SOURCE = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "source", "medium", "campaign", "keyword")
KEPT_TOUCH = ("source_key", "call_sid", "started_at")
STEP_SECONDS = 5.0  # the stepped hooks' time within a request; past it the caller job takes the rest


def cut_attribution(attr: dict[str, Any] | None) -> dict[str, Any]:
    """The attribution an erased call keeps. Pure."""
    attr = attr or {}
    kept: dict[str, Any] = {k: attr[k] for k in KEPT_ATTRIBUTION if k in attr}
    raw = attr.get("source")
    source: dict[str, Any] = raw if isinstance(raw, dict) else {}
    kept["source"] = {k: source[k] for k in KEPT_SOURCE if k in source}
    return kept


def cut_touch(touch: dict[str, Any] | None) -> dict[str, Any] | None:
    kept = {k: touch[k] for k in KEPT_TOUCH if k in touch} if touch else {}
    return kept or None


def cut_spam(score: dict[str, Any] | None) -> dict[str, Any] | None:
    """The spam score an erased call keeps: likely and its reasons, without Lookup's caller name
    (``None``: nothing to change). Pure."""
    if not score or "caller_name" not in score:
        return None
    return {k: v for k, v in score.items() if k != "caller_name"}


def _delete_recording(c: store_calls.CallRecord) -> None:
    if not c.recording_sid:
        return
    archive.delete_object(c.call_sid, c.recording_sid)
    if not c.recording_deleted_at_twilio:
        try:
            get_provider().delete_recording(c.recording_sid)
        except Exception as exc:  # gone already, or Twilio down: said in the answer, the rest goes on
            logger.warning("a recording could not be deleted at Twilio", call_sid=c.call_sid, error=repr(exc))
            raise


def erase_call(call: store_calls.CallRecord, now: int, *, ctx: RequestContext = SYSTEM) -> tuple[bool, bool]:
    """One call of the caller erased: its recording (S3, Twilio), its visit's session and lease
    start, then the call anonymised and its aggregates synced. ``(anonymised now, recording left at
    Twilio)``; ``(False, False)`` for a call already erased."""
    if call.erased_at:
        return False, False
    twilio_left = False
    try:
        _delete_recording(call)
    except Exception:
        twilio_left = True
    attribution = call.attribution or {}
    session = attribution.get("session_id")
    if isinstance(session, str) and session:
        leases.delete_session(session)  # the visit: visitor id, source, page views
        lease_start = attribution.get("lease_started_at")
        if call.called and isinstance(lease_start, (int, float)):
            leases.forget_lease(call.called, int(lease_start), session)  # the lease history's start of that visit
    after = store_calls.anonymise(
        call.call_sid,
        cut_attribution(call.attribution),
        cut_touch(call.first_touch),
        now,
        spam=cut_spam(call.spam),
        ctx=ctx,
    )
    if after is not None:
        aggregates.sync(after)  # the caller leaves the unique-caller sets; the counts stay
        seal.reseal(sorted(call.agg or {}))  # and the closed days' packed values, at once
    return after is not None, twilio_left


def erase_page(sids: list[str], now: int, *, ctx: RequestContext = SYSTEM) -> tuple[int, int]:
    """The calls ``sids`` erased (each read consistently first); ``(erased, recordings left at Twilio)``."""
    erased = twilio_left = 0
    for sid in sids:
        call = store_calls.get(sid, consistent=True, ctx=ctx)
        if call is None:
            continue
        done, left = erase_call(call, now, ctx=ctx)
        erased += int(done)
        twilio_left += int(left)
    return erased, twilio_left


def forget_caller(
    number: str, now: int, erased: int, *, stepped: dict[str, int] | None = None, ctx: RequestContext = SYSTEM
) -> dict[str, int]:
    """What an erasure does once the calls are anonymised: the first-touch items, the call-back
    entry, each integration's ``erase`` hook (but those already run in steps: ``stepped``, their
    counts), access documents left in the bucket, the tombstone (keyed hash only); each
    integration's count."""
    hashes = callerkeys.caller_hashes(number)
    callbacks.delete(number, ctx=ctx)
    hooks = forget_elsewhere(number, skip=frozenset(stepped or {}), ctx=ctx)
    hooks.update(stepped or {})
    callers.tombstone(hashes[0], erased, now, ctx=ctx)
    return hooks


def forget_elsewhere(
    number: str, *, skip: frozenset[str] = frozenset(), ctx: RequestContext = SYSTEM
) -> dict[str, int]:
    """The caller's first-touch items, each integration's ``erase`` hook (not those in ``skip``),
    their access documents."""
    hashes = callerkeys.caller_hashes(number)
    callers.forget([*hashes, number], ctx=ctx)
    hooks = {
        i.name: int(registry.load(i.erase)(number, ctx)) for i in wiring.INTEGRATIONS if i.erase and i.name not in skip
    }
    erasurelog.delete_documents(hashes)
    return hooks


# --- hooks whose work grows with the stage (every webhook delivery kept): run in bounded steps ---


def stepped_hooks() -> list[str]:
    """The integrations whose erasure runs in steps (``erase_step``), in wiring order."""
    return [i.name for i in wiring.INTEGRATIONS if i.erase_step]


def hook_step(number: str, name: str, token: str | None, *, ctx: RequestContext = SYSTEM) -> tuple[int, str | None]:
    """One bounded step of integration ``name``'s erasure from ``token``: ``(items, next token)``."""
    decl = next(i for i in wiring.INTEGRATIONS if i.name == name and i.erase_step)
    count, after = registry.load(str(decl.erase_step))(number, token, ctx)
    return int(count), after


@dataclass(frozen=True)
class Unfinished:
    """An erasure within a request whose stepped hooks outlasted ``STEP_SECONDS``: the calls and
    everything else are done but for the stepped hooks from ``hook`` at ``token`` (and ``forget_caller``);
    the caller job takes it from there (``privacy.jobs.erase_request``)."""

    number: str
    now: int
    erased: int
    twilio_left: int
    hooks: dict[str, int]  # the stepped hooks' counts so far
    hook: str
    token: str | None


def erase(raw: str, *, step_seconds: float | None = None, ctx: RequestContext = SYSTEM) -> dict[str, Any] | Unfinished:
    """Erase the caller ``raw`` (any phone format ``phonenumbers`` reads) everywhere, within this
    call (``privacy.jobs`` runs it in chunks for a caller with many calls); what was done. The
    stepped hooks run while ``step_seconds`` (default ``STEP_SECONDS``) last; past them the answer is ``Unfinished``."""
    number = e164(unquote(raw), "number")  # a path parameter may still be percent-encoded
    now = clock.now_ms()
    sids = store_calls.sids_of_caller(number, ctx=ctx)
    caller_hash = callerkeys.caller_hash(number)
    erasurelog.write(caller_hash, now, sids, part=0)  # first: a restore between here and the end still finds them
    erased, twilio_left = erase_page(sids, now, ctx=ctx)
    until = time.monotonic() + (STEP_SECONDS if step_seconds is None else step_seconds)
    counts: dict[str, int] = {}
    for name in stepped_hooks():
        counts[name], token = hook_step(number, name, None, ctx=ctx)
        while token:
            if time.monotonic() >= until:
                return Unfinished(number, now, erased, twilio_left, counts, name, token)
            more, token = hook_step(number, name, token, ctx=ctx)
            counts[name] += more
    hooks = forget_caller(number, now, erased, stepped=counts, ctx=ctx)
    erasurelog.write(caller_hash, now, [], part=1, erased_calls=erased)
    log_change(ctx, "callers.erase", calls=erased)  # never the number: the audit log keeps no caller
    return answer(erased, now, hooks, twilio_left)


def answer(erased: int, now: int, hooks: dict[str, int], twilio_left: int) -> dict[str, Any]:
    return {
        "erased_calls": erased,
        "erased_at": clock.iso(now),
        "integrations": hooks,
        "recordings_left_at_twilio": twilio_left,
    }
