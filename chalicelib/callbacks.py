"""Who to call back: missed callers not yet called back, and the one definition of "called back".

A missed call (no answer, or a voicemail; not spam, not a blocked caller) is **called back** once
any of these holds:

* the same caller had a later call that was answered (they reached the business);
* the business called them: an outbound call to that number after the missed one (none is
  recorded yet: calls here are inbound; a future outbound record counts through ``outbound``);
* someone marked it, or a later missed call of theirs, "called back" by hand
  (``PATCH /v1/calls/{sid}`` with ``called_back: true``, or the dashboard's button), which sets
  ``called_back_at`` on the call.

The list, the summary emails and the missed-callers work all ask ``called_back`` here.

**Cost.** The list is kept, not searched: a subscriber of ``call.completed`` and ``call.updated``
(``on_event``) looks at the caller's ``RECENT`` latest calls (two requests: the caller index, then
the calls by key) and puts or deletes that caller's one item (``store/callbacks.py``). Reading the
list is one Query, whatever the calls table holds. Entries expire ``KEEP_DAYS`` after the missed call.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from chalicelib import attribution, calls
from chalicelib.core import clock
from chalicelib.core.errors import BadRequest
from chalicelib.store import callbacks as stored
from chalicelib.store import calls as store
from chalicelib.store.callbacks import Waiting
from chalicelib.store.calls import CallRecord


class Event(Protocol):
    """What the subscriber reads of a call event (``chalicelib.events.model.Event``, a feature above)."""

    call_sid: str


DEFAULT_DAYS = 7
MAX_DAYS = 31
KEEP_DAYS = 31
RECENT = 20  # the caller's latest calls looked at; an older missed call is never listed again
MISSED = ("missed", "voicemail")


def needs_call_back(c: CallRecord) -> bool:
    """Whether a call, on its own, asks for a call back: missed or a voicemail, from a real number,
    not spam or blocked, not marked by hand. Pure."""
    return (
        calls.result_of(c) in MISSED
        and bool(c.caller)
        and str(c.caller).startswith("+")
        and c.outcome != "spam"
        and not c.blocked
        and c.called_back_at is None
    )


def called_back(missed: CallRecord, later: Iterable[CallRecord], outbound: Iterable[int] = ()) -> bool:
    """Whether a missed call has been called back (module doc): marked by hand, a later answered
    call from the caller among ``later`` (their other calls), or an outbound call to them at a time
    in ``outbound`` after it. Pure."""
    if missed.called_back_at is not None:
        return True
    start = int(missed.started_at or 0)
    if any(t > start for t in outbound):
        return True
    for x in later:
        if x.caller != missed.caller or int(x.started_at or 0) <= start:
            continue
        if calls.result_of(x) == "answered" or (x.called_back_at is not None and calls.result_of(x) in MISSED):
            return True
    return False


ToCallBack = Waiting  # a caller waiting for a call back: their latest missed call and how many they left


def pending(found: Iterable[CallRecord]) -> list[ToCallBack]:
    """The callers among ``found`` (calls in time order or not) who were missed and not called back
    since, newest first. Pure."""
    by_caller: dict[str, list[CallRecord]] = {}
    for c in found:
        if c.caller:
            by_caller.setdefault(c.caller, []).append(c)
    out = []
    for caller, theirs in by_caller.items():
        theirs.sort(key=lambda c: int(c.started_at or 0))
        waiting = [c for c in theirs if needs_call_back(c) and not called_back(c, theirs)]
        if not waiting:
            continue
        last = waiting[-1]
        out.append(
            Waiting(
                caller=caller,
                call_sid=last.call_sid,
                at_ms=int(last.started_at or 0),
                missed_calls=len(waiting),
                source_name=attribution.call_source_name(last.attribution, last.kind, last.channel_name),
                voicemail=calls.result_of(last) == "voicemail",
            )
        )
    out.sort(key=lambda r: -r.at_ms)
    return out


def parse_days(query: dict[str, str]) -> int:
    unknown = sorted(set(query) - {"days"})
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(unknown)}")
    raw = (query.get("days") or str(DEFAULT_DAYS)).strip()
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        raise BadRequest(f"'days' must be a whole number from 1 to {MAX_DAYS}")
    return int(raw)


def call_back_list(days: int = DEFAULT_DAYS, now_ms: int | None = None) -> list[ToCallBack]:
    """Callers missed in the last ``days`` and not yet called back, newest first. One Query."""
    since = (clock.now_ms() if now_ms is None else now_ms) - days * 86_400_000
    return sorted((w for w in stored.all_waiting() if w.at_ms >= since), key=lambda w: -w.at_ms)


def refresh(caller: str) -> ToCallBack | None:
    """Bring the caller's entry in line with their latest calls (put or delete); what it is now.
    Order and repeats of events do not matter: the calls as they are now decide."""
    found = store.earlier_of_caller(caller, clock.now_ms() + 86_400_000, limit=RECENT)
    by_sid = store.batch_get([k.call_sid for k in found]) if found else {}
    waiting = pending(by_sid.values())
    if not waiting:
        stored.delete(caller)
        return None
    entry = waiting[0]
    expires = datetime.fromtimestamp(entry.at_ms / 1000 + KEEP_DAYS * 86_400, tz=UTC)
    stored.save(entry, expires)
    return entry


def on_event(event: Event) -> None:
    """The call-back list's subscriber: the caller's entry follows each finished or changed call."""
    call = store.get(event.call_sid, consistent=True)
    if call is None or not call.caller or not str(call.caller).startswith("+"):
        return
    if not needs_call_back(call) and not stored.is_waiting(str(call.caller)):
        return  # an answered call from someone nobody owes a call: nothing to add or remove (one GetItem)
    refresh(str(call.caller))


def to_dict(r: ToCallBack) -> dict[str, Any]:
    """One entry as the API shows it."""
    return {
        "caller": r.caller,
        "call_sid": r.call_sid,
        "missed_at": clock.iso(r.at_ms),
        "missed_calls": r.missed_calls,
        "source_name": r.source_name,
        "voicemail": r.voicemail,
    }


def api_list(query: dict[str, str]) -> dict[str, Any]:
    """``GET /v1/callbacks``: the call-back list over the last ``days``."""
    days = parse_days(query)
    return {"days": days, "callers": [to_dict(r) for r in call_back_list(days)]}
