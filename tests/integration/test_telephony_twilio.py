"""The twilio provider, with the real Twilio SDK, against Prism serving Twilio's published OpenAPI spec.

Prism runs with ``--errors``, so a request our code sends that breaks the spec comes back
422 (and fails these tests), and every exchange the SDK had is recorded and checked.
Prism answers with the spec's examples: assert on shape, not on values.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from twilio.http.http_client import TwilioHttpClient

from chalicelib.core.telephony import AvailableNumber, TelephonyError, Webhooks, get_provider, set_provider
from chalicelib.core.telephony.twilio import TwilioTelephony
from tests.support import prism as prism_support
from tests.support import servers
from tests.support.env import AUTH_TOKEN, BASE_URL, body

pytestmark = pytest.mark.contract

ACCOUNT = "AC" + "0" * 32
TOKEN = "contract-token-not-a-secret-0123"
HOOKS = Webhooks(
    voice_url=f"{BASE_URL}/twilio/voice",
    voice_fallback_url=f"{BASE_URL}/twilio/fallback",
    status_callback=f"{BASE_URL}/twilio/call-status",
)
E164 = re.compile(r"\+[1-9]\d{1,14}")
NUMBER_SID = re.compile(r"PN[0-9a-fA-F]{32}")
NUMBERS_PATH = f"/2010-04-01/Accounts/{ACCOUNT}/IncomingPhoneNumbers"
LOOKUPS_SPEC = prism_support.SPEC.with_name("twilio_lookups_v2.json")


@dataclass(frozen=True)
class Exchange:
    method: str
    url: str
    params: dict[str, Any]
    data: dict[str, Any]
    auth: tuple[str, str] | None
    status: int
    body: str
    headers: dict[str, str]

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


class Recorder(TwilioHttpClient):
    """The SDK's own HTTP client, keeping every request it sent and the answer it got."""

    def __init__(self, timeout: float = 5.0) -> None:
        super().__init__(timeout=timeout)
        self.exchanges: list[Exchange] = []

    def request(self, method, url, params=None, data=None, **kwargs):
        response = super().request(method, url, params, data, **kwargs)
        self.exchanges.append(
            Exchange(
                method,
                url,
                dict(params or {}),
                dict(data or {}),
                kwargs.get("auth"),
                response.status_code,
                response.text,
                dict(response.headers or {}),
            )
        )
        return response

    def problems(self) -> list[str]:
        """What Prism said was wrong with any exchange (nothing, when our requests match the spec)."""
        return [
            f"{x.method} {x.path} -> {x.status} {x.headers.get('sl-violations', '')} {x.body[:500]}"
            for x in self.exchanges
            if x.status >= 400 or "sl-violations" in {k.lower() for k in x.headers}
        ]


@pytest.fixture(scope="module")
def prism_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc, url = prism_support.start(tmp_path_factory.mktemp("prism"))
    yield url
    servers.stop(proc)


@pytest.fixture(scope="module")
def lookups_prism_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Prism serving Twilio's published Lookup v2 spec (its own host, lookups.twilio.com)."""
    proc, url = prism_support.start(tmp_path_factory.mktemp("prism-lookups"), spec=LOOKUPS_SPEC)
    yield url
    servers.stop(proc)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def provider(prism_url: str, recorder: Recorder) -> TwilioTelephony:
    return TwilioTelephony(
        account_sid=ACCOUNT, auth_token_getter=lambda: TOKEN, api_base_url=prism_url, http_client=recorder
    )


def test_search_asks_for_voice_numbers_in_the_area_code(provider, recorder, prism_url):
    found = provider.search(country="US", area_code="415", contains="55", limit=3)

    assert found and all(isinstance(n, AvailableNumber) for n in found)
    assert all(E164.fullmatch(n.number) and n.friendly_name for n in found)
    assert recorder.problems() == []
    [sent] = recorder.exchanges
    assert sent.url.startswith(prism_url + "/")  # the base URL override reached the SDK
    assert (sent.method, sent.path) == ("GET", f"/2010-04-01/Accounts/{ACCOUNT}/AvailablePhoneNumbers/US/Local.json")
    assert sent.params == {"AreaCode": "415", "Contains": "55", "VoiceEnabled": "true", "PageSize": 3}
    assert sent.auth == (ACCOUNT, TOKEN)


def test_search_without_filters_sends_none(provider, recorder):
    provider.search(country="GB", area_code=None, contains=None, limit=1)

    assert recorder.problems() == []
    assert recorder.exchanges[0].params == {"VoiceEnabled": "true", "PageSize": 1}


def test_buy_points_the_number_at_the_webhooks(provider, recorder):
    bought = provider.buy("+14155550100", HOOKS)

    assert E164.fullmatch(bought.number) and NUMBER_SID.fullmatch(bought.sid) and bought.friendly_name
    assert recorder.problems() == []
    [sent] = recorder.exchanges
    assert (sent.method, sent.path, sent.status) == ("POST", f"{NUMBERS_PATH}.json", 201)
    assert sent.data == {
        "PhoneNumber": "+14155550100",
        "VoiceUrl": HOOKS.voice_url,
        "VoiceMethod": "POST",
        "VoiceFallbackUrl": HOOKS.voice_fallback_url,
        "VoiceFallbackMethod": "POST",
        "StatusCallback": HOOKS.status_callback,
        "StatusCallbackMethod": "POST",
    }


def test_update_repoints_and_release_deletes(provider, recorder):
    sid = "PN" + "0123456789abcdef" * 2
    # What numbers.webhooks() writes after a line's phone changed: the phone rides in the query.
    moved = Webhooks(
        "https://new.example.test/api/twilio/voice?to=%2B12025550177",
        "https://new.example.test/api/twilio/fallback?to=%2B12025550177",
        "https://new.example.test/api/twilio/call-status",
    )

    provider.update(sid, moved)
    provider.release(sid)

    assert recorder.problems() == []
    update, delete = recorder.exchanges
    assert (update.method, update.path, update.status) == ("POST", f"{NUMBERS_PATH}/{sid}.json", 200)
    assert update.data == {
        "VoiceUrl": moved.voice_url,
        "VoiceMethod": "POST",
        "VoiceFallbackUrl": moved.voice_fallback_url,
        "VoiceFallbackMethod": "POST",
        "StatusCallback": moved.status_callback,
        "StatusCallbackMethod": "POST",
    }
    assert (delete.method, delete.path, delete.status) == ("DELETE", f"{NUMBERS_PATH}/{sid}.json", 204)


def test_the_numbers_voice_urls_are_one_list_request(provider, recorder):
    # When the numbers page checks where the account's numbers point
    urls = provider.voice_urls()

    # Then one GET of the account's numbers (a request the spec accepts), read as SID -> voice URL
    assert recorder.problems() == []
    (listed,) = recorder.exchanges
    assert (listed.method, listed.path, listed.status) == ("GET", f"{NUMBERS_PATH}.json", 200)
    assert urls and all(sid.startswith("PN") and isinstance(url, str) for sid, url in urls.items())


@pytest.mark.parametrize(
    ("action", "where"),
    [
        (lambda p: p.search(country="US", area_code="4l5", contains=None, limit=1), ["query", "areacode"]),
        (lambda p: p.buy("+14155550100", Webhooks("not a url", HOOKS.voice_fallback_url, "")), ["body", "VoiceUrl"]),
    ],
    ids=["area-code-not-a-number", "webhook-not-a-url"],
)
def test_a_request_the_spec_rejects_is_a_client_error(provider, recorder, action, where):
    """Prism does check what we send: a request outside the spec is refused, and we say so."""
    with pytest.raises(TelephonyError) as err:
        action(provider)

    assert err.value.client_error is True
    assert "HTTP 422" in str(err.value) and TOKEN not in str(err.value)
    [sent] = recorder.exchanges
    problem = json.loads(sent.body)
    assert problem["type"].endswith("#UNPROCESSABLE_ENTITY")
    assert where in [v["location"] for v in problem["validation"]]


def test_unreachable_twilio_is_an_upstream_error():
    closed = TwilioTelephony(
        account_sid=ACCOUNT, auth_token_getter=lambda: TOKEN, api_base_url=f"http://127.0.0.1:{servers.free_port()}"
    )

    with pytest.raises(TelephonyError) as err:
        closed.buy("+14155550100", HOOKS)

    assert err.value.client_error is False
    assert "could not reach Twilio" in str(err.value) and TOKEN not in str(err.value)


def test_a_silent_twilio_times_out_as_an_upstream_error():
    with socket.socket() as silent:  # accepts connections (the kernel does), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        slow = TwilioTelephony(account_sid=ACCOUNT, auth_token_getter=lambda: TOKEN, api_base_url=url, timeout=0.3)

        with pytest.raises(TelephonyError) as err:
            slow.search(country="US", area_code=None, contains=None, limit=1)

    assert err.value.client_error is False and "ReadTimeout" in str(err.value)


class _Answer(BaseHTTPRequestHandler):
    status = 400
    payload: dict[str, Any] = {}

    def _answer(self) -> None:
        data = json.dumps(self.payload).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def twilio_answers() -> Iterator[tuple[type[_Answer], str]]:
    """A stand-in for Twilio's error answers (Prism only answers what the spec documents: successes)."""
    handler = type("Answer", (_Answer,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("operation", "status", "client_error"),
    [
        ("buy", 400, True),  # number no longer available
        ("search", 400, True),  # invalid area code (a list page fails differently in the SDK)
        ("update", 404, True),
        ("release", 404, True),  # gone already: the caller marks it released
        ("release", 400, False),  # anything else must not: it would stay bought, forgotten here
        ("buy", 401, False),  # our credentials: not the caller's fault
        ("buy", 429, False),
        ("buy", 500, False),
        ("search", 503, False),
    ],
)
def test_twilio_errors_say_whose_fault_they_are(twilio_answers, operation, status, client_error):
    handler, url = twilio_answers
    handler.status = status
    handler.payload = {"code": 21422, "message": "Phone number is not available", "status": status}
    p = TwilioTelephony(account_sid=ACCOUNT, auth_token_getter=lambda: TOKEN, api_base_url=url)
    calls = {
        "search": lambda: p.search(country="US", area_code="415", contains=None, limit=1),
        "buy": lambda: p.buy("+14155550100", HOOKS),
        "update": lambda: p.update("PN" + "0" * 32, HOOKS),
        "release": lambda: p.release("PN" + "0" * 32),
    }

    with pytest.raises(TelephonyError) as err:
        calls[operation]()

    assert err.value.client_error is client_error
    message = str(err.value)
    assert f"HTTP {status}, code 21422" in message and "Phone number is not available" in message
    assert TOKEN not in message


def test_a_rotated_auth_token_is_used_from_the_next_request(prism_url, recorder):
    tokens = iter(["first-token", "second-token"])
    current = {"token": next(tokens)}
    p = TwilioTelephony(
        account_sid=ACCOUNT, auth_token_getter=lambda: current["token"], api_base_url=prism_url, http_client=recorder
    )

    p.release("PN" + "0" * 32)
    current["token"] = next(tokens)
    p.release("PN" + "0" * 32)

    assert [x.auth for x in recorder.exchanges] == [(ACCOUNT, "first-token"), (ACCOUNT, "second-token")]


def test_a_missing_auth_token_is_an_upstream_error_not_a_crash(prism_url):
    def missing() -> str:
        raise RuntimeError("the Twilio auth token is not configured")

    p = TwilioTelephony(account_sid=ACCOUNT, auth_token_getter=missing, api_base_url=prism_url)

    with pytest.raises(TelephonyError) as err:
        p.release("PN" + "0" * 32)
    assert err.value.client_error is False and "not configured" in str(err.value)


@pytest.fixture
def lookups(lookups_prism_url: str, recorder: Any) -> TwilioTelephony:
    """The provider pointed at Prism serving Twilio's Lookup v2 spec (nothing else is asked)."""
    return TwilioTelephony(
        account_sid=ACCOUNT,
        auth_token_getter=lambda: TOKEN,
        api_base_url="http://127.0.0.1:9",  # never asked: only Lookup is
        lookups_base_url=lookups_prism_url,
        http_client=recorder,
    )


def test_a_line_type_is_one_lookup_the_spec_accepts(lookups, recorder):
    # Given the provider pointed at Prism serving Twilio's Lookup v2 spec
    p = lookups
    # When a new line's phone is looked up
    kind = p.line_type("+14155552671")
    # Then it was one GET for the line type field only, which the spec accepts, and the answer is read
    assert recorder.problems() == []
    [x] = recorder.exchanges
    assert (x.method, x.path, x.params) == (
        "GET",
        "/v2/PhoneNumbers/+14155552671",
        {"Fields": "line_type_intelligence"},
    )
    assert x.auth == (ACCOUNT, TOKEN)
    assert json.loads(x.body)["line_type_intelligence"] is None and kind is None  # the spec's example: unknown


def test_a_caller_lookup_with_the_caller_name_is_one_request_the_spec_accepts(lookups, recorder):
    # Given the provider pointed at Prism serving Twilio's Lookup v2 spec
    p = lookups
    # When a first-time US caller is looked up for spam scoring, caller name included
    found = p.caller_lookup("+14155552671", caller_name=True)
    # Then both paid fields are asked in ONE GET the spec accepts, and the answer is read
    assert recorder.problems() == []
    [x] = recorder.exchanges
    assert (x.method, x.path, x.params) == (
        "GET",
        "/v2/PhoneNumbers/+14155552671",
        {"Fields": "line_type_intelligence,caller_name"},
    )
    answer = json.loads(x.body)
    assert "caller_name" in answer and found == {"line_type": None, "caller_name": None}  # the spec's example


@pytest.mark.parametrize("service", [None, "MG" + "0" * 32])
def test_a_text_is_one_messages_request_the_spec_accepts(provider, recorder, service):
    # When a text-back is sent from the tracking number (or through a Messaging Service)
    sid = provider.send_sms(
        to="+14155550111", from_="+12015550100", body="Sorry we missed you.", messaging_service_sid=service
    )
    # Then it is one POST that Twilio's spec accepts, with the sender as chosen, and its SID is read
    assert recorder.problems() == []
    [x] = recorder.exchanges
    assert (x.method, x.path) == ("POST", f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json")
    sender = {"MessagingServiceSid": service} if service else {"From": "+12015550100"}
    assert x.data == {"To": "+14155550111", "Body": "Sorry we missed you.", **sender}
    assert sid.startswith(("SM", "MM"))


ALERT_SMS = "Missed call: (415) 555-0111\nhttps://calls.example.test/dashboard/calls/CA1"


@pytest.mark.parametrize("sender", ["+12015550999", "MG" + "1" * 32])
def test_an_sms_alert_is_one_messages_request_the_spec_accepts(provider, recorder, settings_env, sender):
    # Given SMS alerts sent from a number (or a Messaging Service) through the Twilio provider
    from chalicelib.core.telephony import set_provider
    from chalicelib.integrations.alerts import transports

    settings_env(ALERTS_SMS_FROM=sender)
    set_provider(provider)
    try:
        # When an alert goes to an SMS recipient
        sid = transports.send_sms("+14155550111", ALERT_SMS)
    finally:
        set_provider(None)
    # Then it is one Messages POST that Twilio's spec accepts, from the configured sender
    assert recorder.problems() == []
    [x] = recorder.exchanges
    assert (x.method, x.path) == ("POST", f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json")
    chosen = {"MessagingServiceSid": sender} if sender.startswith("MG") else {"From": sender}
    assert x.data == {"To": "+14155550111", "Body": ALERT_SMS, **chosen}
    assert sid.startswith(("SM", "MM"))


def test_a_call_back_is_one_calls_request_the_spec_accepts(provider, recorder):
    # When the dashboard calls a caller back: the user's own phone first, with the bridge's URL
    url = f"{BASE_URL}/twilio/bridge?to=%2B14155550111&from=%2B12015550100"
    hook = f"{BASE_URL}/twilio/callback-status"
    sid = provider.start_call(to="+12025550177", from_="+12015550100", url=url, status_callback=hook)
    # Then it is one POST the spec accepts, its status sent to the call-back's own route (never
    # /twilio/call-status, which would take the leg for an inbound call)
    assert recorder.problems() == []
    [x] = recorder.exchanges
    assert (x.method, x.path) == ("POST", f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json")
    assert x.data == {
        "To": "+12025550177",
        "From": "+12015550100",
        "Url": url,
        "Method": "POST",
        "StatusCallback": hook,
        "StatusCallbackMethod": "POST",
    }
    assert sid.startswith("CA")


def test_a_failed_lookup_leaves_screening_off_and_the_line_is_created(api, settings_env, prism_url):
    # Lookup answering 404 (the v2010 mock has no Lookup paths): the line is made, not screened
    settings_env(TELEPHONY="twilio", TWILIO_API_BASE_URL=prism_url, TWILIO_LOOKUPS_BASE_URL=prism_url)
    set_provider(None)
    r = api.call("POST", "/v1/channels", {"name": "Radio", "forward_to": "+12025550144"})
    assert r.status_code == 201 and "screen" not in body(r)["flow"], r.body


def test_the_management_api_buys_and_releases_through_twilio(api, settings_env, prism_url, lookups_prism_url):
    """End to end: TELEPHONY=twilio with TWILIO_API_BASE_URL at Prism, built by get_provider()."""
    settings_env(TELEPHONY="twilio", TWILIO_API_BASE_URL=prism_url, TWILIO_LOOKUPS_BASE_URL=lookups_prism_url)
    set_provider(None)
    channel = body(api.call("POST", "/v1/channels", {"name": "Radio FM 101", "forward_to": "+12025550144"}))

    r = api.call("POST", "/v1/numbers", {"channel_id": channel["id"], "area_code": "415"})

    assert r.status_code == 201, r.body
    num = body(r)
    assert num["provider"] == "twilio" and NUMBER_SID.fullmatch(num["provider_sid"])
    assert E164.fullmatch(num["number"]) and num["status"] == "active" and num["channel_id"] == channel["id"]
    provider = get_provider()
    assert isinstance(provider, TwilioTelephony) and provider.api_base_url == prism_url
    assert provider._auth_token_getter() == AUTH_TOKEN

    # A new phone for the channel re-points the number at Twilio (Prism checks the request).
    r = api.call("PATCH", f"/v1/channels/{channel['id']}", {"forward_to": "+12025550177"})
    assert r.status_code == 200, r.body

    r = api.call("DELETE", f"/v1/numbers/{quote(num['number'])}")
    assert r.status_code == 200, r.body
    assert body(r)["status"] == "released"


# --- recordings ----------------------------------------------------------------------------------

REC_SID = "RE" + "0123456789abcdef" * 2
RECORDINGS_PATH = f"/2010-04-01/Accounts/{ACCOUNT}/Recordings"


def test_a_recording_is_deleted_with_the_account_credentials(provider, recorder):
    provider.delete_recording(REC_SID)

    assert recorder.problems() == []
    [sent] = recorder.exchanges
    assert (sent.method, sent.path, sent.status) == ("DELETE", f"{RECORDINGS_PATH}/{REC_SID}.json", 204)
    assert sent.auth == (ACCOUNT, TOKEN)


@pytest.mark.parametrize(("status", "raises"), [(404, False), (401, True), (500, True)])
def test_a_recording_gone_already_is_deleted_but_other_errors_are_retried(twilio_answers, status, raises):
    handler, url = twilio_answers
    handler.status = status
    handler.payload = {"code": 20404, "message": "The requested resource was not found", "status": status}
    p = TwilioTelephony(account_sid=ACCOUNT, auth_token_getter=lambda: TOKEN, api_base_url=url)

    if raises:
        with pytest.raises(TelephonyError):
            p.delete_recording(REC_SID)
    else:
        p.delete_recording(REC_SID)  # a retried delete after one that worked


def test_the_media_fetched_is_the_spec_recording_resource_in_wav(provider, recorder):
    """The spec documents the recording resource (with its ``uri`` and ``media_url``), not the media
    bytes: the media is that resource's URI with ``.wav`` for ``.json``, which is what we fetch."""
    resource = provider._rest().recordings(REC_SID).fetch()  # the SDK against Prism: a valid exchange

    assert recorder.problems() == []
    assert resource.media_url and resource.uri and resource.uri.endswith(".json")
    pattern = r"/2010-04-01/Accounts/AC[0-9a-fA-F]{32}/Recordings/RE[0-9a-fA-F]{32}"
    assert re.fullmatch(pattern + r"\.json", resource.uri)
    media = _MediaServer.start()
    try:
        p = TwilioTelephony(account_sid=ACCOUNT, auth_token_getter=lambda: TOKEN, api_base_url=media.url)
        data, content_type = p.fetch_recording(REC_SID)
    finally:
        media.stop()
    assert re.fullmatch(pattern + r"\.wav", media.paths[0])
    assert (data, content_type) == (_MediaServer.BODY, "audio/x-wav")


def test_media_behind_http_auth_is_fetched_with_the_credentials_and_errors_are_upstream_errors():
    media = _MediaServer.start()
    try:
        wrong = TwilioTelephony(account_sid=ACCOUNT, auth_token_getter=lambda: "wrong", api_base_url=media.url)
        with pytest.raises(TelephonyError) as err:
            wrong.fetch_recording(REC_SID)
        assert "HTTP 401" in str(err.value) and err.value.client_error is False
        right = TwilioTelephony(account_sid=ACCOUNT, auth_token_getter=lambda: TOKEN, api_base_url=media.url)
        with pytest.raises(TelephonyError) as gone:
            right.fetch_recording("RE" + "f" * 32)
        assert "HTTP 404" in str(gone.value) and gone.value.client_error is True
    finally:
        media.stop()
    closed = TwilioTelephony(
        account_sid=ACCOUNT, auth_token_getter=lambda: TOKEN, api_base_url=f"http://127.0.0.1:{servers.free_port()}"
    )
    with pytest.raises(TelephonyError) as down:
        closed.fetch_recording(REC_SID)
    assert down.value.client_error is False and TOKEN not in str(down.value)


class _MediaServer(BaseHTTPRequestHandler):
    """Twilio's media URL with HTTP auth on media turned on: 401 without the account's credentials."""

    BODY = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28)
    paths: list[str]

    def do_GET(self) -> None:
        import base64

        self.paths.append(self.path)
        expected = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            status, data, kind = 401, b'{"code": 20003, "message": "Authenticate"}', "application/json"
        elif not self.path.endswith(f"{REC_SID}.wav"):
            status, data, kind = 404, b'{"code": 20404, "message": "not found"}', "application/json"
        else:
            status, data, kind = 200, self.BODY, "audio/x-wav"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass

    @classmethod
    def start(cls) -> Any:
        handler = type("Media", (cls,), {"paths": []})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

        class Running:
            url = f"http://127.0.0.1:{server.server_address[1]}"
            paths = handler.paths

            @staticmethod
            def stop() -> None:
                server.shutdown()
                server.server_close()

        return Running
