"""What every telephony provider speaks: numbers found and bought, webhook URLs, errors, the interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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
    sms_url: str | None = None  # texts to the number (STOP remembered); None leaves the number's as it is


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

    def voice_urls(self) -> dict[str, str]:
        """Every number the account owns, by its SID: the voice URL the provider has for it now
        (one request: what the dashboard's numbers page checks against this deployment)."""
        ...

    def fetch_recording(self, recording_sid: str) -> tuple[bytes, str]:
        """A recording's audio (WAV) and its content type, fetched with the account's credentials."""
        ...

    def delete_recording(self, recording_sid: str) -> None:
        """Delete the recording at the provider (after it was copied to the owner's bucket)."""
        ...

    def send_sms(self, *, to: str, from_: str, body: str, messaging_service_sid: str | None = None) -> str:
        """Send one text (from the tracking number, or through a Messaging Service); its SID. Never
        retried here: the Messages API has no idempotency key, so a retry could text twice."""
        ...

    def start_call(self, *, to: str, from_: str, url: str, status_callback: str | None = None) -> str:
        """Ring ``to`` showing ``from_``; once answered, Twilio asks ``url`` what to do, and posts the
        call's final status to ``status_callback``. Its CallSid."""
        ...

    def line_type(self, number: str) -> str | None:
        """What kind of line ``number`` is (``mobile``, ``landline``, ``fixedVoip``, ...), ``None``
        when unknown: one Lookup, asked when a line is created (is call screening on by default?)."""
        ...

    def caller_lookup(self, number: str, *, caller_name: bool) -> dict[str, str | None]:
        """One Lookup of a caller: ``{"line_type": ..., "caller_name": ...}`` (each ``None`` when unknown;
        ``caller_name`` is asked only when ``caller_name`` is true: a second paid field, US numbers only)."""
        ...
