"""The setup pages for where calls' news goes and what calls cost, in Debian's Chromium against the
local stack: alerts, webhooks, spend, blocked callers, users and your own account.

Each test signs in through the real form, does the page's action by clicking and typing, and
sees the result; a refused form keeps what was typed and says what to fix beside the field;
axe-core runs at 1280 and 390 px and each page is captured at both widths (``tests/artifacts/``).

``set_up_outlets`` is the owner's part of issue 26's end-to-end path that these pages own: on a
signed-in page, add an alert recipient, add a webhook and type a month's spend.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from calltracking_cli.call import simulate_text
from tests.e2e.test_dashboard_flow import _check
from tests.support import browser as br
from tests.support import dashboard as dash
from tests.support.alerts import Stub
from tests.support.stack import API_KEY, AUTH_TOKEN

pytestmark = pytest.mark.browser


def set_up_outlets(
    page: Page,
    base_url: str,
    *,
    email: str = "owner@example.com",
    webhook_url: str,
    source_label: str,
    month: str,
    amount: str = "$1,250.00",
) -> str:
    """On a signed-in admin's page: add an email alert recipient, add a webhook endpoint for
    every call event, and type ``amount`` as ``month``'s spend (``YYYY-MM``) for the source shown
    as ``source_label`` in the spend grid. Returns the webhook's secret (shown once)."""
    page.goto(f"{base_url}/dashboard/alerts")
    page.fill("#name", "Owner")
    page.check('input[name="channel"][value="email"]')
    page.fill("#email", email)
    page.click("text=Add recipient")
    expect(page.locator(".notice-ok")).to_contain_text("Added Owner")

    page.goto(f"{base_url}/dashboard/webhooks")
    page.fill("#url", webhook_url)
    page.click("text=Add endpoint")
    expect(page.locator("#secret-notice")).to_be_visible()
    secret = page.locator("#secret-value").inner_text()

    page.goto(f"{base_url}/dashboard/spend?until={month}")
    cell = page.get_by_label(f"{source_label}, {month}")
    cell.fill(amount)
    page.click("text=Save spend")
    expect(page.locator(".notice-ok")).to_contain_text("Saved 1 month")
    return secret


def _channel(dashboard: dash.Dashboard, name: str) -> dict[str, Any]:
    code, made = dashboard.stack.request("POST", "/v1/channels", {"name": name, "forward_to": "+12025550144"})
    assert code == 201, made
    return made


def test_alerts_add_refuse_keep_test_edit_and_remove(dashboard: dash.Dashboard) -> None:
    page = dashboard.signed_in("admin").new_page()
    log = br.watch(page)
    page.goto(dashboard.url("/dashboard/alerts"))
    expect(page.locator("#no-recipients")).to_be_visible()
    # The sender check (the local stack's SES has the sender's identity, verified)
    expect(page.locator("#sender-state")).to_have_text("Ready")
    expect(page.locator("#sender-heading + p + p")).to_contain_text("SUCCESS")

    # A refused form keeps what was typed and says what to fix beside the field
    page.fill("#name", "Front desk")
    page.fill("#email", "front-desk-at-example")
    page.fill("#quiet_start", "22:00")
    page.fill("#quiet_end", "07:00")
    page.click("text=Add recipient")
    expect(page.locator("#email-error")).to_contain_text("'email' must be an email address")
    expect(page.locator("#name")).to_have_value("Front desk")
    expect(page.locator("#email")).to_have_value("front-desk-at-example")
    expect(page.locator("#quiet_start")).to_have_value("22:00")
    expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
    _check(page, "dashboard-alerts-refused")

    # Slack fields show only for Slack
    page.check('input[name="channel"][value="slack"]', force=True)
    expect(page.locator("#slack_webhook_url")).to_be_visible()
    expect(page.locator("#email")).to_be_hidden()
    page.check('input[name="channel"][value="email"]', force=True)
    page.fill("#email", "desk@example.com")
    page.check('input[name="summaries"][value="daily"]')
    page.click("text=Add recipient")
    expect(page.locator(".notice-ok")).to_contain_text("Added Front desk")
    row = page.locator("tbody tr", has_text="Front desk")
    expect(row).to_contain_text("desk@example.com")
    expect(row).to_contain_text("22:00\u201307:00")  # an en dash

    # Send test: what the channel answered is shown
    row.get_by_role("button", name="Send test to Front desk").click()
    expect(page.locator("#test-result")).to_contain_text("Front desk")
    _check(page, "dashboard-alerts")

    # Edit, then remove after confirming
    page.get_by_role("link", name="Edit Front desk").click()
    expect(page.locator("#email")).to_have_value("desk@example.com")
    page.fill("#limit_count", "3")
    page.click("text=Save changes")
    expect(page.locator("tbody tr", has_text="Front desk")).to_contain_text("3 per 10 min")
    asked: list[str] = []
    page.once("dialog", lambda d: (asked.append(d.message), d.accept()))
    page.get_by_role("button", name="Remove Front desk").click()
    expect(page.locator("#no-recipients")).to_be_visible()
    assert "no more alerts" in asked[0]
    assert not log.page_errors and not log.console, log


def test_webhooks_secret_once_test_event_log_and_resend(dashboard: dash.Dashboard, stub: Stub) -> None:
    _channel(dashboard, "Billboard I-95")
    page = dashboard.signed_in("admin").new_page()
    log = br.watch(page)
    page.goto(dashboard.url("/dashboard/webhooks"))
    expect(page.locator("#no-endpoints")).to_be_visible()

    page.fill("#url", "http://hooks.example.com/calls")
    page.click("text=Add endpoint")
    expect(page.locator("#url-error")).to_have_text("'url' must start with https://")
    expect(page.locator("#url")).to_have_value("http://hooks.example.com/calls")

    page.fill("#url", stub.url + "/hooks")
    page.uncheck('input[name="events"][value="call.started"]')
    page.select_option("#channel_id", label="Billboard I-95")
    page.click("text=Add endpoint")
    secret = page.locator("#secret-value").inner_text()
    assert secret.startswith("whsec_")
    _check(page, "dashboard-webhook-secret")

    page.click("text=Send a test event")
    expect(page.locator("#test-result")).to_contain_text("your endpoint answered 200")
    expect(page.locator(".deliveries tbody tr").first).to_contain_text("webhook.test")
    expect(page.locator(".deliveries tbody tr").first).to_contain_text('{"ok":true}')
    assert stub.paths("/hooks")[-1]["type"] == "webhook.test"
    assert secret not in page.content()  # shown once only
    _check(page, "dashboard-webhook")

    page.once("dialog", lambda d: d.accept())
    page.click("text=Rotate the secret")
    expect(page.locator("#secret-notice")).to_be_visible()
    assert page.locator("#secret-value").inner_text() != secret

    page.goto(dashboard.url("/dashboard/webhooks"))
    expect(page.locator(".endpoint-list")).to_contain_text("for channel Billboard I-95")
    _check(page, "dashboard-webhooks")
    assert not log.page_errors and not log.console, log


def test_spend_grid_and_csv_upload_with_preview_and_row_errors(dashboard: dash.Dashboard) -> None:
    _channel(dashboard, "Radio KXYZ")
    page = dashboard.signed_in("admin").new_page()
    log = br.watch(page)
    page.goto(dashboard.url("/dashboard/spend?until=2026-11"))
    cell = page.get_by_label("Radio KXYZ, 2026-11")
    cell.fill("1,250")  # thousands or decimals? refused, kept, said beside the cell
    page.click("text=Save spend")
    expect(page.locator(".spend-grid .field-error")).to_contain_text("ambiguous")
    expect(page.get_by_label("Radio KXYZ, 2026-11")).to_have_value("1,250")
    page.get_by_label("Radio KXYZ, 2026-11").fill("1 250,00")
    page.click("text=Save spend")
    expect(page.locator(".notice-ok")).to_have_text("Saved 1 month.")
    expect(page.get_by_label("Radio KXYZ, 2026-11")).to_have_value("1250.00")

    csv_text = 'date,source,amount\nOct 3 2026,Radio KXYZ,"$1,250.00"\n13/10/2026,radio kxyz,80\n2026-10-05,Nobody,5\n'
    page.set_input_files(
        "#csv-file", files=[{"name": "spend.csv", "mimeType": "text/csv", "buffer": csv_text.encode()}]
    )
    expect(page.locator("#csv")).to_have_value(csv_text)  # the file's text, read into the form
    page.click("text=Preview")
    expect(page.locator("#preview-summary")).to_have_text("1 row to fix: nothing was saved")
    expect(page.locator(".preview .row-error")).to_contain_text("is not a channel's name")
    expect(page.locator("#csv")).to_have_value(csv_text)
    _check(page, "dashboard-spend-preview")
    page.fill("#csv", csv_text.replace("2026-10-05,Nobody,5\n", ""))
    page.click("text=Preview")
    expect(page.locator("#preview-summary")).to_have_text("2 rows ready to save")
    page.click("text=Save 2 rows")
    expect(page.locator(".notice-ok")).to_have_text("Imported 2 rows of spend.")
    page.goto(dashboard.url("/dashboard/spend?until=2026-11"))
    expect(page.get_by_label("Radio KXYZ, 2026-10")).to_have_value("1330.00")
    _check(page, "dashboard-spend")
    assert not log.page_errors and not log.console, log

    # A viewer sees the grid, read-only, and no upload
    viewer = dashboard.signed_in("viewer").new_page()
    viewer.goto(dashboard.url("/dashboard/spend?until=2026-11"))
    expect(viewer.locator(".spend-grid")).to_contain_text("1250.00")
    expect(viewer.locator(".grid-input")).to_have_count(0)
    expect(viewer.locator("#upload-heading")).to_have_count(0)
    _check(viewer, "dashboard-spend-viewer")


def _lookup_scored(dashboard: dash.Dashboard, sid: str, caller: str) -> None:
    """The spam scoring's Lookup of ``caller`` (caller name asked) and the score stored on the call, as the
    ``spam`` subscriber does with ``SPAM_LOOKUP`` on, against the stack's tables."""
    import subprocess
    import sys

    from tests.support import servers

    code = (
        "import sys; from chalicelib import spam; "
        "found = spam.looked_up(sys.argv[2], daily_cap=5, cache_days=30, caller_name=True); "
        "print(spam.score_call({'sid': sys.argv[1], 'caller': sys.argv[2]}, blocked=False, short_calls=0, "
        "short_seconds=10, lookup=found, keep_unlikely=True))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, sid, caller],
        env=dash.stack_env(dashboard.stack),
        cwd=servers.ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "CALLER 0199" in done.stdout, done.stderr[-2000:]


def test_blocked_callers_add_remove_and_block_from_a_spam_call(dashboard: dash.Dashboard) -> None:
    from scripts.local import simulate_call
    from tests.support import stack as stack_mod

    stack = dashboard.stack
    channel = _channel(dashboard, "Print ad")
    code, number = stack.request("POST", "/v1/numbers", {"channel_id": channel["id"]})
    assert code == 201, number
    caller = "+14155550199"
    sid = simulate_call(
        stack.base_url,
        number["number"],
        caller,
        answer="yes",
        talk_seconds=2,
        token=stack_mod.AUTH_TOKEN,
        api_key=stack_mod.API_KEY,
    )["call_sid"]
    page = dashboard.signed_in("admin").new_page()
    log = br.watch(page)

    page.goto(dashboard.url("/dashboard/blocked"))
    page.fill("#caller", "not a phone")
    page.click("button:text-is('Block')")
    expect(page.locator("#caller-error")).to_contain_text("'callers[0]' is not a phone number")
    expect(page.locator("#caller")).to_have_value("not a phone")
    page.fill("#caller", "(202) 555-0144")
    page.click("button:text-is('Block')")
    expect(page.locator(".notice-ok")).to_have_text("Blocked +12025550144: 1 on the list.")
    expect(page.locator(".blocked-list")).to_contain_text("+12025550144")
    _check(page, "dashboard-blocked")

    # The spam subscriber's Lookup (the local provider's made-up CNAM) shows the caller's name on the call page
    _lookup_scored(dashboard, sid, caller)
    page.goto(dashboard.url(f"/dashboard/calls/{sid}"))
    expect(page.locator(".lookup-caller-name")).to_have_text("CALLER 0199")
    _check(page, "dashboard-call-lookup-name")

    # Marking a call spam offers to block its caller
    page.goto(dashboard.url(f"/dashboard/calls/{sid}"))
    page.locator(".segment", has_text="Spam").click()
    page.click("text=Save outcome")
    expect(page.locator("#block-caller")).to_contain_text("Marked spam.")
    assert dash.block_caller(page, stack, caller) == ["+12025550144", caller]
    _check(page, "dashboard-call-blocked")

    page.goto(dashboard.url("/dashboard/blocked"))
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Unblock +12025550144").click()
    expect(page.locator(".notice-ok")).to_have_text("+12025550144 may call again.")
    expect(page.locator(".blocked-list")).not_to_contain_text("+12025550144")
    assert not log.page_errors and not log.console, log

    viewer = dashboard.signed_in("viewer").new_page()
    viewer.goto(dashboard.url("/dashboard/blocked"))
    expect(viewer.locator(".blocked-list")).to_contain_text(caller)
    expect(viewer.locator("#caller")).to_have_count(0)
    expect(viewer.get_by_role("button", name=f"Unblock {caller}")).to_have_count(0)


def test_users_reset_role_delete_and_your_own_password(dashboard: dash.Dashboard) -> None:
    other, _ = dashboard.add_user("viewer")
    me, mine = dashboard.add_user("admin")
    page = dashboard.signed_in(email=me).new_page()
    log = br.watch(page)
    page.goto(dashboard.url("/dashboard/users"))
    row = page.locator("tbody tr", has_text=other)

    page.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name=f"New password for {other}").click()
    made_up = page.locator(".secret").inner_text()
    assert len(made_up) >= 10
    _check(page, "dashboard-users-reset")
    dash.sign_in(dashboard.browser.new_context().new_page(), dashboard.stack.base_url, other, made_up)

    page.locator("tbody tr", has_text=other).get_by_role("button", name=f"Make admin {other}").click()
    expect(page.locator(".notice-ok")).to_contain_text(f"{other} is now admin")
    page.once("dialog", lambda d: d.accept())
    page.locator("tbody tr", has_text=other).get_by_role("button", name=f"Delete {other}").click()
    expect(page.locator(".notice-ok")).to_contain_text(f"Deleted {other}")
    expect(page.locator("tbody")).not_to_contain_text(other)
    _check(page, "dashboard-users")

    # Your own password: the current one is required, and what to fix is said beside the field
    page.goto(dashboard.url("/dashboard/account"))
    page.fill("#current_password", "not my password")
    page.fill("#new_password", "a brand new passphrase")
    page.fill("#new_password_again", "a brand new passphrase")
    page.click("text=Change password")
    expect(page.locator("#current_password-error")).to_have_text("'current_password' is not your current password")
    _check(page, "dashboard-account-refused")
    page.fill("#current_password", mine)
    page.fill("#new_password", "a brand new passphrase")
    page.fill("#new_password_again", "a brand new passphrase")
    page.click("text=Change password")
    expect(page.locator(".notice-ok")).to_contain_text("Your password is changed")
    dashboard.passwords[me] = "a brand new passphrase"
    assert not log.page_errors and not log.console, log


def test_the_helper_sets_up_alerts_a_webhook_and_a_months_spend(dashboard: dash.Dashboard, stub: Stub) -> None:
    _channel(dashboard, "Google Business Profile")
    page = dashboard.signed_in("admin").new_page()
    base, label = dashboard.stack.base_url, "Google Business Profile"
    secret = set_up_outlets(page, base, webhook_url=stub.url + "/hooks", source_label=label, month="2026-09")
    assert secret.startswith("whsec_")
    recipients = dashboard.stack.request("GET", "/v1/alerts/recipients")[1]["recipients"]
    assert any(r["email"] == "owner@example.com" for r in recipients)
    assert any(w["url"] == stub.url + "/hooks" for w in dashboard.stack.request("GET", "/v1/webhooks")[1]["webhooks"])
    report = dashboard.stack.request("GET", "/v1/reports/channels?from=2026-09-01&to=2026-09-30")[1]
    assert any(r["spend"] == 1250 for r in report["rows"])


# --- texts to tracking numbers (issue 28): the log, the caller's page, an SMS recipient ---------------

TEXT_SITE = "https://shop.example.com"
TEXTER = "+14155550163"
TEXTER_SHOWN = "(415) 555-0163"


def test_a_text_to_a_leased_pool_number_is_in_the_log_under_the_visits_source(dashboard: dash.Dashboard) -> None:
    stack = dashboard.stack
    # Given a website pool, and a visit from a Google ad holding its number
    spec = {
        "name": "Shop",
        "allowed_origins": [TEXT_SITE],
        "original_number": "+12025550123",
        "forward_to": "+12025550144",
    }
    code, pool = stack.request("POST", "/v1/pools", spec)
    assert code == 201, pool
    code, number = stack.request("POST", "/v1/numbers", {"pool_id": pool["id"]})
    assert code == 201, number
    visit = {
        "site_key": pool["site_key"],
        "visitor_id": "visitor-text-01",
        "page_url": f"{TEXT_SITE}/?utm_source=google&utm_medium=cpc&utm_campaign=boilers",
        "utm": {"source": "google", "medium": "cpc", "campaign": "boilers"},
    }
    code, lease = stack.request("POST", "/v1/leases", visit, {"Content-Type": "text/plain", "Origin": TEXT_SITE})
    assert code == 200, lease
    # When the visitor texts the number they were shown (Twilio's side played by the simulator)
    sent = simulate_text(stack.base_url, lease["number"], TEXTER, "Do you fix boilers on Sundays?", AUTH_TOKEN, API_KEY)
    assert sent["steps"][0]["twiml"].strip().endswith("<Response />")
    assert sent["call"]["attribution"]["session_id"] == lease["session_id"]

    # Then the log shows it as a text from Google, with its words; the Texts filter keeps it
    page = dashboard.signed_in("admin").new_page()
    log = br.watch(page)
    page.goto(dashboard.url("/dashboard/calls"))
    row = page.locator("tbody tr", has_text=TEXTER_SHOWN)
    expect(row).to_contain_text("Google")
    expect(row).to_contain_text("text")
    expect(row).to_contain_text("Do you fix boilers on Sundays?")
    page.select_option("#f-result", "text")
    page.locator("#f-result").evaluate("el => el.form.requestSubmit()")
    page.wait_for_url("**result=text**")
    expect(page.locator("tbody tr")).to_have_count(1)
    dash.check_page(page, "dashboard-calls-texts")
    # ... and its page says it was a text, with its words and no recording
    page.locator("tbody tr th a").click()
    page.wait_for_url(f"**/dashboard/calls/{sent['message_sid']}")
    expect(page.locator("#call-heading")).to_have_text("The text")
    expect(page.locator("h1")).to_have_text(f"Text from {TEXTER_SHOWN}")
    expect(page.locator(".story-grid")).to_contain_text("Do you fix boilers on Sundays?")
    expect(page.locator("#recording")).to_have_count(0)
    dash.check_page(page, "dashboard-text-story")

    # And the caller's page lists the text with its words
    page.goto(dashboard.url("/dashboard/callers?number=%2B" + TEXTER.lstrip("+")))
    expect(page.locator("#held-heading + p")).to_contain_text("0 call(s) and 1 text(s)")
    expect(page.locator("tbody")).to_contain_text("Do you fix boilers on Sundays?")
    dash.check_page(page, "dashboard-caller-texts")

    # And an SMS alert recipient is added on the alerts form (a bad phone is said beside the field)
    page.goto(dashboard.url("/dashboard/alerts"))
    page.fill("#name", "Owner's mobile")
    page.check('input[name="channel"][value="sms"]', force=True)
    expect(page.locator("#phone")).to_be_visible()
    expect(page.locator("#email")).to_be_hidden()
    page.fill("#phone", "not a phone")
    page.click("text=Add recipient")
    expect(page.locator("#phone-error")).to_contain_text("'phone'")
    expect(page.locator("#phone")).to_have_value("not a phone")
    page.fill("#phone", "(202) 555-0188")
    page.click("text=Add recipient")
    expect(page.locator(".notice-ok")).to_contain_text("Added Owner's mobile")
    expect(page.locator("tbody tr", has_text="Owner's mobile")).to_contain_text("+12025550188")
    dash.check_page(page, "dashboard-alerts-sms")
    assert not log.page_errors and not log.console, log
