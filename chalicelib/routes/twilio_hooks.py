"""Twilio's webhooks: signed form posts answered with TwiML."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.errors import BadRequest
from chalicelib.http import twiml
from chalicelib.voice import webhook
from chalicelib.voice.webhook_auth import parse_form, verified_form

bp = Blueprint(__name__)
FORM = ["application/x-www-form-urlencoded"]


def _form(path: str) -> dict[str, str]:
    """The signed form. ``path`` includes any query string exactly as this app wrote it in TwiML."""
    req = bp.current_request
    return verified_form(path, req.raw_body, req.headers.get("x-twilio-signature"))


def _query() -> dict[str, str]:
    return dict(bp.current_request.query_params or {})


def _step() -> int:
    raw = _query().get("step", "0")
    if not raw.isdigit() or int(raw) > 10:
        raise BadRequest("'step' must be a small whole number")
    return int(raw)


@bp.route("/twilio/voice", methods=["POST"], content_types=FORM)
def voice() -> Response:
    return twiml(webhook.answer_voice(_form("/twilio/voice")))


@bp.route("/twilio/dial-status", methods=["POST"], content_types=FORM)
def dial_status() -> Response:
    step = _step()
    path = "/twilio/dial-status" + (f"?step={step}" if "step" in _query() else "")
    return twiml(webhook.dial_finished(_form(path), step))


@bp.route("/twilio/call-status", methods=["POST"], content_types=FORM)
def call_status() -> Response:
    return twiml(webhook.call_finished(_form("/twilio/call-status")))


@bp.route("/twilio/recording-status", methods=["POST"], content_types=FORM)
def recording_status() -> Response:
    kind = _query().get("kind")
    if kind not in (None, "voicemail"):
        raise BadRequest("'kind' must be voicemail when given")
    path = "/twilio/recording-status" + ("?kind=voicemail" if kind else "")
    return twiml(webhook.recording_finished(_form(path), kind or "call"))


@bp.route("/twilio/voicemail", methods=["POST"], content_types=FORM)
def voicemail() -> Response:
    return twiml(webhook.voicemail_finished(_form("/twilio/voicemail")))


@bp.route("/twilio/whisper/{kind}/{target_id}", methods=["POST"], content_types=FORM)
def whisper(kind: str, target_id: str) -> Response:
    if kind not in ("channel", "pool", "overflow") or not target_id.replace("_", "").isalnum():
        raise BadRequest("unknown whisper target")
    _form(f"/twilio/whisper/{kind}/{target_id}")
    return twiml(webhook.whisper(kind, target_id))


@bp.route("/twilio/fallback", methods=["POST"], content_types=FORM)
def fallback() -> Response:
    # Twilio only comes here when /twilio/voice failed: forward without the database.
    # The signature is still checked; a forged request gets nothing but a 403.
    form = _form("/twilio/fallback")
    return twiml(webhook.fallback(form.get("From")))


__all__ = ["bp", "parse_form"]
