"""Callers: each caller's first-touch item (``keys.caller_first_touch``), the source of their
first call here, read and recorded.

The item is keyed by the caller's keyed hash (``core.callerkeys``: ``CALLER#k<version>.<hex>``),
never by the number; older code keyed it by the number itself (``CALLER#+1...``), which reads
still accept until migration 2 has copied those items under the keyed hash and their TTL ends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.store import keys
from chalicelib.store.models import CounterModel


@dataclass(frozen=True)
class FirstTouchWrite:
    """The caller item's update that records a call, for the call's own transaction
    (``store.calls.write_with``'s ``also``), and the condition under which the first touch read
    for it still holds. Built here only; the domain hands it on without looking inside."""

    key: keys.Key
    actions: list[Action]
    condition: Condition


def _actions(touch: dict[str, Any], expires_at: datetime) -> list[Action]:
    return [
        CounterModel.data.set(CounterModel.data | touch),  # type: ignore[arg-type]
        CounterModel.expires_at.set(expires_at),  # kept as long as the caller's latest call
    ]


def record_first_touch(
    caller: str, touch: dict[str, Any], expires_at: datetime, *, ctx: RequestContext = SYSTEM
) -> dict[str, Any] | None:
    """Keep ``touch`` as ``caller``'s first unless one is kept already (``if_not_exists``); the
    first touch kept now. One UpdateItem."""
    item = CounterModel(*keys.caller_first_touch(caller))
    item.update(actions=_actions(touch, expires_at))
    return item.data or None


def first_touch(caller: str, *, ctx: RequestContext = SYSTEM) -> dict[str, Any] | None:
    """``caller``'s first touch as stored now, or ``None``. One GetItem."""
    return first_touch_of([caller], ctx=ctx)[1]


def first_touch_of(candidates: list[str], *, ctx: RequestContext = SYSTEM) -> tuple[str | None, dict[str, Any] | None]:
    """The first touch stored under the first of ``candidates`` that has one (the caller's hash
    under each key version, newest first, then what older code keyed it by), and that candidate;
    ``(None, None)`` when none has. One GetItem for one candidate, one BatchGetItem for more."""
    if len(candidates) == 1:
        key = keys.caller_first_touch(candidates[0])
        try:
            data = CounterModel.get(key.pk, key.sk).data or None
        except CounterModel.DoesNotExist:
            return None, None
        return (candidates[0], data) if data else (None, None)
    wanted = [keys.caller_first_touch(c) for c in candidates]
    found = {item.pk: item.data for item in CounterModel.batch_get([(k.pk, k.sk) for k in wanted]) if item.data}
    for candidate, key in zip(candidates, wanted, strict=True):
        if key.pk in found:
            return candidate, found[key.pk]
    return None, None


def copy_first_touch(old: str, new: str, *, ctx: RequestContext = SYSTEM) -> bool:
    """Migration 2: the first touch kept under ``old`` (a number, as older code keyed it) kept
    under ``new`` too, unless ``new`` has one already; ``old`` stays (it ends with its TTL). True
    when something was copied. One GetItem and one UpdateItem."""
    key = keys.caller_first_touch(old)
    try:
        item = CounterModel.get(key.pk, key.sk, consistent_read=True)
    except CounterModel.DoesNotExist:
        return False
    if not item.data:
        return False
    actions: list[Action] = [CounterModel.data.set(CounterModel.data | dict(item.data))]  # type: ignore[arg-type]
    if item.expires_at is not None:
        actions.append(CounterModel.expires_at.set(item.expires_at))
    CounterModel(*keys.caller_first_touch(new)).update(actions=actions)
    return True


def first_touch_write(caller: str, touch: dict[str, Any], expires_at: datetime, *, read: bool) -> FirstTouchWrite:
    """The write recording a call of ``caller``, valid while what was read holds: a first touch
    (``read``), once set, never changes; its absence may, when another call of the same new
    caller lands first."""
    condition = CounterModel.data.exists() if read else CounterModel.data.does_not_exist()
    return FirstTouchWrite(keys.caller_first_touch(caller), _actions(touch, expires_at), condition)


def forget(candidates: list[str], *, ctx: RequestContext = SYSTEM) -> None:
    """Erasure: the first-touch items kept under each of ``candidates`` (the caller's hashes, and
    the number older code keyed them by) deleted. One DeleteItem each."""
    for candidate in candidates:
        CounterModel(*keys.caller_first_touch(candidate)).delete()


def tombstone(caller_hash: str, calls: int, at_ms: int, *, ctx: RequestContext = SYSTEM) -> None:
    """The record that a caller was erased, by their keyed hash only: when, and how many calls."""
    key = keys.erased_caller(caller_hash)
    CounterModel(key.pk, key.sk, data={"erased_at": at_ms, "calls": calls}).save()


def erased_at(caller_hashes: list[str], *, ctx: RequestContext = SYSTEM) -> int | None:
    """When a caller was erased (their tombstone under any of their hashes), or ``None``."""
    for h in caller_hashes:
        key = keys.erased_caller(h)
        try:
            return int((CounterModel.get(key.pk, key.sk).data or {}).get("erased_at") or 0) or None
        except CounterModel.DoesNotExist:
            continue
    return None
