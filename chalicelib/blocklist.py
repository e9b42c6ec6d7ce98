"""Blocked callers: numbers (or prefixes ending in ``*``) rejected before anything is dialled.

One list per deployment, kept in the counters table and cached per process for 30 s, so
the voice webhook usually checks it without a DynamoDB request. Blocked calls are stored
(``blocked``), counted, and left out of reports as spam.
"""

from __future__ import annotations

import re
import time
from typing import Any

from chalicelib import clock
from chalicelib import validation as v
from chalicelib.errors import BadRequest
from chalicelib.models import CounterModel

PK, SK = "CONFIG", "blocked-callers"
MAX_ENTRIES = 1000
CACHE_SECONDS = 30.0
_PREFIX = re.compile(r"\+\d{1,14}\*")
_cache: tuple[float, tuple[str, ...]] | None = None


def _load() -> tuple[str, ...]:
    try:
        item = CounterModel.get(PK, SK)
    except CounterModel.DoesNotExist:
        return ()
    return tuple((item.data or {}).get("callers", []))


def entries() -> list[str]:
    return list(_load())


def replace(body: dict[str, Any]) -> dict[str, Any]:
    """Set the whole list: E.164 numbers, or prefixes like ``+1900*``."""
    global _cache
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
    CounterModel(PK, SK, total=len(callers), data={"callers": callers, "updated_at": clock.now_ms()}).save()
    _cache = None
    return {"callers": callers}


def is_blocked(caller: str | None) -> bool:
    """Whether ``caller`` is on the list (a DynamoDB failure propagates: the caller falls back)."""
    global _cache
    if not caller:
        return False
    now = time.monotonic()
    if _cache is None or now - _cache[0] > CACHE_SECONDS:
        _cache = (now, _load())
    return any(caller.startswith(e[:-1]) if e.endswith("*") else caller == e for e in _cache[1])


def clear_cache() -> None:
    global _cache
    _cache = None
