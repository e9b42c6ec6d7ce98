"""Spam scoring's rules (chalicelib/spam.py) and the one check alerts, text-back and conversions share."""

from __future__ import annotations

from chalicelib import spam
from chalicelib.integrations.alerts import messages
from chalicelib.integrations.conversions import rules
from chalicelib.integrations.textback.sender import reason_not_to_text

MISSED = {"result": "missed", "caller": "+14155550111", "called": "+12015550100", "first_time": True}


def test_a_failed_attestation_and_the_block_list_score_at_once() -> None:
    assert spam.instant_reasons({"stir_verstat": "TN-Validation-Passed-A"}) == []
    assert spam.instant_reasons({"stir_verstat": "TN-Validation-Failed-B"}) == [spam.ATTESTATION]
    assert spam.instant_reasons({}, blocked=True) == [spam.BLOCKED]
    assert spam.score({"stir_verstat": "TN-Validation-Failed"}, blocked=True) == {
        "likely": True,
        "reasons": [spam.ATTESTATION, spam.BLOCKED],
    }
    assert spam.score({}) == {"likely": False, "reasons": []}


def test_repeat_short_calls_count_only_calls_under_the_limit() -> None:
    assert spam.repeat_short([3, 5, 9], short_calls=3, short_seconds=10)
    assert not spam.repeat_short([3, 5, 10], short_calls=3, short_seconds=10)  # 10 s is not under 10 s
    assert not spam.repeat_short([3, None, 4], short_calls=3, short_seconds=10)  # an unfinished call is not short
    assert not spam.repeat_short([1, 1, 1], short_calls=0, short_seconds=10)  # the rule off
    scored = spam.score({}, day_durations=[1, 2, 3], short_calls=3, short_seconds=10)
    assert scored["likely"] and scored["reasons"][0].startswith(spam.REPEAT_SHORT)


def test_likely_spam_is_kept_out_of_alerts_text_back_and_conversions() -> None:
    rule = {"enabled": True, "answered": False}
    assert spam.kept_out(MISSED) is None
    assert messages.kinds_of("call.completed", MISSED, {}) == ["missed_call", "first_time_caller"]
    assert reason_not_to_text(MISSED, {"text_back": True}, ("US",), 0) is None
    assert rules.why_not(rule, MISSED) is None
    scored = {**MISSED, "spam": {"likely": True, "reasons": [spam.BLOCKED]}}
    attested = {**MISSED, "stir_verstat": "TN-Validation-Failed-A"}
    for call in (scored, attested, {**MISSED, "outcome": "spam"}, {**MISSED, "blocked": True}):
        why = spam.kept_out(call)
        assert why is not None
        assert messages.kinds_of("call.completed", call, {}) == []
        assert reason_not_to_text(call, {"text_back": True}, ("US",), 0) == why
        assert rules.why_not(rule, call) == why
    assert "STIR/SHAKEN" in str(spam.kept_out(attested)) and spam.BLOCKED in str(spam.kept_out(scored))
    # a score that says not likely keeps nothing out
    assert spam.kept_out({**MISSED, "spam": {"likely": False, "reasons": []}}) is None


def test_a_line_type_the_owner_lists_is_a_reason() -> None:
    listed = ("nonFixedVoip", "tollFree")
    assert spam.score({}, line_type="nonFixedVoip", line_types=listed)["reasons"] == ["line type nonFixedVoip"]
    assert not spam.score({}, line_type="mobile", line_types=listed)["likely"]
    assert not spam.score({}, line_type="nonFixedVoip", line_types=())["likely"]
    assert spam.likely_reasons({"likely": True, "reasons": ["x"]}) == ["x"]
    assert spam.likely_reasons({"likely": False, "reasons": []}) == [] and spam.likely_reasons(None) == []


def test_only_us_callers_are_asked_for_a_caller_name() -> None:
    # Lookup's caller name (CNAM) is for US numbers only: Canada shares +1 but has none
    assert spam.asks_caller_name("+14155550123")
    assert not spam.asks_caller_name("+14165550123")  # Toronto
    assert not spam.asks_caller_name("+442079460000")
    assert not spam.asks_caller_name("anonymous")


def test_a_caller_name_holding_a_word_the_owner_lists_is_a_reason_that_does_not_name_the_caller() -> None:
    listed = ("Scam Likely", " telemarketer ")
    got = spam.score({}, caller_name="SCAM LIKELY", caller_names=listed)
    assert got == {"likely": True, "reasons": ["a caller name with “Scam Likely”"]}
    assert spam.score({}, caller_name="ACME TELEMARKETER INC", caller_names=listed)["likely"]
    assert not spam.score({}, caller_name="JANE DOE", caller_names=listed)["likely"]
    assert not spam.score({}, caller_name=None, caller_names=listed)["likely"]
    assert not spam.score({}, caller_name="SCAM LIKELY", caller_names=("", " "))["likely"]
