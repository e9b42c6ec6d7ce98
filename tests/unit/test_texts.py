"""Texts to tracking numbers without a database: the events a text makes, what it adds to the
reports, when it is forwarded, StirVerstat, and SMS alerts' words."""

from __future__ import annotations

from chalicelib import calls, handling
from chalicelib.integrations.alerts import messages
from chalicelib.integrations.alerts.texts import forwarded_words, reason_not_to_forward
from chalicelib.integrations.textback.sender import reason_not_to_text
from chalicelib.reports import aggregates
from chalicelib.store.calls import CallRecord
from tests.support.env import T0
from tests.unit.test_events import image, model, rec

NOW = int(T0 * 1000)
SID = "SM" + "1" * 32


def test_a_text_makes_one_text_received_event_and_nothing_else() -> None:
    stored = image(call_sid=SID, medium="text", body="hi", media_count=0, status="received")
    [event] = model.from_record(rec("INSERT", None, stored))
    assert event.type == "text.received" and event.call["text"] == {"body": "hi", "media_count": 0}
    assert event.id == model.from_record(rec("INSERT", None, stored, "7"))[0].id  # redelivered: the same event
    counted = image(call_sid=SID, medium="text", body="hi", agg_version=1, updated_at=NOW)
    assert model.from_record(rec("MODIFY", stored, counted, "2")) == []  # the reports' bookkeeping
    assert model.from_record(rec("REMOVE", stored, None, "3")) == []
    assert model.from_record(rec("MODIFY", stored, image(call_sid=SID, medium="text", erased_at=NOW), "4")) == []


def test_a_text_adds_a_text_to_its_source_and_no_call() -> None:
    attr = {"kind": "channel", "channel_id": "ch_1", "channel_name": "Radio"}
    text = CallRecord(SID, started_at=NOW, medium="text", kind="channel", attribution=attr, caller="+14155550111")
    out = aggregates.contribution(text)
    assert len(out) == 4 and all(vec == {"texts": 1} for vec in out.values())  # two days, their two weeks
    assert calls.result_of(text) == "text" and not calls.is_final(text)


def test_forwarding_never_loops_and_off_is_off() -> None:
    text = {"caller": "+14155550111", "called": "+12015550100", "started_at": "2026-11-18T15:00:00Z"}
    at = NOW
    assert reason_not_to_forward(text, "off", "+12025550144", at) == "the line forwards no texts"
    assert reason_not_to_forward({**text, "caller": "+12025550144"}, "sms", "+12025550144", at)
    assert reason_not_to_forward({**text, "caller": "+12015550100"}, "sms", "+12025550144", at)
    assert reason_not_to_forward(text, "sms", None, at) == "the line has no phone to forward to"
    assert handling.text_forward(None) == "email" and handling.text_forward({"text_forward": "sms"}) == "sms"
    subject, words = forwarded_words({**text, "text": {"body": "Hello", "media_count": 2}}, "Radio", "US")
    assert subject == "Text from (415) 555-0111 to Radio" and words == "Hello [+2 pictures]"


def test_a_failed_attestation_is_never_texted_back() -> None:
    assert calls.verstat_fields({"StirVerstat": "TN-Validation-Passed-A"}) == {"stir_verstat": "TN-Validation-Passed-A"}
    assert calls.verstat_fields({}) == {}
    assert calls.attestation_failed("TN-Validation-Failed-B") and not calls.attestation_failed("TN-Validation-Passed-C")
    assert not calls.attestation_failed(None)
    call = {
        "result": "missed",
        "caller": "+14155550111",
        "called": "+12015550100",
        "stir_verstat": "TN-Validation-Failed-A",
    }
    why = reason_not_to_text(call, {"text_back": True}, ("US",), NOW)
    assert why is not None and "STIR/SHAKEN" in why


def test_an_sms_alert_is_short_and_keeps_its_link() -> None:
    alert = {"title": "Missed call: x", "lines": ["y" * 2000], "link": "https://calls.example.test/dashboard/calls/CA1"}
    text = messages.as_sms(alert)
    assert len(text) <= messages.SMS_MAX and text.endswith("\nhttps://calls.example.test/dashboard/calls/CA1")
    assert messages.as_sms({"title": "T", "lines": ["a"]}) == "T\na"
