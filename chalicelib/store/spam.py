"""Spam scoring's items in the counters table: a caller's cached Lookup (TTL: the cache period,
keyed by the keyed caller hash, never the number) and the day's count of Lookups (the cap)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.store import keys
from chalicelib.store.models import CounterModel
from chalicelib.store.ops import condition_failed


def cached_lookup(caller_hash: str, now: datetime, *, ctx: RequestContext = SYSTEM) -> dict[str, Any] | None:
    """The caller's Lookup result still in its cache period (DynamoDB's TTL deletes late). One GetItem."""
    key = keys.spam_lookup(caller_hash)
    try:
        item = CounterModel.get(key.pk, key.sk)
    except CounterModel.DoesNotExist:
        return None
    if item.expires_at is not None and item.expires_at <= now:
        return None
    return dict(item.data or {})


def save_lookup(caller_hash: str, data: dict[str, Any], expires_at: datetime, *, ctx: RequestContext = SYSTEM) -> None:
    key = keys.spam_lookup(caller_hash)
    CounterModel(key.pk, key.sk, data=data, expires_at=expires_at).save()


def claim_lookup(day: str, cap: int, expires_at: datetime, *, ctx: RequestContext = SYSTEM) -> bool:
    """Count one Lookup on ``day`` unless the day already made ``cap`` (one conditional UpdateItem)."""
    if cap <= 0:
        return False
    key = keys.spam_lookups_on(day)
    item = CounterModel(key.pk, key.sk)
    condition = CounterModel.total.does_not_exist() | (CounterModel.total < cap)
    try:
        item.update(actions=[CounterModel.total.add(1), CounterModel.expires_at.set(expires_at)], condition=condition)
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def forget_lookups(caller_hashes: list[str], *, ctx: RequestContext = SYSTEM) -> int:
    """Delete the cached Lookups under each of a caller's hashes (an erasure). One DeleteItem each."""
    for hashed in caller_hashes:
        key = keys.spam_lookup(hashed)
        CounterModel(key.pk, key.sk).delete()
    return len(caller_hashes)
