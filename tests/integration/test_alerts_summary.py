"""The daily and weekly summary emails: the same totals as the report API for the same local days,
the missed callers not yet reached, sent once at the recipient's hour, and readable: rendered in
Debian's Chromium (tables, inline styles, no scripts), checked with axe-core and screenshotted.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib.integrations.alerts import schedule, summary_email
from tests.integration.test_alerts import sid_of
from tests.integration.test_events import callbacks
from tests.support import browser as br
from tests.support.alerts import SENDER, recipient, sent_emails
from tests.support.database import pump
from tests.support.env import BASE_URL, body

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ZONE = "America/New_York"
DAY = "2026-09-21"  # the seeded local day (a Monday)


def at(hour: int, minute: int = 0, day: int = 21) -> float:
    """Seconds for a New York wall time in September 2026 (EDT, UTC-4)."""
    return (
        datetime(2026, 9, day, hour + 4, minute, tzinfo=UTC).timestamp()
        if hour + 4 < 24
        else datetime(2026, 9, day + 1, hour + 4 - 24, minute, tzinfo=UTC).timestamp()
    )


def channel_line(api: Any, name: str) -> str:
    ch = body(api.call("POST", "/v1/channels", {"name": name, "forward_to": "+12025550144"}))
    return str(body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"])


def one(api: Any, clock_: Any, when: float, number: str, caller: str, sid: str, answered: bool) -> None:
    clock_.t = when
    for path, params in callbacks(sid, number, caller, answered=answered):
        assert api.twilio(path, params).status_code == 200
    pump().drain()


@pytest.fixture
def seeded(alerting: Any, settings_env: Any, fake_clock: Any) -> Any:
    """Calls on the day before, on the day (late evening ones too: New York's day, not UTC's), and after."""
    settings_env(REPORT_TIMEZONE=ZONE)
    api = alerting
    radio, google, billboard = (
        channel_line(api, "Radio FM"),
        channel_line(api, "Google Ads"),
        channel_line(api, "Billboard"),
    )
    one(api, fake_clock, at(10, day=20), radio, "+14155550100", sid_of(1), answered=True)  # the day before
    one(api, fake_clock, at(9), radio, "+14155550100", sid_of(2), answered=True)  # a repeat caller
    one(api, fake_clock, at(9, 30), radio, "+14155550101", sid_of(3), answered=False)  # missed, reached later
    one(api, fake_clock, at(11), google, "+14155550102", sid_of(4), answered=True)
    one(api, fake_clock, at(12), google, "+14155550103", sid_of(5), answered=False)  # missed, never reached
    one(api, fake_clock, at(14), google, "+14155550104", sid_of(6), answered=True)
    one(api, fake_clock, at(22, 30), billboard, "+14155550105", sid_of(7), answered=False)  # 02:30 UTC next day
    one(api, fake_clock, at(16), radio, "+14155550101", sid_of(8), answered=True)  # the missed caller calls again
    one(api, fake_clock, at(8, day=22), google, "+14155550106", sid_of(9), answered=True)  # the next day
    return api


def test_the_daily_summary_has_the_report_apis_totals_for_the_local_day(seeded: Any, fake_clock: Any) -> None:
    api = seeded
    built = summary_email.build("daily", date(2026, 9, 22), int(fake_clock.t * 1000))
    report = body(api.call("GET", f"/v1/reports/channels?from={DAY}&to={DAY}"))
    assert (built["from"], built["to"]) == (DAY, DAY)
    for key in ("calls", "answered", "missed", "voicemail", "first_time_callers"):
        assert built["totals"][key] == report["total"][key], key
    assert built["totals"]["calls"] == 7 and built["totals"]["missed"] == 3  # the 22:30 call is the 21st here
    assert built["previous_totals"]["calls"] == 1
    # Missed callers not yet reached: the one who called back (answered at 16:00) is not listed
    assert [r["caller"] for r in built["not_called_back"]] == ["+14155550103", "+14155550105"]
    assert sorted(built["top_sources"], key=lambda r: (-r["calls"], r["source"])) == [
        {"source": "Google Ads", "calls": 3, "answered": 2, "missed": 1},
        {"source": "Radio FM", "calls": 3, "answered": 2, "missed": 1},
        {"source": "Billboard", "calls": 1, "answered": 0, "missed": 1},
    ]
    by_source = {r["source"]: (r["now"], r["before"]) for r in built["first_time_by_source"]}
    assert by_source == {"Google Ads": (3, 0), "Radio FM": (1, 1), "Billboard": (1, 0)}
    # The weekly one for the week of the 21st agrees with the API too
    week = summary_email.build("weekly", date(2026, 9, 28), int(fake_clock.t * 1000))
    report = body(api.call("GET", "/v1/reports/channels?from=2026-09-21&to=2026-09-27"))
    assert (week["from"], week["to"]) == ("2026-09-21", "2026-09-27")
    assert {k: week["totals"][k] for k in ("calls", "missed")} == {k: report["total"][k] for k in ("calls", "missed")}


def test_the_summary_is_emailed_once_at_the_recipients_hour(seeded: Any, fake_clock: Any) -> None:
    api = seeded
    recipient(api, channel="email", email="owner@example.com", events=[], summaries=["daily"], summary_hour=7)
    fake_clock.t = at(6, 59, day=22)
    schedule.run()
    assert sent_emails() == []
    fake_clock.t = at(7, 2, day=22)
    assert schedule.run()["summaries"] == 1
    fake_clock.t = at(7, 7, day=22)
    assert schedule.run()["summaries"] == 0
    [email] = sent_emails()
    assert email["subject"] == f"Daily calls summary, {DAY}: 7 calls, 3 missed"
    assert email["destinations"]["ToAddresses"] == ["owner@example.com"] and email["source"] == SENDER
    assert f'href="{BASE_URL}/dashboard/calls/{sid_of(5)}"' in email["body"]
    # the API's preview is the same email
    preview = body(api.call("GET", "/v1/alerts/summary?kind=daily&date=2026-09-22"))
    assert preview["subject"] == email["subject"] and preview["html"] == email["body"]
    assert "Missed calls not yet called back (2):" in preview["text"]


def test_the_summary_html_reads_well_in_chromium(seeded: Any, fake_clock: Any) -> None:
    built = summary_email.build("daily", date(2026, 9, 22), int(fake_clock.t * 1000))
    html = summary_email.as_html(built, BASE_URL)
    # What mail clients keep: no scripts, no style sheets, no external resources
    assert "<script" not in html and "<style" not in html and "<link" not in html and "<table" in html
    axe = (ROOT / "node_modules" / "axe-core" / "axe.min.js").read_text()
    with br.launched() as browser:
        context = br.new_context(browser)
        page = context.new_page()
        page.set_viewport_size({"width": 700, "height": 900})  # a mail client's reading pane
        page.set_content(html)
        rows = page.eval_on_selector_all("table tbody tr", "rows => rows.map(r => r.innerText)")
        assert any("Calls\t7\t1\t+6" in r for r in rows), rows
        page.add_script_tag(content=axe)
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        assert [v["id"] for v in result["violations"]] == []
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "summary-email.png"), full_page=True)
        context.close()
