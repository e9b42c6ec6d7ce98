"""Stored API keys for the management API: create, list, revoke, and check one on a request.

A key reads ``ct_<key id>_<secret>``: the id (10 lowercase letters and digits) names the
key in logs and listings; the secret (``secrets.token_urlsafe(32)``: 43 characters, 256
random bits) is what proves it. Each key is one item in the counters table (``store.keys.api_key``,
sk the key id) holding its name, when it was made and revoked, the secret's last four
characters as a hint, and the SHA-256 of the secret, never the key. A plain SHA-256 is
enough here: the secret is random and long, so there is nothing to guess from a leaked hash
that a slow password hash would protect (those exist for low-entropy, human-chosen secrets).

Checking a request costs one GetItem on the key id, compared with ``hmac.compare_digest``.
Valid keys are then cached per process for ``CACHE_SECONDS`` (60 s), so a warm Lambda does
not read on every request; a revocation is seen at once by the process that makes it and
within ``CACHE_SECONDS`` by every other one. Unknown ids, wrong secrets and revoked keys are
never cached, so a newly created key works at once everywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any

from pynamodb.exceptions import PutError, PynamoDBException

from chalicelib.core import clock
from chalicelib.core import validation as v
from chalicelib.core.errors import NotFound, StorageUnavailable
from chalicelib.store import keys
from chalicelib.store.cache import TTLCache
from chalicelib.store.models import CounterModel

PREFIX = "ct_"
ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
ID_LENGTH = 10
SECRET_BYTES = 32
CACHE_SECONDS = 60.0
CACHE_MAX = 1000
# ct_<id>_<secret>: the id has no "_", so the first two underscores split the key.
_KEY = re.compile(r"ct_([a-z0-9]{10})_([A-Za-z0-9_-]{43})")

# key id -> the secret's SHA-256, valid keys only; the injectable clock, so tests can move time.
_cache: TTLCache[bytes] = TTLCache(CACHE_SECONDS, max_entries=CACHE_MAX, now=lambda: clock.now_ms() / 1000)


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def parse(key: str) -> tuple[str, str] | None:
    """``(key id, secret)`` of a key in this module's format; ``None`` for anything else."""
    m = _KEY.fullmatch(key)
    return (m.group(1), m.group(2)) if m else None


def _public(item: CounterModel) -> dict[str, Any]:
    """What may be shown about a key: never the hash, never the key."""
    data: dict[str, Any] = item.data or {}
    revoked = data.get("revoked_at")
    return {
        "id": item.sk,
        "name": data.get("name", ""),
        "created_at": clock.iso(data.get("created_at")),
        "revoked_at": clock.iso(revoked),
        "status": "revoked" if revoked else "active",
        "hint": data.get("hint", ""),
    }


def create(name: str) -> dict[str, Any]:
    """A new key. The answer is the only place the key ever appears: it is stored hashed."""
    label = v.string({"name": name}, "name", required=True, max_len=100, min_len=1)
    now = clock.now_ms()
    tries = 0
    while True:
        key_id = "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))
        secret = secrets.token_urlsafe(SECRET_BYTES)
        data = {
            "name": label,
            "secret_sha256": _hash(secret).hex(),
            "hint": secret[-4:],
            "created_at": now,
            "revoked_at": None,
        }
        try:
            # Never over another key: a (most unlikely) id collision just draws again.
            CounterModel(*keys.api_key(key_id), data=data).save(condition=CounterModel.sk.does_not_exist())
        except PutError:
            tries += 1
            if tries == 3:
                raise
            continue
        return {"id": key_id, "key": f"{PREFIX}{key_id}_{secret}", "name": label, "created_at": clock.iso(now)}


def list_keys() -> list[dict[str, Any]]:
    """Every key, revoked ones included, oldest first; without hashes or keys."""
    found = [_public(item) for item in CounterModel.query(keys.API_KEYS_PK)]
    return sorted(found, key=lambda k: (k["created_at"] or "", k["id"]))


def revoke(key_id: str) -> dict[str, Any]:
    """Revoke a key (again is harmless). This process stops accepting it at once; others
    within ``CACHE_SECONDS``."""
    _cache.pop(key_id)
    try:
        item = CounterModel.get(*keys.api_key(key_id))
    except CounterModel.DoesNotExist:
        raise NotFound(f"no API key with id {key_id!r}") from None
    data: dict[str, Any] = dict(item.data or {})
    if not data.get("revoked_at"):
        data["revoked_at"] = clock.now_ms()
        item.update(actions=[CounterModel.data.set(data)], condition=CounterModel.sk.exists())
    _cache.pop(key_id)  # in case a request cached it while this ran
    return _public(item)


def authenticate(key: str) -> str | None:
    """The key id if ``key`` is a stored, unrevoked key with the right secret; else ``None``.

    A DynamoDB failure is a 503 (try again), not a 401: the key may well be good.
    """
    parsed = parse(key)
    if parsed is None:
        return None
    key_id, secret = parsed
    presented = _hash(secret)
    fresh, cached = _cache.get(key_id)
    if fresh and cached is not None:
        return key_id if hmac.compare_digest(presented, cached) else None
    try:
        item = CounterModel.get(*keys.api_key(key_id))
    except CounterModel.DoesNotExist:
        return None
    except PynamoDBException:
        raise StorageUnavailable("the API key could not be checked just now; try again") from None
    data: dict[str, Any] = item.data or {}
    stored = data.get("secret_sha256")
    if not isinstance(stored, str) or data.get("revoked_at"):
        _cache.pop(key_id)
        return None
    expected = bytes.fromhex(stored)
    if not hmac.compare_digest(presented, expected):
        return None
    _cache.put(key_id, expected)
    return key_id


def clear_cache() -> None:
    """Forget every cached key (tests; a process that must see a revocation made elsewhere at once)."""
    _cache.clear()
