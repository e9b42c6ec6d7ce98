"""Blocked callers: numbers (or prefixes ending in ``*``) rejected before anything is dialled.

One list per deployment, kept in the counters table and cached per process for 30 s, so
the voice webhook usually checks it without a DynamoDB request. Blocked calls are stored
(``blocked``), counted, and left out of reports as spam.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.core import clock
from chalicelib.core import validation as v
from chalicelib.core.context import SYSTEM, RequestContext, log_change
from chalicelib.core.errors import BadRequest
from chalicelib.store import config
from chalicelib.store.cache import TTLCache

MAX_ENTRIES = 1000
CACHE_SECONDS = 30.0
_PREFIX = re.compile(r"\+\d{1,14}\*")
_cache: TTLCache[tuple[str, ...]] = TTLCache(CACHE_SECONDS, max_entries=1)


def entries() -> list[str]:
    return list(config.blocked_callers())


def replace(body: dict[str, Any], *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """Set the whole list: E.164 numbers, or prefixes like ``+1900*``."""
    log_change(ctx, "blocked_callers.replace")
    v.reject_unknown(body, {"callers"})
    raw = body.get("callers")
    if not isinstance(raw, list) or len(raw) > MAX_ENTRIES:
        raise BadRequest(f"'callers' must be a list of at most {MAX_ENTRIES} phone numbers or prefixes like +1900*")
    out: set[str] = set()
    for i, entry in enumerate(raw):
        if isinstance(entry, str) and _PREFIX.fullmatch(entry.strip()):
            out.add(entry.strip())
        else:
            out.add(v.e164(entry, f"callers[{i}]"))
    callers = sorted(out)
    config.save_blocked_callers(callers, clock.now_ms())
    _cache.clear()
    return {"callers": callers}


def is_blocked(caller: str | None) -> bool:
    """Whether ``caller`` is on the list (a DynamoDB failure propagates: the caller falls back)."""
    if not caller:
        return False
    return is_blocked_by(caller, _cache.get_or_load("callers", config.blocked_callers))


def cached() -> tuple[str, ...] | None:
    """The list as this process holds it, or ``None`` when that copy is stale (read it again)."""
    fresh, value = _cache.get("callers")
    return value if fresh else None


def remember(entries: tuple[str, ...]) -> None:
    """The list as read by someone else (the voice webhook's batch), kept for ``CACHE_SECONDS``."""
    _cache.put("callers", entries)


def is_blocked_by(caller: str | None, entries: tuple[str, ...]) -> bool:
    """Whether ``caller`` is on ``entries`` (the list as read)."""
    if not caller:
        return False
    return any(caller.startswith(e[:-1]) if e.endswith("*") else caller == e for e in entries)


def clear_cache() -> None:
    _cache.clear()
