"""Report aggregates (per source and day), the sources that have any, and spend per source and day.

Aggregate items (pk ``AGG#<model>#<source>``, sk ``<day>`` or ``<day>#spam``) keep their
numbers and caller set as top-level attributes, so every change is an atomic ADD; the
subscriber that writes them (``reports.aggregates``) does so in a transaction with the call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import size
from pynamodb.transactions import TransactWrite

from chalicelib.core import callerkeys
from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.store import connections, keys
from chalicelib.store.models import CallModel, CounterModel
from chalicelib.store.ops import dynamo_number, failed_conditions, transaction_cancelled

# The numbers each day bucket adds up (top-level number attributes of its item).
NUMBERS = (
    "calls",
    "answered",
    "missed",
    "voicemail",
    "first_time",
    "talk_time",
    "answer_time",
    "answer_timed",
    "leads",
    "sales",
    "revenue",
    "texts",  # texts to the source's numbers (chalicelib/texts.py): beside the calls, never among them
)


@dataclass(frozen=True)
class Bucket:
    day: str  # YYYY-MM-DD
    spam: bool  # the bucket of calls marked spam that day
    numbers: dict[str, Decimal]
    callers: frozenset[str]  # "<caller hash>:<call>" (empty unless asked for): caller_entry's


def buckets(
    model: str, source: str, start: str, end: str, *, callers: bool = True, ctx: RequestContext = SYSTEM
) -> list[Bucket]:
    """One source's day buckets from ``start`` to ``end`` (days, both included) under an
    attribution model: one Query. Without ``callers`` only the numbers are read (smaller pages)."""
    fields = None if callers else ["sk", *NUMBERS]
    out = []
    for item in CounterModel.query(
        keys.aggregate(model, source), CounterModel.sk.between(start, end + "~"), attributes_to_get=fields
    ):
        day, _, tag = item.sk.partition("#")
        numbers = {key: Decimal(str(getattr(item, key) or 0)) for key in NUMBERS}
        out.append(Bucket(day, tag == "spam", numbers, frozenset(item.callers or ()) if callers else frozenset()))
    return out


def spend(source: str, start: str, end: str, *, ctx: RequestContext = SYSTEM) -> dict[str, Decimal]:
    """Day -> amount spent on one source (one Query)."""
    found = CounterModel.query(keys.spend(source), CounterModel.sk.between(start, end))
    return {i.sk: Decimal(str(i.total)) for i in found}


def sources(*, ctx: RequestContext = SYSTEM) -> list[str]:
    """Every source that has calls or spend, sorted (one read)."""
    try:
        return sorted(CounterModel.get(*keys.REPORT_SOURCES).keys or set())
    except CounterModel.DoesNotExist:
        return []


HOUR_NUMBERS = ("calls", "answered", "missed", "voicemail")


def hours(model: str, day: str, *, ctx: RequestContext = SYSTEM) -> dict[str, dict[int, dict[str, int]]]:
    """Source -> local hour -> calls, answered, missed, voicemail of one day: one query, whatever the
    number of calls (one small item per source and hour with calls)."""
    out: dict[str, dict[int, dict[str, int]]] = {}
    for item in CounterModel.query(keys.hours_partition(model, day), attributes_to_get=["sk", *HOUR_NUMBERS]):
        hour, source = item.sk.split("#", 1)
        out.setdefault(source, {})[int(hour)] = {k: int(getattr(item, k) or 0) for k in HOUR_NUMBERS}
    return out


def number_calls(start: str, end: str, *, ctx: RequestContext = SYSTEM) -> dict[str, int]:
    """Calls per tracking number from day ``start`` to ``end`` (both included): one query, whatever
    the number of numbers (one small item per number and day with calls)."""
    out: dict[str, int] = {}
    for item in CounterModel.query(
        keys.NUMBER_CALLS, CounterModel.sk.between(start, end + "~"), attributes_to_get=["sk", "calls"]
    ):
        number = item.sk.partition("#")[2]
        out[number] = out.get(number, 0) + int(item.calls or 0)
    return out


def menu_option_calls(start: str, end: str, *, ctx: RequestContext = SYSTEM) -> dict[tuple[str, str], dict[str, int]]:
    """(line, menu option) -> calls, answered, missed and voicemail from day ``start`` to ``end``
    (both included): one query, whatever the lines (one small item per line, option and day)."""
    out: dict[tuple[str, str], dict[str, int]] = {}
    wanted = ["sk", "calls", "answered", "missed", "voicemail"]
    for item in CounterModel.query(
        keys.MENU_OPTIONS, CounterModel.sk.between(start, end + "~"), attributes_to_get=wanted
    ):
        _, line, option = item.sk.split("#", 2)
        acc = out.setdefault((line, option), {"calls": 0, "answered": 0, "missed": 0, "voicemail": 0})
        for key in acc:
            acc[key] += int(getattr(item, key) or 0)
    return out


def save_spend(entries: Iterable[tuple[str, str, int | float]], *, ctx: RequestContext = SYSTEM) -> None:
    """Store (source, day, amount) entries, then each touched month's total, then add their
    sources to the report's list.

    A month's total is an item of its own in the source's partition (sk ``YYYY-MM``, which sorts
    before the month's days, so the day queries of ``spend`` never count it), rewritten from
    the month's days after every write: the dashboard's month-by-source grid then reads any
    sources' months in one BatchGetItem (``month_spend``) instead of a Query per source."""
    added: set[str] = set()
    months: set[tuple[str, str]] = set()
    with CounterModel.batch_write() as batch:
        for source, day, amount in entries:
            batch.save(CounterModel(keys.spend(source), day, total=amount))
            added.add(source)
            months.add((source, day[:7]))
    with CounterModel.batch_write() as batch:
        for source, month in sorted(months):
            days = spend(source, month + "-01", month + "-31")
            batch.save(CounterModel(keys.spend(source), month, total=dynamo_number(sum(days.values(), Decimal(0)))))
    # A source with spend and no calls yet is still a row (its cost per call is unknown, not zero).
    CounterModel(*keys.REPORT_SOURCES).update(actions=[CounterModel.keys.add(added)])


def month_spend(
    sources: Iterable[str], months: Iterable[str], *, ctx: RequestContext = SYSTEM
) -> dict[tuple[str, str], Decimal]:
    """(source, ``YYYY-MM``) -> the month's total spend, for each pair that has any (one
    BatchGetItem per 100 pairs; see ``save_spend``)."""
    wanted = [(keys.spend(s), m) for s in sorted(set(sources)) for m in sorted(set(months))]
    out: dict[tuple[str, str], Decimal] = {}
    for item in CounterModel.batch_get(wanted):
        out[(item.pk.split("#", 1)[1], item.sk)] = Decimal(str(item.total or 0))
    return out


# What code before keyed hashes put in the caller sets: sha256(number)[:12] + ":" + the call's end.
PLAIN_ENTRY = re.compile(r"([0-9a-f]{12}):(.{1,10})")


def caller_entry(number: str, call_sid: str) -> str:
    """A call's entry in its buckets' caller sets: the caller's keyed hash (``core.callerkeys``:
    ``k<version>.<hex>``, never the number or a plain hash of it) and the call's last ten characters,
    so one caller's calls count once as a unique caller and each call comes off on its own."""
    return callerkeys.caller_hash(number) + ":" + call_sid[-10:]


@dataclass(frozen=True)
class Delta:
    """What one bucket gains (negative: loses) when a call's contribution moves."""

    add: dict[str, Decimal]
    callers_add: frozenset[str]
    callers_del: frozenset[str]


@dataclass(frozen=True)
class DimensionBucket:
    day: str
    spam: bool
    value: str
    numbers: dict[str, Decimal]
    callers: frozenset[str]


def dimension_buckets(
    model: str, dim: str, source: str, start: str, end: str, *, ctx: RequestContext = SYSTEM
) -> list[DimensionBucket]:
    """One source's buckets per value of ``dim`` from ``start`` to ``end`` (days): one Query
    (a second page only past 1 MB: the cap keeps a day's values few)."""
    out = []
    for item in CounterModel.query(keys.dimension(model, dim, source), CounterModel.sk.between(start, end + "~")):
        day, tag, value = item.sk.split("#", 2)
        numbers = {key: Decimal(str(getattr(item, key) or 0)) for key in NUMBERS}
        out.append(DimensionBucket(day, tag == "s", value, numbers, frozenset(item.callers or ())))
    return out


def dimension_values(model: str, dim: str, source: str, day: str, *, ctx: RequestContext = SYSTEM) -> frozenset[str]:
    """The values registered for one source's dimension on one day (one GetItem; tests, benchmarks)."""
    try:
        return frozenset(CounterModel.get(*keys.dimension_values(model, dim, source, day)).keys or ())
    except CounterModel.DoesNotExist:
        return frozenset()


@dataclass(frozen=True)
class Registration:
    """A dimension value a call adds to a day: allowed while the day has fewer than ``cap`` values."""

    key: keys.Key
    value: str
    cap: int


REFUSED = "refused"


def apply_contribution(
    call_sid: str,
    contribution: dict[str, dict[str, Any]],
    version: int,
    deltas: dict[str, Delta],
    sources: set[str],
    registrations: tuple[Registration, ...] = (),
    *,
    ctx: RequestContext = SYSTEM,
) -> bool | frozenset[int]:
    """Record a call's new contribution on the call and add the deltas to its buckets, in one
    transaction conditional on the call's contribution version; ``False`` if another writer
    moved the call first (read it again and retry). Each registration adds its value to its
    day's set unless the set is full (``cap`` values, this one not among them): the indexes of
    the registrations refused that way come back instead (write those values as "other")."""
    condition = CallModel.agg_version == version if version else CallModel.agg_version.does_not_exist()
    positions: list[int] = []
    try:
        with TransactWrite(connection=connections.transactions()) as tx:
            tx.update(
                CallModel(call_sid),
                actions=[CallModel.agg.set(contribution), CallModel.agg_version.set(version + 1)],
                condition=condition,
            )
            for bucket, d in deltas.items():
                actions: list[Any] = [getattr(CounterModel, k).add(dynamo_number(x)) for k, x in d.add.items() if x]
                both = d.callers_add & d.callers_del
                if d.callers_add - both:
                    actions.append(CounterModel.callers.add(set(d.callers_add - both)))
                if d.callers_del - both:
                    actions.append(CounterModel.callers.delete(set(d.callers_del - both)))
                if actions:
                    tx.update(CounterModel(*keys.split_bucket(bucket)), actions=actions)
                    positions.append(-1)
            for reg in registrations:
                room = (
                    CounterModel.keys.does_not_exist()
                    | (size(CounterModel.keys) < reg.cap)  # type: ignore[no-untyped-call]
                    | CounterModel.keys.contains(reg.value)
                )
                tx.update(CounterModel(*reg.key), actions=[CounterModel.keys.add({reg.value})], condition=room)
            if sources:
                tx.update(CounterModel(*keys.REPORT_SOURCES), actions=[CounterModel.keys.add(sources)])
    except TransactWriteError as exc:
        if transaction_cancelled(exc):
            failed = failed_conditions(exc)
            first_reg = 1 + len(positions)
            refused = frozenset(i - first_reg for i in failed if first_reg <= i < first_reg + len(registrations))
            if refused and 0 not in failed:
                return refused
            return False
        raise
    return True
