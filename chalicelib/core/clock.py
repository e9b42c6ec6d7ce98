"""The one injectable clock: leases, hours and simulations read time from here."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

_source: Callable[[], float] = time.time


def now_ms() -> int:
    """Milliseconds since the epoch, from the current source."""
    return int(_source() * 1000)


def now() -> datetime:
    return datetime.fromtimestamp(_source(), tz=UTC)


def set_source(source: Callable[[], float] | None) -> None:
    """Replace the time source (seconds since the epoch); ``None`` restores the wall clock."""
    global _source
    _source = source or time.time


class FakeClock:
    """A clock tests and the simulator move by hand."""

    def __init__(self, start: float) -> None:
        self.t = float(start)

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def iso(ms: int | None) -> str | None:
    """Epoch milliseconds as an ISO 8601 UTC string (``None`` stays ``None``)."""
    if ms is None:
        return None
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_iso(value: str) -> int:
    """An ISO 8601 date or time (``Z`` or an offset) as epoch milliseconds; a date means its UTC midnight."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)
