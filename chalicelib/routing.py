"""Where a call to a tracking number goes: its channel or pool, and how that line handles calls.

Read by the voice webhook for every call (three small reads at most) and by callbacks
that complete a call the voice webhook could not store. A number that is not ours, or
released, or whose line is gone, goes to the deployment's default phone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.core.settings import get_settings
from chalicelib.store import lines
from chalicelib.store.lines import Number, Pool


@dataclass(frozen=True)
class Route:
    """Where a call to a tracking number goes, and how."""

    kind: str  # "channel", "pool", "overflow" or "unknown"
    target_id: str | None
    name: str | None
    forward_to: str | None
    record: bool
    disclosure: str | None
    flow: dict[str, Any] | None = None


def default_route(forward_to: str | None = None) -> Route:
    """Where a call goes when its line is unknown or cannot be read: ``forward_to`` (the phone the
    number's own webhook URL names, which Twilio signs), else the deployment's default phone."""
    return Route("unknown", None, None, forward_to or get_settings().default_forward_to, False, None)


def nowhere() -> Route:
    """A route with no phone: the caller hears a message (after every failover phone was tried)."""
    return Route("unknown", None, None, None, False, None)


def lookup(called: str) -> tuple[Route, Number | None, Pool | None]:
    """The route for a called number, its number item and (for pool numbers) its pool."""
    number = lines.find_number(called)
    if number is None or number.status != "active":
        return default_route(), None, None
    if number.kind == "channel" and number.channel_id:
        ch = lines.find_channel(number.channel_id)
        if ch is None:
            return default_route(), number, None
        route = Route("channel", ch.channel_id, ch.name, ch.forward_to, bool(ch.record), ch.disclosure, ch.flow)
        return route, number, None
    if number.pool_id:
        pool = lines.find_pool(number.pool_id)
        if pool is None:
            return default_route(), number, None
        route = Route(
            number.kind, pool.pool_id, pool.name, pool.forward_to, bool(pool.record), pool.disclosure, pool.flow
        )
        return route, number, pool
    return default_route(), number, None


def route_of(kind: str, target_id: str) -> Route:
    """The route of a channel or pool by its id (one read: the menu's answer), the default if it is gone."""
    if kind == "channel":
        ch = lines.find_channel(target_id)
        if ch is not None:
            return Route("channel", ch.channel_id, ch.name, ch.forward_to, bool(ch.record), ch.disclosure, ch.flow)
    elif kind in ("pool", "overflow"):
        pool = lines.find_pool(target_id)
        if pool is not None:
            return Route(kind, pool.pool_id, pool.name, pool.forward_to, bool(pool.record), pool.disclosure, pool.flow)
    return default_route()


def line_name_and_flow(kind: str, target_id: str) -> tuple[str | None, dict[str, Any]]:
    """A channel's or pool's name and flow settings (for the whisper); ``(None, {})`` if it is gone."""
    line: lines.Channel | lines.Pool | None = None
    if kind == "channel":
        line = lines.find_channel(target_id)
    elif kind in ("pool", "overflow"):
        line = lines.find_pool(target_id)
    if line is None:
        return None, {}
    return line.name, dict(line.flow or {})
