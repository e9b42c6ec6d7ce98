"""Keyed caller hashes (chalicelib/core/callerkeys.py): the ring's text, versions, rotation, and the
report sets' entry of a call kept across a rotation. No database."""

from __future__ import annotations

import hashlib

import pytest

from chalicelib.core import callerkeys, secrets
from chalicelib.core.errors import SecretUnavailable
from chalicelib.store.calls import CallRecord

ANN = "+14155550001"


@pytest.fixture
def ring(settings_env):
    def use(text: str) -> None:
        settings_env(CALLER_PEPPER=text)
        secrets.clear_cache()

    return use


def test_a_hash_is_keyed_and_carries_its_version(ring):
    # Given a ring of one key
    ring("1:first-secret-0123456789")
    h = callerkeys.caller_hash(ANN)
    # Then the hash is the key's version and HMAC-SHA256 of the number, not its plain SHA-256
    assert h.startswith("k1.") and callerkeys.is_keyed(h)
    assert hashlib.sha256(ANN.encode()).hexdigest()[:20] not in h
    assert ANN.lstrip("+") not in h
    # And another key gives another hash for the same number
    ring("1:other-secret-0123456789")
    assert callerkeys.caller_hash(ANN) != h


def test_reads_try_every_key_newest_first(ring):
    ring("1:first-secret-0123456789")
    old = callerkeys.caller_hash(ANN)
    ring("2:second-secret-012345678 1:first-secret-0123456789")
    hashes = callerkeys.caller_hashes(ANN)
    assert hashes[0].startswith("k2.") and hashes[1] == old
    assert callerkeys.caller_hash(ANN) == hashes[0]


def test_rotation_adds_a_newer_key_and_keeps_one_older():
    text, version = callerkeys.rotated("2:second-secret-012345678 1:first-secret-0123456789")
    keys = callerkeys.parse(text)
    assert version == 3 and [k.version for k in keys] == [3, 2]
    assert keys[1].secret == b"second-secret-012345678"
    assert [k.version for k in callerkeys.parse(callerkeys.initial())] == [1]


@pytest.mark.parametrize("text", ["", "1:short", "1:aaaaaaaaaaaaaaaaaa 1:bbbbbbbbbbbbbbbbbbbb", "x:yyyy"])
def test_a_bad_ring_is_refused(text):
    with pytest.raises(SecretUnavailable):
        callerkeys.parse(text)


def test_a_plain_hash_is_keyed_without_its_number(ring):
    ring("1:first-secret-0123456789")
    plain = hashlib.sha256(ANN.encode()).hexdigest()[:12]
    keyed = callerkeys.from_plain(plain)
    assert keyed.startswith("k1p.") and callerkeys.is_keyed(keyed) and plain not in keyed
    assert callerkeys.from_plain(plain) == keyed  # one caller's calls still count once


def test_a_counted_call_keeps_its_entry_across_a_rotation(ring):
    from chalicelib.reports.aggregates import contribution

    # Given a finished call counted under key 1
    ring("1:first-secret-0123456789")
    call = CallRecord(
        call_sid="CA" + "1" * 32, caller=ANN, status="completed", status_rank=9, started_at=1_790_000_000_000
    )
    counted = contribution(call)
    entries = {v["caller"] for v in counted.values() if "caller" in v}  # (hours and numbers count calls only)
    assert len(entries) == 1 and next(iter(entries)).startswith("k1.")
    # When the key is rotated, the same call (now carrying what it added) adds the same entry
    ring("2:second-secret-012345678 1:first-secret-0123456789")
    again = contribution(CallRecord(**{**call.__dict__, "agg": counted}))
    assert {v["caller"] for v in again.values() if "caller" in v} == entries
    # And a call never counted before is hashed with key 2
    fresh = contribution(CallRecord(**{**call.__dict__, "call_sid": "CA" + "2" * 32}))
    assert {v["caller"].split(".")[0] for v in fresh.values() if "caller" in v} == {"k2"}
