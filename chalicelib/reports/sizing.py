"""Pool sizing: Erlang B, and a pool size recommended from the pool's own observed traffic.

A pool is a loss system: visitors arrive, each holds one number for a while, and a visitor
who finds every number held is not tracked (nobody queues). With Poisson arrivals the share
refused is Erlang B of the offered load A = arrival rate x mean holding time, whatever the
holding-time distribution. The holding time is what the lease history shows (lease start to
lease end: the visit plus the hold after its last renewal), not the ``hold_seconds`` setting.
The rate is the busy hour's: the clock hour of the day with the most arrivals on average over
the last seven days (a time-consistent busy hour), counting visitors the pool refused too.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

from chalicelib.core import clock
from chalicelib.core.errors import BadRequest
from chalicelib.sites import distinct_refused
from chalicelib.store import leases, lines

WINDOW_DAYS = 7
DEFAULT_TARGET = 0.01
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


def erlang_b(offered_load: float, servers: int) -> float:
    """The probability that an arrival finds all ``servers`` busy, for ``offered_load`` erlangs.

    The recursion B(0) = 1, B(n) = A·B(n-1) / (n + A·B(n-1)) stays within [0, 1] at every
    step, so it neither overflows nor loses precision the way the factorial formula does.
    """
    if not math.isfinite(offered_load) or offered_load < 0:
        raise ValueError("offered_load must be a finite number of erlangs, zero or more")
    if servers < 0:
        raise ValueError("servers must be zero or more")
    b = 1.0
    for n in range(1, servers + 1):
        b = offered_load * b / (n + offered_load * b)
    return b


def recommend(offered_load: float, target_overflow: float) -> int:
    """The smallest pool size whose Erlang B is at most ``target_overflow``.

    Never less than 1: with no traffic (A = 0) a pool still needs one number to track its
    first visitor, and B(1) = 0 there.
    """
    if not math.isfinite(offered_load) or offered_load < 0:
        raise ValueError("offered_load must be a finite number of erlangs, zero or more")
    if not 0 < target_overflow < 1:
        raise ValueError("target_overflow must be between 0 and 1")
    b, n = 1.0, 0
    while b > target_overflow:
        n += 1
        b = offered_load * b / (n + offered_load * b)
    return n


def rest_before_reuse_minutes(size: int, offered_load: float, arrivals_per_hour: float) -> float | None:
    """About how long a released number stays free before the next new visitor takes it, at the busy hour.

    Least recently released goes first, so a released number waits behind the numbers free
    at that moment, n - A(1 - B) on average, taken at the arrival rate. A call later than
    this after the hold ends may be attributed to the number's next visitor.
    """
    if arrivals_per_hour <= 0:
        return None
    free = max(0.0, size - offered_load * (1 - erlang_b(offered_load, size)))
    return free / arrivals_per_hour * 60


def busy_hour(counts: Mapping[int, float], last: int) -> tuple[int | None, float, list[int]]:
    """The time-consistent busy hour of hourly ``counts`` (keys: hours since the epoch, up to ``last``).

    Returns the UTC hour of the day whose count is highest on average over the days seen,
    that average, and the hours (since the epoch) it was averaged over: from the first hour
    with a count to ``last``. Less noisy than the single busiest hour, which is the largest
    of many random counts and so overstates the rate.
    """
    if not counts:
        return None, 0.0, []
    first = min(counts)
    best: tuple[int | None, float, list[int]] = (None, 0.0, [])
    for hour in range(24):
        seen = list(range(first + (hour - first) % 24, last + 1, 24))
        if seen:
            mean = sum(counts.get(k, 0) for k in seen) / len(seen)
            if mean > best[1]:
                best = (hour, mean, seen)
    return best


def parse_target(raw: str | None) -> float:
    """The ``target`` query parameter: an overflow probability, 0 < target < 0.5 (default 0.01)."""
    if raw is None or raw.strip() == "":
        return DEFAULT_TARGET
    try:
        target = float(raw)
    except ValueError:
        raise BadRequest("'target' must be a number: the share of visitors the pool may refuse, e.g. 0.01") from None
    if not 0 < target < 0.5:  # also refuses nan and inf
        raise BadRequest("'target' must be more than 0 and less than 0.5, e.g. 0.01 for 1% of visitors refused")
    return target


def _overlap(start: int, end: int, lo: int, hi: int) -> int:
    return max(0, min(end, hi) - max(start, lo))


def pool_sizing(pool_id: str, now_ms: int, target: float = DEFAULT_TARGET) -> dict[str, Any]:
    """What the pool's last seven days show, what its current size gives, and the size for ``target``.

    One query of the lease history per number of the pool and one of the exhaustion counters.
    A lease's end is the next lease's ``prev_ended_at``, or the number's ``lease_expires_at``
    for its latest lease; leases still held count as arrivals but not in the mean holding
    time (their end is not known yet). Refused visitors are arrivals too; where the counter
    only has refused requests, a visitor refused on several pages (the site script asks again
    on each) counts several times, so under overflow the rate is overstated and the
    recommendation errs on the large side.
    """
    pool = lines.get_pool(pool_id)
    since = now_ms - WINDOW_DAYS * DAY_MS
    last = now_ms // HOUR_MS
    numbers = [n for n in lines.pool_numbers(pool_id) if n.status == "active" and n.kind == "pool"]

    leased: Counter[int] = Counter()
    spans: list[tuple[int, int]] = []  # (start, end or now) of every lease in the window
    holds: list[int] = []
    for number in numbers:
        history = leases.starts_since(number.number, since)
        for i, lease in enumerate(history):
            start = lease.started_at
            leased[start // HOUR_MS] += 1
            end: int | None = None
            if i + 1 < len(history):
                end = history[i + 1].prev_ended_at
            elif number.lease_session_id == lease.session_id and number.lease_expires_at is not None:
                end = number.lease_expires_at
            if end is None:
                continue
            if end <= now_ms:
                holds.append(end - start)
            spans.append((start, min(end, now_ms)))

    refused: Counter[int] = Counter()
    for item in lines.exhausted_hours(pool_id):  # what sites.count_exhaustion writes
        hour = clock.parse_iso(f"{item.hour}:00:00Z") // HOUR_MS
        if since // HOUR_MS <= hour <= last:
            # Distinct visitors refused, estimated from the hour's buckets; else refused requests.
            refused[hour] += distinct_refused(len(item.buckets), item.refused) if item.buckets else item.refused

    demand = leased + refused
    peak, per_hour, peak_hours = busy_hour(demand, last)
    if holds:
        mean_hold, hold_from = sum(holds) / len(holds) / 1000, "lease history"
    else:  # nothing has ended yet: a lease lasts at least the hold
        mean_hold, hold_from = float(pool.hold_seconds), "the pool's hold_seconds (no lease has ended yet)"
    load = per_hour * mean_hold / 3600
    size = len(numbers)
    recommended = recommend(load, target)

    utilization = observed_overflow = 0.0
    if peak is not None:
        windows = [(k * HOUR_MS, min((k + 1) * HOUR_MS, now_ms)) for k in peak_hours]
        span_ms = sum(hi - lo for lo, hi in windows)
        if size and span_ms > 0:
            busy = sum(_overlap(s, e, lo, hi) for s, e in spans for lo, hi in windows)
            utilization = busy / (size * span_ms)
        asked = sum(demand[k] for k in peak_hours)
        observed_overflow = sum(refused[k] for k in peak_hours) / asked if asked else 0.0
    busiest = max(demand, key=lambda k: (demand[k], -k)) if demand else None
    return {
        "pool_id": pool_id,
        "window_days": WINDOW_DAYS,
        "observed": {
            "peak_hour_utc": f"{peak:02d}:00" if peak is not None else None,
            "days_seen": len(peak_hours),
            "arrivals_per_hour": round(per_hour, 2),
            "busiest_single_hour": clock.iso(busiest * HOUR_MS) if busiest is not None else None,
            "busiest_single_hour_arrivals": demand[busiest] if busiest is not None else 0,
            "mean_hold_seconds": round(mean_hold, 1),
            "mean_hold_from": hold_from,
            "leases_ended": len(holds),
            "offered_load_erlangs": round(load, 3),
            "exhausted_last_7d": sum(refused.values()),
        },
        "current": {
            "size": size,
            "overflow_probability": round(erlang_b(load, size), 5),
            "observed_overflow_at_peak_hour": round(observed_overflow, 5),
            "utilization_at_peak_hour": round(utilization, 4),
            "rest_before_reuse_minutes": _minutes(rest_before_reuse_minutes(size, load, per_hour)),
        },
        "recommended": {
            "target_overflow": target,
            "size": recommended,
            "overflow_probability": round(erlang_b(load, recommended), 5),
            "rest_before_reuse_minutes": _minutes(rest_before_reuse_minutes(recommended, load, per_hour)),
        },
    }


def _minutes(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None
