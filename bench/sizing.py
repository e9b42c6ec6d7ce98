"""Pool sizing and attribution accuracy: a discrete-event simulation of a site's traffic.

Visitors arrive as a Poisson process with a daily profile (piecewise hourly weights), browse
a few pages and leave; some call, during the visit or minutes after it. Each visitor's
browser is played as ``ct.js`` behaves: the first page asks for a number, later pages reuse
the held lease with no request, a timer renews it every ``renew_after_seconds`` while the
page is visible, and a visitor the pool refused asks again on every page. The requests go
to the real lease endpoint code (``chalicelib.leasing.endpoint.lease``) and every call to the real
voice webhook (``chalicelib.voice.inbound.answer_voice``), against the embedded DynamoDB, with the
clock injected (``chalicelib.core.clock.set_source``), so a simulated day takes seconds.

The simulator knows which visit each call came from and classifies the stored attribution:
correct (that session, confidence active), late (that session, confidence late), wrong
(another session), unattributed; calls from visitors shown the original number because the
pool was full are untracked (overflow, not accuracy). Overflow, the share of new visitors
refused at their first page, is checked three ways: against Erlang B for the pool size and
load (arrival rate x the run's mean holding time); against an ideal pool given the very same
visitors (a work-conserving allocator refuses exactly the same ones); and against that ideal
pool over a hundred more days, the expected value where Erlang B's assumption (a refused
visitor leaves) does not hold. Random reuse (``allocator.candidates`` patched to return the
free numbers shuffled) runs the same seeded traffic, to compare with least recently released.

Calls only read the lease state, so whether one visitor calls changes nothing for another:
by default every visitor is given a call (``call_share`` 1.0) so that accuracy is measured
on many calls; the share scales the call volume, not the accuracy. Each replication (a
simulated day) runs on empty tables; two processes, each with its own embedded DynamoDB.

    python -m bench.sizing [--scenario NAME ...] [--replications N] [--jobs N]
"""

from __future__ import annotations

import argparse
import atexit
import bisect
import functools
import heapq
import json
import math
import os
import random
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_context
from typing import Any

from bench import common

SITE = "https://www.example-plumbing.com"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
ORIGINAL = "+12025550123"
FORWARD_TO = "+12025550144"
DAY0 = 1_789_948_800.0  # 2026-09-21T00:00:00Z: simulated days start at a UTC midnight
TARGET = 0.01
# Share of a day's visitors in each clock hour, relative to the busiest (12:00-13:00): a
# business site, quiet at night, busy late morning to early afternoon. Sums to 10.3.
DAILY = (
    0.04, 0.02, 0.02, 0.02, 0.03, 0.06, 0.15, 0.30, 0.50, 0.70, 0.85, 0.95,
    1.00, 0.95, 0.85, 0.75, 0.65, 0.55, 0.50, 0.45, 0.40, 0.30, 0.18, 0.08,
)  # fmt: skip
FLAT = (1.0,) * 24
SOURCES = (  # weight, what the landing page URL carries, referrer
    (0.35, {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "emergency", "gclid": "Cj0K"}, None),
    (0.30, {}, "https://www.google.com/"),
    (0.15, {}, None),
    (0.10, {"utm_source": "facebook", "utm_medium": "social", "utm_campaign": "spring"}, "https://m.facebook.com/"),
    (0.10, {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "october"}, None),
)
BUDGETS = {"right_visit_min": 0.99, "wrong_max": 0.005, "overflow_vs_erlang_points": 1.0}


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    peak_per_hour: float  # arrivals per hour in the busiest hour of the profile
    profile: tuple[float, ...] = DAILY
    start_hour: float = 0.0  # clock hour the simulation starts at
    hours: float = 24.0  # arrivals are generated for this long (visits and calls then finish)
    warmup_hours: float = 0.0  # arrivals before this are not counted in overflow (the pool starts empty)
    hold_seconds: int = 900
    grace_seconds: int = 1800
    size: int | None = None  # None: recommend(offered load, size_target)
    size_target: float = TARGET
    size_factor: float = 1.0  # the recommended size times this (an undersized pool)
    replications: int = 1
    policies: tuple[str, ...] = ("lrr", "random")
    budgets: bool = False  # the budgets apply to this scenario
    # Visitor behaviour.
    mean_pages: float = 4.0  # pages per visit: 1 + geometric (a quarter bounce)
    dwell: tuple[float, float] = (30.0, 90.0)  # seconds on a page, uniform
    long_read: float = 0.1  # share of pages read for a long time ...
    long_dwell: tuple[float, float] = (240.0, 720.0)  # ... this long, renewing while visible
    call_share: float = 1.0  # share of visitors given a call (see the module docstring)
    during_visit: float = 0.6  # share of calls made while on the site; the rest after leaving
    after_mean: float = 300.0  # a call after the visit: leaving + an exponential delay of this mean ...
    after_max: float = 1200.0  # ... truncated at this (20 minutes)
    retry_refused: bool = True  # ct.js asks again on each page a refused visitor opens; False: they leave
    seed: int = 1


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "standard",
            "Standard: a local services site, 40 visitors/h at the midday peak, 2 days",
            peak_per_hour=40,
            replications=2,
            budgets=True,
            seed=11,
        ),
        Scenario(
            "small",
            "Small local business: 6 visitors/h at peak, a week",
            peak_per_hour=6,
            hours=7 * 24,
            policies=("lrr",),
            call_share=0.3,
            seed=21,
        ),
        Scenario(
            "busy",
            "Busy e-commerce: 240 visitors/h at peak, 11:00-13:30 (first half hour warm-up)",
            peak_per_hour=240,
            start_hour=11,
            hours=2.5,
            warmup_hours=0.5,
            policies=("lrr",),
            call_share=0.5,
            seed=31,
        ),
        Scenario(
            "undersized",
            "Undersized: the standard traffic (its first day) on 60% of the recommended pool",
            peak_per_hour=40,
            size_factor=0.6,
            policies=("lrr",),
            call_share=0.5,
            seed=11,
        ),
        Scenario(
            "steady",
            "Steady, refused visitors leave (Erlang B's assumption): a flat 60/h, 9 h, sized for 5%",
            peak_per_hour=60,
            profile=FLAT,
            hours=9,
            warmup_hours=1,
            size_target=0.05,
            replications=2,
            policies=("lrr",),
            call_share=0.0,
            retry_refused=False,
            seed=41,
        ),
        Scenario(
            "steady-ctjs",
            "Steady, refused visitors ask again on each page (what ct.js does): same traffic",
            peak_per_hour=60,
            profile=FLAT,
            hours=9,
            warmup_hours=1,
            size_target=0.05,
            policies=("lrr",),
            call_share=0.0,
            seed=41,
        ),
    )
}
DEFAULT_ORDER = ("standard", "small", "busy", "undersized", "steady", "steady-ctjs")


# --- traffic ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Visitor:
    index: int
    pages: tuple[float, ...]  # page load times, seconds from the simulation's start
    leave: float
    call_at: float | None
    call_during: bool
    source: int  # index into SOURCES


def _rate(s: Scenario, t: float) -> float:
    """Arrivals per second at ``t`` seconds after the start (piecewise constant by clock hour)."""
    hour = int((s.start_hour + t / 3600) % 24)
    return s.peak_per_hour * s.profile[hour] / 3600


def _hour_end(s: Scenario, t: float) -> float:
    clock_s = s.start_hour * 3600 + t
    return (math.floor(clock_s / 3600) + 1) * 3600 - s.start_hour * 3600


def arrivals(s: Scenario, rng: random.Random) -> list[float]:
    """A non-homogeneous Poisson process: exponential gaps within each hour (memoryless across hours)."""
    out: list[float] = []
    t, end = 0.0, s.hours * 3600
    while t < end:
        rate, edge = _rate(s, t), min(_hour_end(s, t), end)
        gap = rng.expovariate(rate) if rate > 0 else math.inf
        if t + gap >= edge:
            t = edge
            continue
        t += gap
        out.append(t)
    return out


def visitor(s: Scenario, index: int, arrival: float, rng: random.Random, calls: random.Random) -> Visitor:
    """One visit: its pages and, drawn from ``calls`` (so the share changes no visit), maybe a call."""
    n_pages = 1
    while rng.random() < 1 - 1 / s.mean_pages:
        n_pages += 1
    pages = [arrival]
    t = arrival
    for k in range(n_pages):
        lo, hi = s.long_dwell if rng.random() < s.long_read else s.dwell
        t += rng.uniform(lo, hi)
        if k + 1 < n_pages:
            pages.append(t)
    leave = t
    source = rng.choices(range(len(SOURCES)), [w for w, _, _ in SOURCES])[0]
    u_call, u_when, u_time = calls.random(), calls.random(), calls.random()
    call_at, during = None, False
    if u_call < s.call_share:
        if u_when < s.during_visit:
            call_at, during = arrival + u_time * (leave - arrival), True
        else:  # an exponential delay after leaving, truncated at after_max (by inversion)
            cap = 1 - math.exp(-s.after_max / s.after_mean)
            call_at = leave - s.after_mean * math.log(1 - u_time * cap)
    return Visitor(index, tuple(pages), leave, call_at, during, source)


def traffic(s: Scenario, replication: int) -> list[Visitor]:
    """The same visitors for a scenario and replication whatever the reuse policy or call share."""
    rng = random.Random(f"{s.seed}/{replication}")
    calls = random.Random(f"{s.seed}/{replication}/calls")
    return [visitor(s, i, t, rng, calls) for i, t in enumerate(arrivals(s, rng))]


def renew_after(hold_seconds: int) -> int:
    """What the lease endpoint answers as ``renew_after_seconds`` (used only for the model estimate)."""
    return max(15, min(hold_seconds // 3, 300))


@functools.lru_cache
def expected_hold(s: Scenario, n: int = 100_000) -> float:
    """Mean seconds a number is held by a tracked visitor, by the behaviour model (Monte Carlo).

    The lease lasts from the first page to the last renewal plus the hold; the browser
    renews every ``renew_after`` seconds while the page is visible.
    """
    rng = random.Random(f"hold/{s.seed}")
    a, total = renew_after(s.hold_seconds), 0.0
    for i in range(n):
        v = visitor(s, i, 0.0, rng, rng)
        total += a * math.floor(v.leave / a - 1e-9) + s.hold_seconds
    return total / n


def offered_load(s: Scenario) -> tuple[float, float]:
    """(busiest-hour arrivals per hour, erlangs) by the model."""
    peak = s.peak_per_hour * max(s.profile)
    return peak, peak * expected_hold(s) / 3600


def pool_size(s: Scenario) -> int:
    from chalicelib.reports import sizing

    if s.size is not None:
        return s.size
    return max(1, round(sizing.recommend(offered_load(s)[1], s.size_target) * s.size_factor))


# --- one simulated run (the current process's DynamoDB; tables exist and are empty) ----------


@dataclass
class Browser:
    """What ``ct.js`` keeps in localStorage, and the truth the simulator adds to it."""

    session: str | None = None
    number: str | None = None
    expires: float = 0.0  # the browser's idea of the hold's end (``s.x``)
    timer: int = 0  # generation of the pending renewal timer
    first_refused: bool | None = None
    ever_tracked: bool = False
    spans: list[list[float]] = field(default_factory=list)  # [start, end] of each lease this visitor held


@contextmanager
def reuse(policy: str, rng: random.Random) -> Iterator[None]:
    """``lrr`` is the product; ``random`` swaps the candidate list for the free numbers in random order."""
    from chalicelib.leasing import allocator
    from chalicelib.store import leases

    if policy == "lrr":
        yield
        return
    if policy != "random":
        raise ValueError(policy)
    original = allocator.candidates

    def shuffled(pool_id: str, now_ms: int, *, limit: int = allocator.CANDIDATES_PER_QUERY) -> list[Any]:
        free = leases.free_numbers(pool_id, now_ms)
        rng.shuffle(free)
        return free

    allocator.candidates = shuffled  # type: ignore[assignment]
    try:
        yield
    finally:
        allocator.candidates = original  # type: ignore[assignment]


def simulate(s: Scenario, *, size: int, policy: str = "lrr", replication: int = 0) -> dict[str, Any]:
    """Run one replication against the DynamoDB chalicelib is configured for; the figures as a dict."""
    from chalicelib import numbers, pools, sites
    from chalicelib.core import clock
    from chalicelib.core.observability import metrics
    from chalicelib.leasing import endpoint
    from chalicelib.reports import sizing
    from chalicelib.store.models import CallModel
    from chalicelib.voice import inbound

    visitors = traffic(s, replication)
    start = DAY0 + s.start_hour * 3600
    fake = clock.FakeClock(start)
    clock.set_source(fake)
    sites.clear_cache()
    wall = time.perf_counter()
    try:
        pool = pools.create(
            {
                "name": s.name,
                "allowed_origins": [SITE],
                "original_number": ORIGINAL,
                "forward_to": FORWARD_TO,
                "hold_seconds": s.hold_seconds,
                "grace_seconds": s.grace_seconds,
            }
        )
        for i in range(size):
            numbers.provision({"pool_id": pool["id"], "number": f"+1{415 + i // 100}5550{100 + i % 100}"})
        browsers = [Browser() for _ in visitors]
        events: list[tuple[float, int, str, int, int]] = []  # time, seq, kind, visitor, page or timer generation
        seq = 0

        def push(t: float, kind: str, v: int, arg: int = 0) -> None:
            nonlocal seq
            seq += 1
            heapq.heappush(events, (t, seq, kind, v, arg))

        for v in visitors:
            for k, t in enumerate(v.pages):
                push(t, "page", v.index, k)
            if v.call_at is not None:
                push(v.call_at, "call", v.index)

        requests: Counter[str] = Counter()
        outcomes: list[dict[str, Any]] = []

        def ask(v: Visitor, b: Browser, t: float, *, renew: bool, page: int) -> None:
            body: dict[str, Any] = {
                "site_key": pool["site_key"],
                "visitor_id": f"visitor-{v.index:06d}",
                "user_agent": UA,
            }
            if b.session:
                body["session_id"] = b.session
            if renew:
                body.update(renew=True, number=b.number)
            else:
                utm, referrer = SOURCES[v.source][1], SOURCES[v.source][2]
                query = "&".join(f"{k}={val}" for k, val in utm.items())
                body["page_url"] = f"{SITE}/" + (f"?{query}" if query and page == 0 else f"page-{page}" if page else "")
                body["utm"] = {k[4:]: val for k, val in utm.items() if k.startswith("utm_")}
                body["click_ids"] = {k: val for k, val in utm.items() if not k.startswith("utm_")}
                if referrer:
                    body["referrer"] = referrer
            answer, _ = endpoint.lease(json.dumps(body), SITE, UA)
            requests["renewal" if renew else "lease"] += 1
            if b.first_refused is None:
                b.first_refused = not answer["tracked"]
            b.timer += 1  # ct.js clears its timer whenever an answer comes
            if not (answer["tracked"] and answer["session_id"]):
                requests["refused"] += 1
                b.session, b.number = None, None
                return
            hold = float(answer["hold_seconds"])
            same = b.spans and b.number == answer["number"] and t <= b.spans[-1][1]
            if same:
                b.spans[-1][1] = t + hold
            else:
                b.spans.append([t, t + hold])
            b.session, b.number, b.ever_tracked = answer["session_id"], answer["number"], True
            b.expires = t + hold
            renew_at = t + float(answer["renew_after_seconds"])
            if renew_at < v.leave:  # the timer runs while the page is visible
                push(renew_at, "timer", v.index, b.timer)

        def call(v: Visitor, b: Browser, t: float) -> None:
            record: dict[str, Any] = {
                "visitor": v.index,
                "during": v.call_during,
                "after_leave_s": round(t - v.leave, 1) if not v.call_during else None,
                "hour": int((s.start_hour + t / 3600) % 24),
            }
            if b.number is None or b.session is None:
                outcomes.append({**record, "class": "untracked"})
                return
            record["after_lease_end"] = t > b.spans[-1][1]  # only these can be spoilt by reuse
            sid = f"CA{replication:08x}{v.index:024x}"
            inbound.answer_voice(
                {"CallSid": sid, "From": f"+1646{v.index:07d}", "To": b.number, "CallStatus": "ringing"}
            )
            metrics.clear_metrics()  # what each Lambda invocation's flush does (metrics are disabled here)
            stored = CallModel.get(sid)
            attr = stored.attribution or {}
            confidence = attr.get("confidence")
            if stored.degraded:
                cls = "error"
            elif confidence in ("active", "late"):
                right = attr.get("session_id") == b.session
                cls = ("correct" if confidence == "active" else "late") if right else "wrong"
            else:
                cls = "unattributed"
            outcomes.append({**record, "class": cls, "confidence": confidence})

        with reuse(policy, random.Random(f"reuse/{s.seed}/{replication}")):
            while events:
                t, _, kind, index, arg = heapq.heappop(events)
                fake.t = start + t
                v, b = visitors[index], browsers[index]
                if kind == "page":
                    # ct.js on a page load: a held lease is reused with no request (5 s margin).
                    if b.first_refused and not b.ever_tracked and not s.retry_refused:
                        continue
                    if b.session is None or b.expires - 5 < t:
                        ask(v, b, t, renew=False, page=arg)
                elif kind == "timer":
                    if arg == b.timer and b.session is not None and t < v.leave:
                        ask(v, b, t, renew=t < b.expires - 2, page=0)
                elif kind == "call":
                    call(v, b, t)
            # Ask the sizing endpoint once every lease of the run has ended (none is left out of its mean hold).
            fake.t = max([fake.t, *(start + sp[1] + 1 for b in browsers for sp in b.spans)])
            endpoint = sizing.pool_sizing(pool["id"], clock.now_ms(), s.size_target)
        return _figures(s, size, policy, visitors, browsers, outcomes, requests, endpoint, time.perf_counter() - wall)
    finally:
        clock.set_source(None)


def _figures(
    s: Scenario,
    size: int,
    policy: str,
    visitors: list[Visitor],
    browsers: list[Browser],
    outcomes: list[dict[str, Any]],
    requests: Counter[str],
    endpoint: dict[str, Any],
    seconds: float,
) -> dict[str, Any]:
    """Counts (summed over replications later) and this run's own view of its busy hour and load."""
    from chalicelib.reports import sizing

    def hour_of(t: float) -> int:  # hours since DAY0 (a UTC midnight): the same buckets as the endpoint's
        return math.floor((s.start_hour * 3600 + t) / 3600)

    warm = s.warmup_hours * 3600
    counted = [(v, b) for v, b in zip(visitors, browsers, strict=True) if v.pages[0] >= warm]
    by_hour: dict[int, list[int]] = {}  # [arrivals, refused at their first page], after the warm-up
    for v, b in counted:
        slot = by_hour.setdefault(hour_of(v.pages[0]), [0, 0])
        slot[0] += 1
        slot[1] += bool(b.first_refused)
    # The busy hour and load as the endpoint derives them, from the truth: every new visitor
    # (warm-up included, as in the lease history) and every lease's real span.
    arrived = Counter(hour_of(v.pages[0]) for v in visitors)
    peak, per_hour, peak_hours = sizing.busy_hour(arrived, hour_of(s.hours * 3600 - 1e-6))
    spans = [sp for b in browsers for sp in b.spans]
    mean_hold = sum(e - st for st, e in spans) / len(spans) if spans else float(s.hold_seconds)
    run_load = per_hour * mean_hold / 3600
    windows = [(k * 3600 - s.start_hour * 3600, (k + 1) * 3600 - s.start_hour * 3600) for k in peak_hours]
    busy = sum(max(0.0, min(e, hi) - max(st, lo)) for st, e in spans for lo, hi in windows)
    at_peak = [by_hour.get(k, [0, 0]) for k in peak_hours]
    classes = Counter(o["class"] for o in outcomes)
    ideal_refused, ideal_leases = ideal_pool(s, visitors, size)
    refused_here = {v.index for v, b in zip(visitors, browsers, strict=True) if b.first_refused}
    # Least recently released is deterministic: the ideal pool then attributes every call as the product should.
    same_calls = ideal_calls(s, visitors, ideal_leases) == {o["visitor"]: o["class"] for o in outcomes}
    return {
        "policy": policy,
        "pool_size": size,
        "visitors": len(counted),
        "refused_first": sum(bool(b.first_refused) for _, b in counted),
        "never_tracked": sum(not b.ever_tracked for _, b in counted),
        # The allocator refused exactly the visitors an ideal pool refuses, on the same traffic.
        "refused_as_ideal_pool": refused_here == ideal_refused,
        "ideal_pool_refused": len(ideal_refused),
        "calls_as_ideal_pool": same_calls if policy == "lrr" else None,
        "refused_all": len(refused_here),
        "hours": {str(h): c for h, c in sorted(by_hour.items())},
        "leases": len(spans),
        "hold_seconds_sum": sum(e - st for st, e in spans),
        "requests": dict(requests),
        "calls": dict(classes),
        "calls_during_visit": sum(o["during"] for o in outcomes),
        "wrong_call_delays_after_leaving_s": sorted(
            o["after_leave_s"] for o in outcomes if o["class"] == "wrong" and not o["during"]
        ),
        "wrong_calls_during_visit": sum(1 for o in outcomes if o["class"] == "wrong" and o["during"]),
        "calls_after_lease_end": sum(1 for o in outcomes if o.get("after_lease_end")),
        "wrong_after_lease_end": sum(1 for o in outcomes if o.get("after_lease_end") and o["class"] == "wrong"),
        "late_call_delays_after_leaving_s": sorted(
            o["after_leave_s"] for o in outcomes if o["class"] == "late" and not o["during"]
        ),
        "run": {
            "peak_hour_utc": peak,
            "arrivals_per_hour": round(per_hour, 2),
            "peak_hour_arrivals_counted": sum(a for a, _ in at_peak),
            "peak_hour_refused": sum(r for _, r in at_peak),
            "mean_hold_seconds": round(mean_hold, 1),
            "offered_load_erlangs": round(run_load, 3),
            "recommended_size": sizing.recommend(run_load, s.size_target),
            "peak_hour_utilization": round(busy / (size * 3600 * len(windows)), 4) if size and windows else 0.0,
        },
        "endpoint": endpoint,
        "seconds": round(seconds, 1),
    }


# --- many runs, in processes of their own ----------------------------------------------------


_endpoint = ""


def _worker() -> None:
    """Each worker process: its own embedded DynamoDB, the app's settings pointed at it."""
    global _endpoint
    from tests.support import servers

    proc, _endpoint = servers.start_dynamodb()
    atexit.register(servers.stop, proc)
    common.local_env(_endpoint, "sizing-")
    # The embedded server pauses for garbage collection as its tables grow; the webhook's
    # 0.8 s read timeout (right for DynamoDB) would turn those pauses into failed requests.
    os.environ.update({"WEBHOOK_READ_TIMEOUT": "120", "WEBHOOK_MAX_ATTEMPTS": "1"})


def _task(args: tuple[Scenario, int, str, int]) -> dict[str, Any]:
    """One replication on empty tables (the server is reset: moto's transactions slow down as tables grow)."""
    s, size, policy, replication = args
    request = urllib.request.Request(f"{_endpoint}/moto-api/reset", method="POST", data=b"")
    urllib.request.urlopen(request, timeout=30).read()
    from chalicelib.store import models

    models.create_tables()
    out = simulate(s, size=size, policy=policy, replication=replication)
    out["replication"] = replication
    return out


def run(names: list[str] | None = None, *, replications: int | None = None, jobs: int = 2) -> dict[str, Any]:
    """Every scenario (or ``names``): each replication and reuse policy a task, ``jobs`` at a time."""
    t0 = time.perf_counter()
    chosen = [SCENARIOS[n] for n in (names or DEFAULT_ORDER)]
    if replications:
        chosen = [replace(s, replications=replications) for s in chosen]
    sizes = {s.name: pool_size(s) for s in chosen}
    tasks = [(s, sizes[s.name], p, r) for s in chosen for r in range(s.replications) for p in s.policies]
    tasks.sort(key=lambda a: -_cost(a[0]))  # longest first, so the two workers finish together
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"), initializer=_worker) as ex:
        results = list(ex.map(_task, tasks))
    out: dict[str, Any] = {"scenarios": {}}
    for s in chosen:
        runs = [r for (ts, _, _, _), r in zip(tasks, results, strict=True) if ts.name == s.name]
        out["scenarios"][s.name] = summarize(s, sizes[s.name], runs)
    out["budgets"] = BUDGETS
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def _cost(s: Scenario) -> float:
    """Roughly how long a run takes: its visitors, each a lease and maybe a call."""
    visitors = s.peak_per_hour * sum(s.profile[int((s.start_hour + h) % 24)] for h in range(math.ceil(s.hours)))
    return visitors * (1 + s.call_share)


def _pct(part: float, whole: float) -> float:
    return round(100 * part / whole, 2) if whole else 0.0


def _accuracy(runs: list[dict[str, Any]]) -> dict[str, Any]:
    calls: Counter[str] = Counter()
    for r in runs:
        calls.update(r["calls"])
    tracked = sum(n for k, n in calls.items() if k != "untracked")
    right = calls["correct"] + calls["late"]
    return {
        "calls": sum(calls.values()),
        "tracked_calls": tracked,
        "untracked_calls": calls["untracked"],
        "counts": dict(calls),
        "correct_pct": _pct(calls["correct"], tracked),
        "late_pct": _pct(calls["late"], tracked),
        "right_visit_pct": _pct(right, tracked),
        "wrong_pct": _pct(calls["wrong"], tracked),
        "unattributed_pct": _pct(calls["unattributed"], tracked),
        "errors": calls["error"],
        "wrong_95pct_upper": round(100 * _wilson_upper(calls["wrong"], tracked), 2),
        "calls_after_lease_end": sum(r["calls_after_lease_end"] for r in runs),
        "wrong_after_lease_end": sum(r["wrong_after_lease_end"] for r in runs),
        "wrong_call_delays_after_leaving_s": sorted(d for r in runs for d in r["wrong_call_delays_after_leaving_s"]),
    }


def _wilson_upper(k: int, n: int, z: float = 1.96) -> float:
    if not n:
        return 1.0
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre + spread) / (1 + z * z / n)


def summarize(s: Scenario, size: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Replications summed per policy; overflow against Erlang B and the reference; budgets where they apply."""
    from chalicelib.reports import sizing

    model_peak, model_load = offered_load(s)
    peak_weight = max(s.profile)
    policies: dict[str, Any] = {}
    for policy in s.policies:
        mine = [r for r in runs if r["policy"] == policy]
        visitors = sum(r["visitors"] for r in mine)
        refused = sum(r["refused_first"] for r in mine)
        hold = sum(r["hold_seconds_sum"] for r in mine) / max(1, sum(r["leases"] for r in mine))
        batches = [c for r in mine for c in r["hours"].values() if c[0]]
        at_peak = [c for r in mine for h, c in r["hours"].items() if s.profile[int(h) % 24] == peak_weight]
        policies[policy] = {
            "visitors": visitors,
            "refused_first": refused,
            "never_tracked": sum(r["never_tracked"] for r in mine),
            "overflow_pct": _pct(refused, visitors),
            "overflow_se_points": round(100 * _batch_se(batches, refused / visitors if visitors else 0.0), 2),
            "never_tracked_pct": _pct(sum(r["never_tracked"] for r in mine), visitors),
            "refused_as_ideal_pool": all(r["refused_as_ideal_pool"] for r in mine),
            "calls_as_ideal_pool": all(r["calls_as_ideal_pool"] for r in mine) if policy == "lrr" else None,
            "ideal_pool_refused": sum(r["ideal_pool_refused"] for r in mine),
            "refused_all": sum(r["refused_all"] for r in mine),
            "peak_hour_overflow_pct": _pct(sum(c[1] for c in at_peak), sum(c[0] for c in at_peak)),
            "peak_hour_visitors": sum(c[0] for c in at_peak),
            "mean_hold_seconds": round(hold, 1),
            "leases": sum(r["leases"] for r in mine),
            "requests": dict(sum((Counter(r["requests"]) for r in mine), Counter())),
            "accuracy": _accuracy(mine),
            "runs": [
                {"replication": r["replication"], "seconds": r["seconds"], "run": r["run"], "endpoint": r["endpoint"]}
                for r in mine
            ],
        }
    lrr = policies[s.policies[0]]
    hold = lrr["mean_hold_seconds"]
    # Erlang B assumes stationary traffic: flat traffic compares the whole run; a daily profile
    # compares each hour with its own load, weighted by its traffic, and the busy hour alone.
    counted_hours = [int((s.start_hour + s.warmup_hours + h) % 24) for h in range(math.ceil(s.hours - s.warmup_hours))]
    rates = [s.peak_per_hour * s.profile[h] for h in counted_hours]
    weighted = sum(r * sizing.erlang_b(r * hold / 3600, size) for r in rates) / sum(rates)
    peak_b = sizing.erlang_b(model_peak * hold / 3600, size)
    ref = reference(s, size)
    flat = len(set(s.profile)) == 1
    measured = lrr["overflow_pct"]
    erlang = round(100 * (peak_b if flat else weighted), 2)
    acc = lrr["accuracy"]
    out: dict[str, Any] = {
        "title": s.title,
        # The headline figures; the rest of this entry says where they come from.
        "figures": {
            "pool_size": size,
            "reuse_policy": "least recently released",
            "tracked_calls": acc["tracked_calls"],
            "correct_pct": acc["correct_pct"] if acc["tracked_calls"] else None,
            "late_pct": acc["late_pct"] if acc["tracked_calls"] else None,
            "wrong_pct": acc["wrong_pct"] if acc["tracked_calls"] else None,
            "unattributed_pct": acc["unattributed_pct"] if acc["tracked_calls"] else None,
            "untracked_calls": acc["untracked_calls"],
            "overflow_pct": measured,
            "erlang_b_pct": erlang,
            "random_reuse_wrong_pct": policies["random"]["accuracy"]["wrong_pct"] if "random" in policies else None,
        },
        "scenario": {k: v for k, v in asdict(s).items() if k not in ("name", "title")},
        "pool_size": size,
        "model": {
            "peak_arrivals_per_hour": model_peak,
            "mean_hold_seconds": round(expected_hold(s), 1),
            "offered_load_erlangs": round(model_load, 3),
            "recommended_size": sizing.recommend(model_load, s.size_target),
            "size_target": s.size_target,
            "rest_before_reuse_minutes": round(
                sizing.rest_before_reuse_minutes(size, model_load, model_peak) or 0.0, 1
            ),
        },
        "policies": policies,
        "overflow_vs_erlang": {
            "measured_pct": measured,
            "noise_se_points": lrr["overflow_se_points"],
            "erlang_b_pct": erlang,
            "erlang_b_basis": "the run's load (flat traffic)" if flat else "each hour's load, weighted by its traffic",
            "difference_points": round(measured - erlang, 2),
            "peak_hour_measured_pct": lrr["peak_hour_overflow_pct"],
            "peak_hour_visitors": lrr["peak_hour_visitors"],
            "peak_hour_erlang_b_pct": round(100 * peak_b, 2),
            "reference_pct": ref["overflow_pct"],
            "reference_se_points": ref["overflow_se_points"],
            "reference_never_tracked_pct": ref["never_tracked_pct"],
            "reference_days": ref["days"],
            "refused_exactly_as_ideal_pool_on_same_traffic": lrr["refused_as_ideal_pool"],
        },
        "reference": ref,
        "sizing_endpoint": [
            {
                "replication": r["replication"],
                "endpoint_recommended": r["endpoint"]["recommended"]["size"],
                "endpoint_offered_load": r["endpoint"]["observed"]["offered_load_erlangs"],
                "endpoint_arrivals_per_hour": r["endpoint"]["observed"]["arrivals_per_hour"],
                "endpoint_mean_hold_seconds": r["endpoint"]["observed"]["mean_hold_seconds"],
                "simulator_recommended": r["run"]["recommended_size"],
                "simulator_offered_load": r["run"]["offered_load_erlangs"],
                "simulator_arrivals_per_hour": r["run"]["arrivals_per_hour"],
                "simulator_mean_hold_seconds": r["run"]["mean_hold_seconds"],
                "match": r["endpoint"]["recommended"]["size"] == r["run"]["recommended_size"],
            }
            for r in lrr["runs"]
        ],
    }
    if "random" in policies:
        out["reuse"] = {
            p: {
                k: policies[p]["accuracy"][k]
                for k in (
                    "right_visit_pct",
                    "wrong_pct",
                    "correct_pct",
                    "late_pct",
                    "tracked_calls",
                    "calls_after_lease_end",
                    "wrong_after_lease_end",
                )
            }
            for p in policies
        }
    if s.budgets:
        points = BUDGETS["overflow_vs_erlang_points"]
        out["budgets_met"] = {
            "right_visit": acc["right_visit_pct"] >= 100 * BUDGETS["right_visit_min"],
            "wrong": acc["wrong_pct"] <= 100 * BUDGETS["wrong_max"],
            "overflow_vs_erlang": abs(measured - erlang) <= points,
            "peak_hour_overflow_vs_erlang": abs(lrr["peak_hour_overflow_pct"] - round(100 * peak_b, 2)) <= points,
            "no_errors": acc["errors"] == 0,
            "refused_as_ideal_pool": lrr["refused_as_ideal_pool"],
            "calls_as_ideal_pool": lrr["calls_as_ideal_pool"],
        }
    return out


Lease = tuple[int, float, float]  # number, start, end


def ideal_pool(
    s: Scenario, visitors: list[Visitor], size: int, policy: str = "lrr", rng: random.Random | None = None
) -> tuple[set[int], dict[int, Lease]]:
    """The same visitors on an ideal pool (no DynamoDB): who is refused at the first page, and each visitor's lease.

    Holding times follow from the pages exactly as in the simulation. ``lrr`` takes the
    number free the longest, ``random`` any free number. Who is refused does not depend on
    which free number is taken, so a work-conserving allocator refuses exactly these visitors.
    """
    a, hold = renew_after(s.hold_seconds), s.hold_seconds
    free = [(0.0, j) for j in range(size)]  # (free again at, number): a heap, least recently released first
    leases: dict[int, Lease] = {}
    refused_first: set[int] = set()
    for t, i, k in sorted((t, v.index, k) for v in visitors for k, t in enumerate(v.pages)):
        if i in leases or (k > 0 and not s.retry_refused):
            continue
        if not free or free[0][0] > t:
            if k == 0:
                refused_first.add(i)
            continue
        if policy == "lrr":
            _, j = heapq.heappop(free)
        else:
            choice = (rng or random).choice([x for x in free if x[0] <= t])
            free.remove(choice)
            heapq.heapify(free)
            j = choice[1]
        leave = visitors[i].leave
        end = (t + a * math.floor((leave - t) / a - 1e-9) if leave - t > a else t) + hold
        leases[i] = (j, t, end)
        heapq.heappush(free, (end, j))
    return refused_first, leases


def ideal_calls(s: Scenario, visitors: list[Visitor], leases: dict[int, Lease]) -> dict[int, str]:
    """Each call's class on the ideal pool: what the attribution rules say given who held which number when."""
    starts: dict[int, list[float]] = {}
    for j, start, _ in leases.values():
        starts.setdefault(j, []).append(start)
    for found in starts.values():
        found.sort()
    out: dict[int, str] = {}
    for v in visitors:
        if v.call_at is None:
            continue
        c, lease = v.call_at, leases.get(v.index)
        if lease is None or lease[1] > c:
            out[v.index] = "untracked"
            continue
        j, _, end = lease
        on_j = starts[j]
        reused = bisect.bisect_right(on_j, c) > bisect.bisect_right(on_j, end)  # another lease began in (end, c]
        if c <= end:
            out[v.index] = "correct"
        elif reused:
            out[v.index] = "wrong"
        elif c - end <= s.grace_seconds:
            out[v.index] = "late"
        else:
            out[v.index] = "unattributed"
    return out


def reference(s: Scenario, size: int, days: int = 100) -> dict[str, Any]:
    """Expected figures of this behaviour on an ideal pool, from many more (simulated) days.

    Overflow where Erlang B's assumption (a refused visitor leaves) does not hold, and the
    accuracy of each reuse policy on thousands of calls: the yardstick for the runs.
    """
    warm = s.warmup_hours * 3600
    batches: list[list[int]] = []  # per day: visitors, refused at the first page, never tracked
    classes: dict[str, Counter[str]] = {p: Counter() for p in ("lrr", "random")}
    for day in range(days):
        visitors = traffic(s, 100_000 + day)
        for policy in classes:
            refused, leases = ideal_pool(s, visitors, size, policy, random.Random(f"ideal/{day}"))
            classes[policy].update(ideal_calls(s, visitors, leases).values())
        counted = [v.index for v in visitors if v.pages[0] >= warm]
        batches.append([len(counted), sum(i in refused for i in counted), sum(i not in leases for i in counted)])
    n = sum(b[0] for b in batches)
    p = sum(b[1] for b in batches) / n if n else 0.0
    accuracy = {}
    for policy, c in classes.items():
        tracked = sum(c.values()) - c["untracked"]
        accuracy[policy] = {
            "tracked_calls": tracked,
            "right_visit_pct": _pct(c["correct"] + c["late"], tracked),
            "late_pct": _pct(c["late"], tracked),
            "wrong_pct": _pct(c["wrong"], tracked),
            "unattributed_pct": _pct(c["unattributed"], tracked),
        }
    return {
        "days": days,
        "overflow_pct": _pct(sum(b[1] for b in batches), n),
        "overflow_se_points": round(100 * _batch_se([b[:2] for b in batches], p), 2),
        "never_tracked_pct": _pct(sum(b[2] for b in batches), n),
        "accuracy": accuracy,
    }


def _batch_se(batches: list[list[int]], p: float) -> float:
    """Standard error of a ratio estimate from hourly batches (overflow is correlated within an hour)."""
    k = len(batches)
    if k < 2:
        return 0.0
    mean_a = sum(a for a, _ in batches) / k
    var = sum((b - p * a) ** 2 for a, b in batches) / (k - 1)
    return math.sqrt(var / k) / mean_a


# --- tables ----------------------------------------------------------------------------------


def _acc(acc: dict[str, Any], key: str) -> str:
    return f"{acc[key]:.2f}%" if acc["tracked_calls"] else "—"


def table(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Rows for the results table of bench/README.md and README.md: (figure, measured, budget)."""
    rows: list[tuple[str, str, str]] = []
    for name, sc in result["scenarios"].items():
        acc = sc["policies"]["lrr"]["accuracy"]
        ov = sc["overflow_vs_erlang"]
        ref = sc["reference"]["accuracy"]
        budget = "budgets_met" in sc
        if acc["tracked_calls"]:
            rows.append(
                (
                    f"sizing {name}, {sc['pool_size']} numbers: calls to the right visit / a wrong one "
                    f"({acc['tracked_calls']} calls)",
                    f"{_acc(acc, 'right_visit_pct')} / {_acc(acc, 'wrong_pct')}",
                    "≥ 99% / ≤ 0.5%" if budget else "—",
                )
            )
        rows.append(
            (
                f"sizing {name}: visitors refused vs Erlang B ({ov['erlang_b_basis']})",
                f"{ov['measured_pct']:.2f}% vs {ov['erlang_b_pct']:.2f}%",
                "within 1 point" if budget else "—",
            )
        )
        if "reuse" in sc:
            rows.append(
                (
                    f"sizing {name}: wrong visit, least recently released vs random reuse "
                    f"(run; {sc['reference']['days']} more days on an ideal pool)",
                    f"{sc['reuse']['lrr']['wrong_pct']:.2f}% vs {sc['reuse']['random']['wrong_pct']:.2f}%; "
                    f"{ref['lrr']['wrong_pct']:.2f}% vs {ref['random']['wrong_pct']:.2f}%",
                    "—",
                )
            )
    return rows


def scenario_table(result: dict[str, Any]) -> str:
    """The per-scenario table (markdown): accuracy of tracked calls, overflow against theory, reuse."""
    lines = [
        "| scenario | pool | tracked calls | correct | late, right visit | wrong | unattributed "
        "| refused (±1 se) | Erlang B | ideal pool, 100 days: refused | ... wrong, LRR / random |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, sc in result["scenarios"].items():
        acc = sc["policies"]["lrr"]["accuracy"]
        ov = sc["overflow_vs_erlang"]
        ref = sc["reference"]["accuracy"]
        wrong_ref = (
            f"{ref['lrr']['wrong_pct']:.2f}% / {ref['random']['wrong_pct']:.2f}%"
            if ref["lrr"]["tracked_calls"]
            else "—"
        )
        lines.append(
            f"| {name} | {sc['pool_size']} | {acc['tracked_calls']} | {_acc(acc, 'correct_pct')} | "
            f"{_acc(acc, 'late_pct')} | {_acc(acc, 'wrong_pct')} | {_acc(acc, 'unattributed_pct')} | "
            f"{ov['measured_pct']:.2f}% ±{ov['noise_se_points']:.2f} | {ov['erlang_b_pct']:.2f}% | "
            f"{ov['reference_pct']:.2f}% | {wrong_ref} |"
        )
    return "\n".join(lines)


def _merge(result: dict[str, Any]) -> dict[str, Any]:
    """Scenarios run now replace their earlier figures; the others are kept."""
    path = common.RESULTS / "sizing.json"
    if path.exists():
        old = json.loads(path.read_text())
        result["scenarios"] = {**old.get("scenarios", {}), **result["scenarios"]}
        order = [n for n in DEFAULT_ORDER if n in result["scenarios"]]
        result["scenarios"] = {n: result["scenarios"][n] for n in order}
    return result


def _refresh(result: dict[str, Any]) -> None:
    """The per-scenario table between ``<!-- sizing:start -->`` and ``<!-- sizing:end -->`` in bench/README.md."""
    from bench import __main__ as bench_main

    bench_main._replace(
        common.ROOT / "bench" / "README.md", "<!-- sizing:start -->", "<!-- sizing:end -->", scenario_table(result)
    )
    if "sizing" in bench_main.ALL:
        bench_main._refresh_readme()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sizing", description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), help="run only this (repeatable)")
    parser.add_argument("--replications", type=int, help="simulated days (replications) per scenario")
    parser.add_argument("--jobs", type=int, default=2, help="processes (each with its own embedded DynamoDB)")
    args = parser.parse_args(argv)
    for name in args.scenario or DEFAULT_ORDER:
        s = SCENARIOS[name]
        print(f"{name}: {s.title}; pool {pool_size(s)} numbers", flush=True)
    result = run(args.scenario, replications=args.replications, jobs=args.jobs)
    result = _merge(result)
    path = common.write("sizing", result)
    print(scenario_table(result))
    for name, sc in result["scenarios"].items():
        for m in sc["sizing_endpoint"]:
            print(
                f"{name} day {m['replication']}: the sizing endpoint recommends {m['endpoint_recommended']} "
                f"(A = {m['endpoint_offered_load']}), the simulator's truth gives {m['simulator_recommended']} "
                f"(A = {m['simulator_offered_load']})"
            )
        lrr = sc["policies"]["lrr"]
        print(
            f"{name}: refused exactly the visitors an ideal pool refuses: {lrr['refused_as_ideal_pool']}; "
            f"every call attributed as on the ideal pool: {lrr['calls_as_ideal_pool']}"
        )
        if "reuse" in sc:
            r, ref = sc["reuse"], sc["reference"]
            print(
                f"{name}: wrong visit, LRR vs random reuse: {r['lrr']['wrong_pct']:.2f}% vs "
                f"{r['random']['wrong_pct']:.2f}% of {r['lrr']['tracked_calls']} calls; on an ideal pool over "
                f"{ref['days']} days: {ref['accuracy']['lrr']['wrong_pct']:.2f}% vs "
                f"{ref['accuracy']['random']['wrong_pct']:.2f}% of {ref['accuracy']['lrr']['tracked_calls']} calls"
            )
        if "budgets_met" in sc:
            print(f"{name}: budgets met: {sc['budgets_met']}")
    print(f"-> {path.relative_to(common.ROOT)} in {result['seconds']} s")
    _refresh(result)


if __name__ == "__main__":
    main(sys.argv[1:])
