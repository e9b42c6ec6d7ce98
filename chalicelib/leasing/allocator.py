"""The lease allocator: which pool number a visitor's session holds, taken and renewed atomically.

A pool number's lease lives on its item: ``lease_session_id`` holds it until
``lease_expires_at``. Taking a number is one conditional write (a transaction that also
records the session and the lease start), so no two sessions ever hold it at once; the
pool index only *suggests* candidates, least recently released first. TTL plays no part.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.core import clock
from chalicelib.leasing.limits import AddressLimit, campaign
from chalicelib.store import leases
from chalicelib.store.leases import AddressMoved, HolderMoved, Prev, PreviousHeld, Session, VisitorLimit
from chalicelib.store.lines import Number

# The transactions and their conditions are ``chalicelib/store/leases.py``'s; the exceptions keep
# their names here, where the lease endpoint catches them.
__all__ = [
    "AddressMoved",
    "HolderMoved",
    "Lease",
    "PreviousHeld",
    "allocate",
    "candidates",
    "end_if_too_long",
    "hand_over",
    "renew",
]

CANDIDATES_PER_QUERY = leases.CANDIDATES_PER_QUERY
MAX_ROUNDS = 4


@dataclass(frozen=True)
class Lease:
    number: str
    session_id: str
    started_at: int
    expires_at: int


def candidates(pool_id: str, now_ms: int, *, limit: int = CANDIDATES_PER_QUERY) -> list[Number]:
    """Numbers that look free, least recently released first (an eventually consistent hint).

    A seam of its own: the sizing benchmark swaps it for random reuse."""
    return leases.candidates(pool_id, now_ms, limit=limit)


def _marks(session: Session, now_ms: int) -> leases.Marks:
    return leases.Marks(clock.hour_key(now_ms), campaign(session.source or {}))


def allocate(
    pool_id: str,
    session: Session,
    hold_ms: int,
    now_ms: int,
    history_days: int,
    visitor: VisitorLimit | None = None,
    address: AddressLimit | None = None,
    given: list[Number] | None = None,
) -> Lease | None:
    """Lease the least recently released free number of the pool to ``session``; ``None`` if none is free.

    Two requests: the candidates query and one transaction. The session item is written in the
    same transaction, so a lease never exists without it; so are the visitor's holder item and
    the client ``address``'s item, with their limits as conditions and no read before
    (``HolderMoved``, ``PreviousHeld``, ``AddressMoved`` when they fail; their ``candidates``
    are the ones not tried yet, ``given`` to the next try so it needs no query of its own).
    """
    expires = now_ms + hold_ms
    marks = _marks(session, now_ms)
    tried: set[str] = set()
    for _ in range(MAX_ROUNDS):
        if given:  # the candidates of a try a refusal cut short: still the least recently released
            found, given = given, None
        else:
            found = [c for c in candidates(pool_id, now_ms) if c.number not in tried and c.status == "active"]
        if not found:
            return None
        for i, cand in enumerate(found):
            tried.add(cand.number)
            try:
                if leases.take(cand, pool_id, session, now_ms, expires, history_days, visitor, address, marks):
                    return Lease(cand.number, session.session_id, now_ms, expires)
            except leases.Refused as exc:
                exc.candidates = found[i:]  # the next try starts there
                raise
    return None


def hand_over(
    prev: Prev, visitor: VisitorLimit, session: Session, hold_ms: int, now_ms: int, history_days: int
) -> Lease | None:
    """Move ``prev``'s number from the visitor's earlier session to ``session`` (a new visit of
    theirs, e.g. a new campaign): the visitor keeps one number and calls from now on are
    credited to the new visit. One transaction and nothing read before it: the number (still
    held by the earlier session), the new session, the lease history (the earlier lease ended
    now), the holder item (naming ``prev``: a forged hint is refused). ``None`` if the earlier
    session no longer holds the number; ``HolderMoved`` if the holder names another lease or the
    visitor is over their hourly budget.
    """
    expires = now_ms + hold_ms
    if not leases.hand_over(prev, visitor, session, now_ms, expires, history_days, _marks(session, now_ms)):
        return None
    return Lease(prev.number, session.session_id, now_ms, expires)


def renew(number: str, session_id: str, hold_ms: int, now_ms: int, max_ms: int) -> Lease | None:
    """Extend a held lease with a single write; ``None`` if the session no longer holds the number,
    or has held it for ``max_ms`` already (``end_if_too_long`` then gives it back).

    The condition is the proof: only the session that holds the number, before its hold
    ran out, can extend it (session ids are unguessable), so the number may come from the client.
    """
    expires = now_ms + hold_ms
    if not leases.renew(number, session_id, now_ms, expires, max_ms):
        return None
    return Lease(number, session_id, now_ms, expires)


def end_if_too_long(number: str, session_id: str, now_ms: int, max_ms: int) -> bool:
    """End the session's lease on ``number`` now if it started ``max_ms`` or more ago: the number
    goes back to the pool at once (last in the least-recently-released order). One write."""
    return leases.end_if_too_long(number, session_id, now_ms, max_ms)
