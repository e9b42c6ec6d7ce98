"""Spam scoring with Twilio Lookup (issue 31): a number looked up at most once per cache period,
the daily cap, the owner's line types, and text-back waiting for the score while Lookup is on.
(Lookup's request itself is the call screening's ``line_type``, held to Twilio's Lookup v2 spec
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
from tests.integration.test_textback import HOURS, OPEN, missed_call, texting_line
from tests.support.env import body

VOIP = "+14155550123"


class CountingLookup(LocalTelephony):
    """Lookup says ``VOIP`` is a nonFixedVoip line, every other a mobile; counts its requests."""

    def __init__(self) -> None:
        super().__init__(area_codes=("201",))
        self.asked: list[str] = []

    def line_type(self, number):
        self.asked.append(number)
        return "nonFixedVoip" if number == VOIP else "mobile"


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
        assert spam.looked_up(VOIP, daily_cap=2, cache_days=30) == {"line_type": "nonFixedVoip"}
    assert provider.asked == [VOIP]  # cached: one request
    assert spam.looked_up("+14155550124", daily_cap=2, cache_days=30) == {"line_type": "mobile"}
    assert spam.looked_up("+14155550125", daily_cap=2, cache_days=30) is None  # the day's cap (2) reached
    assert provider.asked == [VOIP, "+14155550124"]
    fake.advance(31 * 86_400)  # a new day, past the cache period: looked up again, once
    spam.looked_up(VOIP, daily_cap=2, cache_days=30)
    spam.looked_up(VOIP, daily_cap=2, cache_days=30)
    assert provider.asked == [VOIP, "+14155550124", VOIP]
    # An erasure of the caller deletes the cached Lookup (the export shows it before)
    assert caller_data.export(VOIP, SYSTEM) == {"spam_lookup": {"line_type": "nonFixedVoip"}}
    caller_data.erase(VOIP, SYSTEM)
    assert caller_data.export(VOIP, SYSTEM) == {}


def test_a_voip_first_time_caller_is_likely_spam_and_text_back_waits_for_the_score(api, lookup):
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
    assert got == {"likely": True, "reasons": ["line type nonFixedVoip"]}
    # The same event again: text-back now finds the score, and texts nobody
    sender.on_event(event)
    assert provider.sent == []
    assert provider.asked.count(VOIP) == 1  # (the line's own phone was looked up when it was made)
    # A mobile first-time caller is scored not likely, and gets its text once scored
    other = missed_call(api, number, "CA2", caller="+14155550126")
    scorer.on_event(other)
    sender.on_event(other)
    assert [t["to"] for t in provider.sent] == ["+14155550126"]
