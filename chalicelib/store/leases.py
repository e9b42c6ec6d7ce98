"""Website sessions and pool-number leases: every read and write of their items, as typed records.

The lease rules live in ``chalicelib/leasing/`` (what a visitor, an address or a session may
hold, when a lease is renewed); this module owns how they are kept: the sessions, the lease
history, a visitor's holder item and a client address's item (the counters table), the
allocator's candidate query and the transactions that take, hand over, renew and end a lease.

Correctness lives in the conditions written here (``../shared/DESIGN.md``): a number is taken
by one conditional write on its item, in one transaction with the session, the lease history
and the visitor's and address's items, so no two sessions ever hold it; the pool index only
suggests candidates, least recently released first; TTL is housekeeping, never the lease clock.
Each function is the same one request it was before it moved here (``tests/{unit,integration}/test_leases.py``
and ``bench/leases.py`` count them).

The lease endpoint and the voice path read and write as ``SYSTEM``: a site key or a called
number already names the pool, and a visitor is nobody's account, so these functions take no
request context (the decision the issue leaves open).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pynamodb.attributes import MapAttribute
from pynamodb.exceptions import DeleteError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import size
from pynamodb.transactions import TransactWrite

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
HOLDER_ITEM = 3  # the holder's position in the lease transaction (the address's item follows it)
HOLDER_KEEP_DAYS = 1.0  # longer than any lease can be held (LEASE_MAX_SECONDS plus the hold)


class HolderMoved(Exception):
    """Another request of the same visitor started a lease first (their holder item changed)."""


class AddressMoved(Exception):
    """The client address's item does not allow this lease any more: another request from the
    address started one (or removed an ended one) since it was read, or a limit is reached."""


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


@dataclass(frozen=True)
class Holder:
    """A visitor's holder item as read: their latest lease in the pool and their new leases this hour."""

    key: keys.Key
    session_id: str | None = None
    number: str | None = None
    hour: str | None = None
    count: int = 0
    started_at: int | None = None  # when that lease started (renewals do not touch this item)
    campaign: str | None = None  # that session's ``campaign``: another one is a new visit
    version: int | None = None  # ``total`` when read; ``None``: there was no item

    def leases_in(self, this_hour: str) -> int:
        return self.count if self.hour == this_hour else 0

    def may_hold(self, now_ms: int, max_ms: int) -> bool:
        """Whether the lease it names may still be held: it cannot once it is older than the
        longest lease (saves a write that would only find that out)."""
        return bool(self.session_id and self.number and self.started_at and now_ms - self.started_at < max_ms)


def read_holder(pool_id: str, visitor_id: str) -> Holder:
    key = keys.lease_holder(pool_id, visitor_id)
    try:
        item = CounterModel.get(key.pk, key.sk)
    except CounterModel.DoesNotExist:
        return Holder(key)
    return _holder(key, item)


def _holder(key: keys.Key, item: CounterModel) -> Holder:
    data = item.data or {}
    return Holder(
        key,
        session_id=data.get("session_id"),
        number=data.get("number"),
        hour=data.get("hour"),
        count=int(data.get("count", 0)),
        started_at=data.get("started_at"),
        campaign=data.get("campaign"),
        version=int(item.total),
    )


@dataclass(frozen=True)
class Write:
    """An item's update for the lease transaction, and the condition it is made on."""

    actions: list[Any]
    condition: Any


def holder_write(holder: Holder, session: Session, number: str, now_ms: int, *, this_hour: str, campaign: str) -> Write:
    """The holder item's update: the new lease, one more this hour, if the item is still as it was read."""
    data = {
        "session_id": session.session_id,
        "number": number,
        "campaign": campaign,
        "started_at": now_ms,
        "hour": this_hour,
        "count": holder.leases_in(this_hour) + 1,
    }
    unchanged = CounterModel.total.does_not_exist() if holder.version is None else CounterModel.total == holder.version
    actions = [
        CounterModel.data.set(data),
        CounterModel.total.add(1),  # the version the next lease's condition checks
        CounterModel.expires_at.set(expires_after(now_ms, HOLDER_KEEP_DAYS)),
    ]
    return Write(actions, unchanged)


# --- a client address's item --------------------------------------------------------------------


@dataclass(frozen=True)
class NumberLease:
    """What a number's item says about its current lease: who started it, until when."""

    address: str | None  # the hashed address of the client that started it
    expires_at: int | None


@dataclass(frozen=True)
class Address:
    """A client address's item in a pool as read: the numbers it started leases on that may still
    run (number -> when that lease started), and its new leases per hour.

    An entry is added in the lease's own transaction and never touched by renewals (they stay one
    write on the number), so its number's item is the truth about whether the lease still runs:
    the lease started from this address (``lease_address``, which renewals and hand-overs keep)
    and ``lease_expires_at`` is after now. Under the cap every entry counts without a look-up
    (at worst an ended lease counts a little longer, while the address is below its cap anyway);
    at the cap every number is looked up (``to_check``, one BatchGetItem) and those whose lease
    ended (``gone``) are removed in the next lease's transaction, on condition that they are
    unchanged. The map therefore never holds more than the cap.
    """

    key: keys.Key
    address: str  # the hashed client address
    held: dict[str, int] | None = None  # ``None``: no item yet
    hours: dict[str, int] | None = None
    gone: frozenset[str] = frozenset()  # entries looked up and found ended

    def leases_in(self, this_hour: str) -> int:
        return (self.hours or {}).get(this_hour, 0)

    def holding(self) -> int:
        """Numbers that count against the cap: every entry not found ended."""
        return len(self.held or {}) - len(self.gone)

    def to_check(self, cap: int) -> list[str]:
        """The numbers to look up before a new lease: all those still counted, once they reach the cap."""
        if self.holding() < cap:
            return []
        return [n for n in self.held or {} if n not in self.gone]

    def checked(self, found: dict[str, NumberLease], now_ms: int) -> Address:
        """This address with the entries whose lease has ended by ``now_ms`` (``found`` has no
        item for a deleted number) marked ``gone``."""
        ended = {
            n
            for n in self.to_check(0)
            if (lease := found.get(n)) is None
            or lease.address != self.address
            or lease.expires_at is None
            or lease.expires_at <= now_ms
        }
        return replace(self, gone=self.gone | ended)


def _address(key: keys.Key, address: str, item: CounterModel | None) -> Address:
    if item is None or item.held is None:
        return Address(key, address)
    held = {str(n): int(v) for n, v in item.held.attribute_values.items()}
    hours = None if item.hours is None else {str(h): int(v) for h, v in item.hours.attribute_values.items()}
    return Address(key, address, held, hours)


def read_holder_and_address(pool_id: str, visitor_id: str, address: str | None) -> tuple[Holder, Address | None]:
    """The visitor's holder item and, with the hashed ``address``, the address's item: one request
    (BatchGetItem, strongly consistent, so a lease's conditions rarely meet an item older than read)."""
    if not address:
        return read_holder(pool_id, visitor_id), None
    holder_key = keys.lease_holder(pool_id, visitor_id)
    address_item = keys.lease_address(pool_id, address)
    found = {(i.pk, i.sk): i for i in CounterModel.batch_get([holder_key, address_item], consistent_read=True)}
    item = found.get(holder_key)
    holder = _holder(holder_key, item) if item is not None else Holder(holder_key)
    return holder, _address(address_item, address, found.get(address_item))


def read_address(pool_id: str, address: str) -> Address:
    """The hashed ``address``'s item in the pool (one strongly consistent read)."""
    key = keys.lease_address(pool_id, address)
    try:
        return _address(key, address, CounterModel.get(key.pk, key.sk, consistent_read=True))
    except CounterModel.DoesNotExist:
        return Address(key, address)


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
    """The address item's update for the lease transaction: ``number`` held from now, one more
    new lease this hour, the ended entries removed; on condition that neither limit is reached
    whatever other requests from the address wrote since it was read.

    The conditions are on the item itself, not on the read: the map's size (ended entries
    removed here are required to be present and unchanged, so each one removed makes room for
    exactly one) and this hour's count. Two requests that read the item together cannot both
    pass them when only one may, and ones that may, do not conflict (no version number).
    """
    addr = limit.address
    keep = CounterModel.expires_at.set(expires_after(now_ms, HOLDER_KEEP_DAYS))
    if addr.held is None:  # the address's first lease in the pool (for a day at least)
        actions = [CounterModel.held.set({number: now_ms}), CounterModel.hours.set({this_hour: 1}), keep]
        return Write(actions, CounterModel.held.does_not_exist())
    held, hours = CounterModel.held, CounterModel.hours
    actions = [held[number].set(now_ms), keep]
    condition = size(held) < limit.held + len(addr.gone)  # type: ignore[no-untyped-call]
    for n in sorted(addr.gone):
        condition &= held[n] == addr.held[n]
        if n != number:  # a number taken again is set above (one path may not be set and removed)
            actions.append(held[n].remove())
    if addr.hours is None:  # never written without ``held``; a whole map then, not an entry of none
        actions.append(hours.set({this_hour: 1}))
    else:
        actions.append(hours[this_hour].set((hours[this_hour] | 0) + 1))
        actions += [hours[h].remove() for h in sorted(addr.hours) if h != this_hour]  # past hours
        condition &= hours[this_hour].does_not_exist() | (hours[this_hour] < limit.per_hour)
    return Write(actions, condition)


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
    holder: Holder | None,
    address: AddressLimit | None,
    marks: Marks,
) -> bool:
    """Lease ``cand`` to ``session`` in one transaction: the number (free now, and unchanged since
    it was read), the session, the lease history, and the visitor's ``holder`` and the client
    ``address``'s items when given. ``False`` when somebody took it first; ``HolderMoved`` or
    ``AddressMoved`` when those items' conditions failed."""
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
        try:
            _take(cand, pool_id, session, now_ms, expires, lease, holder, address, marks)
        except TransactWriteError as exc:
            if conflicted(exc) and attempt < CONFLICT_TRIES - 1:
                conflict_pause(attempt)  # another transaction touched these items at the same moment
                continue
            failed = failed_conditions(exc)
            if holder is not None and HOLDER_ITEM in failed:
                raise HolderMoved from None
            if address is not None and (HOLDER_ITEM + 1 if holder is not None else HOLDER_ITEM) in failed:
                raise AddressMoved from None
            if transaction_cancelled(exc):
                return False  # somebody took it first (or it is not free): try the next one
            raise
        return True
    return False


def _take(
    cand: Number,
    pool_id: str,
    session: Session,
    now_ms: int,
    expires: int,
    lease: LeaseModel,
    holder: Holder | None,
    address: AddressLimit | None,
    marks: Marks,
) -> None:
    with TransactWrite(connection=connections.transactions()) as tx:
        tx.update(
            NumberModel(cand.number),
            actions=[
                NumberModel.lease_session_id.set(session.session_id),
                NumberModel.lease_started_at.set(now_ms),
                NumberModel.lease_expires_at.set(expires),
                NumberModel.lease_ended_at.set(expires),
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
        if holder is not None:
            held = holder_write(holder, session, cand.number, now_ms, this_hour=marks.hour, campaign=marks.campaign)
            tx.update(CounterModel(holder.key.pk, holder.key.sk), actions=held.actions, condition=held.condition)
        if address is not None:
            took = address_write(address, cand.number, now_ms, this_hour=marks.hour)
            key = address.address.key
            tx.update(CounterModel(key.pk, key.sk), actions=took.actions, condition=took.condition)


def hand_over(holder: Holder, session: Session, now_ms: int, expires: int, history_days: float, marks: Marks) -> bool:
    """Move the number the visitor's ``holder`` names from their earlier session to ``session``
    in one transaction: the number (still held by the earlier session), the new session, the
    lease history (the earlier lease ended now), the holder. ``False`` if the earlier session no
    longer holds the number; ``HolderMoved`` if another request of the visitor changed it."""
    number = holder.number or ""
    lease = LeaseModel(
        number,
        now_ms,
        session_id=session.session_id,
        pool_id=session.pool_id,
        prev_session_id=holder.session_id,
        prev_ended_at=now_ms,
        source=session.source or {},
        expires_at=expires_after(now_ms, history_days),
    )
    session = replace(session, number=number)
    held = holder_write(holder, session, number, now_ms, this_hour=marks.hour, campaign=marks.campaign)
    for attempt in range(CONFLICT_TRIES):
        try:
            _hand_over(holder, session, number, now_ms, expires, lease, held)
        except TransactWriteError as exc:
            if conflicted(exc) and attempt < CONFLICT_TRIES - 1:
                conflict_pause(attempt)
                continue
            if failed_conditions(exc) == {0}:
                return False  # the earlier session no longer holds the number
            if transaction_cancelled(exc):
                # The holder moved, a hand-over started in this same millisecond, or a write raced:
                # the caller looks again.
                raise HolderMoved from None
            raise
        return True
    return False


def _hand_over(
    holder: Holder, session: Session, number: str, now_ms: int, expires: int, lease: LeaseModel, held: Write
) -> None:
    with TransactWrite(connection=connections.transactions()) as tx:
        tx.update(
            NumberModel(number),
            actions=[
                NumberModel.lease_session_id.set(session.session_id),
                NumberModel.lease_started_at.set(now_ms),
                NumberModel.lease_expires_at.set(expires),
                NumberModel.lease_ended_at.set(expires),
            ],
            condition=(NumberModel.lease_session_id == holder.session_id) & (NumberModel.lease_expires_at > now_ms),
        )
        tx.save(_session_item(session))
        tx.save(lease, condition=LeaseModel.number.does_not_exist())
        tx.update(CounterModel(holder.key.pk, holder.key.sk), actions=held.actions, condition=held.condition)


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


def forget_lease(number: str, started_at: int, session_id: str) -> bool:
    """Erasure: the lease start of ``session_id`` on ``number`` at ``started_at`` deleted, and the
    next start's pointer back to it (``prev_session_id``) removed; its ``prev_ended_at`` stays, as
    it is only a time. Whether a start was deleted. One conditional DeleteItem, one Query, at
    most one UpdateItem."""
    try:
        LeaseModel(number, started_at).delete(condition=LeaseModel.session_id == session_id)
    except DeleteError as exc:
        if condition_failed(exc):
            return False
        raise
    nxt = start_after(number, started_at)
    if nxt is not None and nxt.prev_session_id == session_id:
        LeaseModel(number, nxt.started_at).update(
            actions=[LeaseModel.prev_session_id.remove()], condition=LeaseModel.number.exists()
        )
    return True
