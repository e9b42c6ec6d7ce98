"""Sealed report days, without a database: the packed records and how a bucket's callers are read
from its packed value and live sets, including every order of a seal and concurrent changes."""

from __future__ import annotations

import random

from chalicelib.store import aggregates as stored


def entry(caller: int, call: int) -> str:
    return f"k1.{caller:020x}:{call:010d}"


def test_a_record_is_twelve_bytes_and_one_caller_shares_its_first_eight() -> None:
    a, b, c = stored.record(entry(1, 1)), stored.record(entry(1, 2)), stored.record(entry(2, 1))
    assert len(a) == stored.RECORD == 12
    assert a[:8] == b[:8] and a != b
    assert a[:8] != c[:8]
    assert stored.unpack(stored.pack([c, a, b, a])) == {a, b, c}
    assert stored.pack([c, a, b]) == b"".join(sorted([a, b, c]))  # sorted: one value per set


def test_callers_are_packed_plus_live_minus_taken_out() -> None:
    # Given a day sealed with Ann's two calls and Bob's one
    packed = stored.pack(stored.record(e) for e in (entry(1, 1), entry(1, 2), entry(2, 3)))
    assert len(stored.caller_keys(packed)) == 2
    # When Cat's call comes late and one of Ann's calls is taken out, she still counts once
    assert len(stored.caller_keys(packed, [entry(3, 4)], [entry(1, 1)])) == 3
    # And with both of Ann's calls taken out she is gone
    assert len(stored.caller_keys(packed, [], [entry(1, 1), entry(1, 2)])) == 1
    # (a bucket never sealed is its live set, as before sealing existed)
    assert len(stored.caller_keys(None, [entry(1, 1), entry(1, 2), entry(2, 3)])) == 2


class Bucket:
    """A day bucket as DynamoDB holds it, changed the way ``apply_contribution`` and ``seal`` change it."""

    def __init__(self) -> None:
        self.packed, self.live, self.gone = b"", set[str](), set[str]()

    def add(self, e: str) -> None:  # ADD callers, DELETE callers_del
        self.live.add(e)
        self.gone.discard(e)

    def take_out(self, e: str) -> None:  # DELETE callers, ADD callers_del
        self.live.discard(e)
        self.gone.add(e)

    def read(self) -> tuple[bytes, set[str], set[str]]:
        return self.packed, set(self.live), set(self.gone)

    def write_seal(self, snapshot: tuple[bytes, set[str], set[str]]) -> None:  # SET packed, DELETE both
        packed, live, gone = snapshot
        self.packed = stored.pack(stored.fold(packed, live, gone))
        self.live -= live
        self.gone -= gone


def test_a_seal_racing_adds_and_take_outs_never_loses_or_keeps_an_entry() -> None:
    rnd = random.Random(25)
    for _ in range(300):
        bucket, truth = Bucket(), set[str]()
        entries = [entry(rnd.randrange(4), rnd.randrange(6)) for _ in range(6)]
        snapshot = None
        for _ in range(40):
            step = rnd.random()
            e = rnd.choice(entries)
            if step < 0.4:
                bucket.add(e)
                truth.add(e)
            elif step < 0.7:
                bucket.take_out(e)
                truth.discard(e)
            elif snapshot is None:
                snapshot = bucket.read()  # a seal reads ...
            else:
                bucket.write_seal(snapshot)  # ... and writes later, changes in between
                snapshot = None
            expected = frozenset(stored.record(x)[:8] for x in truth)
            assert stored.caller_keys(bucket.packed, bucket.live, bucket.gone) == expected
