"""Website sessions and pool-number leases: every read and write of their items, as typed records.

The lease rules live in ``chalicelib/leasing/`` (what a visitor, an address or a session may
hold, when a lease is renewed); this module owns how they are kept: the sessions, the lease
history, a visitor's holder item and a client address's item (the counters table), the
allocator's candidate query and the transactions that take, hand over, renew and end a lease.

Correctness lives in the conditions written here (``../shared/DESIGN.md``): a number is taken
by one conditional write on its item, in one transaction with the session, the lease history
and the visitor's and address's items, so no two sessions ever hold it; the pool index only
suggests candidates, least recently released first; TTL is housekeeping, never the lease clock.
Since issue 25 the visitor's and address's items are not read before a lease: their limits are
the transaction's conditions and a refusal returns the item that refused (``ALL_OLD``), so a new
lease is the candidates query and one transaction (``tests/integration/test_leases.py`` and
``bench/leases.py`` count the requests).

The lease endpoint and the voice path read and write as ``SYSTEM``: a site key or a called
number already names the pool, and a visitor is nobody's account, so these functions take no
request context (the decision the issue leaves open).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pynamodb.attributes import MapAttribute
from pynamodb.exceptions import DeleteError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import size
from pynamodb.expressions.operand import Path
from pynamodb.transactions import TransactWrite

from chalicelib.core import clock
from chalicelib.store import connections, keys
from chalicelib.store.lines import Number, number_record
from chalicelib.store.models import CounterModel, LeaseModel, NumberModel, SessionModel
from chalicelib.store.ops import (
    CONFLICT_TRIES,
    condition_failed,
    conflict_pause,
    conflicted,
    expires_after,
    failed_conditions,
    transaction_cancelled,
)

CANDIDATES_PER_QUERY = 5
HOLDER_KEEP_DAYS = 1.0  # longer than any lease can be held (LEASE_MAX_SECONDS plus the hold)


class Refused(Exception):
    """A lease transaction refused by the visitor's or the address's item; ``candidates`` the
    numbers the allocator had not tried yet (the next try starts there, without a query)."""

    candidates: list[Number] = []  # set on the instance by the allocator


class HolderMoved(Refused):
    """The visitor's holder item refused the lease: it names another lease that may still run
    (another request of the visitor's started or moved one, or the hint was forged), or the
    visitor is over their hourly budget. ``holder`` is the item as the refusal returned it
    (``None``: not known)."""

    def __init__(self, holder: Holder | None) -> None:
        super().__init__("the visitor's holder item refused the lease")
        self.holder = holder


class PreviousHeld(Refused):
    """The lease the visitor's new one was to replace (``VisitorLimit.prev``) still runs."""


class AddressMoved(Refused):
    """The client address's item refused the lease: a limit is reached (or its set changed since
    it was returned). ``address`` is the item as the refusal returned it."""

    def __init__(self, address: Address) -> None:
        super().__init__("the client address's item refused the lease")
        self.address = address


# --- sessions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """A website visit (``SessionModel``): its source and a bounded list of page views (epoch ms)."""

    session_id: str
    pool_id: str
    visitor_id: str
    source: dict[str, Any] = field(default_factory=dict)
    pages: tuple[dict[str, Any], ...] = ()
    number: str | None = None
    created_at: int = 0
    last_seen_at: int = 0
    expires_at: datetime | None = None  # TTL: housekeeping only


def _page(value: Any) -> dict[str, Any]:
    # A page read back is a raw MapAttribute; one added in this process is still a dict.
    return dict(value.as_dict() if isinstance(value, MapAttribute) else value)  # type: ignore[no-untyped-call]


def session_record(m: SessionModel) -> Session:
    return Session(
        session_id=m.session_id,
        pool_id=m.pool_id,
        visitor_id=m.visitor_id,
        source=dict(m.source or {}),
        pages=tuple(_page(p) for p in m.pages or []),
        number=m.number,
        created_at=int(m.created_at),
        last_seen_at=int(m.last_seen_at),
        expires_at=m.expires_at,
    )


def _session_item(s: Session) -> SessionModel:
    return SessionModel(
        s.session_id,
        pool_id=s.pool_id,
        visitor_id=s.visitor_id,
        source=s.source,
        pages=[dict(p) for p in s.pages],
        number=s.number,
        created_at=s.created_at,
        last_seen_at=s.last_seen_at,
        expires_at=s.expires_at,
    )


def get_session(session_id: str) -> Session | None:
    try:
        return session_record(SessionModel.get(session_id))
    except SessionModel.DoesNotExist:
        return None


def record_page(session_id: str, page: dict[str, Any], now_ms: int, *, max_pages: int) -> None:
    """Append a page view to a held session, bounded: past ``max_pages`` views only ``last_seen_at``
    moves (one conditional update, and a second one when the list is full)."""
    actions: list[Any] = [SessionModel.last_seen_at.set(now_ms)]
    try:
        SessionModel(session_id).update(
            actions=[*actions, SessionModel.pages.set(SessionModel.pages.append([page]))],  # type: ignore[list-item]
            condition=size(SessionModel.pages) < max_pages,  # type: ignore[no-untyped-call]
        )
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
        SessionModel(session_id).update(actions=actions)


# --- the lease history -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LeaseStart:
    """One lease start (``LeaseModel``): which session held which number from when, and where the
    lease before it on the number ended."""

    number: str
    started_at: int
    session_id: str
    pool_id: str
    prev_session_id: str | None = None
    prev_ended_at: int | None = None
    source: dict[str, Any] | None = None  # ``None``: recorded before leases carried their source


def _start(m: LeaseModel) -> LeaseStart:
    return LeaseStart(
        number=m.number,
        started_at=int(m.started_at),
        session_id=m.session_id,
        pool_id=m.pool_id,
        prev_session_id=m.prev_session_id,
        prev_ended_at=int(m.prev_ended_at) if m.prev_ended_at is not None else None,
        source=dict(m.source) if m.source is not None else None,
    )


def latest_starts(number: str, *, limit: int = 2) -> list[LeaseStart]:
    """The number's newest lease starts, newest first (one query)."""
    return [_start(m) for m in LeaseModel.query(number, scan_index_forward=False, limit=limit)]


def start_at_or_before(number: str, at_ms: int) -> LeaseStart | None:
    """The number's last lease start at or before ``at_ms`` (one query)."""
    found = LeaseModel.query(number, LeaseModel.started_at <= at_ms, scan_index_forward=False, limit=1)
    return next((_start(m) for m in found), None)


def start_after(number: str, at_ms: int) -> LeaseStart | None:
    """The number's first lease start after ``at_ms`` (one query)."""
    return next((_start(m) for m in LeaseModel.query(number, LeaseModel.started_at > at_ms, limit=1)), None)


def starts_since(number: str, since_ms: int) -> list[LeaseStart]:
    """The number's lease starts from ``since_ms`` on, oldest first (one query)."""
    return [_start(m) for m in LeaseModel.query(number, LeaseModel.started_at >= since_ms)]


def session_source(session_id: str) -> dict[str, Any] | None:
    """A session's source, or ``None`` when the session is gone (one read)."""
    found = get_session(session_id)
    return found.source if found is not None else None


# --- a visitor's holder item --------------------------------------------------------------------

HOURS_KEPT = 24  # a new lease removes the counts of the 24 hours before its own (the item expires after a day)


def hour_attr(hour: str) -> str:
    """The top-level attribute an hour's new leases are counted in: ``n2026120713`` for
    ``2026-12-07T13``. Top-level, so that the transaction's ADD creates it on an item it did not read."""
    return "n" + hour.replace("-", "").replace("T", "")


def _hours_of(raw: dict[str, Any]) -> dict[str, int]:
    return {k: int(v["N"]) for k, v in raw.items() if len(k) == 11 and k[0] == "n" and k[1:].isdigit() and "N" in v}


def _under(hour: str, cap: int) -> Any:
    """The condition that ``hour``'s count is below ``cap`` (no count yet: zero)."""
    count = Path(hour_attr(hour))
    return count.does_not_exist() | (count < cap)


def _count_actions(hour: str, now_ms: int) -> list[Any]:
    """One more new lease in ``hour``, the counts of the hours before it removed, the item kept a day."""
    past = [Path(hour_attr(clock.hour_key(now_ms - h * 3_600_000))).remove() for h in range(1, HOURS_KEPT + 1)]
    return [Path(hour_attr(hour)).add(1), *past, CounterModel.expires_at.set(expires_after(now_ms, HOLDER_KEEP_DAYS))]


@dataclass(frozen=True)
class Prev:
    """A lease a visitor held or holds: the site script's hint (the session and number it kept),
    a session's own lease, or the holder item's as a refused transaction returned it. Never
    trusted: the lease transaction checks it against the holder item and the number."""

    session_id: str
    number: str


@dataclass(frozen=True)
class Holder:
    """A visitor's holder item as a refused transaction returned it (or a read): their latest
    lease in the pool and their new leases per hour."""

    key: keys.Key
    session_id: str | None = None
    number: str | None = None
    started_at: int | None = None  # when that lease started (renewals do not touch this item)
    campaign: str | None = None  # that session's ``campaign``: another one is a new visit
    hours: dict[str, int] = field(default_factory=dict)  # hour_attr -> new leases in that hour

    def leases_in(self, this_hour: str) -> int:
        return self.hours.get(hour_attr(this_hour), 0)

    def may_hold(self, now_ms: int, max_ms: int) -> bool:
        """Whether the lease it names may still be held: it cannot once it is older than the
        longest lease (saves a write that would only find that out)."""
        return bool(self.session_id and self.number and self.started_at and now_ms - self.started_at < max_ms)

    def lease(self) -> Prev | None:
        return Prev(self.session_id, self.number) if self.session_id and self.number else None


def _holder(key: keys.Key, raw: dict[str, Any] | None) -> Holder:
    if not raw:
        return Holder(key)
    if "lease_session" not in raw and "S" in (raw.get("data") or {}):
        # Written before issue 25 (``data``, JSON): its lease, so that a refusal joins it or, once
        # it has ended, names it as the lease the next try replaces (``holder_write``'s condition
        # refuses such an item until then; these items live a day at most).
        old = json.loads(raw["data"]["S"])
        at = old.get("started_at")
        return Holder(key, old.get("session_id"), old.get("number"), int(at) if at else None, old.get("campaign"))
    started = (raw.get("lease_started") or {}).get("N")
    return Holder(
        key,
        session_id=(raw.get("lease_session") or {}).get("S"),
        number=(raw.get("lease_number") or {}).get("S"),
        started_at=int(started) if started is not None else None,
        campaign=(raw.get("lease_campaign") or {}).get("S"),
        hours=_hours_of(raw),
    )


def holder_key(pool_id: str, visitor_id: str) -> keys.Key:
    return keys.lease_holder(pool_id, visitor_id)


def read_holder(pool_id: str, visitor_id: str) -> Holder:
    """The visitor's holder item (one strongly consistent read; the lease path itself reads none)."""
    key = keys.lease_holder(pool_id, visitor_id)
    found = CounterModel._get_connection().get_item(key.pk, key.sk, consistent_read=True)
    return _holder(key, found.get("Item"))


@dataclass(frozen=True)
class Write:
    """An item's update for the lease transaction, and the condition it is made on."""

    actions: list[Any]
    condition: Any


@dataclass(frozen=True)
class VisitorLimit:
    """What a new lease of one visitor must respect: no other lease of theirs that may still run
    (``prev``, if given, is the one they say has ended: the transaction checks it did, on its
    number), at most ``per_hour`` new leases an hour, leases renewed for ``max_ms`` at most."""

    key: keys.Key
    per_hour: int
    max_ms: int
    prev: Prev | None = None


def _holder_actions(session: Session, number: str, now_ms: int, marks: Marks) -> list[Any]:
    return [
        CounterModel.lease_session.set(session.session_id),
        CounterModel.lease_number.set(number),
        CounterModel.lease_started.set(now_ms),
        CounterModel.lease_campaign.set(marks.campaign),
        CounterModel.data.remove(),  # the holder's shape before issue 25
        *_count_actions(marks.hour, now_ms),
    ]


def holder_write(visitor: VisitorLimit, session: Session, number: str, now_ms: int, marks: Marks) -> Write:
    """The holder item's update for a new lease, without a read: the new lease, one more this
    hour; on condition that the visitor holds no lease that may still run (none, one older than
    the longest lease, or the ``prev`` lease, whose number the transaction checks) and is under
    the hourly budget."""
    # A holder item written before issue 25 keeps its lease in ``data`` (JSON): it is never taken
    # for "none", so its lease refuses until the refusal has named it as ``prev``.
    none = CounterModel.lease_session.does_not_exist() & CounterModel.data.does_not_exist()
    free = none | (CounterModel.lease_started <= now_ms - visitor.max_ms)
    if visitor.prev is not None:
        same = (CounterModel.lease_session == visitor.prev.session_id) & (
            CounterModel.lease_number == visitor.prev.number
        )
        # ... and such an item's lease is replaced once named (its number's item is checked as any
        # ``prev``'s): ``json.dumps``'s own spelling of the session, as the code before wrote it.
        # (a bare path: the attribute's own serializer would encode the substring as JSON again).
        before = (
            CounterModel.lease_session.does_not_exist()
            & Path("data").contains(  # type: ignore[no-untyped-call]
                json.dumps({"session_id": visitor.prev.session_id})[1:-1]
            )
        )
        free = free | same | before
    return Write(_holder_actions(session, number, now_ms, marks), free & _under(marks.hour, visitor.per_hour))


def _previous_ended(prev: Prev, now_ms: int) -> Any:
    """The condition (on the previous number's item) that ``prev``'s session no longer holds it."""
    return (
        NumberModel.lease_session_id.does_not_exist()
        | (NumberModel.lease_session_id != prev.session_id)
        | (NumberModel.lease_expires_at <= now_ms)
    )


# --- a client address's item --------------------------------------------------------------------


@dataclass(frozen=True)
class NumberLease:
    """What a number's item says about its current lease: who started it, until when."""

    address: str | None  # the hashed address of the client that started it
    expires_at: int | None


def _entry(number: str, started_at: int) -> str:
    return f"{number}|{started_at}"


def _entry_number(entry: str) -> str:
    return entry.rsplit("|", 1)[0]


@dataclass(frozen=True)
class Address:
    """A client address's item in a pool: the leases it started that may still run
    (``"<number>|<started ms>"`` entries) and its new leases per hour.

    A new lease adds its entry in its own transaction, with no read before it: the conditions
    (``address_write``) are that the set has fewer entries than the cap and this hour's count is
    under its budget. Renewals never touch the item, so an entry may name a lease that has
    ended; under the cap every entry counts without a look-up (an ended one counts a little
    longer, while the address is below its cap anyway). At the cap the refused transaction
    returns the item (``held`` known), its numbers are looked up (``to_check``, one
    BatchGetItem) and the entries of leases that ended (``gone``) are taken out by the next
    try's transaction, on condition that the set is still exactly as returned. So the set never
    holds more than the cap.
    """

    key: keys.Key
    address: str  # the hashed client address
    held: frozenset[str] | None = None  # ``None``: not known (the transaction did not need to read it)
    hours: dict[str, int] = field(default_factory=dict)  # hour_attr -> new leases in that hour
    gone: frozenset[str] = frozenset()  # entries looked up and found ended

    def leases_in(self, this_hour: str) -> int:
        return self.hours.get(hour_attr(this_hour), 0)

    def holding(self) -> int:
        """Leases that count against the cap: every entry not found ended."""
        return len(self.held or ()) - len(self.gone)

    def to_check(self, cap: int) -> list[str]:
        """The numbers to look up before a new lease: all those still counted, once they reach the cap."""
        if self.holding() < cap:
            return []
        return sorted({_entry_number(e) for e in self.held or () if e not in self.gone})

    def checked(self, found: dict[str, NumberLease], now_ms: int) -> Address:
        """This address with the entries whose lease has ended by ``now_ms`` marked ``gone``
        (``found`` has no item for a deleted number). A number's lease from this address, if it
        still runs, is its newest entry (a later one from here would have ended it); older
        entries of the same number have ended."""
        newest: dict[str, tuple[int, str]] = {}
        for e in self.held or ():
            n, at = _entry_number(e), int(e.rsplit("|", 1)[1])
            if n not in newest or at > newest[n][0]:
                newest[n] = (at, e)
        live = {
            e
            for n, (_, e) in newest.items()
            if (lease := found.get(n)) is not None
            and lease.address == self.address
            and lease.expires_at is not None
            and lease.expires_at > now_ms
        }
        return replace(self, gone=self.gone | (frozenset(self.held or ()) - live))


def _address(key: keys.Key, address: str, raw: dict[str, Any] | None) -> Address:
    if not raw:
        return Address(key, address, frozenset())
    return Address(key, address, frozenset((raw.get("held_leases") or {}).get("SS") or ()), _hours_of(raw))


def address_item(pool_id: str, address: str) -> Address:
    """The hashed ``address``'s item in the pool, not read: a new lease's transaction needs none."""
    return Address(keys.lease_address(pool_id, address), address)


def read_address_item(address: Address) -> Address:
    """``address``'s item as stored now (one strongly consistent read)."""
    found = CounterModel._get_connection().get_item(address.key.pk, address.key.sk, consistent_read=True)
    return _address(address.key, address.address, found.get("Item"))


def read_address(pool_id: str, address: str) -> Address:
    """The hashed ``address``'s item in the pool (one strongly consistent read; tests and tools)."""
    key = keys.lease_address(pool_id, address)
    return _address(
        key, address, CounterModel._get_connection().get_item(key.pk, key.sk, consistent_read=True).get("Item")
    )


def check_address(address: Address, cap: int, now_ms: int) -> Address:
    """``address`` with its ended leases found, if it is at its cap (one BatchGetItem); as it was otherwise."""
    numbers = address.to_check(cap)
    if not numbers:
        return address
    attrs = ["number", "lease_address", "lease_expires_at"]
    found = {
        n.number: NumberLease(n.lease_address, int(n.lease_expires_at) if n.lease_expires_at is not None else None)
        for n in NumberModel.batch_get(numbers, consistent_read=True, attributes_to_get=attrs)
    }
    return address.checked(found, now_ms)


@dataclass(frozen=True)
class AddressLimit:
    """What a new lease from one address may not exceed: ``held`` numbers at once, ``per_hour`` new ones."""

    address: Address
    held: int
    per_hour: int


def address_write(limit: AddressLimit, number: str, now_ms: int, *, this_hour: str) -> Write:
    """The address item's update for the lease transaction: this lease's entry added, one more
    new lease this hour; on condition that neither limit is reached, whatever other requests
    from the address wrote (no read before it, no version number: requests that may both lease
    do not conflict, and two that read nothing cannot both pass when only one may).

    With ended entries found (``gone``, after a refusal returned the item), the set is written
    whole, without them, on condition that it is still exactly as returned (its size and every
    entry): one path may not be both added to and deleted from in one update.
    """
    addr = limit.address
    held = CounterModel.held_leases
    entry = _entry(number, now_ms)
    counts = _count_actions(this_hour, now_ms)
    hour_ok = _under(this_hour, limit.per_hour)
    if not addr.gone:
        under_cap = held.does_not_exist() | (size(held) < limit.held)  # type: ignore[no-untyped-call]
        return Write([held.add({entry}), *counts], under_cap & hour_ok)
    old = addr.held or frozenset()
    unchanged = size(held) == len(old)  # type: ignore[no-untyped-call]
    for e in sorted(old):
        unchanged &= held.contains(e)
    return Write([held.set(set(old - addr.gone) | {entry}), *counts], unchanged & hour_ok)


# --- taking, handing over, renewing and ending a lease ---------------------------------------------


def _free_condition(pool_id: str, now_ms: int) -> Any:
    return (
        (NumberModel.status == "active")
        & (NumberModel.kind == "pool")
        & (NumberModel.pool_id == pool_id)
        & (NumberModel.lease_expires_at.does_not_exist() | (NumberModel.lease_expires_at <= now_ms))
    )


def _unchanged_since(cand: Number) -> Any:
    if cand.lease_started_at is None:
        return NumberModel.lease_started_at.does_not_exist()
    unchanged = NumberModel.lease_started_at == int(cand.lease_started_at)
    if cand.lease_expires_at is not None:  # a renewal since the read would make prev_ended_at early
        unchanged = unchanged & (NumberModel.lease_expires_at == int(cand.lease_expires_at))
    return unchanged


def candidates(pool_id: str, now_ms: int, *, limit: int = CANDIDATES_PER_QUERY) -> list[Number]:
    """Numbers that look free, least recently released first (an eventually consistent hint)."""
    return [
        number_record(n)
        for n in NumberModel.pool_index.query(
            pool_id, NumberModel.lease_ended_at <= now_ms, scan_index_forward=True, limit=limit
        )
    ]


def free_numbers(pool_id: str, now_ms: int) -> list[Number]:
    """Every number of the pool that looks free (no limit; the sizing benchmark's random reuse)."""
    return [number_record(n) for n in NumberModel.pool_index.query(pool_id, NumberModel.lease_ended_at <= now_ms)]


@dataclass(frozen=True)
class Marks:
    """What the lease transaction writes on the visitor's holder item besides the lease: the hour
    bucket it counts in and the session's campaign fingerprint (the leasing rules compute both)."""

    hour: str
    campaign: str


def take(
    cand: Number,
    pool_id: str,
    session: Session,
    now_ms: int,
    expires: int,
    history_days: float,
    visitor: VisitorLimit | None,
    address: AddressLimit | None,
    marks: Marks,
) -> bool:
    """Lease ``cand`` to ``session`` in one transaction, with nothing read before it but the
    candidate: the number (free now, and unchanged since it was read), the session, the lease
    history, the visitor's holder item and the client address's item (their limits as
    conditions, ``holder_write`` and ``address_write``), and a condition check that the
    visitor's previous lease (``visitor.prev``) has ended. ``False`` when somebody took the
    number first; ``HolderMoved``, ``PreviousHeld`` or ``AddressMoved`` (with the item as the
    refusal returned it: ``ReturnValuesOnConditionCheckFailure=ALL_OLD``) when theirs failed."""
    lease = LeaseModel(
        cand.number,
        now_ms,
        session_id=session.session_id,
        pool_id=pool_id,
        prev_session_id=cand.lease_session_id,
        prev_ended_at=int(cand.lease_expires_at) if cand.lease_expires_at is not None else None,
        source=session.source or {},
        expires_at=expires_after(now_ms, history_days),
    )
    session = replace(session, number=cand.number)
    for attempt in range(CONFLICT_TRIES):
        roles: list[str] = []
        try:
            _take(cand, pool_id, session, now_ms, expires, lease, visitor, address, marks, roles)
        except TransactWriteError as exc:
            if conflicted(exc) and attempt < CONFLICT_TRIES - 1:
                conflict_pause(attempt)  # another transaction touched these items at the same moment
                continue
            _raise_refusal(exc, roles, visitor.key if visitor else None, address)
            if transaction_cancelled(exc):
                return False  # somebody took it first (or it is not free): try the next one
            raise
        return True
    return False


def _raise_refusal(
    exc: TransactWriteError, roles: list[str], holder_key: keys.Key | None, address: AddressLimit | None
) -> None:
    """Raise what a cancelled lease transaction says about the visitor and the address, if their
    conditions failed: the items come back with the refusal (moto and DynamoDB both put the
    old item in the cancellation reason), so telling "capped" from "moved" reads nothing."""
    failed = {roles[i]: exc.cancellation_reasons[i] for i in failed_conditions(exc) if i < len(roles)}
    if "holder" in failed and holder_key is not None:
        old = _old(failed["holder"])  # an item that is not there never fails its condition
        raise HolderMoved(_holder(holder_key, old) if old is not None else None)  # None: the caller reads it
    if "previous" in failed:
        raise PreviousHeld
    if "address" in failed and address is not None:
        was = address.address
        old = _old(failed["address"])
        # Where the refusal does not carry the item (an emulator without ALL_OLD), one read.
        raise AddressMoved(_address(was.key, was.address, old) if old is not None else read_address_item(was))


def _old(reason: Any) -> dict[str, Any] | None:
    return getattr(reason, "raw_item", None) if reason is not None else None


def _take(
    cand: Number,
    pool_id: str,
    session: Session,
    now_ms: int,
    expires: int,
    lease: LeaseModel,
    visitor: VisitorLimit | None,
    address: AddressLimit | None,
    marks: Marks,
    roles: list[str],
) -> None:
    # PynamoDB sends a transaction's condition checks first, then its puts, then its updates: the
    # cancellation reasons come in that order, which ``roles`` records.
    roles += ["session", "history", "number"]
    roles += ["holder"] if visitor is not None else []
    roles += ["address"] if address is not None else []
    with TransactWrite(connection=connections.transactions()) as tx:
        tx.update(
            NumberModel(cand.number),
            actions=[
                NumberModel.lease_session_id.set(session.session_id),
                NumberModel.lease_started_at.set(now_ms),
                NumberModel.lease_expires_at.set(expires),
                NumberModel.lease_ended_at.set(expires),
                NumberModel.lease_source.set(session.source or {}),  # a call during it reads no history
                # Whose cap it counts against while it runs (limits.Address): renewals keep it.
                NumberModel.lease_address.set(address.address.address)
                if address is not None
                else NumberModel.lease_address.remove(),
            ],
            # Free now, and still in the state the candidate was read in: the lease history's
            # ``prev_*`` fields then describe exactly the lease this one follows.
            condition=_free_condition(pool_id, now_ms) & _unchanged_since(cand),
        )
        tx.save(_session_item(session))
        tx.save(lease, condition=LeaseModel.number.does_not_exist())
        if visitor is not None:
            held = holder_write(visitor, session, cand.number, now_ms, marks)
            key = visitor.key
            tx.update(
                CounterModel(key.pk, key.sk), actions=held.actions, condition=held.condition, return_values="ALL_OLD"
            )
            prev = visitor.prev
            if prev is not None and prev.number != cand.number:  # the same number: its own condition says it
                tx.condition_check(NumberModel, prev.number, condition=_previous_ended(prev, now_ms))
                roles.insert(0, "previous")
        if address is not None:
            took = address_write(address, cand.number, now_ms, this_hour=marks.hour)
            key = address.address.key
            tx.update(
                CounterModel(key.pk, key.sk), actions=took.actions, condition=took.condition, return_values="ALL_OLD"
            )


def hand_over(
    prev: Prev, visitor: VisitorLimit, session: Session, now_ms: int, expires: int, history_days: float, marks: Marks
) -> bool:
    """Move ``prev``'s number from the visitor's earlier session to ``session`` in one
    transaction, with nothing read before it: the number (still held by the earlier session),
    the new session, the lease history (the earlier lease ended now), the holder item (naming
    that lease, which started less than ``visitor.max_ms`` ago, and under the hourly budget).
    ``False`` if the earlier session no longer holds the number; ``HolderMoved`` (with the
    holder item as the refusal returned it) if the holder does not name ``prev`` (another
    request of the visitor moved it, or a forged hint) or the visitor is over their budget."""
    number = prev.number
    lease = LeaseModel(
        number,
        now_ms,
        session_id=session.session_id,
        pool_id=session.pool_id,
        prev_session_id=prev.session_id,
        prev_ended_at=now_ms,
        source=session.source or {},
        expires_at=expires_after(now_ms, history_days),
    )
    session = replace(session, number=number)
    names = (CounterModel.lease_session == prev.session_id) & (CounterModel.lease_number == number)
    recent = CounterModel.lease_started > now_ms - visitor.max_ms
    held = Write(_holder_actions(session, number, now_ms, marks), names & recent & _under(marks.hour, visitor.per_hour))
    for attempt in range(CONFLICT_TRIES):
        try:
            _hand_over(prev, session, number, now_ms, expires, lease, visitor.key, held)
        except TransactWriteError as exc:
            if conflicted(exc) and attempt < CONFLICT_TRIES - 1:
                conflict_pause(attempt)
                continue
            failed = failed_conditions(exc)  # the session, the lease history, the number, the holder
            if 3 in failed:
                old = _old(exc.cancellation_reasons[3])
                raise HolderMoved(_holder(visitor.key, old) if old is not None else None) from None
            if failed == {2}:
                return False  # the earlier session no longer holds the number
            if transaction_cancelled(exc):
                # A hand-over started in this same millisecond, or a write raced: the caller looks again.
                raise HolderMoved(None) from None
            raise
        return True
    return False


def _hand_over(
    prev: Prev, session: Session, number: str, now_ms: int, expires: int, lease: LeaseModel, key: keys.Key, held: Write
) -> None:
    with TransactWrite(connection=connections.transactions()) as tx:
        tx.update(
            NumberModel(number),
            actions=[
                NumberModel.lease_session_id.set(session.session_id),
                NumberModel.lease_started_at.set(now_ms),
                NumberModel.lease_expires_at.set(expires),
                NumberModel.lease_ended_at.set(expires),
                NumberModel.lease_source.set(session.source or {}),
            ],
            condition=(NumberModel.lease_session_id == prev.session_id) & (NumberModel.lease_expires_at > now_ms),
        )
        tx.save(_session_item(session))
        tx.save(lease, condition=LeaseModel.number.does_not_exist())
        tx.update(CounterModel(key.pk, key.sk), actions=held.actions, condition=held.condition, return_values="ALL_OLD")


def renew(number: str, session_id: str, now_ms: int, expires: int, max_ms: int) -> bool:
    """Extend a held lease to ``expires`` with a single write; ``False`` if the session no longer
    holds the number, or has held it for ``max_ms`` already.

    The condition is the proof: only the session that holds the number, before its hold
    ran out, can extend it (session ids are unguessable), so the number may come from the client.
    """
    # Releasing a number removes its lease fields and sessions belong to one pool, so these
    # two clauses also mean "still active, still in this pool".
    condition = (
        (NumberModel.lease_session_id == session_id)
        & (NumberModel.lease_expires_at > now_ms)
        & (NumberModel.lease_started_at > now_ms - max_ms)
    )
    try:
        NumberModel._get_connection().update_item(
            number,
            actions=[NumberModel.lease_expires_at.set(expires), NumberModel.lease_ended_at.set(expires)],
            condition=condition,
            return_values="NONE",  # nothing to read back: one small write
        )
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def end_if_too_long(number: str, session_id: str, now_ms: int, max_ms: int) -> bool:
    """End the session's lease on ``number`` now if it started ``max_ms`` or more ago: the number
    goes back to the pool at once (last in the least-recently-released order). One write."""
    condition = (
        (NumberModel.lease_session_id == session_id)
        & (NumberModel.lease_expires_at > now_ms)
        & (NumberModel.lease_started_at <= now_ms - max_ms)
    )
    try:
        NumberModel._get_connection().update_item(
            number,
            actions=[NumberModel.lease_expires_at.set(now_ms), NumberModel.lease_ended_at.set(now_ms)],
            condition=condition,
            return_values="NONE",
        )
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def delete_session(session_id: str) -> None:
    """Erasure: the visit (visitor id, source, page views) of an erased caller's call. One DeleteItem."""
    SessionModel(session_id).delete()


def drop_sources_before(cutoff_ms: int) -> int:
    """Retention: the copy of a lease's source on a number whose lease started before
    ``cutoff_ms`` removed (an idle number's; its lease history item and session have expired by
    then, ``LEASE_HISTORY_DAYS``). How many were removed. One filtered Scan of the numbers table
    (a deployment's tracking numbers), one conditional UpdateItem per number found."""
    done = 0
    stale = NumberModel.lease_source.exists() & (NumberModel.lease_started_at < cutoff_ms)
    for n in NumberModel.scan(stale, attributes_to_get=["number", "lease_started_at"]):
        try:
            NumberModel(n.number).update(
                actions=[NumberModel.lease_source.remove()],
                condition=NumberModel.lease_started_at == n.lease_started_at,  # not leased again meanwhile
            )
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
            continue
        done += 1
    return done


def forget_lease(number: str, started_at: int, session_id: str) -> bool:
    """Erasure: the lease start of ``session_id`` on ``number`` at ``started_at`` deleted, the
    copy of its source on the number item removed if it is still the number's current lease, and
    the next start's pointer back to it (``prev_session_id``) removed; its ``prev_ended_at``
    stays, as it is only a time. Whether a start was deleted. One conditional DeleteItem, one
    conditional UpdateItem, one Query, at most one more UpdateItem."""
    try:
        LeaseModel(number, started_at).delete(condition=LeaseModel.session_id == session_id)
    except DeleteError as exc:
        if condition_failed(exc):
            return False
        raise
    try:
        NumberModel(number).update(
            actions=[NumberModel.lease_source.remove()],
            condition=(NumberModel.lease_session_id == session_id) & (NumberModel.lease_started_at == started_at),
        )
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
    nxt = start_after(number, started_at)
    if nxt is not None and nxt.prev_session_id == session_id:
        LeaseModel(number, nxt.started_at).update(
            actions=[LeaseModel.prev_session_id.remove()], condition=LeaseModel.number.exists()
        )
    return True
