"""The dashboard's setup pages (alerts, webhooks, spend, blocked callers, users, your account):
the DynamoDB requests each page makes, and the bytes of their own script.

An extension of ``bench/dashboard.py`` (its signed-in test client), kept apart so that counting
these pages does not seed the overview's 100,000 calls. Each page is fetched whole, as a browser
gets it, by a signed-in admin, with a few of everything stored (channels, web sources, alert
recipients, webhook endpoints with deliveries, six months of spend, blocked callers, users).
The account page reads nothing but the session: its count is the session's cost, and a page's
data costs its count minus that. Budget (issue 26): at most 3 requests for a page's data plus
the session; each page's own script at most 10 KB gzipped.
"""

from __future__ import annotations

import gzip
from typing import Any

from bench import common
from bench.dashboard import _signed_in

PAGES = (
    ("alerts", "/dashboard/alerts"),
    ("webhooks", "/dashboard/webhooks"),
    ("webhook", "/dashboard/webhooks/{endpoint}"),
    ("spend", "/dashboard/spend"),
    ("blocked", "/dashboard/blocked"),
    ("users", "/dashboard/users"),
    ("account", "/dashboard/account"),
)
DATA_BUDGET = 3
SCRIPT_BUDGET = 10 * 1024


def run() -> dict[str, Any]:
    with common.embedded_dynamodb("bench-dash-setup-"):
        endpoint = _seed()
        return _measure(endpoint)


def _seed() -> str:
    """A few of everything the pages show; returns a webhook endpoint's id."""
    from chalicelib import channels
    from chalicelib.core import clock
    from chalicelib.dashboard import users
    from chalicelib.reports import spend
    from chalicelib.store import alerts, config, models, webhooks

    models.create_tables()
    made = [channels.create({"name": f"Channel {i}", "forward_to": "+12025550144"}) for i in range(4)]
    months = spend.recent_months(6)
    spend.put_months([{"source": c["id"], "month": m, "amount": "1,250.00"} for c in made for m in months[-2:]])
    spend.import_spend("date,source,amount\n" + "".join(f"{m}-03,web:google,80\n" for m in months))
    now = clock.now_ms()
    for i in range(3):
        data = {"name": f"Owner {i}", "channel": "email", "email": f"owner{i}@example.com", "events": ["missed_call"]}
        alerts.create_recipient(alerts.Recipient(f"rcp_bench{i}", {**data, "created_at": now, "updated_at": now}))
        users.create_user(f"user{i}@example.com", "viewer", "a long enough password")
    config.save_blocked_callers(["+12025550100", "+1900*"], now)
    for i in range(2):
        settings = {
            "url": f"https://hooks{i}.example.com/",
            "events": ["call.completed"],
            "enabled": True,
            "created_at": now,
            "updated_at": now,
            "secrets": [{"key": "whsec_x", "until": None}],
        }
        webhooks.create_endpoint(webhooks.Endpoint(f"ep_bench{i}", settings))
        for n in range(20):
            webhooks.log_attempt(
                f"ep_bench{i}",
                now + n,
                f"msg_{n}",
                1,
                {
                    "delivery_id": f"msg_{n}",
                    "type": "call.completed",
                    "attempt": 1,
                    "at": now + n,
                    "status": 200,
                    "response": "ok",
                },
                expires_at_ms=now + 86_400_000,
            )
    return "ep_bench0"


def _measure(endpoint: str) -> dict[str, Any]:
    out: dict[str, Any] = {"pages": {}}
    with _signed_in("admin") as (client, cookie), common.counting() as counter:
        for name, path in PAGES:
            url = path.format(endpoint=endpoint)
            assert client.http.get(url, headers=cookie).status_code == 200, url  # warm: clients built once
            counter.reset()
            page = client.http.get(url, headers=cookie)
            assert page.status_code == 200, url
            out["pages"][name] = {"requests": counter.total, "by_operation": dict(counter.ops)}
        served = client.http.get("/dashboard/alerts", headers=cookie).body
        html = served.decode() if isinstance(served, bytes) else served
        script = html[html.index("/dashboard/assets/outlets.") :].split('"', 1)[0]
        body = client.http.get(script).body
        data = body if isinstance(body, bytes) else body.encode()
    session = out["pages"]["account"]["requests"]
    for page in out["pages"].values():
        page["data_requests"] = page["requests"] - session
    out["session_requests"] = session
    out["data_requests_max"] = max(p["data_requests"] for p in out["pages"].values())
    out["script"] = {"raw": len(data), "gzip": len(gzip.compress(data, compresslevel=9))}
    out["budget"] = {"data_requests": DATA_BUDGET, "script_gzip_bytes": SCRIPT_BUDGET}
    assert out["data_requests_max"] <= DATA_BUDGET, out
    assert out["script"]["gzip"] <= SCRIPT_BUDGET, out
    return out


def table(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    pages = ", ".join(f"{name} {p['data_requests']}" for name, p in r["pages"].items() if name != "account")
    return [
        (
            f"DynamoDB requests of each setup page's data (whole page minus the session's {r['session_requests']})",
            pages,
            f"≤ {DATA_BUDGET} each",
        ),
        (
            "The setup pages' own script (outlets.js), gzipped (level 9); raw",
            f"{r['script']['gzip'] / 1024:.1f} KB; {r['script']['raw'] / 1024:.1f} KB",
            "≤ 10 KB gzipped",
        ),
    ]
