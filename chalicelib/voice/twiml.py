"""TwiML for every answer the voice path gives: forward (with disclosure, recording, whisper and failover),
voicemail, the whisper itself, a rejection, a goodbye. Pure: no database, no network (but for the
voicemail greeting: the business's name from its one-minute profile cache, and an uploaded
greeting's presigned URL, made locally).

Every URL in it is the configured public base URL plus a route path, so Twilio signs the
URL the app later checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from twilio.twiml.voice_response import VoiceResponse

from chalicelib import business, handling
from chalicelib.core import clock
from chalicelib.core.observability import logger
from chalicelib.core.settings import get_settings
from chalicelib.routing import Route

VOICEMAIL_MAX_SECONDS = 180
_SID = re.compile(r"CA[0-9A-Za-z]{1,62}")
# Where no phone is known (no line, no default): neutral, since the number may be fine and
# only this deployment unable to route it right now.
CANNOT_CONNECT_MESSAGE = "Sorry, we can't connect your call right now. Please try again later. Goodbye."
MISSED_MESSAGE = "Sorry, nobody could take your call right now. Please call again later. Goodbye."


@dataclass(frozen=True)
class Plan:
    """What the call does now: dial the phones of ``groups[step]``, take a voicemail, or say sorry.

    Phones rung in order are a group each; phones rung together (``flow.ring: together``) one group.
    Round-robin (``flow.ring: round_robin``) rings them in order starting at phone ``turn``."""

    action: str  # "dial", "voicemail" or "message"
    phones: tuple[str, ...] = ()
    together: bool = False
    rings: tuple[int, ...] = ()  # each phone's ring time in seconds, as ``phones``
    turn: int = 0

    def _order(self) -> tuple[int, ...]:
        n = len(self.phones)
        start = self.turn % n if n else 0
        return tuple((start + i) % n for i in range(n))

    @property
    def groups(self) -> tuple[tuple[str, ...], ...]:
        if self.together and self.phones:
            return (self.phones,)
        return tuple((self.phones[i],) for i in self._order())

    def ring_of(self, step: int, default: int) -> int:
        """How long group ``step`` rings: its phone's own ring time; phones together, the longest."""
        if not self.rings:
            return default
        if self.together:
            return max(self.rings)
        return self.rings[self._order()[step]]


def plan(route: Route, at: datetime, turn: int = 0) -> Plan:
    """Business hours decide between the route's phones and the after-hours action."""
    fl = route.flow or {}
    default = handling.ring_seconds(fl, get_settings().ring_timeout_seconds)
    if not handling.is_open(fl, at):
        after = fl.get("after_hours") or {"action": "voicemail"}
        if after["action"] == "forward":
            return Plan("dial", (after["forward_to"],), rings=(default,))
        return Plan("voicemail")
    if not route.forward_to:
        return Plan("message")
    phones = (route.forward_to, *fl.get("failover", []))
    rings = tuple(handling.phone_ring_seconds(fl, i, default) for i in range(len(phones)))
    mode = fl.get("ring")
    return Plan("dial", phones, together=mode == "together", rings=rings, turn=turn if mode == "round_robin" else 0)


def round_robin(route: Route) -> bool:
    """Whether the line's calls start at a different phone each time (the voice webhook asks for the turn)."""
    fl = route.flow or {}
    return bool(route.target_id and fl.get("ring") == "round_robin" and fl.get("failover") and not fl.get("menu"))


def _url(path: str) -> str:
    return get_settings().public_base_url + path


def _say(vr: Any, text: str, fl: dict[str, Any]) -> None:
    kwargs = {}
    if fl.get("disclosure_voice"):
        kwargs["voice"] = fl["disclosure_voice"]
    if fl.get("disclosure_language"):
        kwargs["language"] = fl["disclosure_language"]
    vr.say(text, **kwargs)


def screens(route: Route, call_sid: str | None) -> bool:
    """Whether the answerer must press a key: the line says so, and the call is known (the press
    is stored on it; the database-free fallback paths cannot screen, so they do not)."""
    return bool((route.flow or {}).get("screen") and route.target_id and call_sid and _SID.fullmatch(call_sid))


def option_route(route: Route, key: str) -> tuple[Route, dict[str, Any]] | None:
    """The route a menu option leads to: its own phone, or its ring group (the option's ``failover``
    phones, ``ring`` mode and ``ring_each`` times, dialled by ``plan`` as a line's are; the line's own
    backup phones, hours and menu do not apply), then the line's voicemail or message; ``None`` when
    the line has no such option (any more)."""
    menu = (route.flow or {}).get("menu") or {}
    option = next((o for o in menu.get("options", []) if o["key"] == key), None)
    if option is None:
        return None
    dropped = ("failover", "ring", "ring_each", "hours", "after_hours", "menu")
    fl = {k: v for k, v in (route.flow or {}).items() if k not in dropped}
    fl.update({k: option[k] for k in handling.OPTION_GROUP if k in option})
    phone = option.get("forward_to")
    return Route(route.kind, route.target_id, route.name, phone, route.record, route.disclosure, fl), option


def menu(route: Route) -> str:
    """The line's menu: the disclosure (a recorded line), then "press 1 for ..." by key or by voice;
    nothing pressed or said still calls the action (its default option)."""
    vr = VoiceResponse()
    fl = route.flow or {}
    m = fl["menu"]
    if route.record and route.disclosure:
        _say(vr, route.disclosure, fl)
    gather = vr.gather(
        input="dtmf speech",
        num_digits=1,
        timeout=5,
        speech_timeout="auto",
        hints=", ".join(o["label"] for o in m["options"]),
        action=_url(f"/twilio/menu/{route.kind}/{route.target_id}"),
        method="POST",
        action_on_empty_result=True,
    )
    kwargs = {k: fl[f"disclosure_{k}"] for k in ("voice", "language") if fl.get(f"disclosure_{k}")}
    gather.say(m["prompt"], **kwargs)
    return str(vr)


def forward(
    route: Route,
    caller: str | None,
    *,
    step: int = 0,
    at: datetime | None = None,
    call_sid: str | None = None,
    option: str | None = None,
    turn: int = 0,
) -> str:
    """TwiML for the call's next move along ``route``: its menu, dial phone ``step``, voicemail, or apologise.

    ``call_sid`` is the caller's call: a screened line's key press is stored on it. ``option`` is
    the menu option the caller chose: its phone, then the line's voicemail or message. ``turn``:
    a round-robin line's first phone for this call (carried from step to step in the action URL)."""
    vr = VoiceResponse()
    fl = route.flow or {}
    when = at or clock.now()
    if option is not None:
        chosen = option_route(route, option)
        if chosen is not None:
            route, opt = chosen
            fl = route.flow or {}
            if opt.get("action") == "voicemail":
                return voicemail(route, option=option)
    elif step == 0 and fl.get("menu") and route.target_id and handling.is_open(fl, when):
        return menu(route)
    p = plan(route, when, turn)
    groups = p.groups
    if p.action == "voicemail" or (p.action == "dial" and step >= len(groups) and _unanswered(fl) == "voicemail"):
        return voicemail(route, option=option)
    if p.action == "message" or step >= len(groups):
        vr.say(MISSED_MESSAGE if step else CANNOT_CONNECT_MESSAGE)
        vr.hangup()
        return str(vr)
    if step == 0 and option is None and route.record and route.disclosure:
        _say(vr, route.disclosure, fl)  # a menu said it before the menu
    screened = screens(route, call_sid)
    action = dial_status_path(
        step,
        screened,
        option,
        turn=p.turn if p.turn else None,
        # A ring group's phone rung alone (a line with one phone: its forward-to, already on the call).
        phone=groups[step][0] if len(groups[step]) == 1 and len(p.phones) > 1 else None,
        alert=handling.screen_alert_after(fl) if screened else None,
    )
    dial_args: dict[str, Any] = {
        "action": _url(action),
        "method": "POST",
        "timeout": handling.dial_timeout(p.ring_of(step, get_settings().ring_timeout_seconds)),
        "answer_on_bridge": True,
    }
    if caller and caller.startswith("+"):
        dial_args["caller_id"] = caller
    if route.record:
        dial_args["record"] = "record-from-answer-dual"
        dial_args["recording_status_callback"] = _url("/twilio/recording-status")
        dial_args["recording_status_callback_method"] = "POST"
    dial = vr.dial(**dial_args)
    together = len(groups[step]) > 1
    for phone in groups[step]:  # several: rung together, the first to answer (and press) takes the call
        number_args: dict[str, Any] = {}
        if together and not screened and call_sid and _SID.fullmatch(call_sid):
            # Twilio's dial action does not say which phone answered: the answered leg says it.
            number_args = {
                "status_callback": _url("/twilio/leg-answered?" + urlencode({"call": call_sid, "phone": phone})),
                "status_callback_event": "answered",
                "status_callback_method": "POST",
            }
        if screened:
            # Whoever answers hears the whisper and must press a key before the caller is connected
            # (phones together: the press names its phone, a voicemail that answered first does not).
            query = screen_query(call_sid or "", step, phone if together else None)
            dial.number(phone, url=_url(f"/twilio/screen/{route.kind}/{route.target_id}?{query}"), method="POST")
        elif fl.get("whisper") and route.target_id:
            # The agent hears where the call came from before being connected; the caller does not.
            url = _url(f"/twilio/whisper/{route.kind}/{route.target_id}")
            dial.number(phone, url=url, method="POST", **number_args)
        else:
            dial.number(phone, **number_args)
    return str(vr)


def dial_status_path(
    step: int,
    screened: bool = False,
    option: str | None = None,
    *,
    turn: int | None = None,
    phone: str | None = None,
    alert: int | None = None,
) -> str:
    """The <Dial> action's path and query, exactly as Twilio signs it (the menu option rides along,
    so it is stored with the dial's result, with no write of its own; so do a round-robin call's
    ``turn``, the one ``phone`` dialled, stored as the phone that answered, and a screened line's
    ``alert``: after how many refused screens in a row its alert goes out)."""
    extra = {"turn": turn, "phone": phone, "alert": alert}
    return (
        f"/twilio/dial-status?step={step}"
        + ("&screen=1" if screened else "")
        + (f"&option={option}" if option else "")
        + "".join("&" + urlencode({k: val}) for k, val in extra.items() if val is not None)
    )


def voicemail_path(option: str | None = None) -> str:
    return "/twilio/voicemail" + (f"?option={option}" if option else "")


def screen_query(call_sid: str, step: int, phone: str | None = None) -> str:
    """A screen URL's query, exactly as Twilio signs it: the caller's call, the step, and for phones
    rung together the phone (stored with the press as the phone that answered)."""
    return urlencode({"call": call_sid, "step": step, **({"phone": phone} if phone else {})})


def screen(name: str | None, fl: dict[str, Any], call_sid: str, step: int, phone: str | None = None) -> str:
    """What a screened phone's answerer hears: the whisper and "press any key"; no key (a voicemail,
    a machine, a person who declines) hangs up that leg, so the <Dial> ends without connecting."""
    vr = VoiceResponse()
    text = str(fl.get("whisper_text", handling.DEFAULT_WHISPER)).replace("{name}", name or "a tracked number")
    gather = vr.gather(
        num_digits=1,
        timeout=handling.SCREEN_WAIT_SECONDS,
        action=_url("/twilio/screen-key?" + screen_query(call_sid, step, phone)),
        method="POST",
        action_on_empty_result=False,
    )
    gather.say(f"{text} {handling.SCREEN_PROMPT}")
    vr.hangup()
    return str(vr)


def _unanswered(fl: dict[str, Any]) -> str:
    return str(fl.get("when_unanswered", "message"))


def voicemail(route: Route, *, option: str | None = None) -> str:
    """The greeting, then ``<Record>``: the line's uploaded recording (``<Play>`` of a presigned URL,
    made here with no request), else its own text, else one spoken from the business's name."""
    vr = VoiceResponse()
    fl = route.flow or {}
    played = greeting_url(route)
    if played:
        vr.play(played)
    else:
        _say(vr, handling.voicemail_prompt(fl, route.name, _business_name()), fl)
    vr.record(
        action=_url(voicemail_path(option)),
        method="POST",
        max_length=VOICEMAIL_MAX_SECONDS,
        timeout=5,
        play_beep=True,
        recording_status_callback=_url("/twilio/recording-status?kind=voicemail"),
        recording_status_callback_method="POST",
    )
    vr.hangup()
    return str(vr)


def greeting_url(route: Route) -> str | None:
    """The presigned URL of the line's uploaded greeting, if it has one (and the URL can be made)."""
    fmt = (route.flow or {}).get("greeting")
    if not fmt or not route.target_id:
        return None
    from chalicelib.recordings import greetings  # boto3's S3 client: only a greeting's voicemail needs it

    return greetings.url(route.kind, route.target_id, str(fmt))


def _business_name() -> str | None:
    """The business profile's name (cached a minute per process: no read on most calls); ``None``
    when it cannot be had, so the line's name is spoken instead and the caller is not kept waiting."""
    try:
        return business.profile().name or None
    except Exception:
        logger.exception("the business profile could not be read; the greeting names the line")
        return None


def whisper(name: str | None, fl: dict[str, Any]) -> str:
    """What the agent hears on answering: "Call from <line>" (the line's own text if it set one)."""
    text = str(fl.get("whisper_text", handling.DEFAULT_WHISPER))
    vr = VoiceResponse()
    vr.say(text.replace("{name}", name or "a tracked number"))
    return str(vr)


def bridge(caller: str, tracking: str) -> str:
    """The owner answered a call back: connect them to the caller, who sees the tracking number."""
    vr = VoiceResponse()
    vr.say("Connecting you to the caller.")
    dial = vr.dial(caller_id=tracking, answer_on_bridge=True, timeout=handling.dial_timeout(30))
    dial.number(caller)
    return str(vr)


def reject() -> str:
    vr = VoiceResponse()
    vr.reject(reason="rejected")
    return str(vr)


def hangup() -> str:
    vr = VoiceResponse()
    vr.hangup()
    return str(vr)


def goodbye() -> str:
    vr = VoiceResponse()
    vr.say("Thank you. Goodbye.")
    vr.hangup()
    return str(vr)


def empty() -> str:
    """The answer to a status callback: nothing to do."""
    return str(VoiceResponse())
