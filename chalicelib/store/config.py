"""The deployment's configuration items in the counters table: the blocked callers' list."""

from __future__ import annotations

from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.store import keys
from chalicelib.store.models import CounterModel


def blocked_callers(*, ctx: RequestContext = SYSTEM) -> tuple[str, ...]:
    """The blocked numbers and prefixes as stored (none when the list was never saved). One GetItem."""
    try:
        item = CounterModel.get(*keys.blocked_callers())
    except CounterModel.DoesNotExist:
        return ()
    return tuple((item.data or {}).get("callers", []))


def save_blocked_callers(callers: list[str], updated_at: int, *, ctx: RequestContext = SYSTEM) -> None:
    """Replace the whole list. One PutItem."""
    key = keys.blocked_callers()
    CounterModel(key.pk, key.sk, total=len(callers), data={"callers": callers, "updated_at": updated_at}).save()
