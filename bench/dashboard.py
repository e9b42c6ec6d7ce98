"""The dashboard's budgets: bytes the overview sends to the browser, DynamoDB requests its pages make.

* The overview's JS + CSS, gzipped (level 9, as a CDN or API Gateway compresses a static file
  once): every script and stylesheet the rendered overview page links, fetched through the
  app's own asset route. Budget: 60 KB.
* The 90-day overview's DynamoDB requests at 1,000 and at 100,000 calls, each size seeded on a
  fresh embedded DynamoDB exactly as ``bench/reports.py`` seeds (calls plus the aggregates the
  live subscriber would have left). Budget: equal.
* The unfiltered call log's first page (the default 30 days) at both sizes. Budget: at most 3.
  The filter form's choices (channels, pools, web sources) are kept a minute per process; a
  cold process reads them once more (three requests), shown beside it.
"""

from __future__ import annotations

import gzip
import re
import time
from typing import Any

from bench import common
from bench import reports as report_bench

SIZES = report_bench.SIZES
ASSET_BUDGET = 60 * 1024


def run() -> dict[str, Any]:
    out: dict[str, Any] = {"sizes": {}}
    for size in SIZES:
        try:
            with common.embedded_dynamodb(f"bench-dash-{size}-"):
                out["sizes"][str(size)] = _measure(size)
        finally:
            report_bench._forget()
    out["assets"] = _assets()
    small, large = (out["sizes"][str(s)] for s in SIZES)
    out["overview_requests_equal"] = small["overview_requests"] == large["overview_requests"]
    out["log_first_page_max"] = max(small["log_first_page_requests"], large["log_first_page_requests"])
    out["budget"] = {
        "assets_gzip_bytes": ASSET_BUDGET,
        "overview": "equal requests at both sizes",
        "log_first_page": "<= 3 requests",
    }
    return out


def _measure(size: int) -> dict[str, Any]:
    from chalicelib import clock
    from chalicelib.dashboard import calllog, overview

    end_ms, build_seconds = report_bench.seed(size)
    clock.set_source(lambda: end_ms / 1000)
    try:
        with common.counting() as counter:
            overview.overview({"range": "90d"})  # warm: connections and clients are built once per process
            counter.reset()
            t0 = time.perf_counter()
            page = overview.overview({"range": "90d"})
            seconds = time.perf_counter() - t0
            over_requests, over_ops = counter.total, dict(counter.ops)

            calllog.clear_cache()
            counter.reset()
            calllog.log({})
            calllog.source_choices()
            cold = counter.total
            counter.reset()
            log = calllog.log({})
            calllog.source_choices()
            warm, warm_ops = counter.total, dict(counter.ops)
    finally:
        clock.set_source(None)
    return {
        "calls": size,
        "calls_in_overview": page["total"]["calls"],
        "overview_requests": over_requests,
        "overview_requests_by_operation": over_ops,
        "overview_seconds": round(seconds, 4),
        "log_first_page_requests": warm,
        "log_first_page_requests_by_operation": warm_ops,
        "log_first_page_requests_cold_process": cold,
        "log_rows": len(log["rows"]),
        "build_seconds": round(build_seconds, 1),
    }


def _assets() -> dict[str, Any]:
    """Every script and stylesheet the rendered overview links, as served, gzipped at level 9."""
    from tests.support import dashboard as dash

    html, fetch = dash.rendered_page("/dashboard")
    links = re.findall(r'<script[^>]+src="([^"]+)"', html) + re.findall(
        r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"|<link[^>]+href="([^"]+)"[^>]+rel="stylesheet"', html
    )
    urls: list[str] = []
    for link in links:
        for url in link if isinstance(link, tuple) else (link,):
            if url and url not in urls:
                urls.append(url)
    files = {}
    for url in urls:
        data = fetch(url)
        files[url.rsplit("/", 1)[-1]] = {"raw": len(data), "gzip": len(gzip.compress(data, compresslevel=9))}
    total = sum(f["gzip"] for f in files.values())
    return {"files": files, "gzip_bytes": total, "raw_bytes": sum(f["raw"] for f in files.values())}


def table(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    small, large = (r["sizes"][str(s)] for s in SIZES)
    a = r["assets"]
    return [
        (
            "Overview's JS + CSS as linked, gzipped (level 9); raw",
            f"{a['gzip_bytes'] / 1024:.1f} KB; {a['raw_bytes'] / 1024:.1f} KB",
            "≤ 60 KB gzipped",
        ),
        (
            "DynamoDB requests of the 90-day overview, 1,000 / 100,000 calls",
            f"{small['overview_requests']} / {large['overview_requests']}",
            "equal",
        ),
        (
            "DynamoDB requests of the call log's unfiltered first page, 1,000 / 100,000 calls (cold process)",
            f"{small['log_first_page_requests']} / {large['log_first_page_requests']}"
            f" ({small['log_first_page_requests_cold_process']} / {large['log_first_page_requests_cold_process']})",
            "≤ 3",
        ),
    ]
