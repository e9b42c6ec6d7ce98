"""Setting up call tracking with pages only, in Debian's Chromium, on a fresh stack without demo data.

Sign in → the first-run checklist → a channel (a refused phone keeps what was typed) → its number
bought → a website pool with numbers → its script tag pasted into the stack's test website → the
install check passes → the test link swaps the number → business hours and voicemail (a half-typed
day refused beside its field) → an alert recipient, a webhook and this month's spend (the outlets
pages, ``set_up_outlets``) → a signed (simulated Twilio) call to the channel's number shows on the
overview with a cost per call, reaches the webhook, and shows on the numbers page. Every page:
axe-core at 1280 and 390 px, screenshots. Then: a viewer sees the pages without forms and a POST
by hand is a 403; the API and the page refuse the same input with the same message.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

import pytest
from playwright.sync_api import expect

from calltracking_local.telephony import stack_dir
from scripts.local import simulate_call, simulate_call_back
from tests.e2e.test_dashboard_outlets import set_up_outlets
from tests.support import browser as br
from tests.support import dashboard as dash
from tests.support import stack as stack_mod
from tests.support.alerts import Stub

pytestmark = pytest.mark.browser
CALLER = "+14155550177"


_check = dash.check_page


def _e164(display: str) -> str:
    digits = re.sub(r"\D", "", display)
    return "+" + (digits if len(digits) > 10 else "1" + digits)


_wait = dash.wait_for


def test_an_owner_sets_up_tracking_with_pages_only(dashboard: dash.Dashboard, pump: Any, stub: Stub) -> None:
    base = dashboard.stack.base_url
    page = dashboard.signed_in("admin").new_page()

    # Given a fresh install, the dashboard opens on the first-run checklist
    page.goto(dashboard.url("/dashboard"))
    expect(page.locator("#checklist-heading")).to_contain_text("0 of 4 done")
    _check(page, "setup-first-run")

    # When a channel is made with a phone that is not one, the form says so beside it and keeps the name
    page.goto(dashboard.url("/dashboard/channels"))
    page.fill("#new-name", "Google Ads")
    page.fill("#new-forward_to", "12")
    page.click("text=Make channel")
    expect(page.locator("#new-forward_to-error")).to_contain_text("'forward_to'")
    expect(page.locator("#new-name")).to_have_value("Google Ads")
    expect(page.locator("#new-forward_to")).to_have_value("12")
    _check(page, "setup-channels-refused")
    # ... and typed as people type a phone, it is taken
    page.fill("#new-forward_to", "(202) 555-0144")
    page.click("text=Make channel")
    expect(page.locator("h1")).to_have_text("Google Ads")

    # When its number is bought from its page
    page.click("text=Buy a number")
    expect(page.locator(".notice-ok")).to_contain_text("Bought")
    channel_number = _e164(page.locator(".big-number").inner_text())
    channel_url = page.url.split("?")[0]

    # Then the numbers page answers "which number is on my Google ad?"
    page.goto(dashboard.url("/dashboard/numbers?q=google"))
    row = page.locator("#numbers-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Google Ads")
    expect(row).to_contain_text("(202) 555-0144")
    expect(row).to_contain_text("here")
    page.click("#check-twilio")  # asks the provider itself where the number points
    expect(page.locator("#numbers-table tbody tr")).to_contain_text(
        "here Twilio sends its calls here (checked just now)"
    )
    page.goto(dashboard.url("/dashboard/numbers?find=1&country=US&area_code=201"))
    expect(page.locator("fieldset.choices label")).not_to_have_count(0)
    _check(page, "setup-numbers-search")

    # When a website pool is made for the stack's test website, with two numbers
    page.goto(dashboard.url("/dashboard/pools"))
    page.fill("#new-name", "Website")
    page.fill("#new-allowed_origins", base)
    page.fill("#new-original_number", "(202) 555-0199")
    page.fill("#new-forward_to", "202.555.0144")
    page.click("text=Make pool")
    expect(page.locator("h1")).to_have_text("Website")
    page.fill("#buy-count", "2")
    page.click("text=Buy numbers")
    expect(page.locator(".notice-ok")).to_contain_text("Bought")
    pool_url = page.url.split("?")[0]
    # (and the sizing model says how many numbers the site's busiest hour needs)
    page.fill("#size-visitors", "120")
    page.click("text=Suggest a size")
    expect(page.locator("#size-advice")).to_contain_text("track about 99% of 120 visitors an hour")

    # And its script tag is copied into the test website the stack serves
    tag = page.input_value("#script-tag")
    assert 'data-site="sk_' in tag and "/ct.js" in tag
    page.click("button[data-copy=script-tag]")
    expect(page.locator('[data-copied="script-tag"]')).to_contain_text("Copied")
    site = page.context.new_page()
    site.goto(base + "/demo/site")
    site.fill("#site-tag", tag)
    site.click("#site-save")
    expect(site.locator("#site-message")).to_contain_text("Saved")
    site.close()

    # Then the install check finds it
    page.goto(pool_url)
    page.click("text=Check the page")
    expect(page.locator("#check-result")).to_contain_text("Installed")
    _check(page, "setup-pool")

    # And the test link shows a visitor one of the pool's numbers in place of the site's own
    link = page.locator("#test-link").get_attribute("href") or ""
    assert "utm_source=" in link
    visitor = br.new_context(dashboard.browser)
    vpage = visitor.new_page()
    vpage.goto(link)
    expect(vpage.locator("#site-phone")).not_to_have_text("(202) 555-0199", timeout=10_000)
    swapped = _e164(vpage.locator("#site-phone").inner_text())
    visitor.close()
    page.goto(dashboard.url("/dashboard/numbers?q=website"))
    pool_numbers = [_e164(t) for t in page.locator("#numbers-table tbody th").all_inner_texts()]
    assert swapped in pool_numbers and channel_number not in pool_numbers

    # When business hours are half typed, the day is refused beside it and the greeting kept
    page.goto(channel_url)
    page.check("#h-hours_on")
    page.fill("#h-tz", "America/New_York")
    page.fill("#h-mon_open", "09:00")
    page.select_option("#h-when_unanswered", "voicemail")
    page.fill("#h-voicemail_prompt", "Thanks for calling Acme. Leave a message.")
    page.click("text=Save call handling")
    expect(page.locator("#h-mon-error")).to_contain_text("opening and a closing time")
    expect(page.locator("#h-voicemail_prompt")).to_have_value("Thanks for calling Acme. Leave a message.")
    # ... and saved whole, the preview says what a caller hears
    for day in ("mon", "tue", "wed", "thu", "fri"):
        page.fill(f"#h-{day}_open", "09:00")
        page.fill(f"#h-{day}_close", "17:00")
    # ... with a menu, call screening, text-back and a longer ring
    page.fill("#h-menu_prompt", "For sales press 1. For service press 2.")
    page.fill("#h-menu_1_label", "Sales")
    page.fill("#h-menu_1_to", "(202) 555-0144")
    page.fill("#h-menu_2_label", "Service")
    page.fill("#h-menu_2_to", "voicemail")
    page.check("input[name=screen]")
    page.check("input[name=text_back]")
    page.select_option("#h-text_forward", "sms")  # texts to the line's numbers: on to its phone
    page.fill("#h-ring_seconds", "25")
    page.click("text=Save call handling")
    expect(page.locator(".notice-ok")).to_contain_text("Call handling saved")
    preview = page.locator(".preview")
    expect(preview).to_contain_text("During business hours")
    expect(preview).to_contain_text("Outside business hours")
    expect(preview).to_contain_text("Thanks for calling Acme")
    expect(preview).to_contain_text("for about 25 seconds")
    expect(preview).to_contain_text("“For sales press 1. For service press 2.” and presses or says an option")
    expect(preview).to_contain_text("2 or “Service” takes a voicemail")
    expect(page.locator("#h-menu_2_to")).to_have_value("voicemail")
    expect(preview).to_contain_text("must press a key, or the call goes on as not answered")
    expect(preview).to_contain_text("Within a minute the caller gets one text")
    expect(preview).to_contain_text("forwarded by text to")
    expect(page.locator("#h-text_forward")).to_have_value("sms")
    expect(page.locator("input[name=screen]")).to_be_checked()
    _check(page, "setup-channel")

    # When the owner adds an alert recipient and a webhook and types this month's spend on Google Ads
    month = datetime.now(UTC).strftime("%Y-%m")
    set_up_outlets(page, base, webhook_url=stub.url + "/hooks", source_label="Google Ads", month=month)

    # When a call (signed as Twilio signs) comes to the new number
    simulate_call(
        base,
        channel_number,
        CALLER,
        answer="yes",
        talk_seconds=5,
        token=stack_mod.AUTH_TOKEN,
        api_key=stack_mod.API_KEY,
    )

    # Then it is on the overview, and on the numbers page
    def counted() -> bool:
        page.goto(dashboard.url("/dashboard"))
        total = page.locator('.total[data-key="calls"] .total-value')
        return total.count() > 0 and total.inner_text().strip() == "1"

    _wait("the call on the overview", counted)
    expect(page.locator('.total[data-key="calls"] .total-value')).to_have_text("1")
    # with a cost per call from the month's spend (a money figure, not a dash)
    expect(page.locator('.total[data-key="cost_per_call"] .total-value')).to_have_text(re.compile(r"\d"))
    # and the webhook got the call's events, signed
    _wait("the call's events at the webhook", lambda: bool(stub.paths("/hooks")))
    page.goto(dashboard.url("/dashboard/numbers"))
    row = page.locator("#numbers-table tbody tr", has_text="Google Ads")
    expect(row.locator("td.num")).to_have_text("1")
    _check(page, "setup-numbers")
    page.goto(dashboard.url("/dashboard/start"))
    expect(page.locator("#checklist-heading")).to_contain_text("4 of 4 done")

    # When a caller nobody answers leaves a voicemail (the menu's phone rang out, or after hours)
    missed = simulate_call(
        base, channel_number, "+14155550188", answer="no", token=stack_mod.AUTH_TOKEN, api_key=stack_mod.API_KEY
    )
    assert missed["call"]["result"] == "voicemail"
    # Then the call's page offers to call them back from the owner's own phone, which they have not given yet
    page.goto(dashboard.url(f"/dashboard/calls/{missed['call_sid']}"))
    expect(page.locator("#call-back .no-own-phone")).to_contain_text("your account has none")
    _check(page, "call-back-no-phone")
    page.click("text=Add your phone on your account page")
    # When they type a phone that is none on the Account page, the error is beside it, as typed
    page.fill("#phone", "555-01")
    page.click("text=Save phone")
    expect(page.locator("#phone-error")).to_contain_text("'phone'")
    expect(page.locator("#phone")).to_have_value("555-01")
    _check(page, "account-phone-refused")
    page.fill("#phone", "(202) 555-0177")
    page.click("text=Save phone")
    expect(page.locator(".notice-ok")).to_contain_text("Your phone is saved")
    expect(page.locator("#phone")).to_have_value("+12025550177")
    # Then the button rings their own phone first, showing the tracking number
    page.goto(dashboard.url(f"/dashboard/calls/{missed['call_sid']}"))
    expect(page.locator("#call-back")).to_contain_text("Your phone ((202) 555-0177) rings first")
    page.click("text=Ring my phone, then (415) 555-0188")
    expect(page.locator("#call-back .notice-ok")).to_contain_text("Calling your phone ((202) 555-0177) now")
    expect(page.locator("#call-back")).to_contain_text("Called back")
    # ... stored as an outbound call of its own (what Twilio was asked: To the owner's phone, From the
    # tracking number), shown on the original call's page, linking back, and in the log only when asked for
    status, found = dashboard.stack.request("GET", "/v1/calls?medium=outbound")
    assert status == 200, found
    [made] = found["calls"]
    assert (made["forwarded_to"], made["called"], made["caller"]) == ("+12025550177", channel_number, "+14155550188")
    assert made["callback_of"] == missed["call_sid"] and made["result"] == "outbound"
    # When the call simulator plays it (make call CALLBACK=1): the owner answers and is bridged to the caller
    env = dashboard.stack.env
    played = simulate_call_back(
        base,
        folder=stack_dir(env["DYNAMODB_ENDPOINT"], env["TABLE_PREFIX"]) / "started-calls",
        token=stack_mod.AUTH_TOKEN,
        api_key=stack_mod.API_KEY,
    )
    assert played["call_sid"] == made["sid"]
    bridge = ElementTree.fromstring(played["steps"][0]["twiml"])
    assert bridge.find("Dial").get("callerId") == channel_number and bridge.find("Dial/Number").text == "+14155550188"
    # Then the call-back's record has its status and talk time, from the signed status callback
    assert (played["call"]["status"], played["call"]["duration"]) == ("completed", 50), played["call"]
    page.reload()
    expect(page.locator("#call-backs")).to_contain_text("rang (202) 555-0177 first")
    _check(page, "call-back")
    page.locator("#call-backs a").first.click()
    expect(page.locator("h1")).to_contain_text("Call back to")
    expect(page.locator(".callback-of a")).to_have_attribute("href", re.compile(missed["call_sid"]))
    _check(page, "call-back-outbound")
    page.goto(dashboard.url("/dashboard/calls"))
    expect(page.locator(f'a[href*="{made["sid"]}"]')).to_have_count(0)
    page.goto(dashboard.url("/dashboard/calls?result=outbound"))
    expect(page.locator("table.calls tbody tr")).to_have_count(1)
    expect(page.locator("table.calls tbody tr")).to_contain_text("outbound")

    # When a pool number is released, the confirmation says what happens to calls to it first
    page.goto(dashboard.url("/dashboard/numbers?q=website"))
    before = page.locator("#numbers-table tbody tr").count()
    page.locator("#numbers-table tbody tr").first.locator("text=Release").click()
    expect(page.locator("main")).to_contain_text("stop reaching Website at once")
    _check(page, "setup-number-release")
    page.click("button.button-danger")
    expect(page.locator(".notice-ok")).to_contain_text("Released")
    page.goto(dashboard.url("/dashboard/numbers?q=website"))
    expect(page.locator("#numbers-table tbody tr")).to_have_count(before - 1)

    # and a channel with a number is not deleted: the page says to release its number first
    page.goto(channel_url + "/delete")
    page.click("button.button-danger")
    expect(page.locator(".notice-error")).to_contain_text("release the channel's numbers first")
    _check(page, "setup-channel-delete-refused")


def test_a_viewer_sees_the_setup_pages_read_only(dashboard: dash.Dashboard) -> None:
    context = dashboard.signed_in("viewer")
    page = context.new_page()
    for path in ("/dashboard/numbers", "/dashboard/channels", "/dashboard/pools"):
        page.goto(dashboard.url(path))
        assert page.locator("h1").count() == 1
        assert page.locator("form[method=post]:not([action$=signout])").count() == 0, path
    _check(page, "setup-pools-viewer")
    # A channel's page: its settings and call handling shown, none of it changeable
    status, made = dashboard.stack.request("POST", "/v1/channels", {"name": "Print ad", "forward_to": "+12025550144"})
    assert status == 201
    page.goto(dashboard.url(f"/dashboard/channels/{made['id']}"))
    expect(page.locator("#main-name")).to_be_disabled()
    expect(page.locator("#h-voicemail_prompt")).to_be_disabled()
    assert page.locator("main button").count() == 0
    _check(page, "setup-channel-viewer")
    # A POST by hand, with the session's own CSRF token, is a 403
    csrf = page.locator("input[name=csrf]").first.input_value()
    answer = page.request.post(
        dashboard.url("/dashboard/channels"), form={"csrf": csrf, "name": "X", "forward_to": "+12025550144"}
    )
    assert answer.status == 403
    context.close()


def test_the_api_and_the_page_refuse_the_same_input_with_the_same_message(dashboard: dash.Dashboard) -> None:
    status, body = dashboard.stack.request("POST", "/v1/channels", {"name": "Radio", "forward_to": "555"})
    assert status == 400
    page = dashboard.signed_in("admin").new_page()
    page.goto(dashboard.url("/dashboard/channels"))
    page.fill("#new-name", "Radio")
    page.fill("#new-forward_to", "555")
    page.click("text=Make channel")
    assert page.locator("#new-forward_to-error").inner_text() == body["error"]["message"]


def test_the_call_simulator_plays_each_flow_and_the_pages_show_it(dashboard: dash.Dashboard, pump: Any) -> None:
    """Done-when of #28: the simulator (``make call ANSWER=machine|person DIGITS=2``, ``ANSWER=no,person``)
    against the local stack, then the flow form, the log's menu filter and the call-back list in Chromium."""
    stack = dashboard.stack
    keys = {"token": stack_mod.AUTH_TOKEN, "api_key": stack_mod.API_KEY}

    def line(name: str, flow: dict[str, Any]) -> tuple[str, str]:
        status, ch = stack.request("POST", "/v1/channels", {"name": name, "forward_to": "+12025550144", "flow": flow})
        assert status == 201, ch
        status, num = stack.request("POST", "/v1/numbers", {"channel_id": ch["id"]})
        assert status == 201, num
        return ch["id"], num["number"]

    def dials(result: dict[str, Any]) -> list[tuple[str | None, str | None]]:
        found = [ElementTree.fromstring(s["twiml"]).find("Dial") for s in result["steps"]]
        return [(d.findtext("Number"), d.get("timeout")) for d in found if d is not None]

    # When a screened line's phone is answered by its own voicemail (a machine presses nothing)
    _, screened = line("Van", {"screen": True, "when_unanswered": "voicemail"})
    c = simulate_call(stack.base_url, screened, "+14155550191", answer="machine", **keys)["call"]
    # Then the call is missed, with the caller's voicemail, and the screen says nobody pressed
    assert (c["result"], c["answered"], c["voicemail"], c["screen"]["pressed"]) == ("voicemail", False, True, None)
    # ... while a person who presses takes the call
    c = simulate_call(stack.base_url, screened, "+14155550192", answer="person", **keys)["call"]
    assert (c["result"], c["screen"]["pressed"]) == ("answered", "1")

    # When a caller presses 2 at a line's menu
    menu = {
        "prompt": "For sales press 1. For service press 2.",
        "options": [
            {"key": "1", "label": "Sales", "forward_to": "+12025550166"},
            {"key": "2", "label": "Service", "forward_to": "+12025550177"},
        ],
    }
    _, shop = line("Shop", {"menu": menu})
    chose = simulate_call(stack.base_url, shop, "+14155550193", answer="person", digits="2", **keys)
    # Then option 2's phone rings and the option is stored on the call
    assert [n for n, _ in dials(chose)] == ["+12025550177"]
    assert (chose["call"]["menu_option"], chose["call"]["result"]) == ("2", "answered")

    # When a ring group in order (15 s, then 30 s) has its first phone ring out and the second answer
    team_id, team = line("Team", {"failover": ["+12025550111"], "ring_each": [15, 30]})
    rang = simulate_call(stack.base_url, team, "+14155550194", answer="no,person", **keys)
    # Then the second phone is tried after the first's ring time (Twilio adds ~5 s to each timeout) and took it
    assert dials(rang) == [("+12025550144", "10"), ("+12025550111", "25")]
    assert (rang["call"]["result"], rang["call"]["answered_phone"]) == ("answered", "+12025550111")

    # ... and of phones rung together, the one whose leg answered is stored
    _, both = line("Both", {"failover": ["+12025550111"], "ring": "together"})
    together = simulate_call(stack.base_url, both, "+14155550195", answer="person", **keys)["call"]
    assert (together["result"], together["answered_phone"]) == ("answered", "+12025550144")

    page = dashboard.signed_in("admin").new_page()
    # The call's page says which phone answered
    page.goto(dashboard.url(f"/dashboard/calls/{rang['call_sid']}"))
    expect(page.locator("main")).to_contain_text("Answered by")
    expect(page.locator("main")).to_contain_text("(202) 555-0111")
    _check(page, "call-answered-by")
    # The log filters by the menu option, and says which option each call chose
    page.goto(dashboard.url("/dashboard/calls?menu_option=2"))
    expect(page.locator("table.calls tbody tr")).to_have_count(1)
    expect(page.locator("table.calls tbody tr")).to_contain_text("option 2")
    expect(page.locator("#f-menu")).to_have_value("2")
    _check(page, "calls-menu-option")

    # The flow form: round-robin, each phone's ring time, screening with its alert count, told in words
    page.goto(dashboard.url(f"/dashboard/channels/{team_id}"))
    page.select_option("#h-ring", "round_robin")
    page.fill("#h-ring_each", "15, soon")
    page.click("text=Save call handling")
    expect(page.locator("#h-ring_each-error")).to_contain_text("ring_each")
    expect(page.locator("#h-ring_each")).to_have_value("15, soon")
    page.fill("#h-ring_each", "15, 30")
    page.check("input[name=screen]")
    page.fill("#h-screen_alert_after", "2")
    page.click("text=Save call handling")
    expect(page.locator(".notice-ok")).to_contain_text("Call handling saved")
    preview = page.locator(".preview")
    expect(preview).to_contain_text("Rings (202) 555-0144 for about 15 seconds")
    expect(preview).to_contain_text("Rings (202) 555-0111 for about 30 seconds")
    expect(preview).to_contain_text("The next call starts at the next phone")
    expect(preview).to_contain_text("After 2 screened answers in a row without a key press")
    _check(page, "setup-ring-group")

    # The overview's call-back list calls a waiting caller back with the call page's button
    page.goto(dashboard.url("/dashboard"))
    _wait(
        "the voicemail caller on the call-back list",
        lambda: page.reload() or page.locator(".call-back-list li").count(),
    )
    # ... below the figures, the menu report: the caller who pressed 2 counted under option 2
    expect(page.locator("#menu-report")).to_contain_text("2 · Service")
    _check(page, "overview-call-back-list")
    # (the admin's own phone first: a call back rings it)
    page.goto(dashboard.url("/dashboard/account"))
    page.fill("#phone", "+12025550177")
    page.click("text=Save phone")
    page.goto(dashboard.url("/dashboard"))
    page.locator(".call-back-list li").first.locator("text=Call back now").click()
    expect(page.locator(".call-back .notice-ok")).to_contain_text("Calling your phone ((202) 555-0177) now")


def test_a_recorded_greeting_and_a_menu_ring_group_on_the_call_flow_form(
    dashboard: dash.Dashboard, tmp_path: Any
) -> None:
    """#28's last two gaps on the form: a menu option ringing a group, and a greeting uploaded (a file
    that is no recording refused beside its field, the rest as typed), in Chromium; axe clean, screenshots."""
    from calltracking_local import audio

    status, made = dashboard.stack.request("POST", "/v1/channels", {"name": "Flyer", "forward_to": "+12025550144"})
    assert status == 201, made
    page = dashboard.signed_in("admin").new_page()
    page.goto(dashboard.url(f"/dashboard/channels/{made['id']}"))
    page.fill("#h-menu_prompt", "For sales press 1. For service press 2.")
    page.fill("#h-menu_1_label", "Sales")
    expect(page.locator("#h-menu_1_ring")).to_be_visible()
    page.fill("#h-menu_1_to", "voicemail")
    page.fill("#h-menu_2_label", "Service")
    page.fill("#h-menu_2_to", "(202) 555-0177, (202) 555-0188")
    # Then how a group rings is asked only of the option that rings phones, not of voicemail's
    expect(page.locator("#h-menu_1_ring")).to_be_hidden()
    expect(page.locator("#h-menu_1_ring_each")).to_be_hidden()
    expect(page.locator("#h-menu_2_ring")).to_be_visible()
    page.fill("#h-menu_2_ring_each", "15, 30")
    page.fill("#h-voicemail_prompt", "Typed and kept")
    # When the file chosen is no recording, it is refused beside its field, the rest kept as typed
    bad = tmp_path / "greeting.wav"
    bad.write_bytes(b"<html>not audio</html>")
    page.set_input_files("#h-greeting_file", str(bad))
    expect(page.locator("#h-greeting_audio")).not_to_have_value("")
    page.click("text=Save call handling")
    expect(page.locator("#h-greeting_file-error")).to_contain_text("is not an MP3 or WAV recording")
    expect(page.locator("#h-voicemail_prompt")).to_have_value("Typed and kept")
    expect(page.locator("#h-menu_2_to")).to_have_value("(202) 555-0177, (202) 555-0188")
    expect(page.locator("#h-menu_1_ring")).to_be_hidden()  # as the page comes back: voicemail's option
    _check(page, "setup-greeting-refused")
    # When a WAV is chosen, it is saved with the menu's ring group, and the preview says both
    good = tmp_path / "hello.wav"
    good.write_bytes(audio.wav_bytes())
    page.set_input_files("#h-greeting_file", str(good))
    expect(page.locator("#h-greeting_audio")).not_to_have_value("")
    page.click("text=Save call handling")
    expect(page.locator(".notice-ok")).to_contain_text("Call handling saved")
    preview = page.locator(".preview")
    expect(preview).to_contain_text("2 or “Service” rings (202) 555-0177 and (202) 555-0188 one after another")
    expect(preview).to_contain_text("The caller hears the recorded greeting you uploaded.")
    expect(page.locator("input[name=remove_greeting]")).to_be_visible()
    _check(page, "setup-greeting")
    status, line = dashboard.stack.request("GET", f"/v1/channels/{made['id']}")
    assert line["flow"]["greeting"] == "wav" and line["flow"]["menu"]["options"][1]["ring_each"] == [15, 30]
