"""The voice webhook and Twilio's callbacks: signatures, TwiML, stored calls, unknown numbers."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from chalicelib.voice import twiml
from tests.support.env import BASE_URL, DEFAULT_PHONE, body

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
    assert dial.get("timeout") == "15"  # RING_TIMEOUT_SECONDS 20 minus the ~5 s Twilio adds
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


def test_without_a_default_phone_an_unknown_number_hears_a_neutral_apology(api, settings_env):
    settings_env(DEFAULT_FORWARD_TO="")
    root = voice(api, "+12025550777")
    assert [el.tag for el in root] == ["Say", "Hangup"]
    assert root[0].text == twiml.CANNOT_CONNECT_MESSAGE
    # The number may be fine and only this deployment unable to route it: never tell the
    # caller it is dead.
    assert "not in service" not in root[0].text and "try again" in root[0].text


def test_no_twiml_a_caller_can_hear_says_the_number_is_dead():
    from pathlib import Path

    from chalicelib import handling

    said = Path(twiml.__file__).read_text() + Path(handling.__file__).read_text()
    for dead in ("not in service", "disconnected", "no longer", "does not exist", "invalid number"):
        assert dead not in said.lower()


def test_the_fallback_forwards_to_the_phone_its_url_names(api, line):
    # Given a number bought for a channel: its fallback URL names the channel's phone
    ch, number = line(record=False)
    from chalicelib.core.telephony import get_provider
    from chalicelib.store.models import NumberModel

    url = get_provider().hooks[NumberModel.get(number).provider_sid].voice_fallback_url
    path = url.removeprefix(BASE_URL)
    assert path == "/twilio/fallback?to=%2B12025550144"
    # When Twilio posts the fallback (signed for that exact URL)
    r = api.twilio(path, {"CallSid": "CA960", "From": CALLER, "To": number})
    # Then the call goes to the channel's phone, not the default
    assert ElementTree.fromstring(r.body).find("Dial/Number").text == ch["forward_to"] != DEFAULT_PHONE


def test_a_phone_changed_in_the_url_breaks_the_signature(api):
    from twilio.request_validator import RequestValidator

    from tests.support.env import AUTH_TOKEN

    params = {"CallSid": "CA961", "From": CALLER, "To": "+12015550100"}
    sig = RequestValidator(AUTH_TOKEN).compute_signature(BASE_URL + "/twilio/fallback?to=%2B12025550144", params)
    for path in ("/twilio/fallback?to=%2B19005550100", "/twilio/fallback", "/twilio/voice?to=%2B12025550144"):
        assert api.twilio(path, params, signature=sig).status_code == 403, path


def test_an_unknown_number_goes_to_the_phone_its_url_names(api, settings_env):
    # A number that is not in the table (or not any more) but whose URL, signed by Twilio, names a phone
    settings_env(DEFAULT_FORWARD_TO="")
    r = api.twilio("/twilio/voice?to=%2B12025550155", {"CallSid": "CA962", "From": CALLER, "To": "+12025550777"})
    assert ElementTree.fromstring(r.body).find("Dial/Number").text == "+12025550155"


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

    from tests.support.env import AUTH_TOKEN

    sig = RequestValidator(AUTH_TOKEN).compute_signature(BASE_URL + "/twilio/voice", {**params, "To": "+1999"})
    assert api.twilio("/twilio/voice", params, signature=sig).status_code == 403
    # ... nor to another path.
    sig = RequestValidator(AUTH_TOKEN).compute_signature(BASE_URL + "/twilio/call-status", params)
    assert api.twilio("/twilio/voice", params, signature=sig).status_code == 403
    assert api.call("GET", "/v1/calls/CA300").status_code == 404
    for path in ("/twilio/dial-status", "/twilio/call-status", "/twilio/recording-status", "/twilio/fallback"):
        assert api.twilio(path, params, signature=None).status_code == 403


def test_during_a_move_to_a_custom_domain_signatures_for_the_old_url_still_count(api, line, settings_env):
    """A number not yet re-pointed posts to the old URL, signed for it: no call refused in the switch."""
    from twilio.request_validator import RequestValidator

    from tests.support.env import AUTH_TOKEN

    _, number = line()
    new = "https://calls.acme.example.com"
    params = {"CallSid": "CA310", "From": CALLER, "To": number}
    old_signature = RequestValidator(AUTH_TOKEN).compute_signature(BASE_URL + "/twilio/voice", params)
    new_signature = RequestValidator(AUTH_TOKEN).compute_signature(new + "/twilio/voice", params)
    # Given: the deployment has its new URL and the old one is still listed
    settings_env(PUBLIC_BASE_URL=new, PREVIOUS_BASE_URLS=BASE_URL + "/")
    assert api.twilio("/twilio/voice", params, signature=old_signature).status_code == 200
    assert api.twilio("/twilio/voice", params, signature=new_signature).status_code == 200
    # When: every number is re-pointed and the list is cleared, the old URL's signature is refused
    settings_env(PUBLIC_BASE_URL=new, PREVIOUS_BASE_URLS="")
    assert api.twilio("/twilio/voice", params, signature=old_signature).status_code == 403
    # and a URL never listed was never accepted
    settings_env(PUBLIC_BASE_URL=new, PREVIOUS_BASE_URLS="https://elsewhere.example.com")
    assert api.twilio("/twilio/voice", params, signature=old_signature).status_code == 403


def test_blank_values_are_part_of_the_signature(api, line):
    _, number = line()
    root = voice(api, number, FromCity="", CallerName="")
    assert root.find("Dial") is not None


def test_host_header_does_not_change_the_signed_url(api, line):
    _, number = line()
    params = {"CallSid": "CA301", "From": CALLER, "To": number}
    from twilio.request_validator import RequestValidator

    from tests.support.env import AUTH_TOKEN

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
    _, number = line(record=False, flow={"when_unanswered": "message"})
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


# --- repeats of the voice request: Twilio's retries and replays -------------------------------


def test_a_voice_post_replayed_after_the_call_ended_changes_nothing(api, fake_clock):
    from chalicelib.store.models import NumberModel
    from tests.integration.test_leases import leased, make_pool
    from tests.support import snapshot

    # Given a pool number leased to one visitor, and a call to it that ended
    pool = make_pool(api, size=1, hold_seconds=60, grace_seconds=0)
    first = leased(api, pool, "visitor-aaaa", utm={"source": "google"})
    params = {"CallSid": "CA" + "7" * 32, "From": CALLER, "To": first["number"], "CallStatus": "ringing"}
    headers = {"I-Twilio-Idempotency-Token": "tok-1"}
    r = api.twilio("/twilio/voice", params, headers=headers)
    assert r.status_code == 200
    api.twilio("/twilio/call-status", {**params, "CallStatus": "completed", "CallDuration": "30"})
    assert body(api.call("GET", f"/v1/calls/{params['CallSid']}"))["attribution"]["session_id"] == first["session_id"]
    # ... and the number now held by another visitor
    fake_clock.advance(61)
    second = leased(api, pool, "visitor-bbbb", utm={"source": "bing"})
    assert second["number"] == first["number"]
    assert NumberModel.get(first["number"]).lease_session_id == second["session_id"]
    call_before = snapshot.item("calls", {"call_sid": params["CallSid"]})
    everything_before = snapshot.tables()
    # When the captured voice post is replayed a minute after the call ended (with or without
    # Twilio's token: the replayer has the whole request)
    fake_clock.advance(60)
    for extra in (headers, {}, {"I-Twilio-Idempotency-Token": "tok-forged"}):
        replay = api.twilio("/twilio/voice", params, headers=extra)
        # Then it is answered (TwiML is harmless to anyone but Twilio)...
        assert replay.status_code == 200 and ElementTree.fromstring(replay.body).find("Dial") is not None
    # ... and nothing stored changed: not the call, byte for byte, nor the caller's first touch
    assert snapshot.item("calls", {"call_sid": params["CallSid"]}) == call_before
    assert snapshot.tables() == everything_before


def test_twilio_retrying_the_voice_request_gets_the_same_twiml_and_one_write(api, line, caplog):
    import logging

    from tests.support import snapshot

    # Given a call Twilio sent with its idempotency token, and stored
    _, number = line(record=True, disclosure="This call is recorded.")
    params = {"CallSid": "CA" + "8" * 32, "From": CALLER, "To": number, "CallStatus": "ringing"}
    headers = {"I-Twilio-Idempotency-Token": "c3b7a3f2-retry"}
    first = api.twilio("/twilio/voice", params, headers=headers)
    stored = snapshot.tables()
    caplog.set_level(logging.INFO, logger="calltracking")
    # When Twilio sends the same request again (it never saw the answer)
    again = api.twilio("/twilio/voice", params, headers=headers)
    # Then it gets the same TwiML, nothing is written twice, and the logs call it a retry
    assert again.status_code == 200 and again.body == first.body
    assert snapshot.tables() == stored
    said = [r.getMessage() for r in caplog.records]
    assert any("Twilio sent the voice request again" in m for m in said)
    assert not any("replay" in m for m in said)


def test_a_replayed_blocked_call_changes_nothing(api, line):
    from tests.support import snapshot

    _, number = line(record=False)
    api.call("PUT", "/v1/blocked-callers", {"callers": [CALLER]})
    from chalicelib.voice import blocklist

    blocklist.clear_cache()
    params = {"CallSid": "CA" + "9" * 32, "From": CALLER, "To": number}
    assert [el.tag for el in voice(api, number, sid=params["CallSid"])] == ["Reject"]
    stored = snapshot.tables()
    assert [el.tag for el in voice(api, number, sid=params["CallSid"])] == ["Reject"]
    assert snapshot.tables() == stored


def test_a_voice_request_after_early_callbacks_still_completes_the_call(api, line):
    # Given callbacks that reached us before the voice webhook's write (a slow Lambda), the call still ringing
    ch, number = line(record=False)
    base = {"CallSid": "CA" + "a" * 32, "From": CALLER, "To": number}
    api.twilio("/twilio/call-status", {**base, "CallStatus": "in-progress"})
    # When the voice request is stored at last
    voice(api, number, sid=base["CallSid"], FromCity="OAKLAND")
    # Then it is the first voice write: its own details are kept
    call = body(api.call("GET", f"/v1/calls/{base['CallSid']}"))
    assert call["caller_city"] == "OAKLAND" and call["channel_id"] == ch["id"] and call["status"] == "in-progress"


def test_a_voice_answer_is_two_requests_for_a_channel_call_and_for_a_pool_call(api, line, fake_clock):
    from bench.common import counting
    from chalicelib import routing
    from chalicelib.voice import blocklist
    from tests.integration.test_leases import leased, make_pool

    # Given a channel's number and a pool's number leased to a visitor
    _, channel_number = line(record=False)
    pool = make_pool(api, size=1)
    held = leased(api, pool, "visitor-aaaa", utm={"source": "google"})
    routing.forget_known_lines()  # a new container
    blocklist.clear_cache()
    with counting() as counter:
        # When a new container takes its first call to each (the line is not known yet: one read more)
        voice(api, channel_number, sid="CA" + "1" * 32)
        assert dict(counter.ops) == {"BatchGetItem": 1, "GetItem": 1, "TransactWriteItems": 1}
        counter.reset()
        voice(api, held["number"], sid="CA" + "2" * 32)
        assert dict(counter.ops) == {"BatchGetItem": 1, "GetItem": 1, "TransactWriteItems": 1}
        # Then every later call is one batch (number, line, first touch, blocklist when stale)
        # and the write: the pool number's item carries its lease, source included
        blocklist.clear_cache()
        for i, to in enumerate([channel_number, held["number"]] * 2):
            counter.reset()
            voice(api, to, sid=f"CA{i:032d}")
            assert dict(counter.ops) == {"BatchGetItem": 1, "TransactWriteItems": 1}
        # ... and a replay too: the refused write returns the stored call's token, nothing is read after it
        for to in (channel_number, held["number"]):
            counter.reset()
            voice(api, to, sid=f"CA{0:032d}")
            assert dict(counter.ops) == {"BatchGetItem": 1, "TransactWriteItems": 1}
    # ... and the pool call was credited to the visitor's session and source as before
    pool_call = body(api.call("GET", "/v1/calls/CA" + "2" * 32))
    assert pool_call["attribution"]["session_id"] == held["session_id"]
    assert pool_call["attribution"]["confidence"] == "active"
    assert pool_call["attribution"]["source"]["utm_source"] == "google"


def test_a_number_leased_before_it_carried_its_source_is_attributed_from_the_lease_history(api, fake_clock):
    from bench.common import counting
    from chalicelib.store.models import NumberModel
    from tests.integration.test_leases import leased, make_pool

    # Given a number leased by code that kept the lease's source only in the lease history
    pool = make_pool(api, size=1)
    held = leased(api, pool, "visitor-bbbb", utm={"source": "bing"})
    NumberModel(held["number"]).update(actions=[NumberModel.lease_source.remove()])
    voice(api, held["number"], sid="CA" + "6" * 32)  # the line known
    with counting() as counter:
        # When it is called
        voice(api, held["number"], sid="CA" + "7" * 32)
        # Then the history is queried after the batch (one request more) and the call credited as before
        assert dict(counter.ops) == {"BatchGetItem": 1, "Query": 1, "TransactWriteItems": 1}
    got = body(api.call("GET", "/v1/calls/CA" + "7" * 32))["attribution"]
    assert (got["session_id"], got["confidence"], got["source"]["utm_source"]) == (held["session_id"], "active", "bing")


def test_unprocessed_keys_are_asked_again_then_the_call_is_forwarded_degraded(api, line, monkeypatch):
    from chalicelib.store import voice_reads

    _, number = line(record=False)
    voice(api, number, sid="CA" + "3" * 32)  # the line known
    real = voice_reads._batch.__globals__["connections"].shared
    answers: list[int] = []

    class Throttled:
        """DynamoDB leaving every key unprocessed ``times`` times, then answering."""

        def __init__(self, times: int) -> None:
            self.times = times

        def __call__(self) -> object:
            conn = real()
            outer = self

            class Wrapped:
                def __getattr__(self, name: str) -> object:
                    return getattr(conn, name)  # transactions go through as they are

                def dispatch(self, op: str, kwargs: dict) -> dict:
                    if op != "BatchGetItem":
                        return conn.dispatch(op, kwargs)
                    answers.append(1)
                    if outer.times > 0:
                        outer.times -= 1
                        return {"Responses": {}, "UnprocessedKeys": kwargs["RequestItems"]}
                    return conn.dispatch(op, kwargs)

            return Wrapped()

    monkeypatch.setattr(voice_reads, "PAUSE_SECONDS", 0.001)
    # When DynamoDB leaves the batch's keys unprocessed twice
    monkeypatch.setattr(voice_reads.connections, "shared", Throttled(2))
    root = voice(api, number, sid="CA" + "4" * 32)
    # Then they are asked again (three requests in all) and the call is stored as usual
    assert len(answers) == 3 and root.find("Dial/Number").text == "+12025550144"
    assert body(api.call("GET", "/v1/calls/CA" + "4" * 32))["status"] == "ringing"
    # When it leaves them unprocessed every time
    answers.clear()
    monkeypatch.setattr(voice_reads.connections, "shared", Throttled(10))
    root = voice(api, number, sid="CA" + "5" * 32)
    # Then the webhook stops after MAX_TRIES and forwards the caller to the line's phone from its URL
    assert len(answers) == voice_reads.MAX_TRIES
    assert root.find("Dial/Number").text is not None
    assert api.call("GET", "/v1/calls/CA" + "5" * 32).status_code == 404
