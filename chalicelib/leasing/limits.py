"""What keeps one client from draining a pool: one lease per visitor at a time, hourly budgets
of new leases per visitor and per client address, a cap on the numbers one client address
holds at once, and how long one lease may be renewed.

The lease endpoint is public and its only gate, the ``Origin`` header, is one any program can
send. So:

* **A visitor holds one number per pool.** A holder item per (pool, visitor) names the
  session and number of the visitor's latest lease; it is written in the same transaction as
  the lease, without a read, on condition that it names no other lease that may still run
  (the site script's hint names the one a new lease replaces, and the transaction checks on
  that number that it has ended; a forged hint fails the condition). A visitor asking again without
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
  (``Address``, ``store.leases.address_write``); neither item is read before the lease, so
  neither costs a request of its own (a refusal returns the item, ``ALL_OLD``). An address
  over its hourly budget is remembered by the container for the rest of the hour (no request
  at all for a flood). The hourly budget alone did not bound what an address holds: renewals
  keep a lease for ``LEASE_MAX_SECONDS``, so one address could hold the budget times
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
from typing import Any

from chalicelib.core.settings import get_settings
from chalicelib.store import leases
from chalicelib.store.leases import HOLDER_KEEP_DAYS, Address, AddressLimit, Holder, NumberLease, Prev, VisitorLimit

# The items themselves, their reads and the writes the lease transaction makes on them live in
# ``chalicelib/store/leases.py``; the names stay here, where the rules that use them are.
__all__ = [
    "HOLDER_KEEP_DAYS",
    "Address",
    "AddressLimit",
    "Holder",
    "NumberLease",
    "Prev",
    "VisitorLimit",
    "address_item",
    "address_key",
    "campaign",
    "capped_this_hour",
    "check_address",
    "forget_capped",
    "read_holder",
    "remember_capped",
    "visitor_limit",
]


def campaign(source: dict[str, Any]) -> str:
    """What makes a visit a new one for attribution (the site script's rule too): its utm tags
    and click ids, as a short fingerprint. Pages, referrers and devices do not count."""
    marks = {k: v for k, v in source.items() if k.startswith("utm_") or k.endswith(("clid", "braid"))}
    return hashlib.sha256(json.dumps(marks, sort_keys=True).encode()).hexdigest()[:16]


def read_holder(pool_id: str, visitor_id: str) -> Holder:
    return leases.read_holder(pool_id, visitor_id)


def visitor_limit(pool_id: str, visitor_id: str, prev: Prev | None = None) -> VisitorLimit:
    """The visitor's limits for a new lease (the settings'), ``prev`` the lease it replaces."""
    s = get_settings()
    key = leases.holder_key(pool_id, visitor_id)
    return VisitorLimit(key, s.leases_per_visitor_hour, s.lease_max_seconds * 1000, prev)


def address_key(client_ip: str, pool_id: str) -> str:
    """A client address as counters keep it: hashed (per pool), not written down as it came."""
    return hashlib.sha256(f"{pool_id}|{client_ip}".encode()).hexdigest()[:20]


def address_item(pool_id: str, client_ip: str | None) -> Address | None:
    """The client address's item for a new lease's transaction (not read); ``None`` without an address."""
    return leases.address_item(pool_id, address_key(client_ip, pool_id)) if client_ip else None


def check_address(address: Address, cap: int, now_ms: int) -> Address:
    """``address`` with its ended leases found, if it is at its cap (one BatchGetItem); as it was otherwise."""
    return leases.check_address(address, cap, now_ms)


# --- addresses known to be over their hourly budget, per container -------------------------------
# An address's new leases in an hour only grow, so once a refused transaction has shown an address
# at its hourly budget, every later request from it in that hour is refused here with no request
# at all: a flood from one address costs DynamoDB one transaction an hour per warm container.

CAPPED_KEPT = 10_000  # addresses remembered at most (then forgotten all at once: a bounded memo)
_capped: dict[tuple[str, str], str] = {}


def capped_this_hour(address: Address, hour: str) -> bool:
    return _capped.get((address.key.pk, address.address)) == hour


def remember_capped(address: Address, hour: str) -> None:
    if len(_capped) >= CAPPED_KEPT:
        _capped.clear()
    _capped[(address.key.pk, address.address)] = hour


def forget_capped() -> None:
    """Tests: a fresh container."""
    _capped.clear()
