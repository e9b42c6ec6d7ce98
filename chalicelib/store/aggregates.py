"""Report aggregates (per source and day), the sources that have any, and spend per source and day.

Aggregate items (pk ``AGG#<model>#<source>``, sk ``<day>`` or ``<day>#spam``) keep their
numbers and caller set as top-level attributes, so every change is an atomic ADD; the
subscriber that writes them (``reports.aggregates``) does so in a transaction with the call.

A closed day's caller set is sealed (``seal``, run by ``reports.seal``): its entries packed into
one binary value of 12-byte records (8 bytes of the caller's keyed hash, 4 of the call), so a
report reads one value per day instead of one string per call. Changes after the seal go to two
small sets, ``callers`` (added since) and ``callers_del`` (taken out since), each entry in at most
one of them (every change adds it to one and deletes it from the other), and the next seal folds
them in: the bucket's callers are always ``packed | callers - callers_del``, whichever came first.

The same seal writes a second value beside ``packed``: the bucket's distinct callers alone
(``packed_keys``: sorted 8-byte keys, a repeat caller once) and ``keyed`` = 1. Reports need only
the distinct callers, so they read ``packed_keys`` (two thirds of the bytes, fewer when callers
repeat) and the live sets; ``packed`` is read only for a bucket whose keys alone cannot answer: one
sealed by older code (no ``keyed``; until its next seal adds the keys: the seal job's first
round after the upgrade reseals them all, ``reports.seal``) or one with entries taken out since
its seal (a caller leaves only when all their calls do).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition, size
from pynamodb.transactions import TransactWrite

from chalicelib.core import callerkeys
from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.core.observability import logger
from chalicelib.store import connections, keys
from chalicelib.store.models import CallModel, CounterModel
from chalicelib.store.ops import condition_failed, dynamo_number, failed_conditions, transaction_cancelled

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
    # The bucket's distinct callers as one value of 8-byte keys, one after another (empty unless asked
    # for; a key may be there twice: sealed, and live since). Kept as bytes, not a set: a report joins
    # a source's values and builds one set of them (``key_set``), not one per bucket and then a union.
    keys: bytes = b""
    overflow: bool = False  # a week bucket past its cap: it lacks calls, read its days instead

    @property
    def callers(self) -> frozenset[int]:
        """The distinct callers, each 8-byte key as a number: one bucket's set (reports build one per
        row from many buckets' ``keys`` instead; tests compare a week's with its days')."""
        return frozenset(key_set((self.keys,)))


RECORD = 12  # bytes of a packed caller entry: CALLER bytes of the keyed caller hash, then 4 of the call
CALLER = 8  # 64 bits of the keyed hash: no two callers of one business meet (1e6 callers: p < 3e-8)


def record(entry: str) -> bytes:
    """A caller-set entry (``caller_entry``'s ``<keyed hash>:<call>``) as a packed record. Pure."""
    caller, _, call = entry.partition(":")
    return (
        hashlib.blake2b(caller.encode(), digest_size=CALLER).digest()
        + hashlib.blake2b(call.encode(), digest_size=RECORD - CALLER).digest()
    )


def pack(records: Iterable[bytes]) -> bytes:
    """Records as one sorted binary value. Pure."""
    return b"".join(sorted(set(records)))


def unpack(blob: bytes | None) -> set[bytes]:
    """The records of a packed value. Pure."""
    blob = blob or b""
    return {blob[i : i + RECORD] for i in range(0, len(blob), RECORD)}


def fold(packed: bytes | None, live: Iterable[str], gone: Iterable[str]) -> set[bytes]:
    """The records a bucket holds: its packed ones, with the entries added since its seal and
    without those taken out since. Pure."""
    recs = unpack(packed) | {record(e) for e in live}
    return recs - {record(e) for e in gone}


def caller_keys(packed: bytes | None, live: Iterable[str] = (), gone: Iterable[str] = ()) -> frozenset[bytes]:
    """A bucket's distinct callers (8-byte keys) from its packed value and the entries added
    (``live``) and taken out (``gone``) since its seal. Pure."""
    blob = packed or b""
    gone = set(gone)
    if not gone:  # the common case: keys straight from the value, no record set built
        out = {blob[i : i + CALLER] for i in range(0, len(blob), RECORD)}
        out.update(record(e)[:CALLER] for e in live)
        return frozenset(out)
    return frozenset(r[:CALLER] for r in fold(blob, live, gone))


def key_blob(records: Iterable[bytes]) -> bytes:
    """The distinct callers of packed records as one value: their sorted 8-byte keys, each once. Pure."""
    return b"".join(sorted({r[:CALLER] for r in records}))


def key_value(blob: bytes | None, live: Iterable[str] = ()) -> bytes:
    """A bucket's distinct callers as one value of 8-byte keys: its ``packed_keys`` and the keys of
    the entries added since its seal, appended (a key in both is there twice). Pure."""
    return (blob or b"") + b"".join(record(e)[:CALLER] for e in live)


def key_set(values: Iterable[bytes]) -> set[int]:
    """The distinct callers of key values (``key_value``), each 8-byte key as a number: the values
    joined and unpacked in one C-level call, then one set built (a caller in two values counts once). Pure."""
    blob = b"".join(values)
    return set(struct.unpack(f">{len(blob) // CALLER}Q", blob))


CALLER_FIELDS = ["packed", "callers", "callers_del"]
KEY_FIELDS = ["packed_keys", "keyed", "sealed", "callers", "callers_del"]  # what a report reads of callers


def needs_packed(item: CounterModel) -> bool:
    """Whether a bucket's callers need its ``packed`` records, not its keys alone: sealed by older
    code (no keys written), or with entries taken out since its seal."""
    return bool(item.sealed) and (not item.keyed or bool(item.callers_del))


def buckets(
    model: str, source: str, start: str, end: str, *, callers: bool = True, ctx: RequestContext = SYSTEM
) -> list[Bucket]:
    """One source's day buckets from ``start`` to ``end`` (days, both included) under an
    attribution model: one Query. Without ``callers`` only the numbers are read (smaller pages)."""
    fields = ["sk", *NUMBERS, *(CALLER_FIELDS if callers else ())]
    out = []
    for item in CounterModel.query(
        keys.aggregate(model, source), CounterModel.sk.between(start, end + "~"), attributes_to_get=fields
    ):
        day, _, tag = item.sk.partition("#")
        numbers = {key: Decimal(str(getattr(item, key) or 0)) for key in NUMBERS}
        who = caller_keys(item.packed, item.callers or (), item.callers_del or ()) if callers else ()
        out.append(Bucket(day, tag == "spam", numbers, b"".join(who)))
    return out


def read(wanted: Iterable[keys.Key], *, ctx: RequestContext = SYSTEM) -> dict[keys.Key, Bucket]:
    """Day or week buckets by their keys (those that exist): one BatchGetItem per 100 keys.

    Reports read this way, never by Query: what a read costs is the items named, so a report's
    requests and the items it reads follow its range and sources, not the calls in them; and a
    Query (on moto: a walk of the whole table) would follow the size of the counters table.

    Of the callers it reads each bucket's distinct keys (``packed_keys``) and live sets, never the
    per-call records; the few buckets whose keys cannot answer alone (``needs_packed``: sealed by
    older code, or entries taken out since the seal) are read again with their records, one more
    BatchGetItem per 100 of them (none once every bucket is sealed by this code)."""
    out: dict[keys.Key, Bucket] = {}
    fields = ["pk", "sk", "overflow", *NUMBERS, *KEY_FIELDS]
    again: dict[keys.Key, Bucket] = {}
    for item in CounterModel.batch_get(sorted(set(wanted)), attributes_to_get=fields):
        day, _, tag = item.sk.partition("#")
        numbers = {key: Decimal(str(getattr(item, key) or 0)) for key in NUMBERS}
        key = keys.Key(item.pk, item.sk)
        if needs_packed(item):
            again[key] = Bucket(day, tag == "spam", numbers, b"", bool(item.overflow))
            continue
        who = key_value(item.packed_keys, item.callers or ())
        out[key] = Bucket(day, tag == "spam", numbers, who, bool(item.overflow))
    if again:
        for item in CounterModel.batch_get(sorted(again), attributes_to_get=["pk", "sk", *CALLER_FIELDS]):
            key = keys.Key(item.pk, item.sk)
            who = b"".join(caller_keys(item.packed, item.callers or (), item.callers_del or ()))
            out[key] = dataclasses.replace(again[key], keys=who)
        for key, bucket in again.items():  # gone between the reads (never, for a report bucket): no callers
            out.setdefault(key, bucket)
    return out


def report_sources(*, ctx: RequestContext = SYSTEM) -> tuple[list[str], str | None]:
    """Every source that has calls or spend, sorted, and the first week whose week buckets are whole
    (``None``: none yet; one read)."""
    try:
        item = CounterModel.get(*keys.REPORT_SOURCES)
    except CounterModel.DoesNotExist:
        return [], None
    return sorted(item.keys or set()), item.weeks_from


def mark_weeks_whole(monday: str, *, ctx: RequestContext = SYSTEM) -> None:
    """Say that every week from ``monday`` on holds all of its calls (a rebuild or migration added
    every call to its week): reports read those weeks whole."""
    CounterModel(*keys.REPORT_SOURCES).update(actions=[CounterModel.weeks_from.set(monday)])


def spend_days(wanted: Iterable[tuple[str, str]], *, ctx: RequestContext = SYSTEM) -> dict[tuple[str, str], Decimal]:
    """(source, day) -> the amount spent, for the pairs that have any: one BatchGetItem per 100 pairs."""
    out: dict[tuple[str, str], Decimal] = {}
    pairs = sorted({(keys.spend(source), day) for source, day in wanted})
    for item in CounterModel.batch_get(pairs, attributes_to_get=["pk", "sk", "total"]):
        out[(item.pk.split("#", 1)[1], item.sk)] = Decimal(str(item.total or 0))
    return out


def unsealed(
    model: str,
    source: str,
    start: str,
    end: str,
    after: dict[str, Any] | None = None,
    *,
    limit: int = 25,
    weeks: bool = False,
) -> tuple[list[keys.Key], dict[str, Any] | None]:
    """A page of one source's day buckets (``weeks``: week buckets, by their Monday) from ``start``
    to ``end`` with entries to fold in or sealed by older code without their callers' keys (one Query
    of their keys and live sets, never their packed values), and where the next page starts
    (``None``: the last one)."""
    found = CounterModel.query(
        keys.aggregate_weeks(model, source) if weeks else keys.aggregate(model, source),
        CounterModel.sk.between(start, end + "~"),
        attributes_to_get=["pk", "sk", "callers", "callers_del", "sealed", "keyed"],
        last_evaluated_key=after or None,
        limit=limit,
    )
    page = [keys.Key(i.pk, i.sk) for i in found if i.callers or i.callers_del or (i.sealed and not i.keyed)]
    return page, found.last_evaluated_key


SEAL_LIMIT = 380_000  # bytes of packed records and keys a bucket may hold (DynamoDB's item limit is 400 KB)


def sealed_bytes(records: set[bytes]) -> int:
    """What a seal of these records stores: each record, and each distinct caller's key once. Pure."""
    return len(records) * RECORD + len({r[:CALLER] for r in records}) * CALLER


def seal(key: keys.Key, *, attempts: int = 3, ctx: RequestContext = SYSTEM) -> bool:
    """Fold a bucket's live entries into its packed value and write its distinct callers' keys
    beside it (``packed_keys``, ``keyed``): one consistent read and one write, conditional on no
    other seal in between (an entry added or taken out meanwhile stays in its live set, so nothing
    is lost). A bucket sealed by older code (no keys) gains its keys even with nothing to fold.
    False when there was nothing to write or it could not be (a value past ``SEAL_LIMIT``: the
    entries stay live, still counted; README, "Reports")."""
    for _ in range(attempts):
        try:
            item = CounterModel.get(
                *key, consistent_read=True, attributes_to_get=["pk", "sk", "sealed", "keyed", *CALLER_FIELDS]
            )
        except CounterModel.DoesNotExist:
            return False
        live, gone = set(item.callers or ()), set(item.callers_del or ())
        if not live and not gone and (item.keyed or not item.sealed):
            return False
        recs = fold(item.packed, live, gone)
        if sealed_bytes(recs) > SEAL_LIMIT:
            logger.error("a day's callers are past the packed limit; they stay unsealed", pk=key.pk, sk=key.sk)
            return False
        actions: list[Any] = [CounterModel.sealed.add(1), CounterModel.keyed.set(1)]
        if recs:
            actions += [CounterModel.packed.set(pack(recs)), CounterModel.packed_keys.set(key_blob(recs))]
        else:
            actions += [CounterModel.packed.remove(), CounterModel.packed_keys.remove()]
        if live:
            actions.append(CounterModel.callers.delete(live))
        if gone:
            actions.append(CounterModel.callers_del.delete(gone))
        sealed = CounterModel.sealed == item.sealed if item.sealed else CounterModel.sealed.does_not_exist()
        try:
            CounterModel(*key).update(actions=actions, condition=sealed)
            return True
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
    return False


def seal_state(*, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """The sealing job's saved state (empty before its first run)."""
    try:
        return dict(CounterModel.get(*keys.REPORT_SEAL, consistent_read=True).data or {})
    except CounterModel.DoesNotExist:
        return {}


def save_seal_state(state: dict[str, Any], *, ctx: RequestContext = SYSTEM) -> None:
    CounterModel(*keys.REPORT_SEAL, data=state).save()


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


@dataclass(frozen=True)
class Refused:
    """What a contribution's transaction refused: registrations (their indexes: a full day of
    values) and week buckets (past their cap: leave them out and mark them overflowing)."""

    registrations: frozenset[int]
    weeks: frozenset[str]


def apply_contribution(
    call_sid: str,
    contribution: dict[str, dict[str, Any]],
    version: int,
    deltas: dict[str, Delta],
    sources: set[str],
    registrations: tuple[Registration, ...] = (),
    *,
    weeks_from: str | None = None,
    week_cap: int = 0,
    overflowing: frozenset[str] = frozenset(),
    ctx: RequestContext = SYSTEM,
) -> bool | Refused:
    """Record a call's new contribution on the call and add the deltas to its buckets, in one
    transaction conditional on the call's contribution version; ``False`` if another writer
    moved the call first (read it again and retry). Each registration adds its value to its
    day's set unless the set is full (``cap`` values, this one not among them): the indexes of
    the registrations refused that way come back instead (write those values as "other").

    A week bucket gaining calls is conditional on holding fewer than ``week_cap`` calls and not
    overflowing; refused, it comes back (``Refused.weeks``) and the call is applied again without
    it and with the week marked overflowing (``overflowing``), in the same transaction."""
    condition = CallModel.agg_version == version if version else CallModel.agg_version.does_not_exist()
    positions: list[int] = []
    week_at: dict[int, str] = {}  # transaction position -> a week bucket whose update has a cap
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
                sealable = keys.is_sealable_bucket(bucket)  # a day or week: an entry is live or taken out, not both
                if d.callers_add - both:
                    actions.append(CounterModel.callers.add(set(d.callers_add - both)))
                    if sealable:
                        actions.append(CounterModel.callers_del.delete(set(d.callers_add - both)))
                if d.callers_del - both:
                    actions.append(CounterModel.callers.delete(set(d.callers_del - both)))
                    if sealable:
                        actions.append(CounterModel.callers_del.add(set(d.callers_del - both)))
                capped: Condition | None = None
                if keys.is_week_bucket(bucket) and bucket in overflowing:
                    actions.append(CounterModel.overflow.set(1))
                elif keys.is_week_bucket(bucket) and week_cap and (d.add.get("calls", 0) > 0 or d.callers_add - both):
                    below = CounterModel.calls.does_not_exist() | (CounterModel.calls < week_cap)
                    capped = CounterModel.overflow.does_not_exist() & below
                    week_at[1 + len(positions)] = bucket
                if actions:
                    tx.update(CounterModel(*keys.split_bucket(bucket)), actions=actions, condition=capped)
                    positions.append(-1)
            for bucket in sorted(overflowing - set(deltas)):
                tx.update(CounterModel(*keys.split_bucket(bucket)), actions=[CounterModel.overflow.set(1)])
                positions.append(-1)
            for reg in registrations:
                room = (
                    CounterModel.keys.does_not_exist()
                    | (size(CounterModel.keys) < reg.cap)  # type: ignore[no-untyped-call]
                    | CounterModel.keys.contains(reg.value)
                )
                tx.update(CounterModel(*reg.key), actions=[CounterModel.keys.add({reg.value})], condition=room)
            if sources:
                actions = [CounterModel.keys.add(sources)]
                if weeks_from:  # kept once set: weeks from then on have had every call added
                    actions.append(CounterModel.weeks_from.set(CounterModel.weeks_from | weeks_from))
                tx.update(CounterModel(*keys.REPORT_SOURCES), actions=actions)
    except TransactWriteError as exc:
        if transaction_cancelled(exc):
            failed = failed_conditions(exc)
            first_reg = 1 + len(positions)
            refused = frozenset(i - first_reg for i in failed if first_reg <= i < first_reg + len(registrations))
            weeks = frozenset(week_at[i] for i in failed if i in week_at)
            if (refused or weeks) and 0 not in failed:
                return Refused(refused, weeks)
            return False
        raise
    return True
