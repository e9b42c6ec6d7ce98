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
    return route_from(lines.find_number(called))


# The line each number belongs to, as this process last read it: fixed when the number is
# provisioned, so the voice webhook can ask for the line in the same batch as the number (whose
# read confirms it; a number read saying otherwise has its line read after it).
_known_lines: dict[str, tuple[str, str]] = {}
MAX_KNOWN_LINES = 10_000


def known_line(called: str) -> tuple[str | None, str | None]:
    """``(channel_id, pool_id)`` of the line ``called`` was last seen on in this process (or ``None``s)."""
    kind, line_id = _known_lines.get(called, ("", ""))
    return (line_id or None) if kind == "channel" else None, (line_id or None) if kind == "pool" else None


def _remember(number: Number, kind: str, line_id: str) -> None:
    if number.number not in _known_lines and len(_known_lines) >= MAX_KNOWN_LINES:
        _known_lines.pop(next(iter(_known_lines)))
    _known_lines[number.number] = (kind, line_id)


def forget_known_lines() -> None:
    _known_lines.clear()


def route_from(
    number: Number | None,
    channel: lines.Channel | None = None,
    pool: Pool | None = None,
    *,
    asked: tuple[str | None, str | None] = (None, None),
) -> tuple[Route, Number | None, Pool | None]:
    """``lookup`` from a number item already read, with the line read beside it when it was asked
    for (``asked``: the channel and pool ids asked; ``channel`` / ``pool``: what was found, ``None``
    when it is gone). A line that was not asked for is read here (one GetItem)."""
    if number is None or number.status != "active":
        return default_route(), None, None
    if number.kind == "channel" and number.channel_id:
        _remember(number, "channel", number.channel_id)
        ch = channel if asked[0] == number.channel_id else lines.find_channel(number.channel_id)
        if ch is None:
            return default_route(), number, None
        route = Route("channel", ch.channel_id, ch.name, ch.forward_to, bool(ch.record), ch.disclosure, ch.flow)
        return route, number, None
    if number.pool_id:
        _remember(number, "pool", number.pool_id)
        found = pool if asked[1] == number.pool_id else lines.find_pool(number.pool_id)
        if found is None:
            return default_route(), number, None
        route = Route(
            number.kind, found.pool_id, found.name, found.forward_to, bool(found.record), found.disclosure, found.flow
        )
        return route, number, found
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
