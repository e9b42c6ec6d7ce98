"""Telephony providers behind one interface: ``twilio`` (the real REST API) and ``local``.

``get_provider()`` picks one by the ``TELEPHONY`` setting; the Twilio SDK's REST client
is imported only when the twilio provider is first used (the voice path never needs it).
"""

from __future__ import annotations

from chalicelib.core.secrets import twilio_auth_token
from chalicelib.core.settings import get_settings
from chalicelib.core.telephony.types import AvailableNumber, ProvisionedNumber, Telephony, TelephonyError, Webhooks

__all__ = [
    "AvailableNumber",
    "ProvisionedNumber",
    "Telephony",
    "TelephonyError",
    "Webhooks",
    "get_provider",
    "set_provider",
]


_provider: Telephony | None = None


def get_provider() -> Telephony:
    """The configured provider, built once."""
    global _provider
    if _provider is None:
        s = get_settings()
        if s.telephony == "local":
            from calltracking_local.telephony import LocalTelephony  # only the configured provider is loaded

            _provider = LocalTelephony(area_codes=s.local_number_area_codes)
        else:
            from chalicelib.core.telephony.twilio import TwilioTelephony  # only the configured provider is loaded

            _provider = TwilioTelephony(
                account_sid=s.twilio_account_sid,
                auth_token_getter=_twilio_auth_token,
                api_base_url=s.twilio_api_base_url,
                lookups_base_url=s.twilio_lookups_base_url,
            )
    return _provider


def set_provider(provider: Telephony | None) -> None:
    """Replace the provider (tests); ``None`` rebuilds it from settings on next use."""
    global _provider
    _provider = provider


def _twilio_auth_token() -> str:
    return twilio_auth_token()
