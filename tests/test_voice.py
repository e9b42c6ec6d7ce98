"""The voice webhook and Twilio's callbacks: signatures, TwiML, stored calls, unknown numbers."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from chalicelib.voice import twiml
from tests.conftest import BASE_URL, DEFAULT_PHONE, body

CALLER = "+14155550111"


@pytest.fixture
def line(api):
    """A recorded channel with a tracking number; returns (channel, number)."""

    def make(record: bool = True, **over):
        ch = body(
            api.call(
                "POST", "/v1/channels", {"name": "Google Ads", "forward_to": "+12025550144", "record": record, **over}
            )
        )
        num = body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))
        return ch, num["number"]

    return make


def voice(api, to, sid="CA100", **extra):
    params = {"CallSid": sid, "From": CALLER, "To": to, "CallStatus": "ringing", **extra}
    r = api.twilio("/twilio/voice", params)
    assert r.status_code == 200, r.body
    assert r.headers["Content-Type"].startswith("text/xml")
    return ElementTree.fromstring(r.body)


def test_recorded_channel_gets_disclosure_then_recorded_dial(api, line):
    ch, number = line(record=True, disclosure="This call is recorded.")
    root = voice(api, number, FromCity="OAKLAND", FromState="CA", FromCountry="US")
    assert [el.tag for el in root] == ["Say", "Dial"]
    assert root[0].text == "This call is recorded."
    dial = root[1]
    assert dial.get("answerOnBridge") == "true"
    assert dial.get("callerId") == CALLER
    assert dial.get("action") == f"{BASE_URL}/twilio/dial-status?step=0"
    assert dial.get("timeout") == "20"
    assert dial.get("record") == "record-from-answer-dual"
    assert dial.get("recordingStatusCallback") == f"{BASE_URL}/twilio/recording-status"
    assert dial.find("Number").text == "+12025550144"
    call = body(api.call("GET", "/v1/calls/CA100"))
    assert call["channel_id"] == ch["id"] and call["channel_name"] == "Google Ads"
    assert (call["caller"], call["called"], call["status"]) == (CALLER, number, "ringing")
    assert (call["caller_city"], call["caller_state"], call["caller_country"]) == ("OAKLAND", "CA", "US")
    assert call["attribution"]["confidence"] == "static"
    assert call["started_at"]


def test_unrecorded_channel_dials_without_recording(api, line):
    _, number = line(record=False)
    root = voice(api, number)
    assert [el.tag for el in root] == ["Dial"]
    assert root[0].get("record") is None and root[0].get("recordingStatusCallback") is None


def test_unknown_and_released_numbers_forward_to_the_default_phone(api, line):
    root = voice(api, "+12025550777", sid="CA200")
    assert root.find("Dial/Number").text == DEFAULT_PHONE
    assert body(api.call("GET", "/v1/calls/CA200"))["kind"] == "unknown"
    _, number = line()
    api.call("DELETE", "/v1/numbers/" + number.replace("+", "%2B"))
    root = voice(api, number, sid="CA201")
    assert root.find("Dial/Number").text == DEFAULT_PHONE


def test_without_a_default_phone_an_unknown_number_hears_a_message(api, settings_env):
    settings_env(DEFAULT_FORWARD_TO="")
    root = voice(api, "+12025550777")
    assert [el.tag for el in root] == ["Say", "Hangup"]
    assert root[0].text == twiml.UNKNOWN_NUMBER_MESSAGE


@pytest.mark.parametrize("to", ["", "garbage", "+1", "x" * 300])
def test_odd_called_numbers_still_get_twiml(api, to):
    root = voice(api, to)
    assert root.find("Dial/Number").text == DEFAULT_PHONE


def test_missing_and_forged_signatures_are_403(api, line):
    _, number = line()
    params = {"CallSid": "CA300", "From": CALLER, "To": number}
    for kwargs in ({"signature": None}, {"signature": "bm90IGEgc2lnbmF0dXJl"}, {"token": "another-accounts-token"}):
        r = api.twilio("/twilio/voice", params, **kwargs)
        assert r.status_code == 403 and body(r)["error"]["message"], kwargs
    # A signature for other parameters does not carry over.
    from twilio.request_validator import RequestValidator

    from tests.conftest import AUTH_TOKEN

    sig = RequestValidator(AUTH_TOKEN).compute_signature(BASE_URL + "/twilio/voice", {**params, "To": "+1999"})
    assert api.twilio("/twilio/voice", params, signature=sig).status_code == 403
    # ... nor to another path.
    sig = RequestValidator(AUTH_TOKEN).compute_signature(BASE_URL + "/twilio/call-status", params)
    assert api.twilio("/twilio/voice", params, signature=sig).status_code == 403
    assert api.call("GET", "/v1/calls/CA300").status_code == 404
    for path in ("/twilio/dial-status", "/twilio/call-status", "/twilio/recording-status", "/twilio/fallback"):
        assert api.twilio(path, params, signature=None).status_code == 403


def test_blank_values_are_part_of_the_signature(api, line):
    _, number = line()
    root = voice(api, number, FromCity="", CallerName="")
    assert root.find("Dial") is not None


def test_host_header_does_not_change_the_signed_url(api, line):
    _, number = line()
    params = {"CallSid": "CA301", "From": CALLER, "To": number}
    from twilio.request_validator import RequestValidator

    from tests.conftest import AUTH_TOKEN

    sig = RequestValidator(AUTH_TOKEN).compute_signature("https://evil.example/twilio/voice", params)
    r = api.client.http.post(
        "/twilio/voice",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": sig,
            "Host": "evil.example",
        },
        body="&".join(f"{k}={v}" for k, v in params.items()).replace("+", "%2B"),
    )
    assert r.status_code == 403


def test_answered_call_full_lifecycle(api, line):
    _, number = line(record=True)
    voice(api, number, sid="CA400")
    base = {"CallSid": "CA400", "From": CALLER, "To": number}
    r = api.twilio(
        "/twilio/dial-status", {**base, "DialCallStatus": "completed", "DialCallDuration": "65", "DialCallSid": "CA401"}
    )
    assert [el.tag for el in ElementTree.fromstring(r.body)] == ["Hangup"]
    rec = {
        "RecordingSid": "RE1",
        "RecordingUrl": "https://api.twilio.com/rec/RE1",
        "RecordingStatus": "completed",
        "RecordingDuration": "64",
    }
    assert api.twilio("/twilio/recording-status", {**base, **rec}).status_code == 200
    assert (
        api.twilio("/twilio/call-status", {**base, "CallStatus": "completed", "CallDuration": "71"}).status_code == 200
    )
    call = body(api.call("GET", "/v1/calls/CA400"))
    assert call["answered"] is True and call["dial_status"] == "completed" and call["talk_time"] == 65
    assert call["status"] == "completed" and call["duration"] == 71
    assert call["recording"]["sid"] == "RE1" and call["recording"]["duration"] == 64
    assert call["recording"]["url"] == f"{BASE_URL}/v1/calls/CA400/recording"  # the API's link, never Twilio's


@pytest.mark.parametrize("dial_status", ["no-answer", "busy", "failed", "canceled"])
def test_missed_call_hears_a_message_and_is_stored_missed(api, line, dial_status):
    _, number = line(record=False)
    voice(api, number, sid="CA500")
    r = api.twilio(
        "/twilio/dial-status", {"CallSid": "CA500", "From": CALLER, "To": number, "DialCallStatus": dial_status}
    )
    assert [el.tag for el in ElementTree.fromstring(r.body)] == ["Say", "Hangup"]
    call = body(api.call("GET", "/v1/calls/CA500"))
    assert call["answered"] is False and call["dial_status"] == dial_status and call["talk_time"] == 0


def test_callbacks_are_idempotent_and_never_go_backwards(api, line):
    _, number = line(record=False)
    voice(api, number, sid="CA600")
    base = {"CallSid": "CA600", "From": CALLER, "To": number}
    done = {**base, "CallStatus": "completed", "CallDuration": "30"}
    for _ in range(3):
        assert api.twilio("/twilio/call-status", done).status_code == 200
    api.twilio("/twilio/call-status", {**base, "CallStatus": "in-progress"})  # late, out of order
    call = body(api.call("GET", "/v1/calls/CA600"))
    assert call["status"] == "completed" and call["duration"] == 30


def test_a_callback_before_the_voice_webhook_creates_the_call(api, line):
    ch, number = line(record=False)
    api.twilio(
        "/twilio/call-status",
        {"CallSid": "CA700", "From": CALLER, "To": number, "CallStatus": "completed", "CallDuration": "12"},
    )
    call = body(api.call("GET", "/v1/calls/CA700"))
    assert call["status"] == "completed" and call["channel_id"] == ch["id"] and call["started_at"]
    voice(api, number, sid="CA700")  # a late retry of the voice webhook does not undo it
    assert body(api.call("GET", "/v1/calls/CA700"))["status"] == "completed"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/twilio/call-status", {"CallSid": "CA800", "CallStatus": "exploded"}),
        ("/twilio/call-status", {"CallStatus": "completed"}),
        ("/twilio/dial-status", {"CallSid": "not-a-sid", "DialCallStatus": "completed"}),
    ],
)
def test_malformed_callbacks_are_400(api, path, params):
    r = api.twilio(path, params)
    assert r.status_code == 400 and body(r)["error"]["message"]


def test_oversized_form_is_413(api):
    r = api.twilio("/twilio/voice", {"CallSid": "CA900", "Junk": "x" * 70_000})
    assert r.status_code == 413


def test_fallback_forwards_to_the_default_phone_without_the_database(api, monkeypatch):
    from chalicelib.store import models

    def boom(*a, **k):
        raise AssertionError("the fallback must not touch DynamoDB")

    monkeypatch.setattr(models.NumberModel, "get", boom)
    monkeypatch.setattr(models.CallModel, "update", boom)
    r = api.twilio("/twilio/fallback", {"CallSid": "CA950", "From": CALLER, "To": "+12015550100"})
    root = ElementTree.fromstring(r.body)
    assert root.find("Dial/Number").text == DEFAULT_PHONE and root.find("Dial").get("callerId") == CALLER
