"""What keeps one client from draining a pool: one lease per visitor at a time, hourly budgets
of new leases per visitor and per client address, and how long one lease may be renewed.

The lease endpoint is public and its only gate, the ``Origin`` header, is one any program can
send. So:

* **A visitor holds one number per pool.** A holder item per (pool, visitor) names the
  session and number of the visitor's latest lease; it is written in the same transaction as
  the lease (conditional on being unchanged since read). A visitor asking again without
  their session id keeps the number they hold: with another campaign (utm tags, click ids:
  the site script starts a new session for one, and the call should be credited to it) it is
  handed over to the new session; with the same campaign, over their hourly budget, or with
  a session of their own that lost its lease, they get the held lease itself. Even several
  requests at once (tabs opened together) end with one number.
* **New leases per visitor** (``LEASES_PER_VISITOR_HOUR``), hand-overs included: counted on
  the same holder item, so the check costs no request of its own. Visitor ids are chosen by
  the client, so this stops careless scripts, not determined ones: the address budget does.
* **New leases per client address** (``LEASES_PER_IP_HOUR``): one atomic ADD per new lease
  on an hourly counter, per pool (kept two hours). The address is API Gateway's
  ``requestContext.identity.sourceIp``, never a header a client can set (``X-Forwarded-For``).
  It is generous because mobile carriers put many people behind one address.
* **How long a lease is renewed** (``LEASE_MAX_SECONDS``): a lease that started longer ago is
  not renewed and its number goes back to the pool at once; a session that old gets no new one.

A capped request gets the untracked answer (the page keeps its own number), never an error:
the site must keep working.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from chalicelib.leasing.sites import hour
from chalicelib.store import keys
from chalicelib.store.models import CounterModel, SessionModel
from chalicelib.store.ops import expires_after

HOLDER_KEEP_DAYS = 1.0  # longer than any lease can be held (LEASE_MAX_SECONDS plus the hold)
IP_COUNT_KEEP_DAYS = 2 / 24  # an hour's count, and the hour after


def campaign(source: dict[str, Any]) -> str:
    """What makes a visit a new one for attribution (the site script's rule too): its utm tags
    and click ids, as a short fingerprint. Pages, referrers and devices do not count."""
    marks = {k: v for k, v in source.items() if k.startswith("utm_") or k.endswith(("clid", "braid"))}
    return hashlib.sha256(json.dumps(marks, sort_keys=True).encode()).hexdigest()[:16]


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
class HolderWrite:
    """The holder item's update for the lease transaction: the new lease, one more this hour,
    if the item is still as it was read."""

    actions: list[Any]
    condition: Any


def holder_write(holder: Holder, session: SessionModel, number: str, now_ms: int) -> HolderWrite:
    this_hour = hour(now_ms)
    data = {
        "session_id": session.session_id,
        "number": number,
        "campaign": campaign(session.source or {}),
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
    return HolderWrite(actions, unchanged)


def address_key(client_ip: str, pool_id: str) -> str:
    """A client address as counters keep it: hashed (per pool), not written down as it came."""
    return hashlib.sha256(f"{pool_id}|{client_ip}".encode()).hexdigest()[:20]


def count_address(pool_id: str, client_ip: str, now_ms: int) -> int:
    """One more new lease from ``client_ip`` in this hour; returns the hour's count, this one included."""
    item = CounterModel(*keys.lease_rate(pool_id, address_key(client_ip, pool_id), hour(now_ms)))
    item.update(
        actions=[
            CounterModel.total.add(1),
            CounterModel.expires_at.set(expires_after(now_ms, IP_COUNT_KEEP_DAYS)),
        ]
    )
    return int(item.total)
