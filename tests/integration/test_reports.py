"""Reports: aggregates that match the calls, first/last touch, outcomes, spend, ROI, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from chalicelib.core import clock
from tests.support.env import body

DAY = 86_400


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


class Business:
    def __init__(self, api, fake):
        self.api, self.fake, self.n = api, fake, 0
        self.lines = {}
        for name in ("Google Ads", "Radio FM 101"):
            ch = body(api.call("POST", "/v1/channels", {"name": name, "forward_to": "+12025550144"}))
            self.lines[name] = (ch["id"], body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"])

    def call(self, line, caller, result="answered", talk=60, duration=None):
        self.n += 1
        sid = f"CA{self.n:032d}"
        base = {"CallSid": sid, "From": caller, "To": self.lines[line][1]}
        assert self.api.twilio("/twilio/voice", base).status_code == 200
        if result == "answered":
            self.api.twilio(
                "/twilio/dial-status?step=0", {**base, "DialCallStatus": "completed", "DialCallDuration": str(talk)}
            )
        else:
            self.api.twilio("/twilio/dial-status?step=0", {**base, "DialCallStatus": "no-answer"})
        total = duration if duration is not None else (talk + 10 if result == "answered" else 20)
        done = {**base, "CallStatus": "completed", "CallDuration": str(total)}
        assert self.api.twilio("/twilio/call-status", done).status_code == 200
        return sid


@pytest.fixture
def biz(api):
    fake = clock.FakeClock(at("2026-10-01T12:00:00"))
    clock.set_source(fake)
    return Business(api, fake)


def report(api, **q):
    qs = "&".join(f"{k}={v}" for k, v in q.items())
    r = api.call("GET", "/v1/reports/channels?" + qs)
    assert r.status_code == 200, r.body
    return body(r)


def by_label(rep):
    return {row["label"]: row for row in rep["rows"]}


def test_hand_checked_example(api, biz):
    google_id = biz.lines["Google Ads"][0]
    radio_id = biz.lines["Radio FM 101"][0]
    a = biz.call("Radio FM 101", "+14155550001", talk=100, duration=112)  # Ann's first call: radio
    biz.fake.advance(DAY)
    biz.call("Google Ads", "+14155550001", talk=50, duration=56)  # Ann again, via Google
    b = biz.call("Google Ads", "+14155550002", result="missed")  # Bob, missed
    c = biz.call("Google Ads", "+14155550003", talk=30, duration=40)  # Cat
    api.call("PATCH", f"/v1/calls/{a}", {"outcome": "sale", "revenue": 900})
    api.call("PATCH", f"/v1/calls/{c}", {"outcome": "lead", "note": "wants a quote", "tags": ["boiler"]})
    api.call("PATCH", f"/v1/calls/{b}", {"outcome": "sale", "revenue": 300})
    api.call("PUT", "/v1/spend", {"source": google_id, "date": "2026-10-02", "amount": 200})
    api.call("PUT", "/v1/spend", {"source": radio_id, "date": "2026-10-01", "amount": 450.50})

    last = by_label(report(api, **{"from": "2026-10-01", "to": "2026-10-31"}))
    g, r = last["Google Ads"], last["Radio FM 101"]
    assert (g["calls"], g["answered"], g["missed"], g["voicemail"]) == (3, 2, 1, 0)
    assert (g["unique_callers"], g["first_time_callers"]) == (3, 2)  # Ann is a repeat caller here
    assert g["avg_talk_time"] == 40.0 and g["avg_time_to_answer"] == 8.0  # (50+30)/2; (6+10)/2
    assert g["missed_rate"] == 0.3333 and g["spend"] == 200 and g["cost_per_call"] == 66.67
    assert g["cost_per_first_time_caller"] == 100.0
    assert (g["leads"], g["sales"], g["revenue"]) == (1, 1, 300) and g["roi"] == 0.5  # (300-200)/200
    assert (r["calls"], r["first_time_callers"], r["sales"], r["revenue"]) == (1, 1, 1, 900)
    assert r["roi"] == round((900 - 450.5) / 450.5, 4)

    first = by_label(report(api, **{"from": "2026-10-01", "to": "2026-10-31", "model": "first_touch"}))
    assert first["Radio FM 101"]["calls"] == 2 and first["Google Ads"]["calls"] == 2  # Ann's 2nd call goes to radio
    assert first["Radio FM 101"]["revenue"] == 900


def test_totals_equal_the_calls_of_a_seeded_month(api, biz):
    import random

    rnd = random.Random(7)
    for day in range(30):
        for _ in range(rnd.randint(0, 3)):
            line = rnd.choice(["Google Ads", "Radio FM 101"])
            result = rnd.choice(["answered", "answered", "missed"])
            biz.call(line, f"+1415555{rnd.randint(0, 20):04d}", result=result, talk=rnd.randint(5, 300))
            biz.fake.advance(rnd.randint(60, 3600))
        biz.fake.advance(DAY)
    start, end = "2026-10-05", "2026-10-25"
    listed = body(api.call("GET", f"/v1/calls?from={start}&to={end}T23:59:59.999Z&limit=200"))["calls"]
    total = report(api, **{"from": start, "to": end})["total"]
    assert total["calls"] == len(listed) > 10
    assert total["answered"] == sum(1 for c in listed if c["result"] == "answered")
    assert total["missed"] == sum(1 for c in listed if c["result"] == "missed")
    assert total["unique_callers"] == len({c["caller"] for c in listed})
    daily = body(api.call("GET", f"/v1/reports/daily?from={start}&to={end}"))["days"]
    assert len(daily) == 21 and sum(d["calls"] for d in daily) == len(listed)


def test_replays_and_repeated_outcomes_count_once(api, biz):
    sid = biz.call("Google Ads", "+14155550001")
    number = biz.lines["Google Ads"][1]
    for _ in range(3):
        api.twilio(
            "/twilio/call-status",
            {"CallSid": sid, "From": "+14155550001", "To": number, "CallStatus": "completed", "CallDuration": "70"},
        )
        api.call("PATCH", f"/v1/calls/{sid}", {"outcome": "sale", "revenue": "120.50"})
    row = by_label(report(api, **{"from": "2026-10-01", "to": "2026-10-01"}))["Google Ads"]
    assert (row["calls"], row["sales"], row["revenue"]) == (1, 1, 120.5)
    api.call("PATCH", f"/v1/calls/{sid}", {"outcome": "lead", "revenue": 0})
    row = by_label(report(api, **{"from": "2026-10-01", "to": "2026-10-01"}))["Google Ads"]
    assert (row["calls"], row["sales"], row["leads"], row["revenue"]) == (1, 0, 1, 0)


def test_spam_and_blocked_are_left_out_unless_asked(api, biz):
    sid = biz.call("Google Ads", "+14155550001")
    biz.call("Google Ads", "+14155550002")
    api.call("PATCH", f"/v1/calls/{sid}", {"outcome": "spam"})
    api.call("PUT", "/v1/blocked-callers", {"callers": ["+1900*"]})
    biz.call("Radio FM 101", "+19005550100")
    q = {"from": "2026-10-01", "to": "2026-10-01"}
    assert report(api, **q)["total"]["calls"] == 1
    assert report(api, **q, include_spam="true")["total"]["calls"] == 3
    api.call("PATCH", f"/v1/calls/{sid}", {"outcome": "none"})
    assert report(api, **q)["total"]["calls"] == 2


def test_likely_spam_is_scored_and_counted_apart(api, biz):
    """Three calls under 10 s from one caller in a day: the third is likely spam (its reasons on the
    call), counted apart as ``spam`` and left out of the other figures unless asked."""
    biz.call("Google Ads", "+14155550002")
    sids = []
    for _ in range(3):
        biz.fake.advance(600)
        sids.append(biz.call("Radio FM 101", "+14155550009", result="missed", duration=4))
    q = {"from": "2026-10-01", "to": "2026-10-01"}
    rep = report(api, **q)
    assert (rep["total"]["calls"], rep["total"]["spam"]) == (3, 1)
    assert (by_label(rep)["Radio FM 101"]["calls"], by_label(rep)["Radio FM 101"]["spam"]) == (2, 1)
    assert report(api, **q, include_spam="true")["total"]["calls"] == 4
    scored = [body(api.call("GET", f"/v1/calls/{sid}"))["spam"] for sid in sids]
    assert scored[:2] == [None, None] and scored[2]["likely"]  # an ordinary call's score is not stored
    assert scored[2]["reasons"][0].startswith("repeat short calls")
    day = body(api.call("GET", "/v1/reports/daily?from=2026-10-01&to=2026-10-01"))["days"][0]
    assert (day["calls"], day["spam"]) == (3, 1)


def test_spend_csv_import_is_all_or_nothing(api, biz):
    google = biz.lines["Google Ads"][0]
    good = f"date,source,amount\n2026-10-01,{google},10\n2026-10-02,web:google,5.25\n"
    r = api.call("POST", "/v1/spend/import", good, headers={"Content-Type": "text/csv"})
    assert r.status_code == 201 and body(r) == {"imported": 2}
    bad = (
        f"date,source,amount\n2026-10-03,{google},10\n2026-13-01,{google},1\n2026-10-04,tv,1\n2026-10-05,{google},-3\n"
    )
    r = api.call("POST", "/v1/spend/import", bad, headers={"Content-Type": "text/csv"})
    assert r.status_code == 400
    err = body(r)["error"]
    assert "nothing was imported" in err["message"]
    assert [e.split(":")[0] for e in err["details"]["errors"]] == ["line 3", "line 4", "line 5"]
    biz.call("Google Ads", "+14155550001")
    rep = report(api, **{"from": "2026-10-01", "to": "2026-10-31"})
    assert by_label(rep)["Google Ads"]["spend"] == 10  # 2026-10-03 was not imported
    assert by_label(rep)["Google"]["spend"] == 5.25 and by_label(rep)["Google"]["calls"] == 0


@pytest.mark.parametrize(
    ("path", "payload", "words"),
    [
        ("/v1/reports/channels?from=2026-10-10&to=2026-10-01", None, "after"),
        ("/v1/reports/channels?from=2025-01-01&to=2026-10-01", None, "at most"),
        ("/v1/reports/channels?model=linear", None, "model"),
        ("/v1/reports/channels?from=yesterday", None, "date"),
        ("/v1/reports/daily?include_spam=maybe", None, "include_spam"),
        ("/v1/reports/channels?colour=red", None, "colour"),
        ("/v1/spend", {"source": "ch_x", "date": "2026-10-01", "amount": -5}, "negative"),
        ("/v1/spend", {"source": "tv", "date": "2026-10-01", "amount": 5}, "source"),
        ("/v1/spend", {"source": "ch_x", "date": "10/01/2026", "amount": 5}, "date"),
        ("/v1/spend", {"source": "ch_x", "date": "2026-10-01", "amount": "lots"}, "amount"),
    ],
)
def test_bad_report_and_spend_requests(api, path, payload, words):
    r = api.call("PUT" if payload else "GET", path, payload)
    assert r.status_code == 400 and words in body(r)["error"]["message"], r.body


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({"outcome": "maybe"}, "outcome"),
        ({"revenue": -1}, "negative"),
        ({"tags": "a"}, "tags"),
        ({"x": 1}, "x"),
        ({}, "nothing"),
    ],
)
def test_bad_outcomes(api, biz, payload, words):
    sid = biz.call("Google Ads", "+14155550001")
    r = api.call("PATCH", f"/v1/calls/{sid}", payload)
    assert r.status_code == 400 and words in body(r)["error"]["message"]
    assert api.call("PATCH", "/v1/calls/CAnope", {"outcome": "lead"}).status_code == 404


def test_calls_as_csv(api, biz):
    sid = biz.call("Google Ads", "+14155550001")
    api.call("PATCH", f"/v1/calls/{sid}", {"outcome": "lead", "note": '=HYPERLINK("http://evil")', "tags": ["a", "b"]})
    for kwargs in (
        {"path": "/v1/calls?from=2026-10-01&to=2026-10-02&format=csv"},
        {"path": "/v1/calls?from=2026-10-01&to=2026-10-02", "headers": {"Accept": "text/csv"}},
    ):
        r = api.call("GET", kwargs["path"], headers=kwargs.get("headers"))
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(r.body.decode())))
        assert len(rows) == 1
        row = rows[0]
        assert row["sid"] == sid and row["channel_name"] == "Google Ads" and row["result"] == "answered"
        assert row["confidence"] == "static" and row["outcome"] == "lead" and row["tags"] == "a;b"
        assert row["note"].startswith("'=") and row["first_time"] == "True"
