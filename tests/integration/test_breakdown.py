"""Reports per campaign, keyword, ad and landing page: the same figures as the calls they count,
and a cap on distinct values per day that a flood of made-up utm values cannot pass.

Calls are written as the voice path leaves them and the reports subscriber is fed Lambda-shaped
SQS events directly (``events.delivery.handle``), as the DESIGN's bulk-test rule asks."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from chalicelib.core import clock
from chalicelib.events import delivery
from chalicelib.events.model import Event, event_id
from chalicelib.reports import aggregates
from chalicelib.store import aggregates as stored
from chalicelib.store import calls as store
from chalicelib.store.calls import CallChange
from tests.support.env import body

DAY_MS = 86_400_000
T0 = int(datetime(2026, 10, 5, 12, tzinfo=UTC).timestamp() * 1000)


def web_call(n: int, at_ms: int, source: dict[str, str], answered: bool = True) -> str:
    """A finished pool call attributed to a visit with ``source`` (what the voice path writes)."""
    sid = f"CA{n:032d}"
    attr = {
        "confidence": "active",
        "pool_id": "pl_1",
        "session_id": "s",
        "source": source,
        "channel_group": "paid search",
    }
    values = {
        "started_at": at_ms,
        "month": store.month_of(at_ms),
        "caller": f"+1415555{n % 10000:04d}",
        "kind": "pool",
        "pool_id": "pl_1",
        "channel_name": "Website",
        "status": "completed",
        "status_rank": 4,
        "answered": answered,
        "talk_time": 30 if answered else 0,
        "duration": 40,
        "attribution": attr,
        "first_time": True,
    }
    store.update(sid, CallChange(set=values))
    return sid


def feed(sids: list[str], kind: str = "call.completed") -> None:
    """The reports subscriber's SQS messages, one record each, as Lambda hands them over."""
    for sid in sids:
        event = Event(id=event_id(sid, kind), type=kind, call_sid=sid, occurred_at=clock.now_ms(), call={"sid": sid})
        message = {"subscriber": "reports", "event": event.to_json()}
        delivery.handle(
            {
                "Records": [
                    {"body": json.dumps(message), "attributes": {"ApproximateReceiveCount": "1"}, "receiptHandle": "r"}
                ]
            }
        )


def test_a_campaign_breakdown_equals_the_calls_filtered_the_same_way(api):
    clock.set_source(clock.FakeClock(T0 / 1000))
    spring = {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "spring", "utm_term": "boiler repair"}
    winter = {
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "winter",
        "landing_page": "https://ex.com/b?x=1",
    }
    sids = [web_call(1, T0, spring), web_call(2, T0 + 60_000, spring, answered=False), web_call(3, T0 + DAY_MS, winter)]
    sids.append(web_call(4, T0 + DAY_MS, {"utm_source": "google"}))
    feed(sids)
    r = api.call("GET", "/v1/reports/breakdown?source=web:google&by=campaign&from=2026-10-01&to=2026-10-31")
    assert r.status_code == 200, r.body
    rows = {row["value"]: row for row in body(r)["rows"]}
    assert [row["value"] for row in body(r)["rows"]] == ["spring", "winter", "(not set)"]
    assert (rows["spring"]["calls"], rows["spring"]["answered"], rows["spring"]["missed"]) == (2, 1, 1)
    assert rows["spring"]["cost_per_call"] is None and body(r)["label"] == "Google"
    for value, row in rows.items():
        q = f"/v1/calls?source=web:google&campaign={value}&from=2026-10-01&to=2026-10-31T23:59:59Z&limit=200"
        got = body(api.call("GET", q))["calls"]
        assert len(got) == row["calls"] and sum(c["result"] == "answered" for c in got) == row["answered"]
    pages = body(
        api.call("GET", "/v1/reports/breakdown?source=web:google&by=landing_page&from=2026-10-01&to=2026-10-31")
    )
    assert {row["value"] for row in pages["rows"]} == {"ex.com/b", "(not set)"}
    keyword = body(api.call("GET", "/v1/calls?keyword=boiler%20repair&from=2026-10-01&to=2026-10-31"))["calls"]
    assert sorted(c["sid"] for c in keyword) == sids[:2]
    for bad in ("by=colour&source=web:google", "by=campaign", "by=campaign&source=ch_x"):
        assert api.call("GET", "/v1/reports/breakdown?" + bad).status_code == 400


def test_a_flood_of_made_up_utm_values_stays_within_the_cap(api, monkeypatch):
    """Distinct hostile campaign values in one day, against DynamoDB's own condition: the day keeps
    DIMENSION_CAP values (4 here: moto takes ~0.8 s a transaction, so the 10,000-value flood runs
    against the same rule in tests/unit/test_breakdown_cap.py) and counts the rest as "(other)"."""
    monkeypatch.setattr(aggregates, "DIMENSION_CAP", 4)
    flood = 10
    clock.set_source(clock.FakeClock(T0 / 1000))
    started = time.monotonic()
    sids = []
    for n in range(flood):
        hostile = {"utm_source": "google", "utm_campaign": f"=cmd|' /C calc'!A{n}<script>{n}</script>"}
        sids.append(web_call(n + 1, T0 + n, hostile))
    feed(sids)
    kept = stored.dimension_values("last", "campaign", "web:google", "2026-10-05")
    assert len(kept) == aggregates.DIMENSION_CAP
    rows = body(api.call("GET", "/v1/reports/breakdown?source=web:google&by=campaign&from=2026-10-05&to=2026-10-05"))
    assert len(rows["rows"]) == aggregates.DIMENSION_CAP + 1
    other = next(r for r in rows["rows"] if r["value"] == "(other)")
    assert other["calls"] == flood - aggregates.DIMENSION_CAP and rows["total"]["calls"] == flood
    assert time.monotonic() - started < 30
