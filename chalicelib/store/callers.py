"""Callers: each caller's first-touch item (``keys.caller_first_touch``), the source of their
first call here, read and recorded."""

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
    key = keys.caller_first_touch(caller)
    try:
        return CounterModel.get(key.pk, key.sk).data or None
    except CounterModel.DoesNotExist:
        return None


def first_touch_write(caller: str, touch: dict[str, Any], expires_at: datetime, *, read: bool) -> FirstTouchWrite:
    """The write recording a call of ``caller``, valid while what was read holds: a first touch
    (``read``), once set, never changes; its absence may, when another call of the same new
    caller lands first."""
    condition = CounterModel.data.exists() if read else CounterModel.data.does_not_exist()
    return FirstTouchWrite(keys.caller_first_touch(caller), _actions(touch, expires_at), condition)
