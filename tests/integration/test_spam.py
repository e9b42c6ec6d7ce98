"""Spam scoring with Twilio Lookup (issue 31): a number looked up at most once per cache period,
the daily cap, the owner's line types, and text-back waiting for the score while Lookup is on.
Lookup keeps a US caller's name (CNAM) too, shown on the call page and erased with the caller.
(Lookup's request itself, with and without the caller name, is held to Twilio's Lookup v2 spec
with Prism in ``test_telephony_twilio.py``.)"""

from __future__ import annotations

import pytest

from calltracking_local.telephony import LocalTelephony
from chalicelib import spam
from chalicelib.core import clock
from chalicelib.core.context import SYSTEM
from chalicelib.core.telephony import set_provider
from chalicelib.events.delivery import RetryIn
from chalicelib.integrations.spam import caller_data, scorer
from chalicelib.integrations.textback import sender
from tests.integration.test_dashboard_pages import Browser, html
from tests.integration.test_erasure import everything_held
from tests.integration.test_textback import HOURS, OPEN, missed_call, texting_line
from tests.support.database import pump
from tests.support.env import body

VOIP = "+14155550123"
NAMED = {"line_type": "nonFixedVoip", "caller_name": "CALLER 0123"}  # the local provider's made-up CNAM


class CountingLookup(LocalTelephony):
    """Lookup says ``VOIP`` is a nonFixedVoip line, every other a mobile; counts its requests."""

    def __init__(self) -> None:
        super().__init__(area_codes=("201",))
        self.asked: list[str] = []
        self.named: list[bool] = []

    def line_type(self, number):
        return "nonFixedVoip" if number == VOIP else "mobile"

    def caller_lookup(self, number, *, caller_name):
        self.asked.append(number)
        self.named.append(caller_name)
        return super().caller_lookup(number, caller_name=caller_name)


@pytest.fixture
def lookup(tables, settings_env):
    settings_env(TEXT_BACK_ENABLED="true", SPAM_LOOKUP="true", SPAM_LOOKUP_DAILY_CAP="2", SPAM_LOOKUP_CACHE_DAYS="30")
    fake = clock.FakeClock(OPEN)
    clock.set_source(fake)
    provider = CountingLookup()
    set_provider(provider)
    return provider, fake


def test_a_number_is_looked_up_once_per_cache_period_within_the_daily_cap(lookup):
    provider, fake = lookup
    for _ in range(3):
        assert spam.looked_up(VOIP, daily_cap=2, cache_days=30, caller_name=True) == NAMED
    assert provider.asked == [VOIP]  # cached: one request
    assert spam.looked_up("+14155550124", daily_cap=2, cache_days=30) == {"line_type": "mobile"}
    assert spam.looked_up("+14155550125", daily_cap=2, cache_days=30) is None  # the day's cap (2) reached
    assert provider.asked == [VOIP, "+14155550124"]
    fake.advance(31 * 86_400)  # a new day, past the cache period: looked up again, once
    spam.looked_up(VOIP, daily_cap=2, cache_days=30)
    spam.looked_up(VOIP, daily_cap=2, cache_days=30)
    assert provider.asked == [VOIP, "+14155550124", VOIP]
    # A Canadian number shares +1 but Lookup has no caller names there: not asked for one
    assert spam.looked_up("+14165550123", daily_cap=2, cache_days=30, caller_name=True) == {"line_type": "mobile"}
    assert provider.named == [True, False, False, False]
    # An erasure of the caller deletes the cached Lookup (the export shows it before)
    assert caller_data.export(VOIP, SYSTEM) == {"spam_lookup": {"line_type": "nonFixedVoip"}}  # name not asked
    caller_data.erase(VOIP, SYSTEM)
    assert caller_data.export(VOIP, SYSTEM) == {}


def test_a_voip_first_time_caller_is_likely_spam_and_text_back_waits_for_the_score(api, lookup, settings_env):
    provider, _ = lookup
    number = texting_line(api, hours=HOURS, when_unanswered="message")
    event = missed_call(api, number, "CA1", caller=VOIP)
    assert event.call["first_time"] and event.call["spam"] is None
    # Text-back waits while the score has not come (Lookup is on)
    with pytest.raises(RetryIn):
        sender.on_event(event)
    assert provider.sent == []
    # The spam subscriber looks the caller up and stores the score
    scorer.on_event(event)
    got = body(api.call("GET", "/v1/calls/CA1"))["spam"]
    assert got == {"likely": True, "reasons": ["line type nonFixedVoip"], "caller_name": "CALLER 0123"}
    assert provider.named == [True]  # the caller, name asked (a US number)
    # The same event again: text-back now finds the score, and texts nobody
    sender.on_event(event)
    assert provider.sent == []
    assert provider.asked.count(VOIP) == 1  # (the line's own phone was looked up when it was made)
    # A mobile first-time caller whose name holds a word the owner lists is likely spam, the reason naming the word
    settings_env(SPAM_CALLER_NAMES="Scam Likely,caller 01")
    scorer.on_event(missed_call(api, number, "CA3", caller="+14155550127"))
    got = body(api.call("GET", "/v1/calls/CA3"))["spam"]
    assert got == {"likely": True, "reasons": ["a caller name with “caller 01”"], "caller_name": "CALLER 0127"}
    settings_env(SPAM_CALLER_NAMES="", SPAM_LOOKUP_DAILY_CAP="3")
    # A mobile first-time caller is scored not likely, and gets its text once scored
    other = missed_call(api, number, "CA2", caller="+14155550126")
    scorer.on_event(other)
    sender.on_event(other)
    assert [t["to"] for t in provider.sent] == ["+14155550126"]


def test_the_caller_name_from_lookup_is_on_the_call_page_in_the_export_and_gone_after_erasure(api, lookup):
    number = texting_line(api, hours=HOURS, when_unanswered="message")
    event = missed_call(api, number, "CA1", caller=VOIP)
    scorer.on_event(event)
    admin = Browser(api, "admin")
    assert "Caller name (Lookup)" in html(admin.get("/dashboard/calls/CA1"))
    assert "CALLER 0123" in html(admin.get("/dashboard/calls/CA1"))
    # The caller's access document shows the cached Lookup, name included
    path = "/v1/callers/%2B" + VOIP.lstrip("+")
    assert body(api.call("GET", path))["integrations"]["spam"] == {"spam_lookup": NAMED}
    # When the caller is erased: the cache item is gone and the call keeps its score without the name
    pump().drain()  # (the call's events delivered, as they are seconds after it)
    assert api.call("DELETE", path).status_code == 200
    pump().drain()
    assert "spam" not in body(api.call("GET", path))["integrations"]
    assert body(api.call("GET", "/v1/calls/CA1"))["spam"] == {"likely": True, "reasons": ["line type nonFixedVoip"]}
    assert "CALLER 0123" not in everything_held()
    assert "Caller name (Lookup)" not in html(admin.get("/dashboard/calls/CA1"))


def test_a_late_event_of_an_erased_call_looks_nothing_up(api, lookup):
    number = texting_line(api, hours=HOURS, when_unanswered="message")
    event = missed_call(api, number, "CA1", caller=VOIP)
    pump().drain()
    # Given the caller erased before the call's completed event reached the scorer (a retry, late)
    assert api.call("DELETE", "/v1/callers/%2B" + VOIP.lstrip("+")).status_code == 200
    pump().drain()
    provider, _ = lookup
    asked = list(provider.asked)
    # When the event (with the number it was made with) is scored
    scorer.on_event(event)
    # Then no Lookup is made and nothing of the number is kept
    assert provider.asked == asked
    assert "CALLER 0123" not in everything_held() and VOIP not in everything_held()
