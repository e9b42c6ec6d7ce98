"""Twilio's webhooks: signed form posts answered with TwiML.

Routes a caller waits on (voice, fallback, the <Dial> and <Record> actions, the whisper)
still answer when the auth token cannot be read, without verifying or storing anything;
the status callbacks answer 503 then, so that they are sent again.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlencode

from chalice import Blueprint, Response

from chalicelib.core.errors import BadRequest, SecretUnavailable
from chalicelib.core.validation import is_e164
from chalicelib.routes.http import twiml
from chalicelib.voice import inbound
from chalicelib.voice import twiml as answers
from chalicelib.voice.webhook_auth import FormParams, parse_form, verified_request

bp = Blueprint(__name__)
FORM = ["application/x-www-form-urlencoded"]
_TOKEN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_CALL_SID = re.compile(r"CA[0-9A-Za-z]{1,62}")


def _form(path: str) -> dict[str, str]:
    """The signed form. ``path`` includes any query string exactly as this app wrote it (TwiML, number URLs)."""
    req = bp.current_request
    return verified_request(path, req.raw_body, req.headers.get("x-twilio-signature"), req.context)


def _form_if_verifiable(path: str) -> tuple[FormParams, bool]:
    """The signed form and ``True``; or, when the auth token cannot be read, the unchecked form and ``False``.

    A missing or wrong signature is still a 403.
    """
    req = bp.current_request
    try:
        return verified_request(path, req.raw_body, req.headers.get("x-twilio-signature"), req.context), True
    except SecretUnavailable:
        return parse_form(req.raw_body), False


def _query() -> dict[str, str]:
    return dict(bp.current_request.query_params or {})


def _with_forward_to(path: str) -> tuple[str, str | None]:
    """``path`` with the ``to`` query a number's webhook URL carries (as ``numbers.webhooks`` wrote it),
    and that phone if it is one. Twilio signs the whole URL, so a verified ``to`` can be trusted."""
    to = _query().get("to")
    if to is None:
        return path, None
    return f"{path}?{urlencode({'to': to})}", (to if is_e164(to) else None)


def _step() -> int:
    raw = _query().get("step", "0")
    if not raw.isdigit() or int(raw) > 10:
        raise BadRequest("'step' must be a small whole number")
    return int(raw)


def _option() -> str | None:
    """The menu option a <Dial> or <Record> action URL carries (one digit), if any."""
    raw = _query().get("option")
    if raw is None:
        return None
    if len(raw) != 1 or raw not in "123456789":
        raise BadRequest("'option' must be one digit from 1 to 9")
    return raw


def _small(name: str, top: int) -> int | None:
    """A small whole number a <Dial> action URL carries (a round-robin turn, a screen alert's count)."""
    raw = _query().get(name)
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) > top:
        raise BadRequest(f"'{name}' must be a whole number up to {top}")
    return int(raw)


def _phone() -> str | None:
    """The one phone a <Dial> action URL says it rang (stored as the phone that answered)."""
    raw = _query().get("phone")
    if raw is not None and not is_e164(raw):
        raise BadRequest("'phone' must be a phone number in E.164 form")
    return raw


def _idempotency_token() -> str | None:
    """Twilio's I-Twilio-Idempotency-Token: the same on every retry of one request."""
    token = bp.current_request.headers.get("i-twilio-idempotency-token")
    return token if token and _TOKEN.fullmatch(token) else None


@bp.route("/twilio/voice", methods=["POST"], content_types=FORM)
def voice() -> Response:
    started = time.perf_counter()
    path, to = _with_forward_to("/twilio/voice")
    form, verified = _form_if_verifiable(path)
    if not verified:
        answer = inbound.voice_unverified(form.get("From"), to)
    else:
        answer = inbound.answer_voice(form, to, _idempotency_token())
    inbound.answered(started)
    return twiml(answer)


@bp.route("/twilio/dial-status", methods=["POST"], content_types=FORM)
def dial_status() -> Response:
    step = _step()
    screened = _query().get("screen") == "1"
    option = _option()
    turn, phone, alert = _small("turn", 10**9), _phone(), _small("alert", 1000)
    path = (
        answers.dial_status_path(step, screened, option, turn=turn, phone=phone, alert=alert)
        if "step" in _query()
        else "/twilio/dial-status"
    )
    form, verified = _form_if_verifiable(path)
    if not verified:
        return twiml(inbound.dial_finished_unverified(form))
    return twiml(
        inbound.dial_finished(form, step, screened=screened, option=option, turn=turn or 0, phone=phone, alert=alert)
    )


@bp.route("/twilio/call-status", methods=["POST"], content_types=FORM)
def call_status() -> Response:
    return twiml(inbound.call_finished(_form("/twilio/call-status")))


@bp.route("/twilio/recording-status", methods=["POST"], content_types=FORM)
def recording_status() -> Response:
    kind = _query().get("kind")
    if kind not in (None, "voicemail"):
        raise BadRequest("'kind' must be voicemail when given")
    path = "/twilio/recording-status" + ("?kind=voicemail" if kind else "")
    return twiml(inbound.recording_finished(_form(path), kind or "call"))


@bp.route("/twilio/voicemail", methods=["POST"], content_types=FORM)
def voicemail() -> Response:
    option = _option()
    form, verified = _form_if_verifiable(answers.voicemail_path(option))
    if not verified:
        return twiml(answers.goodbye())
    return twiml(inbound.voicemail_finished(form, option))


@bp.route("/twilio/menu/{kind}/{target_id}", methods=["POST"], content_types=FORM)
def menu(kind: str, target_id: str) -> Response:
    # The menu's <Gather> action (the caller's own call): the option pressed or said leads on.
    if kind not in ("channel", "pool", "overflow") or not target_id.replace("_", "").isalnum():
        raise BadRequest("unknown menu target")
    form, verified = _form_if_verifiable(f"/twilio/menu/{kind}/{target_id}")
    if not verified:
        return twiml(inbound.voice_unverified(form.get("From"), None))
    return twiml(inbound.menu_chosen(kind, target_id, form))


@bp.route("/twilio/whisper/{kind}/{target_id}", methods=["POST"], content_types=FORM)
def whisper(kind: str, target_id: str) -> Response:
    if kind not in ("channel", "pool", "overflow") or not target_id.replace("_", "").isalnum():
        raise BadRequest("unknown whisper target")
    _, verified = _form_if_verifiable(f"/twilio/whisper/{kind}/{target_id}")
    if not verified:
        return twiml(answers.whisper(None, {}))
    return twiml(inbound.whisper(kind, target_id))


def _screened_call() -> tuple[str, int, str | None, str]:
    """The caller's CallSid, the phone's step (and phone, rung together) a screen URL names, and that
    query as signed."""
    call_sid, step, phone = _query().get("call", ""), _step(), _phone()
    if not _CALL_SID.fullmatch(call_sid):
        raise BadRequest("'call' must be the caller's CallSid")
    return call_sid, step, phone, answers.screen_query(call_sid, step, phone)


@bp.route("/twilio/screen/{kind}/{target_id}", methods=["POST"], content_types=FORM)
def screen(kind: str, target_id: str) -> Response:
    # Runs on the answerer's leg: without a key press the leg hangs up and the caller goes on.
    if kind not in ("channel", "pool", "overflow") or not target_id.replace("_", "").isalnum():
        raise BadRequest("unknown screen target")
    call_sid, step, phone, query = _screened_call()
    _, verified = _form_if_verifiable(f"/twilio/screen/{kind}/{target_id}?{query}")
    if not verified:
        return twiml(answers.screen(None, {}, call_sid, step, phone))
    return twiml(inbound.screen(kind, target_id, call_sid, step, phone))


@bp.route("/twilio/screen-key", methods=["POST"], content_types=FORM)
def screen_key() -> Response:
    call_sid, step, phone, query = _screened_call()
    form, verified = _form_if_verifiable(f"/twilio/screen-key?{query}")
    digits = "".join(ch for ch in form.get("Digits", "") if ch.isdigit() or ch in "*#")
    if not verified:
        return twiml(answers.empty() if digits else answers.hangup())  # connect; the press is not stored
    return twiml(inbound.screen_pressed(call_sid, step, digits, phone))


@bp.route("/twilio/leg-answered", methods=["POST"], content_types=FORM)
def leg_answered() -> Response:
    """A phone rung together with others answered (its leg's status callback): stored as the phone
    that answered the caller's call. Not on the caller's path: a failure is a 503, sent again."""
    call_sid, phone = _query().get("call", ""), _phone()
    if not _CALL_SID.fullmatch(call_sid) or phone is None:
        raise BadRequest("'call' must be the caller's CallSid and 'phone' the phone rung")
    _form(f"/twilio/leg-answered?{urlencode({'call': call_sid, 'phone': phone})}")
    return twiml(inbound.leg_answered(call_sid, phone))


@bp.route("/twilio/bridge", methods=["POST"], content_types=FORM)
def bridge() -> Response:
    # A call back: the owner's phone answered; connect it to the caller. Signed with its query.
    to, tracking = _query().get("to", ""), _query().get("from", "")
    if not (is_e164(to) and is_e164(tracking)):
        raise BadRequest("'to' and 'from' must be E.164 phone numbers")
    _form(f"/twilio/bridge?{urlencode({'to': to, 'from': tracking})}")
    return twiml(answers.bridge(to, tracking))


@bp.route("/twilio/callback-status", methods=["POST"], content_types=FORM)
def callback_status() -> Response:
    """A call-back's status callback (chalicelib/callback_dial.py): its own outbound record's status
    and duration, never an inbound call's. Signed; a failure to store is a 503, sent again."""
    from chalicelib import callback_dial  # the voice path never loads it

    callback_dial.record_status(_form("/twilio/callback-status"))
    return twiml(answers.empty())


@bp.route("/twilio/sms", methods=["POST"], content_types=FORM)
def sms() -> Response:
    # A text to a tracking number: signed (403 without a valid signature), STOP/START remembered.
    from chalicelib import texts  # the voice path never loads the messaging TwiML

    return twiml(texts.received(_form("/twilio/sms")))


@bp.route("/twilio/fallback", methods=["POST"], content_types=FORM)
def fallback() -> Response:
    # Twilio only comes here when /twilio/voice failed: forward without the database, to the
    # phone the fallback URL names. The signature is still checked (a forged request gets a
    # 403) unless the auth token cannot be read: then the call is forwarded all the same.
    started = time.perf_counter()
    path, to = _with_forward_to("/twilio/fallback")
    form, verified = _form_if_verifiable(path)
    caller = form.get("From")
    answer = inbound.fallback(caller, to) if verified else inbound.voice_unverified(caller, to)
    inbound.answered(started, via_fallback=True)
    return twiml(answer)


__all__ = ["bp", "parse_form"]
