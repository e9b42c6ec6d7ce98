"""Transcripts' pure cores: AWS's result document into turns, keyword rules, the page's highlights, the log's search."""

from __future__ import annotations

import pytest

from chalicelib.core.errors import BadRequest
from chalicelib.dashboard import logpage
from chalicelib.integrations.transcripts import pages, results, rules
from chalicelib.store.calls import CallRecord

# AWS's documented shape with channel identification: channel_labels, items with times and alternatives,
# punctuation without times.
AWS_DOC = {
    "jobName": "ct-CA1-1",
    "accountId": "111122223333",
    "status": "COMPLETED",
    "results": {
        "transcripts": [{"transcript": "Hello. I'd like an appointment."}],
        "channel_labels": {
            "channels": [
                {
                    "channel_label": "ch_0",
                    "items": [
                        {
                            "start_time": "1.9",
                            "end_time": "2.2",
                            "alternatives": [{"confidence": "0.9", "content": "I'd"}],
                            "type": "pronunciation",
                        },
                        {
                            "start_time": "2.2",
                            "end_time": "2.5",
                            "alternatives": [{"confidence": "0.9", "content": "like"}],
                            "type": "pronunciation",
                        },
                        {
                            "start_time": "2.6",
                            "end_time": "3.4",
                            "alternatives": [{"confidence": "0.9", "content": "appointment"}],
                            "type": "pronunciation",
                        },
                        {"alternatives": [{"confidence": "0.0", "content": "."}], "type": "punctuation"},
                    ],
                },
                {
                    "channel_label": "ch_1",
                    "items": [
                        {
                            "start_time": "0.3",
                            "end_time": "0.8",
                            "alternatives": [{"confidence": "0.9", "content": "Hello"}],
                            "type": "pronunciation",
                        },
                        {"alternatives": [{"confidence": "0.0", "content": "."}], "type": "punctuation"},
                        {
                            "start_time": "6.0",
                            "end_time": "6.5",
                            "alternatives": [{"confidence": "0.9", "content": "Sure"}],
                            "type": "pronunciation",
                        },
                    ],
                },
            ],
            "number_of_channels": 2,
        },
    },
}


def test_aws_result_becomes_turns_in_time_order_by_side() -> None:
    assert results.turns(AWS_DOC) == [
        results.Turn("business", 0.3, 0.8, "Hello."),
        results.Turn("caller", 1.9, 3.4, "I'd like appointment."),
        results.Turn("business", 6.0, 6.5, "Sure"),
    ]


def test_a_document_without_results_is_refused() -> None:
    with pytest.raises(results.BadResult):
        results.turns({"status": "COMPLETED"})


def test_the_local_engines_document_reads_back_the_same() -> None:
    doc = results.document("job", [[(1.0, 1.5, "book"), (1.6, 2.0, "now")], [(0.1, 0.4, "hi")]])
    assert [t.text for t in results.turns(doc)] == ["hi", "book now"]
    assert doc["results"]["channel_labels"]["number_of_channels"] == 2


def test_rules_match_by_side_and_line_and_a_control_matches_nothing() -> None:
    said = results.turns(AWS_DOC)
    appt = rules.parse_rule({"phrases": ["appointment"], "outcome": "lead", "tags": ["booking"], "score": "5"}, 0)
    hello = rules.parse_rule({"phrases": ["hello"], "side": "caller", "tags": ["greeted"]}, 1)
    other_line = rules.parse_rule({"phrases": ["sure"], "side": "both", "line": "ch_x", "score": 3}, 2)
    found = rules.match([appt, hello, other_line], said, "ch_y")
    assert found.keywords == ("appointment",) and found.outcome == "lead" and found.tags == ("booking",)
    assert found.score == 5 and found.turns == {1: ["appointment"]}
    assert rules.match([appt], [results.Turn("caller", 0, 1, "What time do you close")], None).keywords == ()
    assert rules.match([other_line], said, "ch_x").score == 3


@pytest.mark.parametrize(
    "raw",
    [
        {"phrases": []},
        {"phrases": ["x"], "side": "them", "tags": ["a"]},
        {"phrases": ["x"]},
        {"phrases": ["x"], "score": 500},
    ],
)
def test_a_bad_rule_is_a_400(raw: dict) -> None:
    with pytest.raises(BadRequest):
        rules.parse_rule(raw, 0)


def test_a_lines_mode() -> None:
    assert rules.wanted(rules.parse_mode("on"), 1) and not rules.wanted(rules.parse_mode("off"), 999)
    assert rules.wanted(rules.parse_mode("30"), 31) and not rules.wanted(rules.parse_mode(30), 30)
    with pytest.raises(BadRequest):
        rules.parse_mode("sometimes")


def test_the_page_marks_matched_phrases_keeping_case() -> None:
    parts = pages.highlighted("I'd like to Book a visit, book a visit.", ["book a visit"])
    assert parts == [
        ("I'd like to ", False),
        ("Book a visit", True),
        (", ", False),
        ("book a visit", True),
        (".", False),
    ]


def test_the_log_searches_the_words_said() -> None:
    call = CallRecord("CA1", transcript={"status": "completed", "vocab": "an appointment book i like"})
    assert logpage.said_in(call, "Appointment") and logpage.said_in(call, "book appointment")
    assert not logpage.said_in(call, "refund") and not logpage.said_in(CallRecord("CA2"), "book")
    with pytest.raises(BadRequest):
        logpage.parse_filters({"said": "x" * 61}, "2026-12-07", "UTC")
