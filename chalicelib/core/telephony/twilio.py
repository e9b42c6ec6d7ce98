"""The Twilio provider: search, buy, re-point and release numbers through Twilio's REST API.

The SDK (and ``requests`` under it) is imported on first use, not with this module: the
voice path never buys numbers, and its cold start should not pay for the REST client.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from chalicelib.core.telephony.types import AvailableNumber, ProvisionedNumber, TelephonyError, Webhooks

if TYPE_CHECKING:
    from twilio.http import HttpClient
    from twilio.rest import Client

DEFAULT_TIMEOUT_SECONDS = 10.0
TWILIO_API = "https://api.twilio.com"
_SID = re.compile(r"RE[0-9a-fA-F]{32}")


class TwilioTelephony:
    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token_getter: Callable[[], str],
        api_base_url: str | None = None,
        lookups_base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        http_client: HttpClient | None = None,
    ) -> None:
        """``api_base_url`` replaces ``https://api.twilio.com`` (a mock such as Prism);
        ``lookups_base_url`` replaces ``https://lookups.twilio.com`` (its own spec, its own mock);
        ``http_client`` replaces the SDK's (tests record requests with it)."""
        self.account_sid = account_sid
        self.api_base_url = api_base_url.rstrip("/") if api_base_url else None
        self.lookups_base_url = lookups_base_url.rstrip("/") if lookups_base_url else None
        self.timeout = timeout
        self._auth_token_getter = auth_token_getter
        self._http_client = http_client
        self._client: Client | None = None
        self._client_token: str | None = None
        self._lock = threading.Lock()

    def _rest(self) -> Client:
        """The REST client, rebuilt when the auth token changes (it is rotated in SSM)."""
        if not self.account_sid:
            raise TelephonyError("TWILIO_ACCOUNT_SID is not configured")
        try:
            token = self._auth_token_getter()
        except Exception as exc:
            raise TelephonyError(f"the Twilio auth token could not be read: {type(exc).__name__}: {exc}") from None
        with self._lock:
            if self._client is None or token != self._client_token:
                self._client = self._build(token)
                self._client_token = token
            return self._client

    def _build(self, token: str) -> Client:
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        if self._http_client is None:
            # No retries: a POST that buys a number must not be sent twice.
            self._http_client = TwilioHttpClient(timeout=self.timeout)
        # Settings is the one reader of os.environ: an explicit mapping keeps the SDK from reading
        # TWILIO_EDGE / TWILIO_REGION there (which would also rewrite a mock's host name).
        environment = {"TWILIO_ACCOUNT_SID": self.account_sid}
        client = Client(self.account_sid, token, http_client=self._http_client, environment=environment)
        if self.api_base_url:
            # Every v2010 resource (numbers included) builds its URL from the Api domain's base.
            client.api.base_url = self.api_base_url
        if self.lookups_base_url:
            client.lookups.base_url = self.lookups_base_url
        return client

    def search(self, *, country: str, area_code: str | None, contains: str | None, limit: int) -> list[AvailableNumber]:
        with _translated(f"searching for {country} numbers"):
            found = (
                self._rest()
                .available_phone_numbers(country)
                .local.list(
                    area_code=_or_unset(area_code),
                    contains=_or_unset(contains),
                    voice_enabled=True,
                    limit=limit,
                )
            )
        return [
            AvailableNumber(
                number=n.phone_number,
                friendly_name=n.friendly_name or n.phone_number,
                locality=n.locality,
                region=n.region,
            )
            for n in found
            if n.phone_number
        ]

    def buy(self, number: str, hooks: Webhooks) -> ProvisionedNumber:
        with _translated(f"buying {number}"):
            bought = self._rest().incoming_phone_numbers.create(phone_number=number, **_hook_fields(hooks))
        bought_number = bought.phone_number or number
        return ProvisionedNumber(
            number=bought_number, sid=str(bought.sid), friendly_name=bought.friendly_name or bought_number
        )

    def update(self, sid: str, hooks: Webhooks) -> None:
        with _translated(f"updating the webhooks of {sid}"):
            self._rest().incoming_phone_numbers(sid).update(**_hook_fields(hooks))

    def voice_urls(self) -> dict[str, str]:
        with _translated("listing the account's numbers"):
            owned = self._rest().incoming_phone_numbers.list(limit=1000)
        return {str(n.sid): str(n.voice_url or "") for n in owned if n.sid}

    def release(self, sid: str) -> None:
        """Release ``sid``; only a 404 counts as the caller's fault (the number is gone already).

        The caller marks the number released on a client error, so a 401 or a 429 must not
        be one: the number would stay bought (and billed) at Twilio, forgotten here.
        """
        with _translated(f"releasing {sid}", client_statuses=frozenset({404})):
            self._rest().incoming_phone_numbers(sid).delete()

    def fetch_recording(self, recording_sid: str) -> tuple[bytes, str]:
        """The recording's WAV, with the account's credentials (works with HTTP auth on media turned on).

        ``requests`` directly, not the SDK's HTTP client: that one decodes every body as text.
        Twilio answers the media URL with a redirect to its storage; ``requests`` drops the
        Authorization header when the redirect leaves the host, as it should.
        """
        import requests

        if not _SID.fullmatch(recording_sid):
            raise TelephonyError(f"{recording_sid!r} is not a recording SID", client_error=True)
        self._rest()  # checks the account SID and reads the (maybe rotated) token
        base = self.api_base_url or TWILIO_API
        url = f"{base}/2010-04-01/Accounts/{self.account_sid}/Recordings/{recording_sid}.wav"
        with _translated(f"fetching recording {recording_sid}"):
            answer = requests.get(url, auth=(self.account_sid, self._client_token or ""), timeout=self.timeout)
        if answer.status_code >= 400:
            raise TelephonyError(
                f"Twilio answered HTTP {answer.status_code} when fetching recording {recording_sid}",
                client_error=answer.status_code == 404,
            )
        return answer.content, answer.headers.get("Content-Type", "audio/x-wav").split(";")[0].strip()

    def delete_recording(self, recording_sid: str) -> None:
        """Delete the recording at Twilio; a 404 means it is gone already (a retried delete)."""
        try:
            with _translated(f"deleting recording {recording_sid}", client_statuses=frozenset({404})):
                self._rest().recordings(recording_sid).delete()
        except TelephonyError as exc:
            if not exc.client_error:  # only a 404 is one here
                raise

    def send_sms(self, *, to: str, from_: str, body: str, messaging_service_sid: str | None = None) -> str:
        with _translated(f"texting {to}"):
            sent = self._rest().messages.create(
                to=to,
                from_=from_ if not messaging_service_sid else _or_unset(None),
                messaging_service_sid=_or_unset(messaging_service_sid),
                body=body,
            )
        return str(sent.sid)

    def start_call(self, *, to: str, from_: str, url: str, status_callback: str | None = None) -> str:
        # Never /twilio/call-status (it would store the outbound leg as an inbound call): the
        # call-back's own status route, which only updates its outbound record.
        hook = {"status_callback": status_callback, "status_callback_method": "POST"} if status_callback else {}
        with _translated(f"calling {to}"):
            made = self._rest().calls.create(to=to, from_=from_, url=url, method="POST", **hook)
        return str(made.sid)

    def line_type(self, number: str) -> str | None:
        """Lookup v2's line type intelligence (a paid field: asked once per new line, never per call)."""
        return self.caller_lookup(number, caller_name=False)["line_type"]

    def caller_lookup(self, number: str, *, caller_name: bool) -> dict[str, str | None]:
        """One Lookup v2 request for line type intelligence and, when ``caller_name``, caller name (CNAM)
        too (``fields=line_type_intelligence,caller_name``): each a paid field."""
        fields = "line_type_intelligence,caller_name" if caller_name else "line_type_intelligence"
        with _translated(f"looking up {number}"):
            found = self._rest().lookups.v2.phone_numbers(number).fetch(fields=fields)
        info = found.line_type_intelligence or {}
        kind = info.get("type") if isinstance(info, dict) else None
        named = (found.caller_name or {}) if caller_name else {}
        name = named.get("caller_name") if isinstance(named, dict) else None
        return {"line_type": str(kind) if kind else None, "caller_name": (str(name).strip() or None) if name else None}


def _hook_fields(hooks: Webhooks) -> dict[str, str]:
    sms = {"sms_url": hooks.sms_url, "sms_method": "POST"} if hooks.sms_url else {}
    return sms | {
        "voice_url": hooks.voice_url,
        "voice_method": "POST",
        "voice_fallback_url": hooks.voice_fallback_url,
        "voice_fallback_method": "POST",
        "status_callback": hooks.status_callback,
        "status_callback_method": "POST",
    }


def _or_unset(value: str | None) -> Any:
    from twilio.base import values

    return values.unset if value is None else value


def _is_client_status(status: int) -> bool:
    # 401/403: our credentials are wrong; 429: Twilio is throttling us. Neither is the request's fault.
    return 400 <= status < 500 and status not in (401, 403, 429)


@contextmanager
def _translated(action: str, *, client_statuses: frozenset[int] | None = None) -> Iterator[None]:
    """Turn the SDK's and ``requests``' exceptions into ``TelephonyError`` (no credentials in messages)."""
    from requests import RequestException
    from twilio.base.exceptions import TwilioException

    try:
        yield
    except RequestException as exc:
        # The class name says what failed (ConnectTimeout, ReadTimeout, ConnectionError).
        raise TelephonyError(f"could not reach Twilio when {action}: {type(exc).__name__}") from None
    except TwilioException as exc:
        answer = _answer(exc)
        if answer is None:
            raise TelephonyError(f"the Twilio SDK failed when {action}: {exc.args[0] if exc.args else exc!r}") from None
        status, code, text = answer
        client = status in client_statuses if client_statuses is not None else _is_client_status(status)
        with_code = f", code {code}" if code and code != status else ""
        raise TelephonyError(
            f"Twilio answered HTTP {status}{with_code} when {action}: {text}", client_error=client
        ) from None
    except ValueError as exc:  # a 2xx body that is not JSON (JSONDecodeError)
        raise TelephonyError(f"Twilio's answer made no sense when {action}: {type(exc).__name__}") from None


def _answer(exc: Exception) -> tuple[int, Any, str] | None:
    """Status, Twilio error code and message of an error answer, from whichever exception the SDK raised."""
    from twilio.base.exceptions import TwilioRestException, TwilioServiceException

    if isinstance(exc, TwilioRestException):
        return int(exc.status), exc.code, str(exc.msg)
    if isinstance(exc, TwilioServiceException):
        return int(exc.status), exc.code, f"{exc.title}: {exc.detail}" if exc.detail else str(exc.title)
    # A list page that failed raises a bare TwilioException("Unable to fetch page", response).
    response = next((a for a in exc.args if hasattr(a, "status_code") and hasattr(a, "text")), None)
    if response is None:
        return None
    try:
        payload = json.loads(response.text)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        payload = {}
    said = payload.get("message") or payload.get("detail") or payload.get("title")
    text = f"{exc.args[0]}: {said}" if said else str(exc.args[0])
    return int(response.status_code), payload.get("code"), text
