"""The Twilio auth token from SSM: read within short limits, once per container, the last good
value kept; and a call still forwarded, with nothing unverified stored, when SSM fails.

SSM is moto's server when healthy (the suite's embedded DynamoDB serves SSM too) and the
fault-injecting endpoint of ``tests/support/faults.py`` when not.
"""

from __future__ import annotations

import time
from xml.etree import ElementTree

import boto3
import pytest

from chalicelib.core import clock, secrets
from tests.support import snapshot
from tests.support.database import DDB_ENDPOINT
from tests.support.env import AUTH_TOKEN, DEFAULT_PHONE, body
from tests.support.faults import ABSENT_MODES, MODES, ssm_failing

PARAM = "/calltracking/test/twilio-auth-token"
CALLER = "+14155550111"
LINE_PHONE = "+12025550144"
# The number's URLs as numbers.webhooks() writes them: the line's phone rides along, signed.
VOICE = "/twilio/voice?to=%2B12025550144"
FALLBACK = "/twilio/fallback?to=%2B12025550144"


def ssm():
    return boto3.client(
        "ssm", endpoint_url=DDB_ENDPOINT, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )


@pytest.fixture
def token_in_ssm(api, settings_env):
    """The deployed stages' way: the token is an SSM SecureString, no plain value configured."""
    ssm().put_parameter(Name=PARAM, Value=AUTH_TOKEN, Type="SecureString", Overwrite=True)
    settings_env(TWILIO_AUTH_TOKEN="", TWILIO_AUTH_TOKEN_PARAM=PARAM, SSM_ENDPOINT=DDB_ENDPOINT)
    return api


@pytest.fixture
def later(tables):
    """Move the clock (the wall clock, shifted): ``later(301)`` makes a value read now due for a refresh."""
    offset = [0.0]
    clock.set_source(lambda: time.time() + offset[0])  # the tables fixture puts the real clock back

    def advance(seconds: float) -> None:
        offset[0] += seconds

    return advance


def channel_number(api) -> str:
    ch = body(api.call("POST", "/v1/channels", {"name": "Radio FM 101", "forward_to": LINE_PHONE}))
    return body(api.call("POST", "/v1/numbers", {"channel_id": ch["id"]}))["number"]


def dialled(response) -> str:
    assert response.status_code == 200, response.body
    return ElementTree.fromstring(response.body).find("Dial/Number").text


def timed(send):
    started = time.monotonic()
    response = send()
    return response, time.monotonic() - started


def test_the_token_is_read_from_ssm_once_and_refreshed(token_in_ssm, later):
    # Given the token in SSM and a call verified with it
    api = token_in_ssm
    number = channel_number(api)
    params = {"CallSid": "CA" + "1" * 32, "From": CALLER, "To": number}
    assert dialled(api.twilio(VOICE, params)) == LINE_PHONE
    # When the token is rotated in SSM (Twilio now signs with the new one)
    ssm().put_parameter(Name=PARAM, Value="rotated-token-0123456789", Type="SecureString", Overwrite=True)
    params["CallSid"] = "CA" + "2" * 32
    # Then this container keeps the value it read until the refresh interval has passed
    assert api.twilio(VOICE, params, token="rotated-token-0123456789").status_code == 403
    later(301)
    assert dialled(api.twilio(VOICE, params, token="rotated-token-0123456789")) == LINE_PHONE


@pytest.mark.parametrize("mode", MODES)
def test_cold_start_with_ssm_failing_forwards_and_stores_nothing(token_in_ssm, mode):
    # Given a container that never read the token, and SSM failing
    api = token_in_ssm
    number = channel_number(api)
    before = snapshot.tables()
    params = {"CallSid": "CA" + "3" * 32, "From": CALLER, "To": number, "CallStatus": "ringing"}
    with ssm_failing(mode):
        # When Twilio posts the call to the voice URL, and (had that failed) to the fallback URL
        voice, voice_seconds = timed(lambda: api.twilio(VOICE, params))
        fallback, fallback_seconds = timed(lambda: api.twilio(FALLBACK, params))
        # ... and someone else posts a forged one, which cannot be told apart now
        forged = api.twilio(VOICE, {**params, "CallSid": "CA" + "4" * 32}, token="not-the-token")
        # ... and a status callback arrives
        status = api.twilio("/twilio/call-status", {**params, "CallStatus": "completed", "CallDuration": "30"})
    # Then each call is forwarded to the line's phone its URL names, well inside Twilio's 15 s
    assert dialled(voice) == dialled(fallback) == dialled(forged) == LINE_PHONE
    assert voice_seconds < 2 and fallback_seconds < 2, (voice_seconds, fallback_seconds)
    # ... nothing unverified was stored, and the callback is to be sent again
    assert snapshot.tables() == before
    assert status.status_code == 503 and body(status)["error"]["code"] == "secret_unavailable"
    # When SSM is back, the callback sent again completes the record
    done = api.twilio("/twilio/call-status", {**params, "CallStatus": "completed", "CallDuration": "30"})
    assert done.status_code == 200
    call = body(api.call("GET", f"/v1/calls/{params['CallSid']}"))
    assert (call["channel_name"], call["status"], call["duration"]) == ("Radio FM 101", "completed", 30)
    assert api.call("GET", "/v1/calls/CA" + "4" * 32).status_code == 404


@pytest.mark.parametrize(("mode", "attempts"), [("throttle", 2), ("server-error", 2), ("hang", 1)])
def test_ssm_is_asked_again_at_once_when_it_fails_fast_and_not_when_it_is_slow(token_in_ssm, mode, attempts):
    # A throttled or failing SSM gets one more try straight away (botocore would wait up to a
    # second after throttling); a slow one is not waited for twice on one request.
    params = {"CallSid": "CA" + "b" * 32, "From": CALLER, "To": "+12015550100"}
    with ssm_failing(mode) as fake:
        r, seconds = timed(lambda: token_in_ssm.twilio("/twilio/voice", params))
        tried = fake.requests
    assert r.status_code == 200 and tried == attempts
    assert seconds < 2, seconds


def test_cold_start_without_a_phone_in_the_url_forwards_to_the_default(token_in_ssm):
    # Numbers bought before the URLs carried their line's phone
    params = {"CallSid": "CA" + "5" * 32, "From": CALLER, "To": "+12015550100"}
    with ssm_failing("refused"):
        assert dialled(token_in_ssm.twilio("/twilio/voice", params)) == DEFAULT_PHONE
        assert dialled(token_in_ssm.twilio("/twilio/fallback", params)) == DEFAULT_PHONE
        # A request with no signature at all is still refused.
        assert token_in_ssm.twilio("/twilio/voice", params, signature=None).status_code == 403


def test_the_callers_waiting_routes_go_on_without_the_token(token_in_ssm):
    params = {"CallSid": "CA" + "6" * 32, "From": CALLER, "To": "+12015550100"}
    before = snapshot.tables()
    api = token_in_ssm
    with ssm_failing("throttle"):
        missed = tags(api.twilio("/twilio/dial-status?step=0", {**params, "DialCallStatus": "no-answer"}))
        answered = tags(api.twilio("/twilio/dial-status?step=0", {**params, "DialCallStatus": "completed"}))
        voicemail = tags(api.twilio("/twilio/voicemail", {**params, "RecordingUrl": "https://x/RE1"}))
        whisper = tags(api.twilio("/twilio/whisper/channel/ch_1", params))
        recording = api.twilio("/twilio/recording-status", {**params, "RecordingSid": "RE1"})
    assert (missed, answered, voicemail, whisper) == (["Say", "Hangup"], ["Hangup"], ["Say", "Hangup"], ["Say"])
    assert recording.status_code == 503
    assert snapshot.tables() == before


def tags(response) -> list[str]:
    assert response.status_code == 200, response.body
    return [el.tag for el in ElementTree.fromstring(response.body)]


@pytest.mark.parametrize("mode", MODES + ABSENT_MODES)  # a call is still verified and forwarded, even then
def test_warm_container_keeps_the_last_good_token_when_ssm_fails(token_in_ssm, later, mode):
    # Given a container that read the token, and a call it verified
    api = token_in_ssm
    number = channel_number(api)
    assert dialled(api.twilio(VOICE, {"CallSid": "CA" + "7" * 32, "From": CALLER, "To": number})) == LINE_PHONE
    # When the token is due for a refresh and SSM fails
    later(301)
    params = {"CallSid": "CA" + "8" * 32, "From": CALLER, "To": number, "CallStatus": "ringing"}
    with ssm_failing(mode) as fake:
        voice, seconds = timed(lambda: api.twilio(VOICE, params))
        tried = fake.requests
        # ... and more calls come in straight after
        again, again_seconds = timed(lambda: api.twilio(VOICE, {**params, "CallSid": "CA" + "9" * 32}))
        fallback = api.twilio(FALLBACK, params)
        forged = api.twilio(VOICE, {**params, "CallSid": "CA" + "a" * 32}, token="not-the-token")
        after = fake.requests
    # Then the call is verified with the last good token, forwarded and stored as usual
    assert dialled(voice) == dialled(again) == dialled(fallback) == LINE_PHONE
    assert seconds < 2 and again_seconds < 2, (seconds, again_seconds)
    assert body(api.call("GET", f"/v1/calls/{params['CallSid']}"))["channel_name"] == "Radio FM 101"
    # ... a forgery is still refused
    assert forged.status_code == 403
    # ... and SSM is not asked again on every request while it fails
    assert after == tried


def test_a_missing_bootstrap_key_in_ssm_is_503_not_500(api, settings_env):
    # Given a deployment whose bootstrap API key is in SSM, which cannot be reached
    settings_env(API_KEY="", API_KEY_PARAM="/calltracking/test/api-key")
    with ssm_failing("refused"):
        r = api.call("GET", "/v1/channels", key="ct_notakey_atall")
    # Then the management API says "try again", not "server error" or "wrong key"
    assert r.status_code == 503 and body(r)["error"]["code"] == "secret_unavailable"


# --- the bootstrap API key: deleting its parameter (or denying access to it) revokes it ---------------

KEY_PARAM = "/calltracking/test/api-key"
BOOTSTRAP = "bootstrap-key-from-ssm-0123456789"


@pytest.fixture
def key_in_ssm(api, settings_env, fake_clock):
    """A deployment's bootstrap key as an SSM SecureString, read by a container that has used it."""
    ssm().put_parameter(Name=KEY_PARAM, Value=BOOTSTRAP, Type="SecureString", Overwrite=True)
    settings_env(API_KEY="", API_KEY_PARAM=KEY_PARAM, SSM_ENDPOINT=DDB_ENDPOINT)
    assert api.call("GET", "/v1/channels", key=BOOTSTRAP).status_code == 200
    return api


def test_a_deleted_bootstrap_key_is_refused_once_the_refresh_time_passes(key_in_ssm, fake_clock):
    api = key_in_ssm
    # Given the key's parameter deleted (the owner revokes the bootstrap key)
    ssm().delete_parameter(Name=KEY_PARAM)
    # When the container's copy is due for a refresh (SECRETS_REFRESH_SECONDS, 300)
    fake_clock.advance(301)
    # Then the old key is refused, and stays refused (a day later too), not kept as "the last good value"
    assert api.call("GET", "/v1/channels", key=BOOTSTRAP).status_code == 401
    fake_clock.advance(25 * 3600)
    refused = api.call("GET", "/v1/channels", key=BOOTSTRAP)
    assert refused.status_code == 401 and body(refused)["error"]["code"] == "unauthorized"
    # When the parameter exists again, it is accepted again once the absence is read again (60 s)
    ssm().put_parameter(Name=KEY_PARAM, Value=BOOTSTRAP, Type="SecureString", Overwrite=True)
    fake_clock.advance(61)
    assert api.call("GET", "/v1/channels", key=BOOTSTRAP).status_code == 200


@pytest.mark.parametrize("mode", ABSENT_MODES)
def test_a_bootstrap_key_ssm_says_is_gone_or_denied_opens_nothing(key_in_ssm, fake_clock, mode):
    api = key_in_ssm
    # Given SSM answering that the parameter is not there, or not ours to read
    fake_clock.advance(301)
    with ssm_failing(mode):
        # When the old key is used after the refresh time, or by a new container
        warm = api.call("GET", "/v1/channels", key=BOOTSTRAP)
        secrets.clear_cache()
        cold = api.call("GET", "/v1/channels", key=BOOTSTRAP)
    # Then it is refused as a wrong key is (401), not kept and not "try again"
    assert warm.status_code == cold.status_code == 401, (warm.body, cold.body)
    # ... and once access returns, it works again
    fake_clock.advance(61)
    assert api.call("GET", "/v1/channels", key=BOOTSTRAP).status_code == 200


@pytest.mark.parametrize("mode", MODES)
def test_a_bootstrap_key_is_kept_while_ssm_is_failing(key_in_ssm, fake_clock, mode):
    # Given a container that read the key, and SSM throttling, failing, refusing or hanging at refresh time
    fake_clock.advance(301)
    with ssm_failing(mode):
        # When the key is used
        kept = key_in_ssm.call("GET", "/v1/channels", key=BOOTSTRAP)
    # Then the last good value is kept (for SECRETS_RETRY_SECONDS, then SSM is asked again)
    assert kept.status_code == 200
