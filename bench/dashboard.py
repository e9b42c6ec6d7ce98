"""The dashboard's budgets: bytes the overview sends to the browser, DynamoDB requests its pages make.

* The overview's JS + CSS, gzipped (level 9, as a CDN or API Gateway compresses a static file
  once): every script and stylesheet the rendered overview page links, fetched through the
  app's own asset route. Budget: 60 KB.
* The 90-day overview's DynamoDB requests at 1,000 and at 100,000 calls, each size seeded on a
  fresh embedded DynamoDB exactly as ``bench/reports.py`` seeds (calls plus the aggregates the
  live subscriber would have left). Budget: equal.
* The "Today" overview (its chart by hour, from the hour buckets: one query more) at both sizes.
  Budget: equal.
* The unfiltered call log's first page (the default 30 days) at both sizes. Budget: at most 3.
  The filter form's choices (channels, pools, web sources) are kept a minute per process; a
  cold process reads them once more (three requests), shown beside it.
"""

from __future__ import annotations

import gzip
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
                if size == SIZES[0]:
                    out["assets"] = _assets()
        finally:
            report_bench._forget()
    small, large = (out["sizes"][str(s)] for s in SIZES)
    out["overview_requests_equal"] = small["overview_requests"] == large["overview_requests"]
    out["today_overview_requests_equal"] = small["today_overview_requests"] == large["today_overview_requests"]
    out["log_first_page_max"] = max(small["log_page"], large["log_page"])
    out["setup_pages_max"] = max(out["sizes"][str(s)][p] for s in SIZES for p, _ in SETUP_PAGES)
    out["setup_pages_within_budget"] = out["setup_pages_max"] <= SETUP_BUDGET
    out["setup_assets"] = _setup_assets()
    out["setup_script_within_budget"] = out["setup_assets"]["setup.js"] <= SETUP_SCRIPT_BUDGET
    out["budget"] = {
        "assets_gzip_bytes": ASSET_BUDGET,
        "overview": "equal requests at both sizes",
        "log_first_page": "<= 3 requests",
        "setup_pages": f"<= {SETUP_BUDGET} requests (3 for the data + the session)",
    }
    return out


def _measure(size: int) -> dict[str, Any]:
    from chalicelib import business
    from chalicelib.core import clock
    from chalicelib.dashboard import logpage, overview

    end_ms, build_seconds = report_bench.seed(size)
    clock.set_source(lambda: end_ms / 1000)
    try:
        with common.counting() as counter:
            overview.overview({"range": "90d"})  # warm: connections and clients are built once per process
            business.profile()  # a warm process holds the profile (a slow seed can outlast its minute)
            counter.reset()
            t0 = time.perf_counter()
            page = overview.overview({"range": "90d"})
            seconds = time.perf_counter() - t0
            over_requests, over_ops = counter.total, dict(counter.ops)
            business.profile()
            counter.reset()
            today = overview.overview({"range": "today"})  # the "Today" chart by hour: one query more
            today_requests = counter.total

            logpage.clear_cache()
            business.clear_cache()  # a cold process: the business profile is read too (then kept a minute)
            counter.reset()
            logpage.log({})
            logpage.source_choices()
            cold = counter.total
            counter.reset()
            log = logpage.log({})
            logpage.source_choices()
            warm, warm_ops = counter.total, dict(counter.ops)
        pages = _pages()
    finally:
        clock.set_source(None)
    return {
        "calls": size,
        "calls_in_overview": page["total"]["calls"],
        "overview_requests": over_requests,
        "overview_requests_by_operation": over_ops,
        "overview_seconds": round(seconds, 4),
        "today_overview_requests": today_requests,
        "today_hours_charted": len(today["chart"]["dates"]),
        "log_first_page_requests": warm,
        "log_first_page_requests_by_operation": warm_ops,
        "log_first_page_requests_cold_process": cold,
        "log_rows": len(log["rows"]),
        **pages,
        "build_seconds": round(build_seconds, 1),
    }


@contextmanager
def _signed_in(role: str = "viewer") -> Iterator[tuple[Any, dict[str, str]]]:
    """Chalice's test client over the app, in process, and a signed-in ``role``'s cookie."""
    import json
    import tempfile
    from pathlib import Path

    from chalice.test import Client

    from app import app
    from chalicelib.dashboard import users, websessions

    email = f"bench-{time.monotonic_ns()}@example.com"
    users.create_user(email, role, "a long enough password for the bench")
    token = websessions.start(email, role)
    project = Path(tempfile.mkdtemp(prefix="chalice-bench-"))
    (project / ".chalice").mkdir()
    (project / ".chalice" / "config.json").write_text(
        json.dumps({"version": "2.0", "app_name": "calltracking", "stages": {"bench": {}}})
    )
    with Client(app, stage_name="bench", project_dir=str(project)) as client:
        yield client, {"Cookie": f"ct_session={token}"}


def _setup_lines() -> tuple[str, str]:
    """A channel and a website pool with a number each, made through the domain (the setup pages' data)."""
    from chalicelib import channels, pools
    from chalicelib.core import clock
    from chalicelib.store import lines

    ch = channels.create({"name": "Bench radio", "forward_to": "+12025550144"})
    pool = pools.create(
        {
            "name": "Bench site",
            "allowed_origins": ["https://www.example.com"],
            "original_number": "+12025550199",
            "forward_to": "+12025550144",
        }
    )
    for number, kind, line in (("+12015550100", "channel", ch["id"]), ("+12015550101", "pool", pool["id"])):
        ids = {"channel_id": line} if kind == "channel" else {"pool_id": line}
        item = lines.Number(number, provider="local", provider_sid="PN" + number[1:], status="active", kind=kind, **ids)
        lines.create_number(lines.Number(**{**item.__dict__, "created_at": clock.now_ms()}))
    return ch["id"], pool["id"]


# The setup pages (numbers, channels, pools, a channel, a pool, the first-run checklist): each at most
# 3 DynamoDB requests for its data plus the session's read, with the channels' and pools' names kept a
# minute per process (a cold process reads them once more: two scans, shown beside; the business
# profile it lacks too comes in the session's read, one BatchGetItem).
SETUP_BUDGET = 4
SETUP_PAGES = (
    ("numbers_page", "numbers"),
    ("channels_page", "channels"),
    ("pools_page", "website pools"),
    ("channel_page", "channel's"),
    ("pool_page", "website pool's"),
    ("start_page", "first-run checklist"),
)
SETUP_SCRIPT_BUDGET = 10 * 1024


def _pages() -> dict[str, Any]:
    """DynamoDB requests of whole pages as a browser gets them (the session's read included)."""
    from chalicelib import business
    from chalicelib.dashboard import logpage, setup

    out: dict[str, Any] = {}
    channel_id, pool_id = _setup_lines()
    paths = [
        ("overview_page", "/dashboard?range=90d"),
        ("log_page", "/dashboard/calls"),
        ("numbers_page", "/dashboard/numbers"),
        ("channels_page", "/dashboard/channels"),
        ("pools_page", "/dashboard/pools"),
        ("channel_page", f"/dashboard/channels/{channel_id}"),
        ("pool_page", f"/dashboard/pools/{pool_id}"),
        ("start_page", "/dashboard/start"),
    ]
    with _signed_in() as (client, cookie), common.counting() as counter:
        for name, path in paths:
            logpage.clear_cache()
            setup.forget_lines()
            business.clear_cache()
            counter.reset()
            assert client.http.get(path, headers=cookie).status_code == 200
            out[f"{name}_cold_process"] = counter.total
            counter.reset()
            assert client.http.get(path, headers=cookie).status_code == 200
            out[name] = counter.total
            out[f"{name}_by_operation"] = dict(counter.ops)
    return out


def _assets() -> dict[str, Any]:
    """Every script and stylesheet the rendered overview links, as the app serves them, gzipped
    at level 9 (the page rendered for a signed-in viewer through Chalice's test client)."""
    files = {}
    with _signed_in() as (client, cookie):
        page = client.http.get("/dashboard?range=90d", headers=cookie)
        assert page.status_code == 200, page.body
        html = page.body.decode()
        urls = re.findall(r'<script[^>]*\ssrc="([^"]+)"', html)
        urls += re.findall(r'<link[^>]*\srel="stylesheet"[^>]*\shref="([^"]+)"', html)
        for url in urls:
            path = url[url.index("/dashboard/") :]
            served = client.http.get(path)
            assert served.status_code == 200, url
            data = served.body if isinstance(served.body, bytes) else served.body.encode()
            files[url.rsplit("/", 1)[-1]] = {"raw": len(data), "gzip": len(gzip.compress(data, compresslevel=9))}
    total = sum(f["gzip"] for f in files.values())
    return {"files": files, "gzip_bytes": total, "raw_bytes": sum(f["raw"] for f in files.values())}


def _setup_assets() -> dict[str, int]:
    """The setup pages' own files, gzipped at level 9 (what they add to the shell's stylesheet)."""
    from chalicelib.dashboard import web

    return {
        name: len(gzip.compress((web.STATIC / name).read_bytes(), compresslevel=9))
        for name in ("setup.js", "setup.css")
    }


def table(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    small, large = (r["sizes"][str(s)] for s in SIZES)
    a = r["assets"]

    def pair(key: str) -> str:
        return f"{small[key]} / {large[key]}"

    return [
        (
            "Overview's JS + CSS as linked, gzipped (level 9); raw",
            f"{a['gzip_bytes'] / 1024:.1f} KB; {a['raw_bytes'] / 1024:.1f} KB",
            "≤ 60 KB gzipped",
        ),
        ("DynamoDB requests of the 90-day overview's data, 1,000 / 100,000 calls", pair("overview_requests"), "equal"),
        (
            'DynamoDB requests of the "Today" overview\'s data (its chart by hour), 1,000 / 100,000 calls',
            pair("today_overview_requests"),
            "equal",
        ),
        (
            "DynamoDB requests of the whole 90-day overview page (session read included), 1,000 / 100,000 calls",
            pair("overview_page"),
            "equal",
        ),
        (
            "DynamoDB requests of the call log's unfiltered first page: its calls; the whole page with the session"
            " read; a cold process (the filter's choices read once a minute), 1,000 / 100,000 calls",
            f"{pair('log_first_page_requests')}; {pair('log_page')}; {pair('log_page_cold_process')}",
            "≤ 3 (calls and session)",
        ),
        *[
            (
                f"DynamoDB requests of the whole {label} page (session read included); a cold process (channel"
                " and pool names read once a minute), 1,000 / 100,000 calls",
                f"{pair(key)}; {pair(key + '_cold_process')}",
                f"≤ {SETUP_BUDGET} (3 for its data and the session)",
            )
            for key, label in SETUP_PAGES
        ],
        (
            "The setup pages' own script (setup.js) and stylesheet (setup.css), gzipped (level 9)",
            f"{r['setup_assets']['setup.js']} B; {r['setup_assets']['setup.css']} B",
            "script ≤ 10 KB gzipped",
        ),
    ]
