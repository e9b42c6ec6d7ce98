"""GET /v1/calls: date ranges across months, filters, cursor pagination, and bad queries."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from chalicelib.core import clock
from tests.support.env import body


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.fixture
def history(api):
    """Two channels; calls spread over October and November 2026, some answered."""
    fake = clock.FakeClock(at("2026-10-20T10:00:00"))
    clock.set_source(fake)
    chans = {}
    for name in ("Google Ads", "Radio FM 101"):
        ch = body(api.call("POST", "/v1/channels", {"name": name, "forward_to": "+12025550144"}))
        chans[name] = (ch["id"], body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"])
    sids = []
    for i in range(12):
        fake.advance(3 * 86_400)  # every three days: 10/23 .. 11/25
        name = "Google Ads" if i % 3 else "Radio FM 101"
        sid = f"CA{i:032d}"
        params = {"CallSid": sid, "From": f"+1415555{i:04d}", "To": chans[name][1]}
        api.twilio("/twilio/voice", params)
        status = "completed" if i % 2 == 0 else "no-answer"
        api.twilio("/twilio/dial-status", {**params, "DialCallStatus": status, "DialCallDuration": "30"})
        sids.append(sid)
    return chans, sids


def q(api, query):
    r = api.call("GET", "/v1/calls?" + query)
    assert r.status_code == 200, r.body
    return body(r)


def test_range_is_newest_first_across_months(api, history):
    _, sids = history
    got = q(api, "from=2026-10-01&to=2026-12-01&limit=200")
    assert [c["sid"] for c in got["calls"]] == list(reversed(sids))
    assert got["next_cursor"] is None
    nov = q(api, "from=2026-11-01&to=2026-11-30T23:59:59Z")["calls"]
    assert all(c["started_at"].startswith("2026-11") for c in nov) and len(nov) == 9


def test_filters(api, history):
    chans, _ = history
    radio = q(api, f"from=2026-10-01&to=2026-12-01&channel_id={chans['Radio FM 101'][0]}")["calls"]
    assert len(radio) == 4 and {c["channel_name"] for c in radio} == {"Radio FM 101"}
    answered = q(api, "from=2026-10-01&to=2026-12-01&answered=true")["calls"]
    missed = q(api, "from=2026-10-01&to=2026-12-01&answered=false")["calls"]
    assert len(answered) == 6 and len(missed) == 6
    assert all(c["answered"] for c in answered) and not any(c["answered"] for c in missed)


@pytest.mark.parametrize("limit", [1, 5, 7])
def test_cursor_pages_cover_everything_once(api, history, limit):
    _, sids = history
    seen, cursor = [], None
    for _ in range(30):
        page = q(api, f"from=2026-10-01&to=2026-12-01&limit={limit}" + (f"&cursor={cursor}" if cursor else ""))
        assert len(page["calls"]) <= limit
        seen += [c["sid"] for c in page["calls"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(sids))


def forged_cursor(data) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("from=2026-11-10&to=2026-11-01", "after"),
        ("from=2020-01-01&to=2026-11-01", "longer"),
        ("from=yesterday", "ISO 8601"),
        ("limit=0", "limit"),
        ("limit=lots", "limit"),
        ("answered=maybe", "answered"),
        ("cursor=%%%", "cursor"),
        ("cursor=" + forged_cursor({"m": "2026-11", "k": {"call_sid": {"S": "x"}, "evil": {"S": "1"}}}), "cursor"),
        ("cursor=" + forged_cursor({"m": "1999-01", "k": {}}), "cursor"),
        ("cursor=" + forged_cursor([1, 2]), "cursor"),
    ],
)
def test_bad_queries_are_400(api, query, words):
    r = api.call("GET", "/v1/calls?" + query)
    assert r.status_code == 400, r.body
    assert words in body(r)["error"]["message"]


def test_unknown_call_is_404(api):
    assert api.call("GET", "/v1/calls/CA404").status_code == 404
    assert api.call("GET", "/v1/calls", key=None).status_code == 401
