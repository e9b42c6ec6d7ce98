"""Report cost does not grow with calls: a 90-day channel report over 1,000 and 100,000 calls.

Budget (issue 6): the same number of DynamoDB requests at both sizes. Calls are built as
finished call items with the same contribution the live code computes
(``aggregates.contribution``), written with batch writes together with the aggregates they add
up to; then ``figures.channels_report`` runs once per size against a fresh embedded
DynamoDB, with its requests counted (botocore event hooks) and timed. Time is stated as the
ratio of the large report to the small one.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from decimal import Decimal
from typing import Any

from bench import common

SIZES = (1_000, 100_000)
DAYS = 120
CHANNELS = ("Google Ads", "Radio FM 101", "Billboard A4")
WEB_SOURCES = ("google", "facebook", "newsletter")
CAMPAIGNS, KEYWORDS = 30, 45  # distinct values (within a day's cap of 50 per dimension and source)


def run() -> dict[str, Any]:
    out: dict[str, Any] = {"sizes": {}}
    for size in SIZES:
        try:
            with common.embedded_dynamodb(f"bench-reports-{size}-"):
                out["sizes"][str(size)] = _measure(size)
        finally:
            _forget()
    small, large = (out["sizes"][str(s)] for s in SIZES)
    out["request_counts_equal"] = small["requests"] == large["requests"]
    out["breakdown_request_counts_equal"] = all(
        small["breakdown"][by]["requests"] == large["breakdown"][by]["requests"] for by in small["breakdown"]
    )
    out["large_to_small_time_ratio"] = round(large["seconds"] / small["seconds"], 2)
    out["budget"] = "the same request count at both sizes"
    return out


def _forget() -> None:
    from chalicelib.core import settings
    from chalicelib.store import connections

    settings.get_settings.cache_clear()
    connections.reset()


def _measure(size: int) -> dict[str, Any]:
    from chalicelib.core import clock

    end_ms, build_seconds = seed(size)
    clock.set_source(lambda: end_ms / 1000)
    return _report(size, build_seconds)


def seed(size: int) -> tuple[int, float]:
    """``size`` finished calls over ``DAYS`` days before a fixed end, with the aggregates they add
    up to (as the live subscriber would have left them), in the current settings' tables.
    Returns the end (epoch ms) and the seconds it took. bench/dashboard.py seeds with it too."""
    from chalicelib.reports import aggregates
    from chalicelib.store import keys, models
    from chalicelib.store.models import CallModel, ChannelModel, CounterModel
    from chalicelib.store.ops import dynamo_number

    models.create_tables()  # this size's tables, on this size's endpoint (settings are read per request)
    rnd = random.Random(size)
    end_ms = 1_790_000_000_000
    channel_ids = []
    for name in CHANNELS:
        ch = ChannelModel(
            f"ch_{abs(hash(name)) % 10**12:012d}", name=name, forward_to="+12025550144", created_at=0, updated_at=0
        )
        ch.save()
        channel_ids.append(ch.channel_id)
    buckets: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {"callers": set()})
    sources: set[str] = set()
    t0 = time.perf_counter()
    with CallModel.batch_write() as batch:
        for i in range(size):
            c = _call(rnd, i, end_ms, channel_ids)
            for key, vec in aggregates.contribution(c).items():
                pk, sk = key.split("|", 1)
                b = buckets[(pk, sk)]
                for field in aggregates.NUMBERS:
                    if field in vec:
                        b[field] = b.get(field, Decimal(0)) + Decimal(str(vec[field]))
                if "caller" in vec:
                    b["callers"].add(vec["caller"])
                if keys.is_source_bucket(key):
                    sources.add(pk.split("#", 2)[2])
            batch.save(c)
    with CounterModel.batch_write() as batch:
        for (pk, sk), b in buckets.items():
            fields = {k: dynamo_number(val) for k, val in b.items() if k != "callers"}
            batch.save(CounterModel(pk, sk, callers=b["callers"] or None, **fields))
        batch.save(CounterModel(*keys.REPORT_SOURCES, keys=sources))
    return end_ms, time.perf_counter() - t0


def _report(size: int, build_seconds: float) -> dict[str, Any]:
    from chalicelib.core import clock
    from chalicelib.reports import figures

    query = {"from": "2026-06-24", "to": "2026-09-21", "model": "last_touch"}  # 90 days
    with common.counting() as counter:
        figures.channels_report(query)  # warm: connections and clients are built once per process
        counter.reset()
        t0 = time.perf_counter()
        report = figures.channels_report(query)
        seconds = time.perf_counter() - t0
        counter_total, ops = counter.total, dict(counter.ops)
        breakdown: dict[str, Any] = {}
        for by in ("campaign", "keyword"):
            q = {**query, "source": "web:google", "by": by}
            figures.breakdown_report(q)  # warm
            counter.reset()
            t0 = time.perf_counter()
            got = figures.breakdown_report(q)
            breakdown[by] = {
                "requests": counter.total,
                "seconds": round(time.perf_counter() - t0, 4),
                "rows": len(got["rows"]),
                "calls": got["total"]["calls"],
            }
    clock.set_source(None)
    return {
        "calls": size,
        "calls_in_range": report["total"]["calls"],
        "requests": counter_total,
        "requests_by_operation": ops,
        "seconds": round(seconds, 4),
        "build_seconds": round(build_seconds, 1),
        "rows": len(report["rows"]),
        "breakdown": breakdown,
    }


def _call(rnd: random.Random, i: int, end_ms: int, channel_ids: list[str]) -> Any:
    from chalicelib.store.models import CallModel

    started = end_ms - rnd.randrange(DAYS * 86_400_000)
    caller = f"+1415{rnd.randrange(10**7):07d}"
    if rnd.random() < 0.5:
        cid = rnd.choice(channel_ids)
        attr: dict[str, Any] = {"confidence": "static", "channel_id": cid}
        kind = "channel"
    else:
        visit = {
            "utm_source": rnd.choice(WEB_SOURCES),
            "utm_campaign": f"campaign-{rnd.randrange(CAMPAIGNS)}",
            "utm_term": f"keyword {rnd.randrange(KEYWORDS)}",
            "landing_page": f"https://example.com/page-{rnd.randrange(8)}",
        }
        attr = {"confidence": "active", "pool_id": "pl_bench", "source": visit}
        kind = "pool"
    answered = rnd.random() < 0.7
    talk = rnd.randrange(10, 600) if answered else 0
    return CallModel(
        f"CA{i:032d}",
        month=time.strftime("%Y-%m", time.gmtime(started / 1000)),
        started_at=started,
        caller=caller,
        called="+12015550100",
        kind=kind,
        attribution=attr,
        status="completed",
        status_rank=4,
        duration=talk + 12,
        answered=answered,
        talk_time=talk,
        first_time=rnd.random() < 0.6,
        outcome=rnd.choice([None, None, "lead", "sale"]),
        revenue=rnd.choice([0, 0, 150, 900]),
    )


def table(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    small, large = (r["sizes"][str(s)] for s in SIZES)
    return [
        (
            "DynamoDB requests of a 90-day channel report, 1,000 / 100,000 calls",
            f"{small['requests']} / {large['requests']}",
            "equal",
        ),
        ("Time of that report, 100,000 calls ÷ 1,000 calls", f"{r['large_to_small_time_ratio']:.2f}", "flat"),
        *(
            (
                f"DynamoDB requests of a 90-day breakdown by {by} (one web source), 1,000 / 100,000 calls",
                f"{small['breakdown'][by]['requests']} / {large['breakdown'][by]['requests']}",
                "equal",
            )
            for by in small.get("breakdown", {})
        ),
    ]
