"""A call is never dropped: DynamoDB failures on the voice path, and callbacks in any order."""

from __future__ import annotations

import time
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.core import clock
from chalicelib.core.settings import load
from chalicelib.voice import blocklist
from tests.support.env import BASE_URL, DEFAULT_PHONE, body
from tests.support.faults import dynamodb_failing

CALLER = "+14155550111"


def line(api, **flow):
    ch = body(api.call("POST", "/v1/channels", {"name": "Radio FM 101", "forward_to": "+12025550144", "flow": flow}))
    return ch, body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]


@pytest.mark.parametrize("mode", ["throttle", "server-error", "refused", "hang"])
def test_voice_webhook_forwards_whatever_dynamodb_does(api, mode):
    ch, number = line(api)
    blocklist.clear_cache()
    params = {"CallSid": "CA" + "1" * 32, "From": CALLER, "To": number, "CallStatus": "ringing"}
    defaults = load({})
    with dynamodb_failing(mode, read_timeout=defaults.webhook_read_timeout) as fake:
        started = time.monotonic()
        r = api.twilio("/twilio/voice", params)
        elapsed = time.monotonic() - started
        attempts = fake.requests
    assert r.status_code == 200
    root = ElementTree.fromstring(r.body)
    assert root.find("Dial/Number").text == DEFAULT_PHONE
    # One DynamoDB request, retried once, then the webhook stops asking: the bound is the
    # configured timeouts, not luck. (Twilio gives up after 15 s; bench/ measures the latency.)
    assert attempts <= defaults.webhook_max_attempts
    assert elapsed < 10
    # DynamoDB is back: the status callback creates and completes the record.
    done = {**params, "CallStatus": "completed", "CallDuration": "47"}
    assert api.twilio("/twilio/call-status", done).status_code == 200
    call = body(api.call("GET", f"/v1/calls/{params['CallSid']}"))
    assert call["channel_name"] == "Radio FM 101" and call["channel_id"] == ch["id"]
    assert call["status"] == "completed" and call["duration"] == 47 and call["caller"] == CALLER
    assert call["attribution"]["confidence"] == "static"


@pytest.mark.parametrize("mode", ["throttle", "hang"])
def test_with_dynamodb_down_a_call_goes_to_its_lines_phone_from_the_url(api, settings_env, mode):
    # Given a deployment without a default phone, and a number whose voice URL names its line's phone
    settings_env(DEFAULT_FORWARD_TO="")
    ch, number = line(api)
    from chalicelib.core.telephony import get_provider
    from chalicelib.store.models import NumberModel

    voice_url = get_provider().hooks[NumberModel.get(number).provider_sid].voice_url
    path = voice_url.removeprefix(BASE_URL)
    blocklist.clear_cache()
    params = {"CallSid": "CA" + "2" * 32, "From": CALLER, "To": number, "CallStatus": "ringing"}
    # When DynamoDB fails while Twilio posts the call
    with dynamodb_failing(mode, read_timeout=load({}).webhook_read_timeout):
        r = api.twilio(path, params)
    # Then the caller reaches the line's phone, not an apology
    assert ElementTree.fromstring(r.body).find("Dial/Number").text == ch["forward_to"] == "+12025550144"


def test_fallback_url_needs_no_database(api):
    with dynamodb_failing("refused") as fake:
        r = api.twilio("/twilio/fallback", {"CallSid": "CA2", "From": CALLER, "To": "+12015550100"})
    assert ElementTree.fromstring(r.body).find("Dial/Number").text == DEFAULT_PHONE
    assert fake.requests == 0


# --- callbacks in any order, any number of times ---------------------------------------------


def callbacks(sid: str, number: str, caller: str = CALLER) -> list[tuple[str, dict[str, str]]]:
    base = {"CallSid": sid, "From": caller, "To": number}
    return [
        ("/twilio/voice", {**base, "CallStatus": "ringing", "FromCity": "OAKLAND"}),
        ("/twilio/call-status", {**base, "CallStatus": "in-progress"}),
        ("/twilio/dial-status?step=0", {**base, "DialCallStatus": "no-answer", "DialCallSid": sid[:-1] + "a"}),
        (
            "/twilio/dial-status?step=1",
            {**base, "DialCallStatus": "completed", "DialCallDuration": "61", "DialCallSid": sid[:-1] + "b"},
        ),
        (
            "/twilio/recording-status",
            {**base, "RecordingSid": "RE1", "RecordingUrl": "https://x.example/RE1", "RecordingDuration": "60"},
        ),
        ("/twilio/call-status", {**base, "CallStatus": "completed", "CallDuration": "95"}),
    ]


def stored(api, sid: str) -> dict:
    call = body(api.call("GET", f"/v1/calls/{sid}"))
    call["sid"] = call["caller"] = "-"
    if call["recording"]:  # this API's link to the recording names the call
        call["recording"]["url"] = call["recording"]["url"].replace(sid, "-")
    call["first_touch"] = {k: v for k, v in (call["first_touch"] or {}).items() if k != "call_sid"}
    call["agg"] = None
    call["dial_call_sid"] = call.get("dial_call_sid", "")[-1:]
    derived = {
        "answered": int(call["result"] == "answered"),
        "missed": int(call["result"] == "missed"),
        "voicemail": int(call["result"] == "voicemail"),
        "talk_time": call["talk_time"],
    }
    return {"call": call, "derived": derived}


_state: dict[int, dict] = {}


FINAL_STEP = 5  # the completed status callback


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    extra=st.lists(st.integers(min_value=0, max_value=5), max_size=8),
    seed=st.integers(0, 2**16),
    voice_at=st.floats(0, 1),
)
def test_callbacks_in_any_order_and_repeated_give_one_result(api, extra, seed, voice_at):
    """Each example is a new call on the same line; its record must equal the in-order call's.

    Twilio waits for the voice webhook's TwiML before the call goes on, so its first delivery
    comes before the call's final status (late only if a slow voice write lands after early
    callbacks); the other callbacks come in any order, and any of them, the voice request
    included (Twilio's retries, replays), again at any time.
    """
    import random

    state = _state.setdefault(id(api), {})
    if not state:
        clock.set_source(clock.FakeClock(1_790_000_000.0))
        _, state["number"] = line(api, failover=["+12025550111"])
        for path, params in callbacks("CA" + "0" * 32, state["number"]):
            api.twilio(path, params)
        state["expected"] = stored(api, "CA" + "0" * 32)
        state["n"] = 0
    state["n"] += 1
    sid = f"CA{state['n']:032d}"
    steps = callbacks(sid, state["number"], f"+1415555{state['n']:04d}")  # each a first-time caller
    sequence = [*extra, *range(1, len(steps))]  # every callback at least once, some several times
    random.Random(seed).shuffle(sequence)
    final = sequence.index(FINAL_STEP)
    sequence.insert(int(voice_at * final), 0)  # the voice request's first delivery, before the call ended
    for i in sequence:
        path, params = steps[i]
        assert api.twilio(path, params).status_code == 200
    got, expected = stored(api, sid), state["expected"]
    assert got["derived"] == expected["derived"] == {"answered": 1, "missed": 0, "voicemail": 0, "talk_time": 61}
    assert got["call"] == expected["call"]
