"""Stored API keys for the management API: create, list, revoke, and check one on a request.

A key reads ``ct_<key id>_<secret>``: the id (10 lowercase letters and digits) names the
key in logs and listings; the secret (``secrets.token_urlsafe(32)``: 43 characters, 256
random bits) is what proves it. Each key is one item in the counters table (``store.keys.api_key``,
sk the key id) holding its name, when it was made and revoked, the secret's last four
characters as a hint, and the SHA-256 of the secret, never the key. A plain SHA-256 is
enough here: the secret is random and long, so there is nothing to guess from a leaked hash
that a slow password hash would protect (those exist for low-entropy, human-chosen secrets).

**Scopes.** Each key has one scope, ``read``, ``write`` or ``admin`` (cumulative; what each
opens is ``chalicelib/routes/scopes.py``). A new key is ``write`` unless asked otherwise: enough
for a script or CRM that records outcomes and spend, while what reveals or redirects data
(webhooks, alert recipients, keys) must be asked for by name (``--scope admin``). Keys made
before scopes existed have none stored and read as ``admin``: they could do everything, and
taking that away on an upgrade would break their scripts unannounced.

**Two shapes.** Keys made before issue 23 hold their fields only in the item's ``data`` JSON;
new keys are written with typed attributes (``CounterModel.key_*``) *and* the same ``data``,
so that a rollback to the previous release still reads (and refuses revoked) keys. Reading
prefers the typed attributes and falls back to ``data``; a key counts as revoked when either
shape says so. A later migration may drop ``data`` once no release reads it. The items, in
both shapes, are ``chalicelib/store/apikeys.py``'s; this module keeps the rules.

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
from dataclasses import dataclass
from typing import Any

from chalicelib.core import clock
from chalicelib.core import validation as v
from chalicelib.core.context import SCOPES, SYSTEM, RequestContext, Scope, log_change
from chalicelib.core.errors import BadRequest, NotFound, StorageUnavailable
from chalicelib.store import apikeys as store
from chalicelib.store.cache import TTLCache
from chalicelib.store.ops import is_storage_error

PREFIX = "ct_"
ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
ID_LENGTH = 10
SECRET_BYTES = 32
CACHE_SECONDS = 60.0
CACHE_MAX = 1000
# ct_<id>_<secret>: the id has no "_", so the first two underscores split the key.
_KEY = re.compile(r"ct_([a-z0-9]{10})_([A-Za-z0-9_-]{43})")

DEFAULT_SCOPE: Scope = "write"
LEGACY_SCOPE: Scope = "admin"  # keys stored before scopes existed


@dataclass(frozen=True)
class ApiKey:
    """One stored key as read from either shape of its item; never the key itself."""

    key_id: str
    name: str
    scope: Scope
    secret_sha256: str | None
    hint: str
    created_at: int | None
    revoked_at: int | None


# key id -> its record, valid keys only; the injectable clock, so tests can move time.
_cache: TTLCache[ApiKey] = TTLCache(CACHE_SECONDS, max_entries=CACHE_MAX, now=lambda: clock.now_ms() / 1000)


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def parse(key: str) -> tuple[str, str] | None:
    """``(key id, secret)`` of a key in this module's format; ``None`` for anything else."""
    m = _KEY.fullmatch(key)
    return (m.group(1), m.group(2)) if m else None


def parse_scope(value: str | None) -> Scope:
    """A scope named by a person (the CLI); 400 for anything else."""
    if value is None:
        return DEFAULT_SCOPE
    if value not in SCOPES:
        raise BadRequest(f"'scope' must be one of {', '.join(SCOPES)}")
    return value


def _record(stored: store.StoredKey) -> ApiKey:
    """The key as granted: a scope this code never wrote reads as the least it can mean."""
    scope: Scope
    if stored.scope is None:
        scope = LEGACY_SCOPE
    elif stored.scope in SCOPES:
        scope = stored.scope
    else:
        scope = "read"  # not a value this code writes: the least it can mean
    return ApiKey(
        key_id=stored.key_id,
        name=stored.name,
        scope=scope,
        secret_sha256=stored.secret_sha256,
        hint=stored.hint,
        created_at=stored.created_at,
        revoked_at=stored.revoked_at,
    )


def _public(key: ApiKey) -> dict[str, Any]:
    """What may be shown about a key: never the hash, never the key."""
    return {
        "id": key.key_id,
        "name": key.name,
        "scope": key.scope,
        "created_at": clock.iso(key.created_at),
        "revoked_at": clock.iso(key.revoked_at),
        "status": "revoked" if key.revoked_at else "active",
        "hint": key.hint,
    }


def create(name: str, scope: str | None = None, *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """A new key (``scope`` ``write`` unless named). The answer is the only place the key ever
    appears: it is stored hashed."""
    label = v.string({"name": name}, "name", required=True, max_len=100, min_len=1)
    assert label is not None  # required: a missing name was a 400 already
    granted = parse_scope(scope)
    now = clock.now_ms()
    tries = 0
    while True:
        key_id = "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))
        secret = secrets.token_urlsafe(SECRET_BYTES)
        stored = store.StoredKey(
            key_id=key_id,
            name=label,
            scope=granted,
            secret_sha256=_hash(secret).hex(),
            hint=secret[-4:],
            created_at=now,
            revoked_at=None,
        )
        # Never over another key: a (most unlikely) id collision just draws again.
        if not store.create(stored):
            tries += 1
            if tries == 3:
                raise StorageUnavailable("no free API key id was drawn; try again")
            continue
        log_change(ctx, "api_keys.create", key_id=key_id, scope=granted)
        return {
            "id": key_id,
            "key": f"{PREFIX}{key_id}_{secret}",
            "name": label,
            "scope": granted,
            "created_at": clock.iso(now),
        }


def list_keys() -> list[dict[str, Any]]:
    """Every key, revoked ones included, oldest first; without hashes or keys."""
    found = [_public(_record(stored)) for stored in store.list_all()]
    return sorted(found, key=lambda k: (k["created_at"] or "", k["id"]))


def revoke(key_id: str, *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """Revoke a key (again is harmless). This process stops accepting it at once; others
    within ``CACHE_SECONDS``."""
    _cache.pop(key_id)
    stored, revoked = store.revoke(key_id, clock.now_ms())
    if stored is None:
        raise NotFound(f"no API key with id {key_id!r}")
    if revoked:
        log_change(ctx, "api_keys.revoke", key_id=key_id)
    _cache.pop(key_id)  # in case a request cached it while this ran
    return _public(_record(stored))


def authenticate(key: str) -> ApiKey | None:
    """The stored key if ``key`` is a stored, unrevoked key with the right secret; else ``None``.

    A DynamoDB failure is a 503 (try again), not a 401: the key may well be good.
    """
    parsed = parse(key)
    if parsed is None:
        return None
    key_id, secret = parsed
    presented = _hash(secret)
    fresh, cached = _cache.get(key_id)
    if fresh and cached is not None and cached.secret_sha256 is not None:
        return cached if hmac.compare_digest(presented, bytes.fromhex(cached.secret_sha256)) else None
    try:
        stored = store.get(key_id)
    except Exception as exc:
        if is_storage_error(exc):
            raise StorageUnavailable("the API key could not be checked just now; try again") from None
        raise
    if stored is None:
        return None
    found = _record(stored)
    if found.secret_sha256 is None or found.revoked_at:
        _cache.pop(key_id)
        return None
    if not hmac.compare_digest(presented, bytes.fromhex(found.secret_sha256)):
        return None
    _cache.put(key_id, found)
    return found


def clear_cache() -> None:
    """Forget every cached key (tests; a process that must see a revocation made elsewhere at once)."""
    _cache.clear()
