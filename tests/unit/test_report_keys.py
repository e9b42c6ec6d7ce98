"""The distinct callers a seal writes beside a bucket's packed records (``packed_keys``), without a
database: what they hold, how a report reads them, when it needs the records instead, and the
item's size at a week's cap."""

from __future__ import annotations

import random

from chalicelib.reports.aggregates import WEEK_CAP
from chalicelib.store import aggregates as stored
from chalicelib.store.models import CounterModel


def entry(caller: int, call: int) -> str:
    return f"k1.{caller:020x}:{call:010d}"


def test_the_keys_are_each_callers_eight_bytes_once_and_sorted() -> None:
    recs = {stored.record(entry(c, n)) for c, n in ((1, 1), (1, 2), (2, 3), (3, 4), (3, 5), (3, 6))}
    blob = stored.key_blob(recs)
    assert len(blob) == 3 * stored.CALLER  # three callers: a repeat caller once
    keys = [blob[i : i + stored.CALLER] for i in range(0, len(blob), stored.CALLER)]
    assert keys == sorted({r[: stored.CALLER] for r in recs})
    assert stored.key_blob([]) == b""


def numbers(keys: frozenset[bytes]) -> set[int]:
    return {int.from_bytes(k, "big") for k in keys}


def test_a_report_reads_the_same_callers_from_the_keys_as_from_the_records() -> None:
    rnd = random.Random(25)
    for _ in range(50):
        entries = {entry(rnd.randrange(40), rnd.randrange(10**6)) for _ in range(rnd.randrange(0, 60))}
        recs = {stored.record(e) for e in entries}
        live = [entry(rnd.randrange(60), rnd.randrange(10**6)) for _ in range(rnd.randrange(0, 4))]
        want = numbers(stored.caller_keys(stored.pack(recs), live))
        assert stored.key_set([stored.key_value(stored.key_blob(recs), live)]) == want
    assert stored.key_set([stored.key_value(None)]) == set() == stored.key_set([b"", b""]) == stored.key_set([])
    # The number is the key read big-endian: equal keys, equal numbers; another caller, another number
    a, b = stored.record(entry(1, 1)), stored.record(entry(2, 1))
    assert stored.key_set([a[:8] + b[:8]]) == {int.from_bytes(a[:8], "big"), int.from_bytes(b[:8], "big")}


def test_a_caller_in_several_values_counts_once_and_a_bucket_gives_its_callers() -> None:
    a, b, c = (stored.record(entry(n, n))[:8] for n in (1, 2, 3))
    sealed = stored.key_blob([stored.record(entry(1, 1)), stored.record(entry(2, 2))])
    value = stored.key_value(sealed, [entry(2, 9), entry(3, 3)])  # Bob again since the seal, and Cat
    assert len(value) == 4 * stored.CALLER  # appended, not merged: the set merges them
    assert stored.key_set([value, a + c, b""]) == numbers(frozenset({a, b, c}))
    bucket = stored.Bucket("2026-09-28", False, {}, value)
    assert bucket.callers == frozenset(numbers(frozenset({a, b, c})))
    assert stored.Bucket("2026-09-28", False, {}).callers == frozenset()


def test_only_a_bucket_sealed_by_older_code_or_with_entries_taken_out_needs_its_records() -> None:
    def item(**attrs: object) -> CounterModel:
        return CounterModel("AGG#last#google", "2026-09-28", **attrs)

    assert not stored.needs_packed(item())  # never sealed: its live set is all it has
    assert not stored.needs_packed(item(callers={entry(1, 1)}))
    assert not stored.needs_packed(item(sealed=2, keyed=1, packed_keys=b"x" * 8, callers={entry(1, 1)}))
    assert not stored.needs_packed(item(sealed=1, keyed=1))  # sealed empty (every caller erased)
    assert stored.needs_packed(item(sealed=1, packed=b"x" * 12))  # older code's seal: records only
    # A caller leaves only when every one of their calls has: the keys alone cannot tell
    assert stored.needs_packed(item(sealed=1, keyed=1, packed_keys=b"x" * 8, callers_del={entry(1, 1)}))
    assert not stored.needs_packed(item(callers_del={entry(1, 1)}))  # unsealed: live minus taken out


def test_a_week_at_its_cap_sealed_with_both_values_stays_within_the_item_limit() -> None:
    # Every call of the week a different caller: the most both values can take
    recs = {stored.record(entry(c, c)) for c in range(WEEK_CAP)}
    assert stored.sealed_bytes(recs) == WEEK_CAP * (stored.RECORD + stored.CALLER) <= stored.SEAL_LIMIT
    assert len(stored.pack(recs)) + len(stored.key_blob(recs)) == stored.sealed_bytes(recs) < 400_000
    # A day's ceiling with both values: about 19,000 distinct callers (README, "Reports")
    assert stored.SEAL_LIMIT // (stored.RECORD + stored.CALLER) == 19_000
    # One caller's many calls take one key
    assert stored.sealed_bytes({stored.record(entry(1, n)) for n in range(100)}) == 100 * stored.RECORD + 8
