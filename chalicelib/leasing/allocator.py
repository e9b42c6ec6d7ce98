"""The lease allocator: which pool number a visitor's session holds, taken and renewed atomically.

A pool number's lease lives on its item: ``lease_session_id`` holds it until
``lease_expires_at``. Taking a number is one conditional write (a transaction that also
records the session and the lease start), so no two sessions ever hold it at once; the
pool index only *suggests* candidates, least recently released first. TTL plays no part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.leasing.limits import AddressLimit, Holder, address_write, holder_write
from chalicelib.store import connections
from chalicelib.store.models import CounterModel, LeaseModel, NumberModel, SessionModel
from chalicelib.store.ops import condition_failed, expires_after, failed_conditions, transaction_cancelled

CANDIDATES_PER_QUERY = 5
MAX_ROUNDS = 4
HOLDER_ITEM = 3  # the holder's position in the lease transaction (the address's item follows it)


class HolderMoved(Exception):
    """Another request of the same visitor started a lease first (their holder item changed)."""


class AddressMoved(Exception):
    """The client address's item does not allow this lease any more: another request from the
    address started one (or removed an ended one) since it was read, or a limit is reached."""


@dataclass(frozen=True)
class Lease:
    number: str
    session_id: str
    started_at: int
    expires_at: int


def _free_condition(pool_id: str, now_ms: int) -> Any:
    return (
        (NumberModel.status == "active")
        & (NumberModel.kind == "pool")
        & (NumberModel.pool_id == pool_id)
        & (NumberModel.lease_expires_at.does_not_exist() | (NumberModel.lease_expires_at <= now_ms))
    )


def _unchanged_since(cand: NumberModel) -> Any:
    if cand.lease_started_at is None:
        return NumberModel.lease_started_at.does_not_exist()
    unchanged = NumberModel.lease_started_at == int(cand.lease_started_at)
    if cand.lease_expires_at is not None:  # a renewal since the read would make prev_ended_at early
        unchanged = unchanged & (NumberModel.lease_expires_at == int(cand.lease_expires_at))
    return unchanged


def candidates(pool_id: str, now_ms: int, *, limit: int = CANDIDATES_PER_QUERY) -> list[NumberModel]:
    """Numbers that look free, least recently released first (an eventually consistent hint)."""
    return list(
        NumberModel.pool_index.query(
            pool_id, NumberModel.lease_ended_at <= now_ms, scan_index_forward=True, limit=limit
        )
    )


def allocate(
    pool_id: str,
    session: SessionModel,
    hold_ms: int,
    now_ms: int,
    history_days: int,
    holder: Holder | None = None,
    address: AddressLimit | None = None,
) -> Lease | None:
    """Lease the least recently released free number of the pool to ``session``; ``None`` if none is free.

    The session item is written in the same transaction, so a lease never exists without it;
    so is the visitor's ``holder`` item when given (``HolderMoved`` if it changed since read),
    and the client ``address``'s item with its limits as conditions (``AddressMoved`` if they fail).
    """
    expires = now_ms + hold_ms
    tried: set[str] = set()
    for _ in range(MAX_ROUNDS):
        found = [c for c in candidates(pool_id, now_ms) if c.number not in tried and c.status == "active"]
        if not found:
            return None
        for cand in found:
            tried.add(cand.number)
            if _take(cand, pool_id, session, now_ms, expires, history_days, holder, address):
                return Lease(cand.number, session.session_id, now_ms, expires)
    return None


def _take(
    cand: NumberModel,
    pool_id: str,
    session: SessionModel,
    now_ms: int,
    expires: int,
    history_days: int,
    holder: Holder | None,
    address: AddressLimit | None,
) -> bool:
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
    session.number = cand.number
    try:
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
            tx.save(session)
            tx.save(lease, condition=LeaseModel.number.does_not_exist())
            if holder is not None:
                held = holder_write(holder, session, cand.number, now_ms)
                tx.update(CounterModel(holder.key.pk, holder.key.sk), actions=held.actions, condition=held.condition)
            if address is not None:
                took = address_write(address, cand.number, now_ms)
                key = address.address.key
                tx.update(CounterModel(key.pk, key.sk), actions=took.actions, condition=took.condition)
    except TransactWriteError as exc:
        failed = failed_conditions(exc)
        if holder is not None and HOLDER_ITEM in failed:
            raise HolderMoved from None
        if address is not None and (HOLDER_ITEM + 1 if holder is not None else HOLDER_ITEM) in failed:
            raise AddressMoved from None
        if transaction_cancelled(exc):
            return False  # somebody took it first (or it is not free): try the next one
        raise
    return True


def hand_over(holder: Holder, session: SessionModel, hold_ms: int, now_ms: int, history_days: int) -> Lease | None:
    """Move the number the visitor's ``holder`` names from their earlier session to ``session``
    (a new visit of theirs, e.g. a new campaign): the visitor keeps one number and calls from
    now on are credited to the new visit. One transaction, like a new lease without the
    candidate query: the number (still held by the earlier session), the new session, the
    lease history (the earlier lease ended now), the holder. ``None`` if the earlier session no
    longer holds the number; ``HolderMoved`` if another request of the visitor changed it.
    """
    if not (holder.session_id and holder.number):
        return None
    expires = now_ms + hold_ms
    lease = LeaseModel(
        holder.number,
        now_ms,
        session_id=session.session_id,
        pool_id=session.pool_id,
        prev_session_id=holder.session_id,
        prev_ended_at=now_ms,
        source=session.source or {},
        expires_at=expires_after(now_ms, history_days),
    )
    session.number = holder.number
    held = holder_write(holder, session, holder.number, now_ms)
    try:
        with TransactWrite(connection=connections.transactions()) as tx:
            tx.update(
                NumberModel(holder.number),
                actions=[
                    NumberModel.lease_session_id.set(session.session_id),
                    NumberModel.lease_started_at.set(now_ms),
                    NumberModel.lease_expires_at.set(expires),
                    NumberModel.lease_ended_at.set(expires),
                ],
                condition=(NumberModel.lease_session_id == holder.session_id) & (NumberModel.lease_expires_at > now_ms),
            )
            tx.save(session)
            tx.save(lease, condition=LeaseModel.number.does_not_exist())
            tx.update(CounterModel(holder.key.pk, holder.key.sk), actions=held.actions, condition=held.condition)
    except TransactWriteError as exc:
        if failed_conditions(exc) == {0}:
            return None  # the earlier session no longer holds the number
        if transaction_cancelled(exc):
            # The holder moved, a hand-over started in this same millisecond, or a write raced:
            # the caller looks again.
            raise HolderMoved from None
        raise
    return Lease(holder.number, session.session_id, now_ms, expires)


def renew(number: str, session_id: str, hold_ms: int, now_ms: int, max_ms: int) -> Lease | None:
    """Extend a held lease with a single write; ``None`` if the session no longer holds the number,
    or has held it for ``max_ms`` already (``end_if_too_long`` then gives it back).

    The condition is the proof: only the session that holds the number, before its hold
    ran out, can extend it (session ids are unguessable), so the number may come from the client.
    """
    expires = now_ms + hold_ms
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
            return None
        raise
    return Lease(number, session_id, now_ms, expires)


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
