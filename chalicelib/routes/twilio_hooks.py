"""Twilio's webhooks: signed form posts answered with TwiML."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import calls
from chalicelib.http import twiml
from chalicelib.webhook_auth import parse_form, verified_form

bp = Blueprint(__name__)
FORM = ["application/x-www-form-urlencoded"]


def _form(path: str) -> dict[str, str]:
    req = bp.current_request
    return verified_form(path, req.raw_body, req.headers.get("x-twilio-signature"))


@bp.route("/twilio/voice", methods=["POST"], content_types=FORM)
def voice() -> Response:
    return twiml(calls.answer_voice(_form("/twilio/voice")))


@bp.route("/twilio/dial-status", methods=["POST"], content_types=FORM)
def dial_status() -> Response:
    return twiml(calls.dial_finished(_form("/twilio/dial-status")))


@bp.route("/twilio/call-status", methods=["POST"], content_types=FORM)
def call_status() -> Response:
    return twiml(calls.call_finished(_form("/twilio/call-status")))


@bp.route("/twilio/recording-status", methods=["POST"], content_types=FORM)
def recording_status() -> Response:
    return twiml(calls.recording_finished(_form("/twilio/recording-status")))


@bp.route("/twilio/fallback", methods=["POST"], content_types=FORM)
def fallback() -> Response:
    # Twilio only comes here when /twilio/voice failed: forward without the database.
    # The signature is still checked; a forged request gets nothing but a 403.
    form = _form("/twilio/fallback")
    return twiml(calls.fallback_twiml(form.get("From")))


__all__ = ["bp", "parse_form"]
