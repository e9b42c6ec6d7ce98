"""Keyed caller hashes: every stored stand-in for a caller's number is HMAC-SHA256 with a secret key.

A plain SHA-256 of a phone number is no protection: a country's whole number space is hashed
in seconds. With a secret key (the "pepper", an SSM SecureString on deployed stages, read with
the Twilio auth token in one request: ``secrets.caller_pepper``) a stored hash says nothing
without the key.

The key ring is one text value: ``VERSION:SECRET`` entries, newest first (``2:... 1:...``). A
hash carries its key's version (``k2.<hex>``), so after a rotation (``calltracking caller-key
rotate``) new data uses the new key and reads try every version still in the ring. The same
caller hashes differently under two keys, so unique callers over a range that spans a rotation
are approximate (counted twice at most); older hashes expire with the data that holds them.

Plain hashes written before keyed ones (report sets) are keyed in place by migration 2
(``store/migrations/m002_keyed_callers.py``) from the calls that still hold the number, or,
where none does, from the plain hash itself (``k<v>p.``: still unique per caller, unreadable
without the key).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets as _random
from dataclasses import dataclass

from chalicelib.core import secrets
from chalicelib.core.errors import SecretUnavailable

HEX = 20  # 80 bits: no two callers of one business collide, and report sets stay small
_ENTRY = re.compile(r"(?:(\d{1,6}):)?(\S{16,})")
KEYED = re.compile(r"k\d{1,6}p?\.[0-9a-f]{" + str(HEX) + "}")


@dataclass(frozen=True)
class Key:
    version: int
    secret: bytes


def parse(text: str) -> tuple[Key, ...]:
    """The key ring in ``text`` (whitespace- or comma-separated ``VERSION:SECRET``, newest first; a
    bare secret is version 1). Refuses a ring with no key, a short secret or a repeated version."""
    ring: list[Key] = []
    for raw in re.split(r"[\s,]+", text.strip()):
        if not raw:
            continue
        m = _ENTRY.fullmatch(raw)
        if not m:
            raise SecretUnavailable("the caller-hash key ring has an entry that is not VERSION:SECRET (16+ chars)")
        ring.append(Key(int(m.group(1) or 1), m.group(2).encode()))
    if not ring or len({k.version for k in ring}) != len(ring):
        raise SecretUnavailable("the caller-hash key ring is empty or repeats a version")
    return tuple(ring)


_parsed: tuple[str, tuple[Key, ...]] = ("", ())


def ring() -> tuple[Key, ...]:
    """The configured key ring, newest first (parsed again only when its text changes)."""
    global _parsed
    text = secrets.caller_pepper()
    if _parsed[0] != text:
        _parsed = (text, parse(text))
    return _parsed[1]


def _digest(key: Key, value: str) -> str:
    return hmac.new(key.secret, value.encode(), hashlib.sha256).hexdigest()[:HEX]


def caller_hash(number: str) -> str:
    """``number``'s hash under the newest key: ``k<version>.<hex>``."""
    key = ring()[0]
    return f"k{key.version}.{_digest(key, number)}"


def caller_hashes(number: str) -> list[str]:
    """``number``'s hash under every key in the ring, newest first (what reads accept)."""
    return [f"k{k.version}.{_digest(k, number)}" for k in ring()]


def from_plain(plain: str) -> str:
    """A plain hash left by older code, whose number is no longer known, keyed under the newest key
    (``k<version>p.<hex>``): one caller's plain hashes still map to one value, and nothing can be
    looked up without the key."""
    key = ring()[0]
    return f"k{key.version}p.{_digest(key, 'plain:' + plain)}"


def is_keyed(value: str) -> bool:
    return KEYED.fullmatch(value) is not None


def new_secret() -> str:
    return _random.token_urlsafe(32)


def rotated(text: str, *, keep: int = 2) -> tuple[str, int]:
    """The ring after a rotation: a new newest key, the previous ``keep - 1`` kept so reads of data
    hashed under them still match until it expires. Returns the new ring's text and version."""
    old = parse(text)
    version = max(k.version for k in old) + 1
    entries = [f"{version}:{new_secret()}"] + [f"{k.version}:{k.secret.decode()}" for k in old[: keep - 1]]
    return " ".join(entries), version


def initial() -> str:
    """A first key ring (``calltracking setup`` on a stage that has none)."""
    return f"1:{new_secret()}"
