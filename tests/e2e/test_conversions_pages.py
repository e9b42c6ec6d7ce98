"""The ad platforms' pages in Debian's Chromium against the local stack: a GA4 destination made
through the form (its secret never shown again), a refused form keeping what was typed, "send
test" against a local Measurement Protocol receiver, the delivery log read; a viewer's post by
hand refused. axe-core at both widths; screenshots under ``tests/artifacts/conversions-*``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support import dashboard as dash
from tests.support import servers

pytestmark = pytest.mark.browser
SECRET = "ga4-secret"


@pytest.fixture(scope="module")
def receiver() -> Iterator[str]:
    """A Measurement Protocol receiver (the integration tests' GA4 one, module-scoped here)."""
    from tests.support import conversions

    gen = conversions.ga4.__wrapped__()  # type: ignore[attr-defined]
    state = next(gen)
    yield state.url
    next(gen, None)


@pytest.fixture(scope="module")
def stack_with_ga4(chromium: Any, receiver: str) -> Iterator[dash.Dashboard]:
    running = dash.start(extra_env={"GA4_BASE_URL": receiver})
    try:
        yield dash.Dashboard(stack=running, browser=chromium)
    finally:
        running.stop()


_check = dash.check_page


def test_an_admin_makes_a_ga4_destination_tests_it_and_reads_its_log(stack_with_ga4: dash.Dashboard) -> None:
    d = stack_with_ga4
    page = d.signed_in("admin").new_page()
    page.goto(d.url("/dashboard/conversions"))
    expect(page.locator("h1")).to_have_text("Ad platforms")
    expect(page.locator("main")).to_contain_text("No destination yet")
    # A refused form: the message, and what was typed kept (never the secret)
    page.select_option("#platform", "ga4")
    page.fill("#name", "Main site")
    page.fill("#s-ga4-measurement_id", "UA-12345")
    page.fill("#c-ga4-api_secret", SECRET)
    page.fill("#r-action", "phone_call")
    with page.expect_navigation():
        page.click("text=Add destination")
    expect(page.locator("#form-error")).to_contain_text("measurement id")
    assert page.input_value("#name") == "Main site" and page.input_value("#c-ga4-api_secret") == ""
    _check(page, "conversions-refused")
    # The form done right
    page.fill("#s-ga4-measurement_id", "G-TEST1234")
    page.fill("#c-ga4-api_secret", SECRET)
    page.fill("#r-value", "50")
    with page.expect_navigation():
        page.click("text=Add destination")
    expect(page.locator(".notice-ok")).to_contain_text("will not be shown again")
    assert SECRET not in page.content()
    expect(page.locator("main")).to_contain_text("phone_call")
    # Send test: GA4's validation server accepts it, and the log shows it in words
    dash.send_test(page)
    expect(page.locator("#test-heading")).to_contain_text("accepted")
    expect(page.locator("main")).to_contain_text("GA4 validated the event")
    _check(page, "conversions-destination")
    page.goto(d.url("/dashboard/conversions"))
    expect(page.locator("tbody")).to_contain_text("Main site")
    _check(page, "conversions-list")
    # Pause and resume
    page.click("text=Main site")
    with page.expect_navigation():
        page.click("button:has-text('Pause')")
    expect(page.locator(".notice-ok")).to_contain_text("Paused")


def test_a_viewer_sees_the_pages_but_a_post_by_hand_is_403(stack_with_ga4: dash.Dashboard) -> None:
    d = stack_with_ga4
    page = d.signed_in("viewer").new_page()
    page.goto(d.url("/dashboard/conversions"))
    expect(page.locator("h1")).to_have_text("Ad platforms")
    assert page.locator("text=Add destination").count() == 0
    csrf = page.locator("input[name=csrf]").first.input_value()
    status = page.evaluate(
        """async (csrf) => (await fetch('/dashboard/conversions', {method: 'POST',
            headers: {'Content-Type': 'application/x-www-form-urlencoded'},
            body: new URLSearchParams({csrf, platform: 'ga4', name: 'x'})})).status""",
        csrf,
    )
    assert status == 403


__all__ = ["ThreadingHTTPServer", "servers", "threading"]
