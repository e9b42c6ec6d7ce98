"""Report aggregates: what each finished call adds to its source's day buckets, kept exactly once.

Each finished call adds a small vector (calls, answered, missed, voicemail, first-time,
talk time, time to answer, leads, sales, revenue, and its caller) to two day buckets:
``AGG#last#<source>`` (its own source: last touch) and ``AGG#first#<source>`` (the source
of the caller's first call: first touch), and the same to those days' week buckets
(``AGGW#<model>#<source>``, sk the week's Monday: a report reads whole weeks, ``figures``); a
tracking number's call adds one to its day under
``AGG#numbers`` (the numbers page's calls in the last 30 days). Spam (an outcome of ``spam``, a blocked
caller, or a call scored likely spam: ``chalicelib/spam.py``) goes to a ``<day>#spam`` bucket that reports
leave out unless asked.

Exactly once: the call item keeps what it last added (``agg``) and a version. When the
call changes, the difference between what it should add now and what it added is applied
in one transaction with the new ``agg``, conditional on the version; a replayed or
concurrent callback fails the condition, re-reads the call and finds nothing left to do.
So a report costs requests per source and day range, never per call.

The aggregates follow the call events (``on_event``, a subscriber of ``call.completed`` and
``call.updated``), never the voice path. Days are the business's days (its profile's time
zone, ``REPORT_TIMEZONE`` until one is saved); a change of zone moves every call to its new day
in the background (``reports/rebuild.py``, a resumable job; ``rebuild`` here does it in one go).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from chalicelib import attribution, business
from chalicelib.calls import is_call, is_final, result_of
from chalicelib.core import clock
from chalicelib.core.observability import logger
from chalicelib.store import aggregates as stored
from chalicelib.store import calls as store_calls
from chalicelib.store import keys
from chalicelib.store.aggregates import NUMBERS as NUMBERS  # the bucket's numbers, named where they are stored
from chalicelib.store.calls import CallRecord

if TYPE_CHECKING:
    from chalicelib.events.model import Event


def day(ms: int) -> str:
    """The report day of a time: the business's local day (``business.timezone()``)."""
    return clock.local_day(ms, business.timezone())


def next_week() -> str:
    """The Monday after today (the business's day): the first week a call counted now can vouch
    for, since the week under way may hold calls counted by code that added to no week."""
    monday = datetime.strptime(clock.week_of(day(clock.now_ms())), "%Y-%m-%d")
    return (monday + timedelta(days=7)).strftime("%Y-%m-%d")


# The dimensions a web source's calls are also counted by, and where each one's value comes from
# (the visit's source for last touch; the first call's touch for first touch).
DIMENSIONS = {"campaign": "utm_campaign", "keyword": "utm_term", "ad": "utm_content", "landing_page": "landing_page"}
DIMENSION_CAP = 50  # distinct values per dimension, source and day; more go to OTHER (README)
# Calls a week bucket takes (per source, model, and spam or not). Its live caller entries (about 34
# bytes each until the next seal) and, once sealed, its packed records (12 bytes) with its distinct
# callers' keys beside them (8 bytes each: 20 bytes a call at most) stay well inside DynamoDB's 400 KB
# item, even with every call on one day; past it the week overflows and reports read its days.
WEEK_CAP = 8_000
NOT_SET = "(not set)"
OTHER = "(other)"
MAX_VALUE = 100


def dimension_value(dim: str, fields: dict[str, Any]) -> str:
    """A dimension's value for a visit or touch: trimmed, at most ``MAX_VALUE`` characters; a
    landing page as host and path. Pure."""
    raw = fields.get(DIMENSIONS[dim])
    text = " ".join(str(raw).split()) if raw is not None else ""
    if dim == "landing_page" and text:
        parts = urlsplit(text)
        text = f"{parts.hostname or ''}{parts.path or '/'}" if parts.hostname else text
    return text[:MAX_VALUE] or NOT_SET


def contribution(c: CallRecord, other: frozenset[tuple[str, str]] = frozenset()) -> dict[str, dict[str, Any]]:
    """What the call adds to the aggregates now: bucket key -> numbers and its caller entry. Pure.

    A call from a web source also adds to one bucket per dimension (campaign, keyword, ad,
    landing page) and model; ``other`` names the (model, dimension) pairs whose value a full day
    refused (``DIMENSION_CAP``): those count under ``OTHER``."""
    if c.medium == "text":
        return _text_contribution(c)
    if not is_call(c):  # a call-back made from the dashboard (medium "outbound"): in no figure
        return {}
    if not is_final(c) or c.started_at is None:
        return {}
    result = result_of(c)
    spam = bool(c.blocked) or c.outcome == "spam" or bool((c.spam or {}).get("likely"))
    talk = int(c.talk_time or 0) if result == "answered" else 0
    answer_time = 0
    if result == "answered" and c.duration is not None:
        answer_time = max(0, int(c.duration) - talk)
    vec: dict[str, Any] = {
        "calls": 1,
        "answered": int(result == "answered"),
        "missed": int(result == "missed"),
        "voicemail": int(result == "voicemail"),
        "first_time": int(bool(c.first_time)),
        "talk_time": talk,
        "answer_time": answer_time,
        "answer_timed": int(result == "answered" and c.duration is not None),
        "leads": int(c.outcome == "lead"),
        "sales": int(c.outcome == "sale"),
        "revenue": str(Decimal(str(c.revenue or 0))),
    }
    vec = {k: val for k, val in vec.items() if val not in (0, "0")}
    entry = _caller_entry(c)
    if entry:
        vec["caller"] = entry
    on = day(int(c.started_at))
    last = attribution.source_key(c.attribution, c.kind)
    first = (c.first_touch or {}).get("source_key") or last
    week = clock.week_of(on)
    out = {
        keys.aggregate_bucket("last", last, on, spam=spam): vec,
        keys.aggregate_bucket("first", first, on, spam=spam): vec,
        keys.week_bucket("last", last, week, spam=spam): vec,  # the same adds, to the day's week
        keys.week_bucket("first", first, week, spam=spam): vec,
    }
    if not spam:  # the overview's "Today" by hour (spam is left out of it, as of the day's chart)
        hour = clock.local_hour(int(c.started_at), business.timezone())
        per_hour: dict[str, Any] = {k: vec[k] for k in ("calls", "answered", "missed", "voicemail") if k in vec}
        out[keys.hour_bucket("last", on, hour, last)] = per_hour
        out[keys.hour_bucket("first", on, hour, first)] = per_hour
    line = c.channel_id if c.kind == "channel" else (f"pool:{c.pool_id}" if c.pool_id else None)
    if c.menu_option and line and not spam:
        # The menu report: a line's calls per option chosen (spam left out, as of the day's chart).
        counted: dict[str, Any] = {k: vec[k] for k in ("calls", "answered", "missed", "voicemail") if k in vec}
        out[keys.menu_option_bucket(line, c.menu_option, on)] = counted
    if c.called and c.kind in ("channel", "pool", "overflow"):
        # The numbers page's "calls in the last 30 days", spam included: calls the number got.
        out[keys.number_calls_bucket(c.called, on)] = {"calls": 1}
    visit = dict((c.attribution or {}).get("source") or {})
    touch = dict(c.first_touch or {}) if (c.first_touch or {}).get("source_key") else visit
    for model, source, fields in (("last", last, visit), ("first", first, touch)):
        if not source.startswith("web:"):
            continue
        for dim in DIMENSIONS:
            value = OTHER if (model, dim) in other else dimension_value(dim, fields)
            out[keys.dimension_bucket(model, dim, source, on, value, spam=spam)] = vec
    return out


def _text_contribution(c: CallRecord) -> dict[str, dict[str, Any]]:
    """A text to a tracking number adds one ``texts`` to its source's day (last touch, and first
    touch under the same source: a text has no first touch of its own), and nothing a call adds:
    the calls' figures stay exactly as they were. Pure."""
    if c.started_at is None:
        return {}
    on = day(int(c.started_at))
    source = attribution.source_key(c.attribution, c.kind)
    vec: dict[str, Any] = {"texts": 1}
    week = clock.week_of(on)
    return {
        keys.aggregate_bucket("last", source, on, spam=False): vec,
        keys.aggregate_bucket("first", source, on, spam=False): vec,
        keys.week_bucket("last", source, week, spam=False): vec,
        keys.week_bucket("first", source, week, spam=False): vec,
    }


def _caller_entry(c: CallRecord) -> str | None:
    """The call's entry in its buckets' caller sets: the one it was counted with, if any (so a key
    rotation never re-keys a counted call: DynamoDB cannot add and remove members of one set in one
    update, and older hashes simply expire with their days), else its keyed hash now. Entries of
    older code (plain hashes) are keyed by migration 2, not here."""
    if c.erased_at:
        return None  # an erased caller leaves the caller sets (the counts stay)
    mine = ":" + c.call_sid[-10:]
    for vec in (c.agg or {}).values():
        entry = vec.get("caller") if isinstance(vec, dict) else None
        if isinstance(entry, str) and entry.endswith(mine):
            return entry  # also once retention has masked the number: the keyed entry names no one
    return stored.caller_entry(c.caller, c.call_sid) if c.caller else None  # keyed: no number, no plain hash


def sync(c: CallRecord, *, attempts: int = 3) -> bool:
    """Bring the aggregates in line with the call (a no-op when nothing changed); False if a
    concurrent writer kept winning, so the caller tries again later."""
    other = _counted_as_other(c.agg or {})
    full: frozenset[str] = frozenset()  # week buckets past WEEK_CAP: the call stays out of them
    for _ in range(attempts + len(DIMENSIONS) * 2 + 2):
        new = {b: vec for b, vec in contribution(c, other).items() if b not in full}
        old: dict[str, dict[str, Any]] = dict(c.agg or {})
        if new == old and not full:
            return True
        version = int(c.agg_version or 0)
        done = _apply(c.call_sid, old, new, version, full)
        if done is True:
            return True
        if done is not False:  # some days were full: those values count as "other"; full weeks: left out
            other, full = other | done[0], full | done[1]
            continue
        attempts -= 1
        if attempts <= 0:
            break
        again = store_calls.get(c.call_sid, consistent=True)  # somebody else moved it: look again
        if again is None:
            return True  # deleted since: a deleted call's days stay as they were counted
        c = again
    logger.warning("aggregates not synced after retries", call_sid=c.call_sid)
    return False


def on_event(event: Event) -> None:
    """The reports subscriber: the call as it is now decides what it adds (so order and repeats
    of events do not matter). A failure raises, so the delivery is retried, never swallowed."""
    call = store_calls.get(event.call_sid, consistent=True)
    if call is None:
        return  # deleted since: a deleted call's days stay as they were counted
    if not sync(call):
        raise RuntimeError(f"the aggregates of {event.call_sid} did not settle; try again")


def rebuild(progress: Callable[[int], None] | None = None) -> int:
    """Every call's contribution again, under the current settings (the time zone): each call
    moves from the buckets it was counted in to the right ones, one transaction each, so it
    is safe while calls come in. Returns how many calls were looked at."""
    business.clear_cache()  # the zone as saved now, not as this process last read it
    n, whole = 0, True
    for call in store_calls.scan_all():
        if not sync(call):
            logger.warning("a call could not be moved; run the rebuild again", call_sid=call.call_sid)
            whole = False
        n += 1
        if progress and n % 500 == 0:
            progress(n)
    if whole and n:  # every call is in its week now (also those counted before weeks were)
        stored.mark_weeks_whole(WEEKS_ALWAYS)
    return n


WEEKS_ALWAYS = "0000-01-03"  # a Monday before any call: every week's buckets are whole


def _counted_as_other(agg: dict[str, Any]) -> frozenset[tuple[str, str]]:
    """The (model, dimension) pairs a call already counts as other: they stay so (no second try). Pure."""
    out = set()
    for bucket in agg:
        if not keys.is_sealable_bucket(bucket) and bucket.endswith("#" + OTHER):
            _, model, dim, _ = keys.split_bucket(bucket).pk.split("#", 3)
            out.add((model, dim))
    return frozenset(out)


def _registrations(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[tuple[str, str], stored.Registration]]:
    """The dimension values ``new`` adds that ``old`` did not count (each must find room in its day). Pure."""
    out = []
    for bucket in sorted(set(new) - set(old)):
        if keys.is_sealable_bucket(bucket) or keys.is_number_bucket(bucket) or keys.is_hour_bucket(bucket):
            continue
        if keys.is_menu_bucket(bucket):
            continue
        pk, sk = keys.split_bucket(bucket)
        _, model, dim, source = pk.split("#", 3)
        on, _, value = sk.split("#", 2)
        if value in (OTHER, NOT_SET):
            continue
        reg = stored.Registration(keys.dimension_values(model, dim, source, on), value, DIMENSION_CAP)
        out.append(((model, dim), reg))
    return out


def _apply(
    call_sid: str,
    old: dict[str, dict[str, Any]],
    new: dict[str, dict[str, Any]],
    version: int,
    full: frozenset[str] = frozenset(),
) -> bool | tuple[frozenset[tuple[str, str]], frozenset[str]]:
    """Move the call's contribution from ``old`` to ``new`` (marking the ``full`` weeks overflowing);
    ``False`` if another writer moved it first; else what was refused: the (model, dimension) pairs
    whose day was full (count those as other) and the week buckets past ``WEEK_CAP`` (leave out)."""
    add: dict[str, dict[str, Decimal]] = {}
    callers: dict[str, tuple[set[str], set[str]]] = {}
    for sign, side in ((-1, old), (1, new)):
        for bucket, vec in side.items():
            sums = add.setdefault(bucket, {})
            gained, lost = callers.setdefault(bucket, (set(), set()))
            for key in NUMBERS:
                if key in vec:
                    sums[key] = sums.get(key, Decimal(0)) + sign * Decimal(str(vec[key]))
            if "caller" in vec:
                (gained if sign > 0 else lost).add(vec["caller"])
    deltas = {b: stored.Delta(add[b], frozenset(callers[b][0]), frozenset(callers[b][1])) for b in add}
    sources = {keys.bucket_source(b) for b in new if keys.is_source_bucket(b)}
    regs = _registrations(old, new)
    weeks_from = next_week()  # a first call (or the first since weeks were added): whole weeks start next week
    done = stored.apply_contribution(
        call_sid,
        new,
        version,
        deltas,
        sources,
        tuple(r for _, r in regs),
        weeks_from=weeks_from,
        week_cap=WEEK_CAP,
        overflowing=full,
    )
    if isinstance(done, stored.Refused):
        return frozenset(regs[i][0] for i in done.registrations), done.weeks
    return done
