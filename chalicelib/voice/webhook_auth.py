"""Twilio webhook requests: the form body, checked against ``X-Twilio-Signature``.

The URL that is signed is the configured ``PUBLIC_BASE_URL`` plus the route path, never
one rebuilt from the Host header (which a caller controls). While a deployment moves to a new
URL (a custom domain), numbers not yet re-pointed still post to the old one: a signature made
for one of ``PREVIOUS_BASE_URLS`` is accepted too, until ``deploy`` has re-pointed every number
and clears the list. Blank values are kept: Twilio signs them.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from twilio.request_validator import RequestValidator

from chalicelib.core.context import TWILIO, attach
from chalicelib.core.errors import BadRequest, Forbidden, PayloadTooLarge
from chalicelib.core.secrets import twilio_auth_token
from chalicelib.core.settings import get_settings

MAX_FORM_BYTES = 64 * 1024


class FormParams(dict[str, str]):
    """Form fields, last value wins; ``getall`` gives every value, as the SDK's validator expects."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__()
        self._all: dict[str, list[str]] = {}
        for key, value in pairs:
            self._all.setdefault(key, []).append(value)
            self[key] = value

    def getall(self, key: str) -> list[str]:
        return self._all[key]


def parse_form(raw: bytes | str | None) -> FormParams:
    if raw and len(raw) > MAX_FORM_BYTES:
        raise PayloadTooLarge(f"form body is larger than {MAX_FORM_BYTES} bytes")
    try:
        text = raw if isinstance(raw, str) else (raw or b"").decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("form body is not UTF-8") from None
    return FormParams(parse_qsl(text, keep_blank_values=True))


def verified_form(path: str, raw: bytes | str | None, signature: str | None) -> FormParams:
    """The request's form fields if Twilio signed them for ``path``; 403 otherwise."""
    params = parse_form(raw)
    if not signature:
        raise Forbidden("missing X-Twilio-Signature")
    s = get_settings()
    validator = RequestValidator(twilio_auth_token())
    # RequestValidator compares in constant time; each base URL is tried (the list is short, and
    # which one matched says nothing a caller could use).
    if not any(
        validator.validate(base + path, params, signature) for base in (s.public_base_url, *s.previous_base_urls)
    ):
        raise Forbidden("X-Twilio-Signature does not match this request")
    return params


def verified_request(
    path: str, raw: bytes | str | None, signature: str | None, request_context: MutableMapping[str, Any]
) -> FormParams:
    """``verified_form``, and the request's caller becomes ``TWILIO`` (attached to its
    ``request_context`` dict): the Twilio webhooks' edge. Nothing is attached when the signature
    is missing or wrong (a 403) or cannot be checked (the auth token is unreadable), so a request
    Twilio did not sign never runs as Twilio."""
    params = verified_form(path, raw, signature)
    attach(request_context, TWILIO)
    return params


def sign(path: str, params: dict[str, str], token: str | None = None) -> str:
    """The signature Twilio would send (the call simulator and tests use it)."""
    url = get_settings().public_base_url + path
    return str(RequestValidator(token or twilio_auth_token()).compute_signature(url, params))
