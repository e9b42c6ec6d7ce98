"""Migration 2: caller hashes keyed (``core.callerkeys``) where older code left plain ones or numbers.

Older code put ``sha256(number)[:12]:<call>`` in the report buckets' caller sets (a hash anyone
can reverse by hashing every number of a country) and keyed each caller's first-touch item by
the number itself. A plain hash cannot be keyed without its number, so this runs in two walks:

1. ``calls``: every call that still holds its number and whose ``agg`` still carries a plain
   entry moves that entry to its keyed one, in its buckets and on the call, in one transaction
   conditional on the call's contribution version (``store.aggregates.apply_contribution``), as
   the reports subscriber would: a call synced meanwhile is left to that sync.
2. ``counters``: the plain entries still left in caller sets belong to calls gone (deleted with
   retention or erased); each becomes ``k<v>p.<HMAC(key, plain)>`` (one caller's calls still
   count once; nothing is readable without the key). First-touch items keyed by a number are
   copied under the keyed hash (unless one is there already).

Never deleted in this release: the number-keyed first-touch items stay readable (reads accept
both) and end with their TTL (the caller's last call + ``CALL_RETENTION_DAYS``) or an erasure;
the next release deletes those left. The cursor is ``<walk>|<last evaluated key as JSON>``.
"""

from __future__ import annotations

from typing import Any

from chalicelib.core import callerkeys
from chalicelib.store import callers, keys
from chalicelib.store.aggregates import PLAIN_ENTRY, Delta, apply_contribution, caller_entry
from chalicelib.store.migrations.pages import each_page
from chalicelib.store.models import CallModel, CounterModel

CALLER_PK = "CALLER#"
AGG_PK = "AGG"  # AGG# (sources) and AGGD# (campaign, keyword, ad, landing page) buckets


def _plain(entry: Any) -> bool:
    return isinstance(entry, str) and PLAIN_ENTRY.fullmatch(entry) is not None


def _rekey_call(item: CallModel) -> bool:
    caller = item.caller or ""
    agg: dict[str, dict[str, Any]] = dict(item.agg or {})
    if not caller.startswith("+") or not any(_plain(v.get("caller")) for v in agg.values()):
        return False
    keyed = caller_entry(caller, item.call_sid)
    new = {b: ({**v, "caller": keyed} if _plain(v.get("caller")) else v) for b, v in agg.items()}
    plain = {b: str(v["caller"]) for b, v in agg.items() if _plain(v.get("caller"))}
    # DynamoDB takes no ADD and DELETE of one set in one update (nor two updates of one item in a
    # transaction): the keyed entry goes in with the call's new ``agg``, the plain one comes out next.
    # Stopped in between, the plain entry is left to the ``counters`` walk (that call's caller may
    # then count twice in that day's unique callers).
    deltas = {b: Delta({}, frozenset({keyed}), frozenset()) for b in plain}
    if not apply_contribution(item.call_sid, new, int(item.agg_version or 0), deltas, set()):
        return False  # synced meanwhile by the reports subscriber, which keeps the entry it finds
    for bucket, entry in plain.items():
        CounterModel(*keys.split_bucket(bucket)).update(actions=[CounterModel.callers.delete({entry})])
    return True


def _rekey_counter(item: CounterModel) -> bool:
    if item.pk.startswith(CALLER_PK + "+") and item.sk == "first":
        number = item.pk[len(CALLER_PK) :]
        return callers.copy_first_touch(number, callerkeys.caller_hash(number))
    plain = {c for c in (item.callers or ()) if _plain(c)}
    if not item.pk.startswith(AGG_PK) or not plain:
        return False
    keyed = set()
    for entry in plain:
        m = PLAIN_ENTRY.fullmatch(entry)
        assert m is not None
        keyed.add(callerkeys.from_plain(m.group(1)) + ":" + m.group(2))
    item.update(actions=[CounterModel.callers.add(keyed)])  # one set, one change per update
    item.update(actions=[CounterModel.callers.delete(plain)])
    return True


def step(cursor: str | None, limit: int) -> tuple[str | None, int]:
    """Key up to ``limit`` items after ``cursor``; the next cursor (``None``: done) and how many."""
    wanted = CounterModel.pk.startswith(AGG_PK) | CounterModel.pk.startswith(CALLER_PK)
    return each_page(
        cursor,
        limit,
        (
            (
                "calls",
                lambda n, start: CallModel.scan(limit=n, last_evaluated_key=start, consistent_read=True),
                _rekey_call,
            ),
            (
                "counters",
                lambda n, start: CounterModel.scan(wanted, limit=n, last_evaluated_key=start, consistent_read=True),
                _rekey_counter,
            ),
        ),
    )
