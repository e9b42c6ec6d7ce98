"""Twilio's voice webhooks, answered: route the call, write it, return TwiML; never drop a caller.

The voice webhook does the least that answers the call: the blocklist, the route and its
attribution, one call write. Whatever fails behind it, the caller is forwarded: after the
first DynamoDB failure the webhook stops asking (Twilio gives up after 15 s) and the
callbacks create and complete the record when the database is back. Callbacks the caller
waits on (<Dial> and <Record> actions) go on even when their write fails; the status
callbacks answer 503 instead, so that Twilio sends them again.

What follows a call's change (report aggregates, and later webhooks, alerts, recordings)
happens in subscribers of the call events (``chalicelib/events/``), never here.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib import attribution, calls, handling
from chalicelib.core import clock
from chalicelib.core.errors import StorageUnavailable
from chalicelib.core.observability import (
    FALLBACK_HITS,
    ROUTING_FAILURES,
    VOICE_ANSWERED,
    VOICE_DURATION,
    logger,
    metrics,
)
from chalicelib.core.validation import loose_e164
from chalicelib.routing import Route, default_route, line_name_and_flow, lookup, nowhere, route_from, route_of
from chalicelib.store import lines
from chalicelib.store.calls import CallRecord
from chalicelib.store.ops import is_storage_error
from chalicelib.voice import blocklist, prefetch, twiml


def answer_voice(params: dict[str, str], url_forward_to: str | None = None, token: str | None = None) -> str:
    """The voice webhook: route the call, store it, answer TwiML; never fails.

    ``url_forward_to`` is the line's phone as the number's voice URL names it (signed by
    Twilio): where the call goes when the database cannot say. ``token`` is the request's
    I-Twilio-Idempotency-Token: only the first voice request for a call is stored, and a
    repeat is answered with the same TwiML (Twilio's retry) and changes nothing (a replay).
    """
    call_sid = params.get("CallSid", "")
    fields = {**calls.caller_fields(params), **calls.verstat_fields(params)}  # one write: StirVerstat rides along
    caller, called = fields["caller"], fields["called"]
    logger.append_keys(call_sid=call_sid)
    now = clock.now_ms()
    degraded = False
    try:
        got = prefetch.read(caller, called)
        if blocklist.is_blocked_by(caller, got.blocked_callers):
            return _reject(call_sid, fields, now, token)
        reads = got.reads
        route, number, pool = route_from(reads.number, reads.channel, reads.pool, asked=got.asked)
        if route.kind == "unknown" and url_forward_to:
            route = default_route(url_forward_to)
        attr = calls.attribute(route, number, pool, now)
    except Exception:
        metrics.add_metric(name=ROUTING_FAILURES, unit=MetricUnit.Count, value=1)
        logger.exception("routing failed; forwarding to the line's phone from its URL, or the default", called=called)
        route, attr, degraded = default_route(url_forward_to), attribution.unattributed("routing failed"), True
    turn: int | None = 0
    if not degraded and twiml.round_robin(route):
        turn = _turn(route)
        degraded = turn is None  # the counter failed: the store is not asked again on this request
    answer = twiml.forward(route, caller, call_sid=call_sid, turn=turn or 0)
    if not call_sid or degraded:
        # DynamoDB failed once on this request: don't spend Twilio's 15 s on it again.
        # The callbacks create and complete the record (upsert) when it is back.
        return answer
    try:
        stored, stored_token = calls.record_ringing_or_old(
            call_sid, fields, route, attr, now, token=token, first_touch=got.reads.first_touch
        )
    except Exception:
        # The caller is still forwarded; the status callback completes the record later.
        logger.exception("storing the call failed; it will be completed by its callbacks")
        stored, stored_token = True, None  # nothing to tell apart: it was not a repeat
    if not stored:
        _repeated(call_sid, token, stored_token)
        return answer
    metrics.add_metric(name="CallsAnswered", unit=MetricUnit.Count, value=1)
    logger.info("call answered", route=route.kind, target=route.target_id, confidence=attr.get("confidence"))
    return answer


def _turn(route: Route) -> int | None:
    """A round-robin line's next turn (one counter write); ``None`` (the first phone) if it cannot be had."""
    try:
        return lines.next_turn(route.kind, route.target_id or "")
    except Exception:
        logger.exception("the round-robin turn could not be counted; starting at the first phone")
        return None


def _repeated(call_sid: str, token: str | None, stored_token: str | None = None) -> None:
    """A voice request for a call already stored by one: said in the logs, counted when it is no retry."""
    if calls.repeated_voice(call_sid, token, stored_token=stored_token) == "retry":
        logger.info("Twilio sent the voice request again; answered again, nothing written")
        return
    metrics.add_metric(name="VoiceRepeatsRefused", unit=MetricUnit.Count, value=1)
    logger.warning("a voice request for a call already stored (a replay?) was answered but not written")


def _reject(call_sid: str, fields: dict[str, object], now: int, token: str | None = None) -> str:
    """A blocked caller: rejected before anything is dialled, stored as blocked (spam), counted."""
    metrics.add_metric(name="CallsBlocked", unit=MetricUnit.Count, value=1)
    logger.info("caller blocked")
    if call_sid:
        try:
            calls.record_blocked(call_sid, fields, now, token=token)
        except Exception:
            logger.exception("storing the blocked call failed")
    return twiml.reject()


def dial_finished(
    params: dict[str, str],
    step: int = 0,
    *,
    screened: bool = False,
    option: str | None = None,
    turn: int = 0,
    phone: str | None = None,
    alert: int | None = None,
) -> str:
    """The <Dial> action: store answered or missed, then the next phone, voicemail, or goodbye.

    ``step`` is which phone of the route (primary, then the failover list) was dialled. A
    screened dial whose answerer pressed no key (a phone's voicemail, a machine) was not
    answered: the caller goes on. If the call cannot be read, the dial status decides.
    ``turn`` (a round-robin call's first phone), ``phone`` (the one phone dialled: stored as
    the phone that answered) and ``alert`` (a screened line's refusals before its alert) come
    from the action URL the voice webhook wrote.
    """
    stored = _store_or_go_on(
        lambda: calls.record_dial_result(params, step, screened=screened, option=option, phone=phone, alert_after=alert)
    )
    taken = params.get("DialCallStatus", "") in calls.ANSWERED_DIAL_STATUSES
    if screened and stored is not None:
        taken = bool(stored.answered)
    if taken:
        return twiml.hangup()
    try:
        route, _, _ = lookup(loose_e164(params.get("To")) or "")
    except Exception:
        metrics.add_metric(name=ROUTING_FAILURES, unit=MetricUnit.Count, value=1)
        logger.exception("looking up the failover route failed")
        route = nowhere() if step > 0 else default_route()
    caller = loose_e164(params.get("From"))
    return twiml.forward(route, caller, step=step + 1, call_sid=params.get("CallSid"), option=option, turn=turn)


def screen(kind: str, target_id: str, call_sid: str, step: int, phone: str | None = None) -> str:
    """What a screened phone's answerer hears (the whisper, generic if the lookup fails) and the key to press."""
    try:
        name, fl = line_name_and_flow(kind, target_id)
    except Exception:
        logger.exception("screen lookup failed; using a generic whisper")
        name, fl = None, {}
    return twiml.screen(name, fl, call_sid, step, phone)


def screen_pressed(call_sid: str, step: int, digits: str, phone: str | None = None) -> str:
    """The answerer pressed a key: stored on the caller's call, then the two are connected (an empty
    answer ends the answerer's TwiML). If the store fails the call is connected all the same."""
    if not digits:
        return twiml.hangup()
    _store_or_go_on(lambda: calls.record_screen_press(call_sid, step, digits, phone=phone))
    return twiml.empty()


def leg_answered(call_sid: str, phone: str) -> str:
    """A phone rung together with others answered: the first such phone is stored on the call."""
    calls.record_answered_phone(call_sid, phone)
    return twiml.empty()


def menu_chosen(kind: str, target_id: str, params: dict[str, str]) -> str:
    """The menu's <Gather> action: the option pressed or said (or the default) leads on; stored with
    that step's result (one read here, for the line: no write, but for a round-robin option's turn).
    The line unreadable: its phone."""
    caller = loose_e164(params.get("From"))
    try:
        route = route_of(kind, target_id)
    except Exception:
        metrics.add_metric(name=ROUTING_FAILURES, unit=MetricUnit.Count, value=1)
        logger.exception("reading the line for its menu failed; forwarding to the default phone")
        return twiml.forward(default_route(), caller)
    option = handling.menu_option(route.flow, params.get("Digits"), params.get("SpeechResult"))
    if option is None:  # the menu was removed while the caller listened
        return twiml.forward(route, caller, call_sid=params.get("CallSid"))
    logger.info("menu option chosen", option=option["key"])
    turn = 0
    if option.get("ring") == "round_robin" and option.get("failover"):
        # A round-robin option's group starts one phone further along each call: the line's turn
        # counter (one write, for such options only), carried on in the dial action's URL.
        turn = _turn(route) or 0
    return twiml.forward(route, caller, call_sid=params.get("CallSid"), option=option["key"], turn=turn)


def voicemail_finished(params: dict[str, str], option: str | None = None) -> str:
    """The <Record> action: the caller left a message (or hung up without one)."""
    _store_or_go_on(lambda: calls.record_voicemail(params, option=option))
    return twiml.goodbye()


def call_finished(params: dict[str, str]) -> str:
    """The number's status callback: the call's status (never backwards) and total duration."""
    calls.record_status(params)
    return twiml.empty()


def recording_finished(params: dict[str, str], kind: str = "call") -> str:
    """The recording status callback: the recording's SID, URL and length on the call."""
    calls.record_recording(params, kind)
    return twiml.empty()


def whisper(kind: str, target_id: str) -> str:
    """What the agent hears on answering; generic if the lookup fails."""
    try:
        name, fl = line_name_and_flow(kind, target_id)
    except Exception:
        logger.exception("whisper lookup failed; using a generic whisper")
        name, fl = None, {}
    return twiml.whisper(name, fl)


def fallback(caller: str | None, url_forward_to: str | None = None) -> str:
    """Forward to the line's phone (from the fallback URL, which Twilio signs) or the default
    phone, without touching the database."""
    return twiml.forward(default_route(url_forward_to), caller)


def answered(started: float, *, via_fallback: bool = False) -> None:
    """Count and time one answer to Twilio's voice request (``started``: ``time.perf_counter()`` at arrival).

    Every answer counts, whatever path made it (stored, repeat, blocked, degraded, unverified);
    the fallback URL's answers count as fallback hits too: Twilio only asks it after the voice
    URL failed or took too long, which is what the alarms watch.
    """
    if via_fallback:
        metrics.add_metric(name=FALLBACK_HITS, unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=VOICE_ANSWERED, unit=MetricUnit.Count, value=1)
    elapsed_ms = (time.perf_counter() - started) * 1000
    metrics.add_metric(name=VOICE_DURATION, unit=MetricUnit.Milliseconds, value=round(elapsed_ms, 1))


# --- when the Twilio auth token cannot be read ---------------------------------------------------
# A request whose signature cannot be checked may be forged: it gets TwiML that moves the call
# on (TwiML does nothing for anyone but Twilio) and nothing is read or written for it. The
# status callbacks answer 503 instead and complete the record once the token is back.


def voice_unverified(caller: str | None, url_forward_to: str | None) -> str:
    """The voice webhook or the fallback with no auth token: forward only, store nothing."""
    metrics.add_metric(name="CallsForwardedUnverified", unit=MetricUnit.Count, value=1)
    logger.warning("the Twilio auth token is unavailable: forwarding without checking or storing")
    return twiml.forward(default_route(url_forward_to), caller)


def dial_finished_unverified(params: dict[str, str]) -> str:
    """The <Dial> action with no auth token: hang up after an answered call, else apologise."""
    if params.get("DialCallStatus", "") in calls.ANSWERED_DIAL_STATUSES:
        return twiml.hangup()
    return twiml.forward(nowhere(), None, step=1)


def _store_or_go_on(write: Callable[[], CallRecord | None]) -> CallRecord | None:
    """For callbacks the caller is waiting on (<Dial> and <Record> actions): the call goes on
    even if DynamoDB is down (``None``); the final status callback still completes the record."""
    try:
        return write()
    except Exception as exc:
        if not (isinstance(exc, StorageUnavailable) or is_storage_error(exc)):
            raise
        metrics.add_metric(name="CallbackStoreFailed", unit=MetricUnit.Count, value=1)
        logger.exception("storing a dial or voicemail result failed; the call goes on")
        return None
