"""Every TwiML answer the voice path gives, for every kind of line, is checked against Twilio's
TwiML rules (``tests/support/twiml_rules.py``): the verbs, their nesting, attributes and values."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.routing import Route
from chalicelib.voice import twiml
from tests.support import twiml_rules

BASE = "https://calls.example.com"
DAY = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # 10:00 Monday in New York
NIGHT = datetime(2026, 11, 3, 3, 0, tzinfo=UTC)
HOURS = {"timezone": "America/New_York", "weekly": {"mon": [["09:00", "17:00"]]}, "closed_dates": []}
SID = "CA" + "1" * 32
MENU = {
    "prompt": "For sales press 1. For service press 2.",
    "options": [
        {"key": "1", "label": "Sales", "forward_to": "+12025550166"},
        {"key": "2", "label": "Service", "action": "voicemail"},
    ],
    "default": "1",
}
FLOWS: dict[str, dict[str, Any]] = {
    "plain": {},
    "whisper": {"whisper": True},
    "screened": {"screen": True, "screen_alert_after": 2},
    "in order": {"failover": ["+12025550111", "+12025550122"], "ring_each": [15, 30, 25]},
    "together": {"failover": ["+12025550111"], "ring": "together", "screen": True},
    "round robin": {"failover": ["+12025550111"], "ring": "round_robin", "whisper": True},
    "voicemail": {"when_unanswered": "voicemail", "voicemail_prompt": "Leave a message."},
    "hours": {"hours": HOURS, "after_hours": {"action": "forward", "forward_to": "+12025550199"}},
    "menu": {"menu": MENU, "disclosure_voice": "Polly.Joanna", "disclosure_language": "en-US"},
}


def answers(flow: dict[str, Any]) -> list[str]:
    """Each TwiML the voice path can answer for a line with ``flow``: every step, both times of day,
    each menu option, and each round-robin turn."""
    route = Route("channel", "ch_radio", "Radio", "+12025550144", True, "We record calls.", flow)
    out = []
    for at in (DAY, NIGHT):
        for step in range(4):
            for turn in (0, 1):
                out.append(twiml.forward(route, "+14155550111", step=step, at=at, call_sid=SID, turn=turn))
            for option in ("1", "2"):
                out.append(twiml.forward(route, "+14155550111", step=step, at=at, call_sid=SID, option=option))
    out.append(twiml.voicemail(route, option="2"))
    out.append(twiml.screen("Radio", flow, SID, 1))
    out.append(twiml.whisper("Radio", flow))
    return out


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_every_answer_for_a_line_keeps_twilios_twiml_rules(name: str, settings_env: Any) -> None:
    settings_env(PUBLIC_BASE_URL=BASE)
    for xml in answers(FLOWS[name]):
        assert twiml_rules.problems(xml, BASE) == [], xml


def test_the_answers_without_a_line_keep_them_too(settings_env: Any) -> None:
    settings_env(PUBLIC_BASE_URL=BASE)
    for xml in (twiml.bridge("+14155550111", "+12015550100"), twiml.reject(), twiml.hangup(), twiml.goodbye()):
        assert twiml_rules.problems(xml, BASE) == [], xml
    assert twiml_rules.problems(twiml.empty(), BASE) == []


def test_the_rules_catch_what_twilio_refuses() -> None:
    bad = (
        '<Response><Dial timeout="0" actionOnEmptyResult="true" action="https://elsewhere.example/x">'
        "<Say>hi</Say><Number>12</Number></Dial><Hangup/><Say>never</Say></Response>"
    )
    found = twiml_rules.problems(bad, BASE)
    assert any("<Dial> takes no attribute 'actionOnEmptyResult'" in p for p in found)
    assert any("timeout" in p for p in found) and any("public base URL" in p for p in found)
    assert any("<Say> may not be inside <Dial>" in p for p in found)
    assert any("E.164" in p for p in found) and any("never reached" in p for p in found)
