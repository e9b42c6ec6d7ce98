"""The Done-when of transcripts, in Debian's Chromium against the local stack and its event pump.

A recorded call whose recording is espeak-ng saying "I would like to book an appointment for
Tuesday" on the caller's channel is transcribed by the local engine (pocketsphinx); the rule
"appointment -> lead", set on the Transcripts page, sets its outcome; the overview counts the
lead; the call page shows the conversation with the keyword marked and plays from a turn when it
is clicked. axe-core at both widths, screenshots at 1280 and 390 px (``tests/artifacts/``).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from calltracking_local.telephony import stack_dir
from scripts.local import simulate_call
from tests.support import browser as br
from tests.support import dashboard as dash
from tests.support import stack as stack_mod

pytestmark = pytest.mark.browser
CALLER = "+14155550173"
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

    # When a caller says it on a recorded call
    sayings = stack_dir(stack.env["DYNAMODB_ENDPOINT"], stack.env["TABLE_PREFIX"]) / "sayings"
    sid = simulate_call(
        stack.base_url,
        number["number"],
        CALLER,
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
        "the lead in the reports", lambda: stack.request("GET", "/v1/reports/channels")[1]["total"]["leads"] == 1
    )
    page.goto(dashboard.url("/dashboard?range=7d"))
    expect(page.locator('.total[data-key="conversions"] .total-value')).to_have_text("1")

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
