"""Conversion destinations (settings and rules; credentials live in SSM), each call's conversion
state per (destination, rule), the "later" queue and the delivery log, in the counters table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import DeleteError, UpdateError

from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.store import keys
from chalicelib.store.models import CounterModel
from chalicelib.store.ops import condition_failed, expires_after


@dataclass(frozen=True)
class Destination:
    """A destination's id and data (platform, name, settings, rules, switches; the domain validates it)."""

    id: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Later:
    """A conversion a platform said to send later: due then (``sk`` orders by due time)."""

    sk: str
    due_ms: int
    destination_id: str
    call_sid: str
    rule_id: str
    data: dict[str, Any]


def list_destinations(*, ctx: RequestContext = SYSTEM) -> list[Destination]:
    return [Destination(i.sk, dict(i.data or {})) for i in CounterModel.query(keys.CONVERSIONS_PK)]


def get_destination(destination_id: str, *, ctx: RequestContext = SYSTEM) -> Destination | None:
    try:
        item = CounterModel.get(*keys.conversion_destination(destination_id), consistent_read=True)
    except CounterModel.DoesNotExist:
        return None
    return Destination(item.sk, dict(item.data or {}))


def create_destination(dest: Destination, *, ctx: RequestContext = SYSTEM) -> None:
    """Store a new destination (an id collision raises)."""
    CounterModel(*keys.conversion_destination(dest.id), data=dest.data).save(condition=CounterModel.sk.does_not_exist())


def save_destination(dest: Destination, *, ctx: RequestContext = SYSTEM) -> bool:
    """Replace an existing destination's data; ``False`` if it was deleted meanwhile."""
    try:
        CounterModel(*keys.conversion_destination(dest.id)).update(
            actions=[CounterModel.data.set(dest.data)], condition=CounterModel.sk.exists()
        )
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def delete_destination(destination_id: str, *, ctx: RequestContext = SYSTEM) -> None:
    CounterModel(*keys.conversion_destination(destination_id)).delete()


# --- each call's state per (destination, rule) ------------------------------------------------------


def get_state(call_sid: str, destination_id: str, rule_id: str) -> dict[str, Any] | None:
    try:
        item = CounterModel.get(*keys.conversion_state(call_sid, destination_id, rule_id), consistent_read=True)
    except CounterModel.DoesNotExist:
        return None
    return dict(item.data or {})


def put_state(
    call_sid: str, destination_id: str, rule_id: str, data: dict[str, Any], *, now_ms: int, keep_days: float
) -> None:
    CounterModel(
        *keys.conversion_state(call_sid, destination_id, rule_id),
        data=data,
        expires_at=expires_after(now_ms, keep_days),
    ).save()


def call_states(call_sid: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(destination, rule, state) of every conversion of a call (one Query)."""
    out = []
    for item in CounterModel.query(keys.conversion_call(call_sid), CounterModel.sk.startswith("state#")):
        _, dest, rule = item.sk.split("#", 2)
        out.append((dest, rule, dict(item.data or {})))
    return out


# --- the later queue -----------------------------------------------------------------------------


def add_later(
    due_ms: int, destination_id: str, call_sid: str, rule_id: str, data: dict[str, Any], *, keep_days: float
) -> None:
    CounterModel(
        *keys.conversion_later(due_ms, destination_id, call_sid, rule_id),
        data=data,
        expires_at=expires_after(due_ms, keep_days),
    ).save()


def due_later(now_ms: int, limit: int) -> list[Later]:
    """What is due by ``now_ms``, oldest first (one Query)."""
    out = []
    query = CounterModel.query(
        keys.CONVERSIONS_LATER_PK, CounterModel.sk <= f"{now_ms:013d}#~", limit=limit, scan_index_forward=True
    )
    for item in query:
        due, dest, call, rule = item.sk.split("#", 3)
        out.append(Later(item.sk, int(due), dest, call, rule, dict(item.data or {})))
    return out


def pending_later(destination_id: str | None = None, limit: int = 500) -> list[Later]:
    found = due_later(10**13 - 1, limit)
    return [x for x in found if destination_id is None or x.destination_id == destination_id]


def take_later(sk: str) -> bool:
    """Remove a due item if it is still there: the one taker of it (``False``: another run took it)."""
    try:
        CounterModel(keys.CONVERSIONS_LATER_PK, sk).delete(condition=CounterModel.sk.exists())
    except DeleteError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


# --- the delivery log ----------------------------------------------------------------------------


def log(
    destination_id: str, call_sid: str, rule_id: str, at_ms: int, n: str, record: dict[str, Any], *, keep_days: float
) -> None:
    """One line, in the destination's log and in the call's."""
    expires = expires_after(at_ms, keep_days)
    for key in (
        keys.conversion_log_line(destination_id, at_ms, call_sid, rule_id, n),
        keys.conversion_call_log_line(call_sid, at_ms, destination_id, rule_id, n),
    ):
        CounterModel(*key, data=record, expires_at=expires).save()


def destination_log(destination_id: str, limit: int) -> list[dict[str, Any]]:
    """The destination's lines, newest first."""
    query = CounterModel.query(keys.conversion_log(destination_id), scan_index_forward=False, limit=limit)
    return [dict(item.data or {}) for item in query]


def call_log(call_sid: str, limit: int = 100) -> list[dict[str, Any]]:
    """The call's lines, newest first."""
    query = CounterModel.query(
        keys.conversion_call(call_sid), CounterModel.sk.startswith("log#"), scan_index_forward=False, limit=limit
    )
    return [dict(item.data or {}) for item in query]
