"""The dashboard's pages: the overview, the call log and a call's story, their data and their HTML.

The data layer is tested without a browser: pure parts (ranges, changes, filters) directly,
the reads against the embedded DynamoDB with calls made through the signed Twilio webhooks and
the event pump, as in tests/integration/test_reports.py. The pages are rendered through Chalice's test
client with a signed-in session (tests/e2e/test_dashboard_flow.py drives them in Chromium).
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest

from chalicelib.dashboard import logpage, overview, story
from chalicelib.store.models import CallModel
from tests.integration.test_reports import DAY, Business, at
from tests.support.database import pump
from tests.support.env import body


@pytest.fixture
def biz(api):
    from chalicelib.core import clock

    fake = clock.FakeClock(at("2026-10-10T12:00:00"))
    clock.set_source(fake)
    logpage.clear_cache()
    return Business(api, fake)


# --- against the embedded DynamoDB ----------------------------------------------------------------


def test_overview_totals_and_change_come_from_the_aggregates(api, biz):
    google = biz.lines["Google Ads"][0]
    biz.fake.advance(-8 * DAY)  # the previous 7 days: one call
    biz.call("Radio FM 101", "+14155550001")
    biz.fake.advance(8 * DAY)
    a = biz.call("Google Ads", "+14155550002", talk=90)
    biz.call("Google Ads", "+14155550003", result="missed")
    biz.call("Radio FM 101", "+14155550001", talk=30)  # a repeat caller
    api.call("PATCH", f"/v1/calls/{a}", {"outcome": "sale", "revenue": 1200})
    api.call("PUT", "/v1/spend", {"source": google, "date": "2026-10-10", "amount": 300})
    pump().drain()
    out = overview.overview({"range": "7d"})
    t = {x["key"]: x for x in out["totals"]}
    assert (t["calls"]["value"], t["answered"]["value"], t["missed"]["value"]) == (3, 2, 1)
    assert t["first_time_callers"]["value"] == 2 and t["avg_talk_time"]["value"] == 60.0
    # Cost per call: Google's spend over Google's two calls; the unpaid radio call does not dilute it
    assert t["revenue"]["value"] == 1200 and t["cost_per_call"]["value"] == 150.0 and t["roi"]["value"] == 3.0
    assert t["calls"]["previous"] == 1 and t["calls"]["change"]["text"] == "up 200%"
    rows = {r["label"]: r for r in out["rows"]}
    assert rows["Google Ads"]["calls"] == 2 and rows["Radio FM 101"]["calls"] == 1
    assert out["chart"]["dates"][-1] == "2026-10-10" and sum(out["chart"]["missed"]) == 1
    first = overview.overview({"range": "7d", "model": "first_touch"})
    assert {r["label"]: r["calls"] for r in first["rows"]} == {"Google Ads": 2, "Radio FM 101": 1}


def test_the_log_pages_newest_first_and_filters(api, biz):
    sids = []
    for i in range(7):
        biz.fake.advance(3600)
        sids.append(biz.call("Google Ads" if i % 2 else "Radio FM 101", f"+1415555{i:04d}", result="answered"))
    missed = biz.call("Google Ads", "+14155550001", result="missed")
    api.call("PATCH", f"/v1/calls/{sids[2]}", {"outcome": "sale", "revenue": 10, "tags": ["boiler"]})
    f = logpage.parse_filters({}, "2026-10-10")
    first = logpage.page(f, size=3)
    assert [c.call_sid for c in first.calls] == [missed, sids[6], sids[5]] and first.requests == 1
    second = logpage.page(f, first.cursor, size=3)
    assert [c.call_sid for c in second.calls] == [sids[4], sids[3], sids[2]]
    third = logpage.page(f, second.cursor, size=3)
    assert [c.call_sid for c in third.calls] == [sids[1], sids[0]] and third.cursor is None

    def sids_for(**q: str) -> list[str]:
        return [c.call_sid for c in logpage.page(logpage.parse_filters(q, "2026-10-10")).calls]

    assert sids_for(result="missed") == [missed]
    assert sids_for(outcome="sale") == [sids[2]] and sids_for(tag="boiler") == [sids[2]]
    assert sids_for(source=biz.lines["Radio FM 101"][0]) == [sids[6], sids[4], sids[2], sids[0]]
    assert sids_for(caller="+14155550001") == [missed, sids[1]]
    assert sids_for(first_time="no") == [missed]
    assert sids_for(**{"from": "2026-10-11", "to": "2026-10-12"}) == []


def test_a_filtered_page_comes_back_short_with_a_cursor_rather_than_reading_on(api, biz, monkeypatch):
    monkeypatch.setattr(logpage, "CHUNK", 2)  # each query reads two calls: three queries read six
    sids = []
    for i in range(8):
        biz.fake.advance(60)
        sids.append(biz.call("Google Ads", f"+1415555{i:04d}", result="missed" if i == 0 else "answered"))
    f = logpage.parse_filters({"result": "missed"}, "2026-10-10")
    p = logpage.page(f)
    assert p.calls == [] and p.short and p.cursor and p.requests == 3
    rest = logpage.page(f, p.cursor)
    assert [c.call_sid for c in rest.calls] == [sids[0]] and rest.cursor is None


def test_the_csv_is_the_filtered_list_with_formula_cells_escaped(api, biz):
    a = biz.call("Google Ads", "+14155550001")
    biz.call("Radio FM 101", "+14155550002")
    api.call("PATCH", f"/v1/calls/{a}", {"outcome": "sale", "revenue": 50, "note": "=HYPERLINK(1)"})
    text, cut = logpage.export_csv({"outcome": "sale"})
    rows = list(csv.DictReader(io.StringIO(text)))
    assert not cut and [r["sid"] for r in rows] == [a]
    assert rows[0]["note"] == "'=HYPERLINK(1)" and rows[0]["revenue"] == "50.0"


def test_the_story_has_the_attribution_and_the_callers_earlier_calls(api, biz):
    first = biz.call("Radio FM 101", "+14155550001")
    biz.fake.advance(DAY)
    second = biz.call("Google Ads", "+14155550001")
    s = story.story(second)
    assert s["call"]["source"] == "Google Ads" and s["call"]["confidence"] == "static"
    assert s["call"]["first_time"] is False and s["call"]["first_touch"]["call_sid"] == first
    assert [e["sid"] for e in s["earlier"]] == [first]
    assert story.story(first)["earlier"] == []


# --- the pages, through Chalice's test client ------------------------------------------------------


class Browser:
    """A signed-in session against the test client: its cookie and CSRF token."""

    def __init__(self, api: Any, role: str = "viewer") -> None:
        from chalicelib.dashboard import users, websessions

        email = f"{role}@example.com"
        users.create_user(email, role, "a long enough password 123")
        self.token = websessions.start(email, role)
        self.csrf = websessions.current(self.token).csrf
        self.api = api

    def get(self, path: str, **headers: str) -> Any:
        return self.api.client.http.get(path, headers={"Cookie": f"ct_session={self.token}", **headers})

    def post(self, path: str, form: dict[str, str]) -> Any:
        from urllib.parse import urlencode

        h = {"Cookie": f"ct_session={self.token}", "Content-Type": "application/x-www-form-urlencoded"}
        return self.api.client.http.post(path, headers=h, body=urlencode(form))


def html(response: Any) -> str:
    text = response.body.decode() if isinstance(response.body, bytes) else response.body
    return str(text)


def test_pages_send_a_signed_out_browser_to_sign_in(api):
    for path in ("/dashboard", "/dashboard/calls", "/dashboard/calls.csv", "/dashboard/calls/CA1"):
        r = api.client.http.get(path)
        assert r.status_code == 303 and "/dashboard/signin?next=" in r.headers["Location"], path


def test_today_is_charted_by_hour_in_the_business_time_zone(api, biz):
    # Given a business in Los Angeles (UTC-7 in October) and calls at 05:00 and 12:30 UTC
    api.call("PUT", "/v1/settings/timezone", {"timezone": "America/Los_Angeles"})
    biz.fake.advance(-7 * 3600)  # 05:00 UTC = 22:00 on the 9th in Los Angeles
    biz.call("Google Ads", "+14155550002", result="missed")
    biz.fake.advance(7.5 * 3600)  # 12:30 UTC = 05:30 on the 10th
    biz.call("Google Ads", "+14155550003", talk=30)
    biz.call("Radio FM 101", "+14155550004", talk=30)
    pump().drain()
    # When the owner opens "Today" (the 10th in Los Angeles)
    out = overview.overview({"range": "today"})
    chart = out["chart"]
    # Then 24 hourly bars in the business's hours: both of today's calls at 5:00, the 9th's left out
    assert chart["hourly"] and chart["dates"][0] == "0:00" and len(chart["dates"]) == 24
    assert chart["answered"][5] == 2 and sum(chart["answered"]) == 2 and sum(chart["missed"]) == 0
    assert {s["label"]: s["calls"][5] for s in chart["sources"]} == {"Google Ads": 1, "Radio FM 101": 1}
    # A longer range stays by day; the page says which
    assert "hourly" not in overview.overview({"range": "7d"})["chart"]
    page = html(Browser(api).get("/dashboard?range=today"))
    assert "Calls per hour" in page and '<th scope="row">5:00</th>' in page


def test_the_empty_overview_and_log_say_what_to_do_next(api):  # the overview: the checklist itself
    b = Browser(api)
    for path in ("/dashboard", "/dashboard/calls"):
        r = b.get(path)
        assert r.status_code == 200
        page = html(r)
        # the next step is a page (the first-run checklist), never curl and an unexplained $KEY
        assert "No calls yet" in page and ("/dashboard/channels" in page or "/dashboard/start" in page)
        assert "$KEY" not in page and "curl" not in page
        assert "unsafe-inline" not in r.headers["Content-Security-Policy"]
        assert not re.search(r"<script(?![^>]*(src=|type=\"application/json\"))", page), "an inline script"
        assert " style=" not in page


def test_the_overview_page_shows_totals_chart_data_and_rows(api, biz):
    a = biz.call("Google Ads", "+14155550002", talk=90)
    biz.call("Google Ads", "+14155550003", result="missed")
    api.call("PATCH", f"/v1/calls/{a}", {"outcome": "sale", "revenue": 1200})
    pump().drain()
    page = html(Browser(api).get("/dashboard?range=7d"))
    assert "No calls yet" not in page
    assert re.search(r'data-key="calls">\s*<span class="total-label">Calls</span>\s*<span class="total-value">2<', page)
    assert "up from none" in page and "1,200.00" in page
    data = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page, re.S)
    assert data and '"Google Ads"' in data.group(1)
    assert "vendor-uPlot.iife.min." in page and "overview." in page
    bad = Browser(api, "admin").get("/dashboard?range=week")
    assert bad.status_code == 400 and "range" in html(bad) and bad.headers["Content-Type"].startswith("text/html")


def test_the_log_page_filters_pages_and_exports(api, biz):
    for i in range(3):
        biz.fake.advance(60)
        biz.call("Google Ads", f"+1415555000{i}", result="missed" if i == 1 else "answered")
    b = Browser(api)
    page = html(b.get("/dashboard/calls"))
    assert page.count('href="/api/dashboard/calls/CA') == 3  # stage-aware links (PUBLIC_BASE_URL's /api)
    missed = html(b.get("/dashboard/calls?result=missed"))
    assert missed.count("result-missed") == 1 and "+14155550001" in missed and "+14155550000" not in missed
    bad = b.get("/dashboard/calls?result=maybe")
    assert bad.status_code == 400 and "must be one of" in html(bad)
    r = b.get("/dashboard/calls.csv?result=missed")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(html(r))))
    assert [row["caller"] for row in rows] == ["+14155550001"]


def test_the_story_page_and_the_outcome_editor(api, biz):
    sid = biz.call("Google Ads", "+14155550009", talk=75)
    b = Browser(api)
    page = html(b.get(f"/dashboard/calls/{sid}"))
    assert "Call from (415) 555-0009" in page and 'href="tel:+14155550009"' in page
    assert "Google Ads" in page and "certain" in page
    assert "not recorded" in page and 'name="csrf"' in page
    # A viewer tags it a sale with revenue; the story shows it, the API too
    form = {"csrf": b.csrf, "outcome": "sale", "revenue": "250.5", "tags": "vip, boiler", "note": "n"}
    r = b.post(f"/dashboard/calls/{sid}/outcome", form)
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/dashboard/calls/{sid}?saved=1")
    assert body(api.call("GET", f"/v1/calls/{sid}"))["revenue"] == 250.5
    saved = html(b.get(f"/dashboard/calls/{sid}?saved=1"))
    assert "Saved." in saved and 'value="250.50"' in saved and 'value="boiler, vip"' in saved
    # Without the token: refused, nothing changed
    r = b.post(f"/dashboard/calls/{sid}/outcome", {"outcome": "spam"})
    assert r.status_code == 403
    assert CallModel.get(sid).outcome == "sale"
    # A bad form: the page again, with what was wrong
    r = b.post(f"/dashboard/calls/{sid}/outcome", {"csrf": b.csrf, "outcome": "lead", "revenue": "-3", "note": "kept"})
    refused = html(r)
    assert r.status_code == 400 and "negative" in refused
    assert 'value="-3"' in refused and ">kept</textarea>" in refused and 'value="lead" checked' in refused
    # What people type is taken
    form = {"csrf": b.csrf, "outcome": "sale", "revenue": "$1,250.00", "tags": "", "note": ""}
    assert b.post(f"/dashboard/calls/{sid}/outcome", form).status_code == 303
    assert body(api.call("GET", f"/v1/calls/{sid}"))["revenue"] == 1250.0
    # The call-back button: a viewer may use it, not without the token
    assert b.post(f"/dashboard/calls/{sid}/called-back", {}).status_code == 403
    assert b.post(f"/dashboard/calls/{sid}/called-back", {"csrf": b.csrf}).status_code == 303
    assert body(api.call("GET", f"/v1/calls/{sid}"))["called_back_at"] is not None
    assert b.get("/dashboard/calls/CA404").status_code == 404


def test_the_recording_link_is_a_presigned_url_for_the_session(api):
    from tests.integration.test_recordings import recorded_call

    sid, _ = recorded_call(api)
    b = Browser(api)
    page = html(b.get(f"/dashboard/calls/{sid}"))
    assert 'id="player"' in page and f"/dashboard/calls/{sid}/recording" in page and "player." in page
    r = b.get(f"/dashboard/calls/{sid}/recording")
    assert r.status_code == 200 and "X-Amz-Signature" in body(r)["url"]
    assert api.client.http.get(f"/dashboard/calls/{sid}/recording").status_code == 303  # no session


def test_an_empty_call_id_in_a_dashboard_path_is_a_404_page_not_a_500(api):
    # Given a signed-in admin
    b = Browser(api)
    for path in ("/dashboard/calls//recording", "/dashboard/calls/%20/recording"):
        # When a path names no call
        r = b.get(path)
        # Then the answer is the dashboard's 404 page, not Chalice's 500
        assert r.status_code == 404, (path, r.status_code)
        assert "text/html" in {k.lower(): v for k, v in r.headers.items()}.get("content-type", "")


def test_the_settings_page_saves_the_business_profile_that_every_page_reads(api, biz):
    from chalicelib import business

    sid = biz.call("Google Ads", "+442071838750", talk=30)
    api.call("PATCH", f"/v1/calls/{sid}", {"outcome": "sale", "revenue": "1 250,00"})
    admin, viewer = Browser(api, "admin"), Browser(api)
    page = html(viewer.get("/dashboard/settings"))
    assert "Only an admin can change these" in page and "UTC" in page and "days" in page
    form = {"name": "Acme Heating", "currency": "GBP", "country": "GB", "conversion_sale": "on"}
    assert viewer.post("/dashboard/settings", {"csrf": viewer.csrf, **form}).status_code == 403
    assert admin.post("/dashboard/settings", form).status_code == 403  # no CSRF token
    # A bad country: the form again with what was typed and what was wrong
    r = admin.post("/dashboard/settings", {"csrf": admin.csrf, **form, "country": "Narnia"})
    assert r.status_code == 400 and "country" in html(r) and 'value="Acme Heating"' in html(r)
    r = admin.post("/dashboard/settings", {"csrf": admin.csrf, **form})
    assert r.status_code == 303
    business.clear_cache()
    assert business.profile().currency == "GBP" and business.profile().conversions == ("sale",)
    pump().drain()
    overview_page = html(admin.get("/dashboard?range=7d"))
    assert "£1,250.00" in overview_page
    story_page = html(admin.get(f"/dashboard/calls/{sid}"))
    assert "020 7183 8750" in story_page  # a number of the business's own country, written nationally


def test_the_settings_page_changes_the_time_zone_and_shows_the_rebuild(api, biz):
    from chalicelib import business
    from chalicelib.reports import rebuild

    admin, viewer = Browser(api, "admin"), Browser(api)
    form = {"name": "Acme", "currency": "USD", "country": "US", "conversion_sale": "on"}
    # An unknown zone: refused next to the field, everything typed kept, nothing started
    r = admin.post("/dashboard/settings", {"csrf": admin.csrf, **form, "timezone": "Pacific Time"})
    page = html(r)
    assert r.status_code == 400 and 'id="timezone-error"' in page and "America/Los_Angeles" in page
    assert 'value="Pacific Time"' in page and 'value="Acme"' in page
    assert business.rebuild_status()["state"] == "idle"
    assert (
        viewer.post("/dashboard/settings", {"csrf": viewer.csrf, **form, "timezone": "Europe/London"}).status_code
        == 403
    )
    # A known one: saved, and the rebuild shows on the page and at its JSON address
    r = admin.post("/dashboard/settings", {"csrf": admin.csrf, **form, "timezone": "Europe/London"})
    assert r.status_code == 303
    page = html(admin.get("/dashboard/settings"))
    assert 'value="Europe/London"' in page and "Moving calls to Europe/London days" in page
    assert json.loads(html(viewer.get("/dashboard/settings/rebuild")))["state"] == "running"
    rebuild.run()
    assert business.rebuild_status()["phase"] == "check"
    assert "calls moved to Europe/London days; checking" in html(admin.get("/dashboard/settings"))
