"""The owner's whole path through the dashboard, in Debian's Chromium against the local stack.

Sign in → a simulated recorded call (Twilio's side played by ``scripts/local.py``'s simulator,
the event pump beside the server archiving its recording and counting it) shows in the log and
in the overview's chart and totals → its story plays the recording and seeks → it is tagged a
sale with revenue → with spend entered through the API, ROI shows → the filtered log's CSV is
exported and read. axe-core runs on every page at both widths, and every page is captured at
1280 and 390 px (``tests/artifacts/``); the overview with a seeded month of calls is also the
README's screenshot (``docs/dashboard-overview.png``). Last, the transcripts' Done-when: a call whose
recording is espeak-ng saying "I would like to book an appointment for Tuesday" on the caller's
channel is transcribed by the local engine, the rule "appointment -> lead" set on the Transcripts
page makes it a lead the overview counts, and its page plays the recording from a turn.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from calltracking_local.telephony import stack_dir
from scripts.local import simulate_call
from tests.support import browser as br
from tests.support import dashboard as dash
from tests.support import servers
from tests.support import stack as stack_mod

pytestmark = pytest.mark.browser
CALLER = "+14155550142"
CALLER_SHOWN = "(415) 555-0142"  # a US business writes US numbers nationally
DOCS = servers.ROOT / "docs" / "dashboard-overview.png"


_stack_env = dash.stack_env


_wait = dash.wait_for


_check = dash.check_page


def _total(page: Page, key: str) -> str:
    return page.locator(f'.total[data-key="{key}"] .total-value').inner_text()


def test_the_owners_path_from_a_call_to_roi_and_the_csv(dashboard, pump, tmp_path):
    stack = dashboard.stack
    # Given a recorded channel with a number, and nothing called yet
    code, channel = stack.request(
        "POST", "/v1/channels", {"name": "Google Ads", "forward_to": "+12025550144", "record": True}
    )
    assert code == 201, channel
    code, number = stack.request("POST", "/v1/numbers", {"channel_id": channel["id"]})
    assert code == 201, number
    context = dashboard.signed_in("admin")
    page = context.new_page()
    log = br.watch(page)

    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))

    # The empty overview and log say what to do next
    page.goto(dashboard.url("/dashboard"))
    icon = page.get_attribute('link[rel="icon"]', "href") or ""
    got = page.request.get(icon if icon.startswith("http") else dashboard.url(icon))
    assert got.status == 200 and got.headers["content-type"].startswith("image/svg+xml")
    expect(page.locator("#empty-heading")).to_have_text("No calls yet")
    _check(page, "dashboard-overview-empty")
    page.goto(dashboard.url("/dashboard/calls"))
    expect(page.locator("#empty-heading")).to_be_visible()
    _check(page, "dashboard-calls-empty")

    # When a recorded call comes in (Twilio's side simulated, signed as Twilio signs)
    result = simulate_call(
        stack.base_url,
        number["number"],
        CALLER,
        answer="yes",
        talk_seconds=8,
        token=stack_mod.AUTH_TOKEN,
        api_key=stack_mod.API_KEY,
    )
    sid = result["call_sid"]
    _wait("the recording's archive", lambda: stack.request("GET", f"/v1/calls/{sid}")[1]["recording"]["archived"])
    _wait("the call in the reports", lambda: stack.request("GET", "/v1/reports/channels")[1]["total"]["calls"] == 1)

    # Then it is in the log
    page.goto(dashboard.url("/dashboard/calls"))
    row = page.locator("table.calls tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(CALLER_SHOWN)
    expect(row.locator("a.tel")).to_have_attribute("href", f"tel:{CALLER}")
    expect(row).to_contain_text("Google Ads")
    expect(row).to_contain_text("answered")
    _check(page, "dashboard-calls")

    # and in the overview's totals and chart
    page.goto(dashboard.url("/dashboard?range=7d"))
    assert _total(page, "calls") == "1" and _total(page, "answered") == "1" and _total(page, "missed") == "0"
    expect(page.locator('.total[data-key="calls"] .change')).to_contain_text("up from none")
    expect(page.locator("#chart[data-ready=true] canvas")).to_have_count(1)
    chart = json.loads(page.locator("#chart-data").text_content() or "{}")
    assert chart["sources"][0]["label"] == "Google Ads" and sum(chart["sources"][0]["calls"]) == 1
    assert sum(chart["answered"]) == 1
    expect(page.locator("#chart-legend")).to_contain_text("Google Ads (1)")
    page.click("[data-view=result]")
    expect(page.locator("#chart-legend")).to_contain_text("Answered (1)")
    expect(page.locator("[data-view=result]")).to_have_attribute("aria-pressed", "true")
    # the source table sorts from the keyboard
    sort = page.locator("#sources thead th").nth(1).locator("button")
    sort.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#sources thead th").nth(1)).to_have_attribute("aria-sort", "ascending")
    _check(page, "dashboard-overview")

    # When the owner opens the call, plays the recording and seeks
    page.goto(dashboard.url("/dashboard/calls"))
    page.locator("table.calls tbody tr a").first.click()
    page.wait_for_url(f"**/dashboard/calls/{sid}")
    expect(page.locator("h1")).to_have_text(f"Call from {CALLER_SHOWN}")
    expect(page.locator("main")).to_contain_text("certain: the channel's own number")
    page.wait_for_function("() => document.getElementById('player').duration > 0", timeout=15_000)
    assert page.evaluate("document.getElementById('player').duration") == pytest.approx(8, abs=0.2)
    page.evaluate("document.getElementById('player').play()")
    page.wait_for_function("() => document.getElementById('player').currentTime > 0.3", timeout=15_000)
    page.evaluate("document.getElementById('player').currentTime = 5")
    page.wait_for_function(
        "() => { const a = document.getElementById('player'); return !a.seeking && a.currentTime >= 5.2; }",
        timeout=15_000,
    )
    assert page.evaluate("document.getElementById('player').paused") is False
    _check(page, "dashboard-call")

    # And the signed link a CRM gets (recordings/shared.py) plays it to someone with no sign-in
    made = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from chalicelib.recordings import shared; print(shared.link(sys.argv[1]))",
            sid,
        ],
        env=_stack_env(stack),
        cwd=servers.ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    link = made.stdout.strip().splitlines()[-1]
    assert link.startswith(stack.base_url + "/dashboard/listen/" + sid + "?"), link
    outsider = br.new_context(dashboard.browser).new_page()
    answer = outsider.goto(link)
    assert answer is not None and answer.status == 200
    expect(outsider.locator("h1")).to_have_text("Call recording")
    assert CALLER_SHOWN not in outsider.content()
    outsider.wait_for_function("() => document.getElementById('player').duration > 0", timeout=15_000)
    assert outsider.evaluate("document.getElementById('player').duration") == pytest.approx(8, abs=0.2)
    _check(outsider, "recording-link-player")
    # a link changed by hand is refused, in words
    refused = outsider.goto(link[:-2] + ("AA" if not link.endswith("AA") else "BB"))
    assert refused is not None and refused.status == 403
    expect(outsider.locator("main")).to_contain_text("not valid")
    _check(outsider, "recording-link-refused")
    outsider.context.close()

    # and tags it a sale with revenue
    page.locator("label.segment", has_text="Sale").click()
    # what people type is refused only when it is ambiguous, and then nothing typed is lost
    page.fill("#revenue", "1,200")
    page.fill("#tags", "boiler, new customer")
    page.fill("#note", "Booked an install")
    page.click("text=Save outcome")
    expect(page.locator(".field-error")).to_contain_text("ambiguous")
    expect(page.locator("#revenue")).to_have_value("1,200")
    expect(page.locator("#note")).to_have_value("Booked an install")
    expect(page.locator("#tags")).to_have_value("boiler, new customer")
    expect(page.locator("input[name=outcome][value=sale]")).to_be_checked()
    _check(page, "dashboard-call-refused")
    page.fill("#revenue", "$1,200.00")
    page.click("text=Save outcome")
    expect(page.locator(".notice-ok")).to_contain_text("Saved")
    expect(page.locator("#revenue")).to_have_value("1200.00")
    expect(page.locator("#tags")).to_have_value("boiler, new customer")

    # With spend entered through the API, ROI shows
    today = stack.request("GET", "/v1/reports/channels")[1]["to"]  # the business's date, as the reports see it
    code, _ = stack.request("PUT", "/v1/spend", {"source": channel["id"], "date": today, "amount": 300})
    assert code == 200

    def roi_shows() -> bool:
        page.goto(dashboard.url("/dashboard?range=7d"))
        return _total(page, "roi") == "300.0%"

    _wait("ROI on the overview", roi_shows, 30)
    assert _total(page, "revenue") == "$1,200.00" and _total(page, "cost_per_call") == "$300.00"
    assert _total(page, "conversions") == "1"  # a sale is a conversion
    expect(page.locator("#sources tbody tr")).to_contain_text("300.0%")

    # The filtered log's CSV export has the call, and only the matching calls
    keys = {"token": stack_mod.AUTH_TOKEN, "api_key": stack_mod.API_KEY}
    simulate_call(stack.base_url, number["number"], "+14155550143", answer="no", **keys)
    page.goto(dashboard.url("/dashboard/calls"))
    page.select_option("#f-outcome", "sale")
    page.click("form.filters button[type=submit]")
    expect(page.locator("table.calls tbody tr")).to_have_count(1)
    with page.expect_download() as download:
        page.click("text=Export CSV")
    path = tmp_path / "calls.csv"
    download.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert len(rows) == 1
    assert rows[0]["sid"] == sid and rows[0]["caller"] == CALLER and rows[0]["outcome"] == "sale"
    assert rows[0]["revenue"] == "1200.0" and rows[0]["tags"] == "boiler;new customer"
    assert rows[0]["channel_name"] == "Google Ads" and rows[0]["answered"] == "True"
    # Settings: the business's currency is on every amount once saved
    page.goto(dashboard.url("/dashboard/settings"))
    _check(page, "dashboard-settings")
    page.fill("#currency", "EUR")
    page.fill("#country", "ZZ")
    page.click("text=Save settings")
    expect(page.locator(".notice-error")).to_contain_text("country")
    expect(page.locator("#currency")).to_have_value("EUR")  # what was typed is kept
    page.fill("#country", "US")
    page.click("text=Save settings")
    expect(page.locator(".notice-ok")).to_contain_text("Saved")
    # The time zone: an unknown one says what to write and keeps what was typed; a real one moves the
    # report days in the background, with progress on the page, and the overview counts its days
    page.fill("#timezone", "Pacific time")
    page.click("text=Save settings")
    expect(page.locator("#timezone-error")).to_contain_text("America/Los_Angeles")
    expect(page.locator("#timezone")).to_have_value("Pacific time")
    # a zone whose date differs from UTC's now, so a call's day moves
    zone = "Pacific/Pago_Pago" if time.gmtime().tm_hour < 11 else "Pacific/Kiritimati"
    page.fill("#timezone", zone)
    page.click("text=Save settings")
    progress = page.locator("[data-rebuild]")
    expect(progress).to_contain_text(zone)
    expect(progress).to_contain_text(re.compile("checking the calls|Done"), timeout=30_000)  # the page follows it
    _check(page, "dashboard-settings-timezone")
    local_today = datetime.now(ZoneInfo(zone)).strftime("%Y-%m-%d")
    page.goto(dashboard.url("/dashboard?range=7d"))
    chart = json.loads(page.locator("#chart-data").text_content() or "{}")
    assert chart["dates"][-1] == local_today, (chart["dates"], local_today)
    assert _total(page, "calls") == "2"
    daily = stack.request("GET", f"/v1/reports/daily?from={local_today}&to={local_today}")[1]["days"]
    assert daily[0]["calls"] == 2, daily
    # "Today" is charted by hour in the business's time zone, with hour labels
    page.goto(dashboard.url("/dashboard?range=today"))
    expect(page.locator("#chart[data-ready=true] canvas")).to_have_count(1)
    expect(page.locator("#chart-heading")).to_have_text("Calls per hour")
    hourly = json.loads(page.locator("#chart-data").text_content() or "{}")
    assert hourly["hourly"] and hourly["dates"][0] == "0:00" and len(hourly["dates"]) == 24
    assert sum(hourly["answered"]) + sum(hourly["missed"]) + sum(hourly["voicemail"]) == 2
    assert datetime.now(ZoneInfo(zone)).hour - 1 <= max(range(24), key=lambda h: hourly["answered"][h]) <= 23
    _check(page, "dashboard-overview-today")
    code, followed = stack.request("GET", "/v1/settings/rebuild")
    assert code == 200 and followed["timezone"] == zone and followed["state"] in ("running", "done")
    assert log.problems == [], log.problems
    assert not [u for u in asked if u.endswith("/favicon.ico")]
    context.close()


def test_a_viewer_sees_a_seeded_month_and_it_is_the_readmes_screenshot(dashboard, pump):
    """A month of demo calls (``make run``'s seeding) on a phone and a desktop; the README's picture."""
    env = _stack_env(dashboard.stack)
    local = [sys.executable, str(servers.ROOT / "scripts" / "local.py")]
    subprocess.run([*local, "seed"], env=env, cwd=servers.ROOT, check=True, capture_output=True)
    subprocess.run([*local, "seed-calls", "--days", "30"], env=env, cwd=servers.ROOT, check=True, capture_output=True)
    calls = dashboard.stack.request("GET", "/v1/calls?limit=200")[1]["calls"]
    finished = [c for c in calls if c["result"] in ("answered", "missed", "voicemail")]
    since = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 32 * 86_400))
    _wait(
        "the seeded month in the reports",
        # From before the first seeded day: the default range (the last 30 days) leaves out the
        # seeded month's first day whenever the test runs early in the UTC day.
        lambda: (
            dashboard.stack.request("GET", f"/v1/reports/channels?from={since}")[1]["total"]["calls"] >= len(finished)
        ),
        180,
    )
    context = dashboard.signed_in("viewer")
    page = context.new_page()
    log = br.watch(page)
    page.goto(dashboard.url("/dashboard?range=30d"))
    expect(page.locator("#chart[data-ready=true] canvas")).to_have_count(1)
    assert int(_total(page, "calls").replace(",", "")) >= 20
    _check(page, "dashboard-overview-month")
    if os.environ.get("UPDATE_README_SCREENSHOT"):  # a test run leaves the tracked picture alone
        shutil.copyfile(dash.ARTIFACTS / "dashboard-overview-month-1280.png", DOCS)
    # Website calls carry one name everywhere: the overview's row, the chart, the log
    rows = page.locator("#sources tbody tr")
    google = rows.filter(has_text="by campaign")
    expect(google).to_have_count(1)
    expect(google.locator("th a").first).to_have_text("Google")
    chart_labels = [s["label"] for s in json.loads(page.locator("#chart-data").text_content() or "{}")["sources"]]
    assert "Google" in chart_labels and not any(label.islower() for label in chart_labels)
    # A campaign drill-down whose figures are the calls GET /v1/calls finds filtered the same way
    google.locator("a", has_text="by campaign").click()
    page.wait_for_url("**/dashboard/breakdown?**")
    expect(page.locator("h1")).to_have_text("Google by campaign")
    _check(page, "dashboard-breakdown-campaign")
    start, end = page.url.split("from=")[1].split("&")[0], page.url.split("to=")[1].split("&")[0]
    shown = {}
    for tr in page.locator("#breakdown tbody tr").all():
        shown[tr.get_attribute("data-value")] = {
            k: int(tr.locator(f'td[data-key="{k}"]').inner_text().replace(",", "")) for k in ("calls", "answered")
        }
    assert "boiler-repair" in shown, shown
    # The page's days are the business's (an earlier test of this module moved its time zone): the
    # calls asked for are those of the same local days
    zone = ZoneInfo(dashboard.stack.request("GET", "/v1/settings/rebuild")[1]["timezone"])
    first = datetime.fromisoformat(start).replace(tzinfo=zone).isoformat()
    last = (datetime.fromisoformat(end).replace(tzinfo=zone) + timedelta(days=1, milliseconds=-1)).isoformat()
    for value, figures in shown.items():
        q = urlencode({"source": "web:google", "campaign": value, "from": first, "to": last, "limit": 200})
        found = dashboard.stack.request("GET", f"/v1/calls?{q}")[1]["calls"]
        assert figures == {"calls": len(found), "answered": sum(c["result"] == "answered" for c in found)}, value
        assert {c["source_name"] for c in found} == {"Google"}
    # the row's link opens the log filtered the same way, with as many calls
    page.locator("#breakdown tbody tr", has_text="boiler-repair").locator("a").click()
    page.wait_for_url("**/dashboard/calls?**")
    expect(page.locator("table.calls tbody tr")).to_have_count(shown["boiler-repair"]["calls"])
    expect(page.locator("table.calls tbody tr").first).to_contain_text("Google")
    expect(page.locator("#f-campaign")).to_have_value("boiler-repair")
    page.goto(dashboard.url("/dashboard?range=30d"))

    # The call-back list is on the first screen of a phone, with tap-to-call links
    page.set_viewport_size({"width": 390, "height": 844})
    first = page.locator(".call-back-list li").first
    expect(first).to_be_visible()
    box = first.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 844, box

    # (the stack is shared with other tests, whose calls may join the list between two reads: the
    # page and the API are compared on one moment, read again until they agree)
    def same_list() -> bool:
        nonlocal waiting
        waiting = dashboard.stack.request("GET", "/v1/callbacks")[1]["callers"]
        page.reload()
        return bool(waiting) and page.locator(".call-back-list li").count() == min(len(waiting), 10)

    waiting: list = []
    _wait("the call-back list as the API gives it", same_list, 30)
    first = page.locator(".call-back-list li").first
    caller = waiting[0]["caller"]
    expect(first.locator("a.tel")).to_have_attribute("href", f"tel:{caller}")
    page.set_viewport_size({"width": 1280, "height": 900})
    # When that caller calls again and is answered, they leave the list
    numbers = dashboard.stack.request("GET", "/v1/numbers")[1]["numbers"]
    line = next(n["number"] for n in numbers if n.get("channel_id"))
    keys = {"token": stack_mod.AUTH_TOKEN, "api_key": stack_mod.API_KEY}
    simulate_call(dashboard.stack.base_url, line, caller, answer="yes", talk_seconds=3, **keys)

    def gone() -> bool:
        return all(w["caller"] != caller for w in dashboard.stack.request("GET", "/v1/callbacks")[1]["callers"])

    _wait("the caller to leave the call-back list", gone, 60)
    page.reload()
    expect(page.locator(f'.call-back-list a.tel[href="tel:{caller}"]')).to_have_count(0)
    page.goto(dashboard.url("/dashboard/calls"))
    expect(page.locator("table.calls tbody tr")).to_have_count(50)
    page.click("text=Older calls")
    expect(page.locator("table.calls tbody tr").first).to_be_visible()
    _check(page, "dashboard-calls-month")
    assert log.problems == [], log.problems
    context.close()


# --- transcripts (issue 31): the Done-when on this module's stack and pump ------------------------

TRANSCRIBED_CALLER = "+14155550173"
LEAD = "I would like to book an appointment for Tuesday"


def test_a_spoken_appointment_is_a_lead_shown_as_a_conversation_that_plays_from_a_turn(dashboard, pump):
    stack = dashboard.stack
    code, channel = stack.request(
        "POST", "/v1/channels", {"name": "Radio", "forward_to": "+12025550144", "record": True}
    )
    assert code == 201, channel
    code, number = stack.request("POST", "/v1/numbers", {"channel_id": channel["id"]})
    assert code == 201, number
    page = dashboard.signed_in("admin").new_page()
    log = br.watch(page)

    # The owner adds the rule "appointment -> lead" on the Transcripts page (a bad one first)
    page.goto(dashboard.url("/dashboard/transcripts"))
    expect(page.locator("#no-rules")).to_be_visible()
    page.fill("#phrases", "appointment")
    page.click("button:text-is('Add rule')")
    expect(page.locator("#rule-error")).to_contain_text("does nothing")
    expect(page.locator("#phrases")).to_have_value("appointment")
    page.select_option("#outcome", "lead")
    page.fill("#tags", "booking")
    page.click("button:text-is('Add rule')")
    expect(page.locator(".notice-ok")).to_have_text("Rule added.")
    expect(page.locator(".rules-list")).to_contain_text("appointment")
    dash.check_page(page, "dashboard-transcripts")

    # (what the module's earlier tests left: their sale counts too)
    leads_before = stack.request("GET", "/v1/reports/channels")[1]["total"]["leads"]
    page.goto(dashboard.url("/dashboard?range=7d"))
    conversions_before = int(_total(page, "conversions"))

    # When a caller says it on a recorded call
    sayings = stack_dir(stack.env["DYNAMODB_ENDPOINT"], stack.env["TABLE_PREFIX"]) / "sayings"
    sid = simulate_call(
        stack.base_url,
        number["number"],
        TRANSCRIBED_CALLER,
        answer="yes",
        talk_seconds=6,
        token=stack_mod.AUTH_TOKEN,
        api_key=stack_mod.API_KEY,
        say=LEAD,
        sayings=sayings,
    )["call_sid"]

    # Then the local engine transcribes it and the rule makes it a lead, which the overview counts
    def call() -> dict:
        return stack.request("GET", f"/v1/calls/{sid}")[1]

    done = dash.wait_for("the transcript", lambda: (call().get("transcript") or {}).get("status") == "completed")
    assert done
    got = call()
    assert got["transcript"]["keywords"] == ["appointment"] and got["outcome"] == "lead", got["transcript"]
    dash.wait_for(
        "the lead in the reports",
        lambda: stack.request("GET", "/v1/reports/channels")[1]["total"]["leads"] == leads_before + 1,
    )
    page.goto(dashboard.url("/dashboard?range=7d"))
    expect(page.locator('.total[data-key="conversions"] .total-value')).to_have_text(str(conversions_before + 1))

    # And the call page shows the conversation, the keyword marked, and plays from a turn
    page.goto(dashboard.url(f"/dashboard/calls/{sid}"))
    turns = page.locator("#transcript .turn")
    expect(turns.first).to_be_visible()
    caller_turn = page.locator("#transcript .turn-caller")
    expect(caller_turn).to_contain_text("appointment")
    expect(caller_turn.locator("mark")).to_have_text("appointment")
    # (the business's greeting is its own turn; its words are not held to: the small model mishears them)
    expect(page.locator("#transcript .turn-business")).to_have_count(1)
    expect(page.locator("#transcript .turn-business")).not_to_contain_text("appointment")
    expect(page.locator("#transcript .tag-rule")).to_have_text("booking")
    page.wait_for_function("() => document.getElementById('player').duration > 0", timeout=15_000)
    start = float(caller_turn.locator(".turn-seek").get_attribute("data-start") or 0)
    assert start > 1.0
    caller_turn.locator(".turn-seek").click()
    page.wait_for_function(
        f"() => {{ const a = document.getElementById('player'); return !a.paused && a.currentTime >= {start}; }}",
        timeout=15_000,
    )
    page.evaluate("document.getElementById('player').pause()")
    dash.check_page(page, "dashboard-call-transcript")
    assert not log.page_errors and not log.console, log

    # And the log finds the call by what was said, and not by words nobody said
    page.goto(dashboard.url("/dashboard/calls?said=Appointment"))
    expect(page.locator("table.calls tbody tr")).to_have_count(1)
    page.goto(dashboard.url("/dashboard/calls?said=refund"))
    expect(page.locator("table.calls tbody tr")).to_have_count(0)

    # A viewer sees the rules but cannot change them
    viewer = dashboard.signed_in("viewer").new_page()
    viewer.goto(dashboard.url("/dashboard/transcripts"))
    expect(viewer.locator(".rules-list")).to_contain_text("appointment")
    expect(viewer.locator("#phrases")).to_have_count(0)


# --- spam (issue 31): scored by the pump's spam subscriber, shown with its reasons, one click to block ---

SHORT_CALLER = "+14155550188"


def test_repeat_short_calls_are_likely_spam_with_their_reasons_and_a_block_button(dashboard, pump):
    stack = dashboard.stack
    code, channel = stack.request("POST", "/v1/channels", {"name": "Flyer", "forward_to": "+12025550144"})
    assert code == 201, channel
    code, number = stack.request("POST", "/v1/numbers", {"channel_id": channel["id"]})
    assert code == 201, number
    sids = [
        simulate_call(
            stack.base_url,
            number["number"],
            SHORT_CALLER,
            answer="yes",
            talk_seconds=1,
            token=stack_mod.AUTH_TOKEN,
            api_key=stack_mod.API_KEY,
        )["call_sid"]
        for _ in range(3)
    ]

    def spam_of(sid: str) -> dict | None:
        return stack.request("GET", f"/v1/calls/{sid}")[1].get("spam")

    assert dash.wait_for("the third call scored", lambda: (spam_of(sids[2]) or {}).get("likely"))
    assert not (spam_of(sids[0]) or {}).get("likely")

    page = dashboard.signed_in("admin").new_page()
    log = br.watch(page)
    page.goto(dashboard.url(f"/dashboard/calls/{sids[2]}"))
    expect(page.locator("#spam-score")).to_contain_text("repeat short calls")
    expect(page.locator("#block-caller")).to_contain_text("Likely spam.")
    dash.check_page(page, "dashboard-call-spam")
    page.goto(dashboard.url("/dashboard/calls"))
    expect(page.locator("table.calls tbody tr", has_text="likely spam")).to_have_count(1)
    page.goto(dashboard.url(f"/dashboard/calls/{sids[2]}"))
    dash.block_caller(page, stack, SHORT_CALLER)
    assert not log.page_errors and not log.console, log

    # A viewer sees the reasons and no button
    viewer = dashboard.signed_in("viewer").new_page()
    viewer.goto(dashboard.url(f"/dashboard/calls/{sids[2]}"))
    expect(viewer.locator("#spam-score")).to_be_visible()
    expect(viewer.get_by_role("button", name=f"Block {SHORT_CALLER}")).to_have_count(0)
