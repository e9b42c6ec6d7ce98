"""What keeps one client from draining a pool: one lease per visitor at a time, hourly budgets
of new leases per visitor and per client address, a cap on the numbers one client address
holds at once, and how long one lease may be renewed.

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
  the client, so this stops careless scripts, not determined ones: the address limits do.
* **Numbers held at once per client address** (``LEASES_HELD_PER_IP``) and **new leases per
  client address and hour** (``LEASES_PER_IP_HOUR``), per pool, on one item per (pool,
  address) that the lease's own transaction updates with both limits as its conditions
  (``Address``, ``address_write``); it is read together with the holder item, so neither
  costs a request of its own. The hourly budget alone did not bound what an address holds:
  renewals keep a lease for ``LEASE_MAX_SECONDS``, so one address could hold the budget times
  ``LEASE_MAX_SECONDS``/3600 numbers (2,400 with the defaults). The cap counts the numbers
  whose lease the address started and that still run; renewals and hand-overs (from any
  address) keep counting there and never add. The address is API Gateway's
  ``requestContext.identity.sourceIp``, never a header a client can set (``X-Forwarded-For``).
  Both are generous because offices and mobile carriers put many people behind one address.
  The cap is a fixed number, not a share of the pool, because the pool's size is not known
  without a query of its own: 20 numbers lets 20 visitors behind one address (those who left
  less than the hold time ago included) be tracked at once; a pool of fewer than about twice
  that can still be emptied by one address, so lower it for small pools.
* **How long a lease is renewed** (``LEASE_MAX_SECONDS``): a lease that started longer ago is
  not renewed and its number goes back to the pool at once; a session that old gets no new one.

A capped request gets the untracked answer (the page keeps its own number), never an error:
the site must keep working.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any

from pynamodb.expressions.condition import size

from chalicelib.core import clock
from chalicelib.store import keys
from chalicelib.store.models import CounterModel, NumberModel, SessionModel
from chalicelib.store.ops import expires_after

HOLDER_KEEP_DAYS = 1.0  # longer than any lease can be held (LEASE_MAX_SECONDS plus the hold)


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


def holder_write(holder: Holder, session: SessionModel, number: str, now_ms: int) -> Write:
    """The holder item's update: the new lease, one more this hour, if the item is still as it was read."""
    this_hour = clock.hour_key(now_ms)
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
    return Write(actions, unchanged)


def address_key(client_ip: str, pool_id: str) -> str:
    """A client address as counters keep it: hashed (per pool), not written down as it came."""
    return hashlib.sha256(f"{pool_id}|{client_ip}".encode()).hexdigest()[:20]


@dataclass(frozen=True)
class NumberLease:
    """What a number's item says about its current lease: who started it, until when."""

    address: str | None  # ``address_key`` of the client that started it
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
    address: str  # ``address_key``
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


def read_holder_and_address(pool_id: str, visitor_id: str, client_ip: str | None) -> tuple[Holder, Address | None]:
    """The visitor's holder item and, with ``client_ip``, the address's item: one request
    (BatchGetItem, strongly consistent, so a lease's conditions rarely meet an item older than read)."""
    if not client_ip:
        return read_holder(pool_id, visitor_id), None
    holder_key = keys.lease_holder(pool_id, visitor_id)
    address = address_key(client_ip, pool_id)
    address_item = keys.lease_address(pool_id, address)
    found = {(i.pk, i.sk): i for i in CounterModel.batch_get([holder_key, address_item], consistent_read=True)}
    item = found.get(holder_key)
    holder = _holder(holder_key, item) if item is not None else Holder(holder_key)
    return holder, _address(address_item, address, found.get(address_item))


def read_address(pool_id: str, client_ip: str) -> Address:
    address = address_key(client_ip, pool_id)
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


def address_write(limit: AddressLimit, number: str, now_ms: int) -> Write:
    """The address item's update for the lease transaction: ``number`` held from now, one more
    new lease this hour, the ended entries removed; on condition that neither limit is reached
    whatever other requests from the address wrote since it was read.

    The conditions are on the item itself, not on the read: the map's size (ended entries
    removed here are required to be present and unchanged, so each one removed makes room for
    exactly one) and this hour's count. Two requests that read the item together cannot both
    pass them when only one may, and ones that may, do not conflict (no version number).
    """
    addr, this_hour = limit.address, clock.hour_key(now_ms)
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
