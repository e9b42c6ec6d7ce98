"""The one injectable clock: leases, hours and simulations read time from here; and every time
bucket (hour, day, month keys, the months a range spans, a local day's midnight), pure functions of
epoch milliseconds, so that no module keeps its own copy."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

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


# --- time buckets ------------------------------------------------------------------------------------


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def hour_key(ms: int) -> str:
    """The UTC hour a time falls in, ``2026-09-21T13``: hourly counters (exhaustion, lease budgets)."""
    return _utc(ms).strftime("%Y-%m-%dT%H")


def month_key(ms: int) -> str:
    """The UTC month a time falls in, ``2026-09``: the calls' month index partitions."""
    return _utc(ms).strftime("%Y-%m")


def day_key(ms: int) -> str:
    """The UTC day a time falls in, ``2026-09-21``."""
    return _utc(ms).strftime("%Y-%m-%d")


def months(start_ms: int, end_ms: int) -> list[str]:
    """The UTC months from ``start_ms``'s to ``end_ms``'s, oldest first (none when the start's month
    is after the end's).

    Counted from the start month's first midnight: the two copies this replaces kept the start's
    time of day, and so left out the end's month when the range ended on the 1st before that hour
    (the sweep and the not-called-back list missed that month's calls).
    """
    out: list[str] = []
    cur = _utc(start_ms).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = _utc(end_ms)
    while cur <= end:
        out.append(cur.strftime("%Y-%m"))
        cur = (cur + timedelta(days=32)).replace(day=1)
    return out


def months_desc(start_ms: int, end_ms: int) -> list[str]:
    """The UTC months from ``end_ms``'s back to ``start_ms``'s, newest first (the call log's pages);
    at least the end's month."""
    return months(start_ms, end_ms)[::-1] or [month_key(end_ms)]


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    from zoneinfo import ZoneInfo  # not on the voice path's cold start: only reports and pages read zones

    return ZoneInfo(name)


def local_day(ms: int, zone: str) -> str:
    """The day a time falls in, in ``zone`` (IANA): a report's day is the business's day."""
    return datetime.fromtimestamp(ms / 1000, tz=_zone(zone)).strftime("%Y-%m-%d")


def week_of(day: str) -> str:
    """The Monday (``YYYY-MM-DD``) of the week a day (``YYYY-MM-DD``) falls in: a report week. Pure."""
    d = datetime.strptime(day, "%Y-%m-%d").date()
    return (d - timedelta(days=d.weekday())).isoformat()


def weeks_and_days(start: str, end: str) -> tuple[list[str], list[str]]:
    """A range of days (both included) as the Mondays of the weeks wholly inside it and the days
    left at its edges, each day in exactly one of them. Pure."""
    first = datetime.strptime(start, "%Y-%m-%d").date()
    last = datetime.strptime(end, "%Y-%m-%d").date()
    weeks: list[str] = []
    days: list[str] = []
    cur = first
    while cur <= last:
        if cur.weekday() == 0 and cur + timedelta(days=6) <= last:
            weeks.append(cur.isoformat())
            cur += timedelta(days=7)
        else:
            days.append(cur.isoformat())
            cur += timedelta(days=1)
    return weeks, days


def local_hour(ms: int, zone: str) -> int:
    """The hour of the day (0-23) a time falls in, in ``zone``: the overview's "Today" by hour."""
    return datetime.fromtimestamp(ms / 1000, tz=_zone(zone)).hour


def local_minute(ms: int, zone: str) -> str:
    """A time as ``2026-09-21 09:33`` in ``zone``: how pages show a call's time."""
    return datetime.fromtimestamp(ms / 1000, tz=_zone(zone)).strftime("%Y-%m-%d %H:%M")


def midnight_ms(day: date | str, zone: str) -> int:
    """The first millisecond of ``day`` (a date or ``YYYY-MM-DD``) in ``zone``."""
    d = datetime.strptime(day, "%Y-%m-%d").date() if isinstance(day, str) else day
    return int(datetime(d.year, d.month, d.day, tzinfo=_zone(zone)).timestamp() * 1000)
