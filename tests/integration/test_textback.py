"""Text-back to missed callers and texts to tracking numbers (STOP remembered), through the app."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from calltracking_local.telephony import LocalTelephony
from chalicelib.core import clock
from chalicelib.core.telephony import set_provider
from chalicelib.events.model import Event
from chalicelib.integrations.textback import sender
from tests.support.env import body

CALLER = "+14155550111"
OPEN = datetime(2026, 11, 18, 15, 0, tzinfo=UTC).timestamp()  # Wednesday 10:00 in New York
HOURS = {"timezone": "America/New_York", "weekly": {"wed": [["09:00", "17:00"]]}}


@pytest.fixture
def phone(tables, settings_env):
    settings_env(TEXT_BACK_ENABLED="true", TEXT_BACK_WINDOW_HOURS="24")
    clock.set_source(clock.FakeClock(OPEN))
    provider = LocalTelephony(area_codes=("201",))
    set_provider(provider)
    return provider


def missed_call(api, number, sid, caller=CALLER):
    """A call nobody answered, as Twilio reports it; the ``call.completed`` event it makes."""
    base = {"CallSid": sid, "From": caller, "To": number}
    assert api.twilio("/twilio/voice", base).status_code == 200
    api.twilio("/twilio/dial-status?step=0", base | {"DialCallStatus": "no-answer"})
    api.twilio("/twilio/call-status", base | {"CallStatus": "completed", "CallDuration": "25"})
    call = body(api.call("GET", f"/v1/calls/{sid}"))
    return Event("evt_" + sid, "call.completed", sid, clock.now_ms(), call)


def texting_line(api, **flow):
    ch = body(
        api.call(
            "POST",
            "/v1/channels",
            {"name": "Joe's Plumbing", "forward_to": "+12025550144", "flow": {"text_back": True, **flow}},
        )
    )
    return body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]


def test_a_missed_caller_gets_exactly_one_text_when_the_event_comes_three_times(api, phone):
    # Given a line that texts back, open now
    number = texting_line(api, hours=HOURS, when_unanswered="message")
    event = missed_call(api, number, "CA1")
    assert event.call["result"] == "missed"
    # When the completed call's event is delivered three times (SQS is at least once)
    for _ in range(3):
        sender.on_event(event)
    # Then one text went, from the number called, naming the business and how to stop
    assert [(t["to"], t["from"]) for t in phone.sent] == [(CALLER, number)]
    assert phone.sent[0]["body"] == sender.OPEN_TEXT.replace("{name}", "Joe's Plumbing")
    # ... and a second missed call the same day gets none
    sender.on_event(missed_call(api, number, "CA2"))
    assert len(phone.sent) == 1


def test_stop_is_remembered_and_start_undoes_it(api, phone):
    number = texting_line(api)
    r = api.twilio("/twilio/sms", {"MessageSid": "SM1", "From": CALLER, "To": number, "Body": " stop "})
    assert r.status_code == 200 and r.body.strip().endswith(b"<Response />")
    sender.on_event(missed_call(api, number, "CA3"))
    assert phone.sent == []
    api.twilio("/twilio/sms", {"MessageSid": "SM2", "From": CALLER, "To": number, "Body": "START"})
    sender.on_event(missed_call(api, number, "CA4"))
    assert len(phone.sent) == 1


def test_texts_need_a_signature(api, phone):
    params = {"MessageSid": "SM1", "From": CALLER, "To": "+12015550100", "Body": "STOP"}
    assert api.twilio("/twilio/sms", params, signature=None).status_code == 403
    assert api.twilio("/twilio/sms", params, signature="forged").status_code == 403


def test_no_text_to_answered_calls_lines_that_do_not_text_other_countries_or_when_off(api, phone, settings_env):
    number = texting_line(api)
    quiet = body(api.call("POST", "/v1/channels", {"name": "Quiet", "forward_to": "+12025550155"}))
    quiet_number = body(api.call("POST", "/v1/numbers", {"channel_id": quiet["id"]}))["number"]
    answered = missed_call(api, number, "CA5")
    answered.call["result"] = "answered"
    for event in (
        answered,
        missed_call(api, quiet_number, "CA6"),
        missed_call(api, number, "CA7", caller="+442079460000"),  # London: not in TEXT_BACK_COUNTRIES
    ):
        sender.on_event(event)
    assert phone.sent == []
    settings_env(TEXT_BACK_ENABLED="false")
    assert sender.wanted_types() == set()
    sender.on_event(missed_call(api, number, "CA8"))
    assert phone.sent == []


def test_after_hours_the_text_says_closed():
    at = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)  # 22:00 in New York
    assert sender.text_for("Joe's", {"hours": HOURS}, at).startswith("Thanks for calling Joe's. We're closed")


def test_every_callback_delivered_three_times_still_texts_the_missed_caller_once(api, phone):
    from tests.support.database import pump

    # Given a line that texts back
    number = texting_line(api, hours=HOURS, when_unanswered="message")
    base = {"CallSid": "CA5", "From": CALLER, "To": number}
    # When Twilio delivers every request of a missed call three times (its retries), in order each time
    for path, params in (
        ("/twilio/voice", base),
        ("/twilio/dial-status?step=0", base | {"DialCallStatus": "no-answer"}),
        ("/twilio/call-status", base | {"CallStatus": "completed", "CallDuration": "25"}),
    ):
        for _ in range(3):
            assert api.twilio(path, params).status_code == 200
    # and the call's events go through the stream and its subscribers
    pump().drain()
    # Then exactly one text went, from the number called
    assert [(t["to"], t["from"]) for t in phone.sent] == [(CALLER, number)]
