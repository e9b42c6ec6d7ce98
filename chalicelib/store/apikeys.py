"""Stored API keys (pk ``keys.API_KEYS_PK``, sk the key id): one item each, in both shapes.

Keys made before issue 23 hold their fields only in the item's ``data`` JSON; newer ones are
written with typed attributes (``CounterModel.key_*``) *and* the same ``data``, so that a
rollback to the previous release still reads (and refuses revoked) keys. This module is where
that rule is kept: ``StoredKey`` reads the typed attributes first and ``data`` for what they
lack, and every write writes both. ``chalicelib/access/apikeys.py`` owns the rest (secrets,
hashing, scopes, the cache) and never sees an item.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import PutError
from pynamodb.expressions.update import Action

from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.store import keys
from chalicelib.store.models import CounterModel
from chalicelib.store.ops import condition_failed


@dataclass(frozen=True)
class StoredKey:
    """One key as stored, from either shape of its item; never the key itself. ``scope`` is the
    stored value as it is (``None`` for a key made before scopes existed)."""

    key_id: str
    name: str
    scope: str | None
    secret_sha256: str | None
    hint: str
    created_at: int | None
    revoked_at: int | None


def _record(item: CounterModel) -> StoredKey:
    """The key in ``item``, typed attributes first, the old ``data`` JSON for what they lack;
    revoked when either shape says so."""
    data: dict[str, Any] = item.data or {}
    secret = item.key_secret_sha256 or data.get("secret_sha256")
    revoked = item.key_revoked_at or data.get("revoked_at")
    created = item.key_created_at or data.get("created_at")
    return StoredKey(
        key_id=item.sk,
        name=item.key_name if item.key_name is not None else str(data.get("name", "")),
        scope=item.key_scope,
        secret_sha256=secret if isinstance(secret, str) else None,
        hint=item.key_hint if item.key_hint is not None else str(data.get("hint", "")),
        created_at=int(created) if created else None,
        revoked_at=int(revoked) if revoked else None,
    )


def create(key: StoredKey, *, ctx: RequestContext = SYSTEM) -> bool:
    """Store a new key in both shapes, never over another: ``False`` when its id is taken
    (draw another). One PutItem."""
    data = {
        "name": key.name,
        "secret_sha256": key.secret_sha256,
        "hint": key.hint,
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
    }
    try:
        CounterModel(
            *keys.api_key(key.key_id),
            data=data,
            key_name=key.name,
            key_scope=key.scope,
            key_secret_sha256=key.secret_sha256,
            key_hint=key.hint,
            key_created_at=key.created_at,
        ).save(condition=CounterModel.sk.does_not_exist())
    except PutError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def list_all(*, ctx: RequestContext = SYSTEM) -> list[StoredKey]:
    """Every key, revoked ones included, in key id order. One Query (pages as needed)."""
    return [_record(item) for item in CounterModel.query(keys.API_KEYS_PK)]


def get(key_id: str, *, ctx: RequestContext = SYSTEM) -> StoredKey | None:
    """The key, or ``None``; DynamoDB's failures are raised as they are (``ops.is_storage_error``).
    One GetItem."""
    try:
        return _record(CounterModel.get(*keys.api_key(key_id)))
    except CounterModel.DoesNotExist:
        return None


def revoke(key_id: str, now_ms: int, *, ctx: RequestContext = SYSTEM) -> tuple[StoredKey | None, bool]:
    """Mark the key revoked at ``now_ms`` in both shapes unless it is already: the key as it is
    now (``None`` when there is none) and whether this call revoked it. One GetItem, and one
    UpdateItem when it was not revoked yet."""
    try:
        item = CounterModel.get(*keys.api_key(key_id))
    except CounterModel.DoesNotExist:
        return None, False
    if _record(item).revoked_at:
        return _record(item), False
    data: dict[str, Any] = {**(item.data or {}), "revoked_at": now_ms}
    # Both shapes: this release reads either, the one before reads only ``data``.
    actions: list[Action] = [CounterModel.data.set(data), CounterModel.key_revoked_at.set(now_ms)]
    item.update(actions=actions, condition=CounterModel.sk.exists())
    return _record(item), True
