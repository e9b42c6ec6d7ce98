"""A missed-call alert email as a phone's mail app shows it: Chromium at 390 px, axe-core clean,
the caller's number with a tap-to-call link, the time in words in the recipient's zone."""

from __future__ import annotations

import pytest

from chalicelib.integrations.alerts import messages
from tests.support import browser as br
from tests.support import dashboard as dash

pytestmark = pytest.mark.browser


def test_a_missed_call_email_reads_well_on_a_phone(chromium):
    call = {
        "sid": "CA" + "7" * 32,
        "caller": "+14155550177",
        "caller_city": "SAN FRANCISCO",
        "caller_state": "CA",
        "started_at": "2026-12-06T22:23:54.130Z",
        "first_time": True,
        "kind": "channel",
        "channel_name": "Radio FM 101",
        "attribution": {"confidence": "static", "channel_id": "ch_r", "channel_name": "Radio FM 101"},
        "voicemail": True,
    }
    alert = messages.call_alert(
        ["missed_call", "voicemail"], call, "https://calls.example.com", 0, zone="America/Los_Angeles"
    )
    html = messages.as_html(alert)
    assert 'name="viewport"' in html
    context = br.new_context(chromium)
    page = context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    page.set_content(html)
    text = page.inner_text("body")
    assert "Sunday 6 December, 2:23 pm (America/Los_Angeles)" in text and "2026-12-06T22" not in text
    assert "(415) 555-0177" in text and "San Francisco, CA" in text
    assert page.get_attribute('a[href^="tel:"]', "href") == "tel:+14155550177"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    dash.axe_check(page, name="missed-call email")
    dash.capture(page, "email-missed-call")
    context.close()
