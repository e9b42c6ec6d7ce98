"""Telephony providers behind one interface: ``twilio`` (the real REST API) and ``local``.

``get_provider()`` picks one by the ``TELEPHONY`` setting; the Twilio SDK's REST client
is imported only when the twilio provider is first used (the voice path never needs it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chalicelib.settings import get_settings


@dataclass(frozen=True)
class AvailableNumber:
    number: str  # E.164
    friendly_name: str
    locality: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class Webhooks:
    """The URLs a tracking number is configured with."""

    voice_url: str
    voice_fallback_url: str
    status_callback: str


@dataclass(frozen=True)
class ProvisionedNumber:
    number: str
    sid: str
    friendly_name: str


class TelephonyError(Exception):
    """The provider refused or failed. ``client_error`` is true when the request was at fault."""

    def __init__(self, message: str, *, client_error: bool = False) -> None:
        super().__init__(message)
        self.client_error = client_error


class Telephony(Protocol):
    name: str

    def search(self, *, country: str, area_code: str | None, contains: str | None, limit: int) -> list[AvailableNumber]:
        """Numbers that can be bought now."""
        ...

    def buy(self, number: str, hooks: Webhooks) -> ProvisionedNumber:
        """Buy ``number`` and point its voice webhooks at this deployment."""
        ...

    def update(self, sid: str, hooks: Webhooks) -> None:
        """Re-point an owned number's webhooks (after the deployment's URL changed)."""
        ...

    def release(self, sid: str) -> None:
        """Give the number back to the carrier."""
        ...


_provider: Telephony | None = None


def get_provider() -> Telephony:
    """The configured provider, built once."""
    global _provider
    if _provider is None:
        s = get_settings()
        if s.telephony == "local":
            from chalicelib.telephony.local import LocalTelephony

            _provider = LocalTelephony(area_codes=s.local_number_area_codes)
        else:
            from chalicelib.telephony.twilio import TwilioTelephony

            _provider = TwilioTelephony(
                account_sid=s.twilio_account_sid,
                auth_token_getter=_twilio_auth_token,
                api_base_url=s.twilio_api_base_url,
            )
    return _provider


def set_provider(provider: Telephony | None) -> None:
    """Replace the provider (tests); ``None`` rebuilds it from settings on next use."""
    global _provider
    _provider = provider


def _twilio_auth_token() -> str:
    from chalicelib.secrets import twilio_auth_token

    return twilio_auth_token()
