"""The twilio provider with the real Twilio SDK against Prism serving Twilio's OpenAPI spec."""

from __future__ import annotations

import time

import pytest

from chalicelib.telephony import TelephonyError, Webhooks, set_provider
from chalicelib.telephony.twilio import TwilioTelephony
from tests.conftest import BASE_URL, body
from tests.support import prism as prism_support
from tests.support import servers

pytestmark = pytest.mark.contract
SID = "AC" + "0" * 32
HOOKS = Webhooks(f"{BASE_URL}/twilio/voice", f"{BASE_URL}/twilio/fallback", f"{BASE_URL}/twilio/call-status")


@pytest.fixture(scope="module")
def prism(tmp_path_factory):
    server = prism_support.start(tmp_path_factory.mktemp("prism"))
    yield server
    server.stop()


@pytest.fixture
def provider(prism):
    return TwilioTelephony(account_sid=SID, auth_token_getter=lambda: "contract-token", api_base_url=prism.url)


def test_search_buy_update_release_conform_to_the_spec(prism, provider):
    before = len(prism.request_violations())
    found = provider.search(country="US", area_code="415", contains="555", limit=3)
    assert found and all(n.number.startswith("+") for n in found)
    last = provider._rest().http_client._test_only_last_request
    assert last.url.endswith(f"/2010-04-01/Accounts/{SID}/AvailablePhoneNumbers/US/Local.json")
    assert last.params["AreaCode"] == 415 and last.params["Contains"] == "555" and last.params["VoiceEnabled"] == "true"

    bought = provider.buy(found[0].number, HOOKS)
    assert bought.sid.startswith("PN") and bought.number.startswith("+")
    last = provider._rest().http_client._test_only_last_request
    assert (last.method, last.url) == ("POST", f"{prism.url}/2010-04-01/Accounts/{SID}/IncomingPhoneNumbers.json")
    assert last.data["PhoneNumber"] == found[0].number
    assert (last.data["VoiceUrl"], last.data["VoiceMethod"]) == (HOOKS.voice_url, "POST")
    assert (last.data["VoiceFallbackUrl"], last.data["VoiceFallbackMethod"]) == (HOOKS.voice_fallback_url, "POST")
    assert (last.data["StatusCallback"], last.data["StatusCallbackMethod"]) == (HOOKS.status_callback, "POST")

    provider.update(bought.sid, HOOKS)
    last = provider._rest().http_client._test_only_last_request
    assert last.url.endswith(f"/IncomingPhoneNumbers/{bought.sid}.json") and last.data["VoiceUrl"] == HOOKS.voice_url
    provider.release(bought.sid)
    last = provider._rest().http_client._test_only_last_request
    assert last.method == "DELETE" and last.url.endswith(f"/IncomingPhoneNumbers/{bought.sid}.json")
    time.sleep(0.5)
    assert prism.request_violations()[before:] == []


def test_prism_does_refuse_requests_that_break_the_spec(prism, provider):
    """The check above means something: a request outside the spec is refused (422)."""
    client = provider._rest()
    with pytest.raises(Exception) as err:
        client.incoming_phone_numbers.create(phone_number="+14155550100", voice_method="FETCH")
    assert "422" in str(err.value) or getattr(err.value, "status", None) == 422
    time.sleep(0.5)  # Prism writes its log after answering
    assert any("VoiceMethod" in v for v in prism.request_violations())


def test_a_refused_request_is_a_client_error(prism):
    bad = TwilioTelephony(account_sid=SID, auth_token_getter=lambda: "t", api_base_url=prism.url)
    with pytest.raises(TelephonyError) as err:
        bad._call("creating", lambda: bad._rest().incoming_phone_numbers.create(phone_number="+1", voice_method="NO"))
    assert err.value.client_error is True and "422" in str(err.value)


def test_unreachable_twilio_is_an_upstream_error():
    down = TwilioTelephony(
        account_sid=SID, auth_token_getter=lambda: "t", api_base_url=f"http://127.0.0.1:{servers.free_port()}"
    )
    with pytest.raises(TelephonyError) as err:
        down.search(country="US", area_code=None, contains=None, limit=1)
    assert err.value.client_error is False


def test_the_management_api_buys_through_twilio(api, provider, prism):
    before = len(prism.request_violations())
    set_provider(provider)
    ch = body(api.call("POST", "/v1/channels", {"name": "Radio", "forward_to": "+12025550144"}))
    r = api.call("POST", "/v1/numbers", {"channel_id": ch["id"], "area_code": "415"})
    assert r.status_code == 201, r.body
    num = body(r)
    assert num["provider"] == "twilio" and num["provider_sid"].startswith("PN")
    r = api.call("DELETE", "/v1/numbers/" + num["number"].replace("+", "%2B"))
    assert r.status_code == 200 and body(r)["status"] == "released"
    time.sleep(0.5)
    assert prism.request_violations()[before:] == []
