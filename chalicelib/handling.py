"""How a channel or pool handles its calls: forward-to, recording and disclosure, and the call flow
(whisper, disclosure voice, business hours, failover, voicemail).

Channels and pools share these fields, so they are validated here, below both.

Stored as JSON on the channel or pool (``flow``) and validated here, so that a malformed
schedule, an unknown time zone, a backup phone that is not a phone or an overlong text is
a 400 and nothing is saved. Every key is optional; the defaults are what a business
expects with no configuration: no whisper, always open, no failover, and a short
"nobody could take your call" message when the phone is not answered.

    {
      "whisper": true, "whisper_text": "Call from {name}",
      "disclosure_language": "en-US", "disclosure_voice": "Polly.Joanna",
      "hours": {"timezone": "America/New_York",
                "weekly": {"mon": [["09:00", "17:00"]], "sat": [["10:00", "14:00"]]},
                "closed_dates": ["2026-12-25"]},
      "after_hours": {"action": "voicemail"} | {"action": "forward", "forward_to": "+12025550100"},
      "failover": ["+12025550111", "+12025550122"],
      "when_unanswered": "voicemail" | "message",
      "voicemail_prompt": "You've reached {name}. Please leave a message after the tone.",
      "ring_seconds": 20,
      "screen": true,
      "screen_alert_after": 3,
      "ring": "in_order" | "together" | "round_robin",
      "ring_each": [20, 15, 30]
    }

``ring: together`` rings the forward-to phone and the backup phones at once (a ring group: the
first to answer takes the call); ``in_order`` (the default) tries them one after another, each
for its ring time; ``round_robin`` tries them one after another too, but each call starts one
phone further along the list than the line's previous call (a counter on the line: one write
on the voice webhook, for round-robin lines only). ``ring_each`` is each phone's own ring time,
the forward-to phone first, then the backup phones in their order (a phone without one rings
for ``ring_seconds``); phones rung together ring as long as the longest of them.

``screen_alert_after`` (default ``DEFAULT_SCREEN_ALERT_AFTER``): after that many screened answers
in a row on this line where nobody pressed (a phone's voicemail took them), the alert recipients
who want ``screens_refused`` are told; a press resets the count.

Call screening (``screen``): whoever answers hears the whisper and must press a key to take the
call; a phone's own voicemail or a machine cannot, so the caller goes on to the next phone or
voicemail and the call counts as missed. A new line whose forward-to phone is a mobile (one
Lookup when it is created) is screened unless the owner said otherwise: a PBX or an answering
service cannot press, so it is never on by default for them.

A menu option (``menu.options``) leads to one phone, voicemail, or a ring group of its own: its
``forward_to`` with ``failover`` phones, a ``ring`` mode and ``ring_each`` times, checked by the same
rules as the line's (``_option_group``) and dialled by the same code (``twiml.option_route``).

A line created without ``when_unanswered`` takes voicemail (``new_line_flow``): a caller nobody
answered leaves a message greeted with the business's name (else the line's), or the recording
uploaded for the line (``greeting``: set only by ``chalicelib.recordings.greetings``). Lines saved
before that keep the short "call again later" message until the owner chooses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib.core import validation as v
from chalicelib.core.errors import BadRequest

DEFAULT_DISCLOSURE = "This call may be recorded for quality and training purposes."
MAX_DISCLOSURE = 500
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_TEXT = 500
MAX_FAILOVER = 5
MAX_CLOSED_DATES = 366
DEFAULT_WHISPER = "Call from {name}."
SCREEN_PROMPT = "Press any key to take this call."
SCREEN_WAIT_SECONDS = 6  # for the key, after the whisper
DEFAULT_VOICEMAIL_PROMPT = "Sorry, we can't take your call right now. Please leave a message after the tone."
# Spoken from the line's name (the business's name as the owner typed it) when the line has one.
NAMED_VOICEMAIL_PROMPT = "You've reached {name}. " + DEFAULT_VOICEMAIL_PROMPT
# Twilio rings about 5 s longer than a <Dial>'s timeout attribute says.
TWILIO_DIAL_EXTRA_SECONDS = 5
MIN_RING_SECONDS, MAX_RING_SECONDS = 10, 60
FIELDS = {
    "whisper",
    "whisper_text",
    "disclosure_language",
    "disclosure_voice",
    "hours",
    "after_hours",
    "failover",
    "when_unanswered",
    "voicemail_prompt",
    "ring_seconds",
    "screen",
    "text_back",
    "text_forward",
    "ring",
    "ring_each",
    "screen_alert_after",
    "menu",
    "greeting",
}
# An uploaded voicemail greeting's format (``chalicelib.recordings.greetings`` stores it and sets this).
GREETING_FORMATS = ("wav", "mp3")
RING_MODES = ("in_order", "together", "round_robin")
DEFAULT_SCREEN_ALERT_AFTER = 3
MAX_SCREEN_ALERT_AFTER = 20
TEXT_FORWARDS = ("email", "sms", "off")
MAX_MENU_OPTIONS = 9
MAX_LABEL = 40
# What a menu option may add to its phone to make it a ring group, as a line does.
OPTION_GROUP = frozenset({"failover", "ring", "ring_each"})
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d|24:00")
_LANG = re.compile(r"[a-z]{2,3}(-[A-Za-z]{2,4})?")
_VOICE = re.compile(r"[A-Za-z0-9._-]{1,60}")


def parse(raw: Any) -> dict[str, Any] | None:
    """A validated, normalized flow (``None`` clears it), or a 400 naming what is wrong."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BadRequest("'flow' must be an object")
    unknown = sorted(set(raw) - FIELDS)
    if unknown:
        raise BadRequest(f"unknown flow setting(s): {', '.join(unknown)}; allowed: {', '.join(sorted(FIELDS))}")
    out: dict[str, Any] = {}
    for key in ("whisper", "screen", "text_back"):
        if key in raw:
            if not isinstance(raw[key], bool):
                raise BadRequest(f"'flow.{key}' must be true or false")
            out[key] = raw[key]
    for key in ("whisper_text", "voicemail_prompt"):
        if key in raw:
            out[key] = _text(raw[key], f"flow.{key}")
    if "disclosure_language" in raw:
        lang = raw["disclosure_language"]
        if not isinstance(lang, str) or not _LANG.fullmatch(lang):
            raise BadRequest("'flow.disclosure_language' must be a language tag like en-US")
        out["disclosure_language"] = lang
    if "disclosure_voice" in raw:
        voice = raw["disclosure_voice"]
        if not isinstance(voice, str) or not _VOICE.fullmatch(voice):
            raise BadRequest("'flow.disclosure_voice' must be a Twilio voice name like Polly.Joanna or alice")
        out["disclosure_voice"] = voice
    if "hours" in raw:
        out["hours"] = _hours(raw["hours"])
    if "after_hours" in raw:
        out["after_hours"] = _after_hours(raw["after_hours"])
    if "failover" in raw:
        phones = raw["failover"]
        if not isinstance(phones, list) or len(phones) > MAX_FAILOVER:
            raise BadRequest(f"'flow.failover' must be a list of at most {MAX_FAILOVER} phone numbers")
        out["failover"] = [v.e164(p, f"flow.failover[{i}]") for i, p in enumerate(phones)]
    if "when_unanswered" in raw:
        if raw["when_unanswered"] not in ("voicemail", "message"):
            raise BadRequest("'flow.when_unanswered' must be 'voicemail' or 'message'")
        out["when_unanswered"] = raw["when_unanswered"]
    if "ring_seconds" in raw:
        ring = raw["ring_seconds"]
        if isinstance(ring, bool) or not isinstance(ring, int) or not MIN_RING_SECONDS <= ring <= MAX_RING_SECONDS:
            raise BadRequest(
                f"'flow.ring_seconds' must be a whole number of seconds from {MIN_RING_SECONDS} to {MAX_RING_SECONDS}"
            )
        out["ring_seconds"] = ring
    if "ring" in raw:
        if raw["ring"] not in RING_MODES:
            raise BadRequest(
                "'flow.ring' must be 'in_order' (the backup phones one after another), 'together'"
                " or 'round_robin' (one after another, each call starting at the next phone)"
            )
        out["ring"] = raw["ring"]
    if "ring_each" in raw:
        out["ring_each"] = _ring_each(raw["ring_each"])
    if "screen_alert_after" in raw:
        n = raw["screen_alert_after"]
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_SCREEN_ALERT_AFTER:
            raise BadRequest(
                "'flow.screen_alert_after' must be a whole number of screened answers"
                f" from 1 to {MAX_SCREEN_ALERT_AFTER}"
            )
        out["screen_alert_after"] = n
    if "menu" in raw:
        out["menu"] = _menu(raw["menu"])
    # ``greeting`` is shown, never set here: only uploading or removing the recording changes it
    # (``chalicelib.recordings.greetings``), so a flow sent back as read changes nothing (``keep_greeting``).
    if "text_forward" in raw:
        if raw["text_forward"] not in TEXT_FORWARDS:
            raise BadRequest("'flow.text_forward' must be 'email', 'sms' or 'off'")
        out["text_forward"] = raw["text_forward"]
    if "hours" in out and "after_hours" not in out:
        out["after_hours"] = {"action": "voicemail"}
    return out


def new_line_flow(
    flow: dict[str, Any] | None, forward_to: str | None = None, *, line_type: Callable[[str], str | None] | None = None
) -> dict[str, Any]:
    """A new line's flow: voicemail when nobody answers unless the owner chose otherwise, and
    screening when ``forward_to`` is a mobile (``line_type``: the telephony provider's Lookup,
    asked once here; unknown or failed means not screened) and the owner did not say."""
    out = {"when_unanswered": "voicemail", **(flow or {})}
    if "screen" not in out and forward_to and line_type is not None and line_type(forward_to) == "mobile":
        out["screen"] = True
    return out


def text_forward(flow: dict[str, Any] | None) -> str:
    """How a text to the line's numbers reaches the owner: ``email`` (the default: to the alert email
    recipients), ``sms`` (to the line's phone, from the tracking number) or ``off``. Pure."""
    return str((flow or {}).get("text_forward") or "email")


def ring_seconds(flow: dict[str, Any] | None, default: int) -> int:
    """How long a phone of this line rings (the line's own setting, else the deployment's)."""
    return int((flow or {}).get("ring_seconds", default))


def _ring_each(raw: Any) -> list[int]:
    if not isinstance(raw, list) or len(raw) > 1 + MAX_FAILOVER:
        raise BadRequest(f"'flow.ring_each' must be a list of at most {1 + MAX_FAILOVER} ring times in seconds")
    for i, ring in enumerate(raw):
        if isinstance(ring, bool) or not isinstance(ring, int) or not MIN_RING_SECONDS <= ring <= MAX_RING_SECONDS:
            raise BadRequest(
                f"'flow.ring_each[{i}]' must be a whole number of seconds from {MIN_RING_SECONDS} to {MAX_RING_SECONDS}"
            )
    return list(raw)


def phone_ring_seconds(flow: dict[str, Any] | None, index: int, default: int) -> int:
    """How long phone ``index`` of the line (0: the forward-to phone, then the backup phones) rings."""
    each = (flow or {}).get("ring_each") or []
    return int(each[index]) if index < len(each) else ring_seconds(flow, default)


def screen_alert_after(flow: dict[str, Any] | None) -> int:
    """After how many refused screens in a row the line's alert goes out."""
    return int((flow or {}).get("screen_alert_after", DEFAULT_SCREEN_ALERT_AFTER))


def dial_timeout(ring: int) -> int:
    """The <Dial> timeout that makes a phone ring about ``ring`` seconds (Twilio adds about 5)."""
    return max(5, ring - TWILIO_DIAL_EXTRA_SECONDS)


def voicemail_prompt(flow: dict[str, Any] | None, name: str | None, business_name: str | None = None) -> str:
    """The voicemail greeting: the line's own text (``{name}``: the line's name), else one spoken from
    the business's name (its profile's), else the line's name, else "us"."""
    text = (flow or {}).get("voicemail_prompt")
    if text is None:
        spoken = business_name or name
        return (NAMED_VOICEMAIL_PROMPT if spoken else DEFAULT_VOICEMAIL_PROMPT).replace("{name}", spoken or "us")
    return str(text).replace("{name}", name or "us")


def keep_greeting(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any] | None:
    """A line's flow as saved over ``old``: an uploaded greeting stays until it is removed or replaced
    (the form and ``PATCH`` send the flow whole; ``parse`` leaves ``greeting`` out of it)."""
    greeting = (old or {}).get("greeting")
    if not greeting:
        return new
    return {**(new or {}), "greeting": greeting}


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"'{name}' must be non-empty text")
    if len(value) > MAX_TEXT:
        raise BadRequest(f"'{name}' is longer than {MAX_TEXT} characters")
    return value.strip()


def _hours(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or set(raw) - {"timezone", "weekly", "closed_dates"}:
        raise BadRequest("'flow.hours' must be an object with timezone, weekly and closed_dates")
    tz = raw.get("timezone")
    if not isinstance(tz, str):
        raise BadRequest("'flow.hours.timezone' must be an IANA time zone like America/New_York")
    _zone(tz)
    weekly = raw.get("weekly")
    if not isinstance(weekly, dict) or set(weekly) - set(DAYS):
        raise BadRequest(f"'flow.hours.weekly' must be an object whose keys are days: {', '.join(DAYS)}")
    out_weekly: dict[str, list[list[str]]] = {}
    for day, spans in weekly.items():
        if not isinstance(spans, list):
            raise BadRequest(f"'flow.hours.weekly.{day}' must be a list of [open, close] pairs like ['09:00', '17:00']")
        out_weekly[day] = []
        for span in spans:
            if (
                not isinstance(span, list)
                or len(span) != 2
                or not all(isinstance(t, str) and _HHMM.fullmatch(t) for t in span)
            ):
                raise BadRequest(f"'flow.hours.weekly.{day}' must hold [open, close] pairs of HH:MM times")
            if span[0] >= span[1]:
                raise BadRequest(f"'flow.hours.weekly.{day}': {span[0]} is not before {span[1]}")
            out_weekly[day].append([span[0], span[1]])
    dates = raw.get("closed_dates", [])
    if not isinstance(dates, list) or len(dates) > MAX_CLOSED_DATES:
        raise BadRequest(f"'flow.hours.closed_dates' must be a list of at most {MAX_CLOSED_DATES} dates")
    for d in dates:
        try:
            if not isinstance(d, str):
                raise ValueError
            datetime.strptime(d, "%Y-%m-%d")
        except ValueError:
            raise BadRequest(f"'flow.hours.closed_dates' has {d!r}, which is not a date like 2026-12-25") from None
    return {"timezone": tz, "weekly": out_weekly, "closed_dates": sorted(set(dates))}


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory (America), a name too long
        raise BadRequest(f"'flow.hours.timezone' {name!r} is not a known time zone") from None


def _after_hours(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or raw.get("action") not in ("voicemail", "forward"):
        raise BadRequest(
            "'flow.after_hours' must be {'action': 'voicemail'} or {'action': 'forward', 'forward_to': ...}"
        )
    if raw["action"] == "forward":
        return {"action": "forward", "forward_to": v.e164(raw.get("forward_to"), "flow.after_hours.forward_to")}
    if set(raw) != {"action"}:
        raise BadRequest("'flow.after_hours' with action voicemail takes no other settings")
    return {"action": "voicemail"}


def _menu(raw: Any) -> dict[str, Any] | None:
    """``{"prompt": ..., "options": [{"key": "1", "label": "Sales", "forward_to": ...} |
    {"key": "2", "label": "Service", "action": "voicemail"}], "default": "1"}``; ``None`` clears it."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"prompt", "options", "default"}:
        raise BadRequest("'flow.menu' must be an object with prompt, options and default")
    prompt = _text(raw.get("prompt"), "flow.menu.prompt")
    options = raw.get("options")
    if not isinstance(options, list) or not 1 <= len(options) <= MAX_MENU_OPTIONS:
        raise BadRequest(f"'flow.menu.options' must be a list of 1 to {MAX_MENU_OPTIONS} options")
    out_options: list[dict[str, Any]] = []
    for i, opt in enumerate(options):
        name = f"flow.menu.options[{i}]"
        if not isinstance(opt, dict) or set(opt) - {"key", "label", "forward_to", "action", *OPTION_GROUP}:
            raise BadRequest(
                f"'{name}' must be an object with key, label and forward_to (with failover, ring and ring_each"
                " for a ring group) or action"
            )
        key = opt.get("key")
        if not isinstance(key, str) or len(key) != 1 or key not in "123456789":
            raise BadRequest(f"'{name}.key' must be one digit from 1 to 9")
        if any(o["key"] == key for o in out_options):
            raise BadRequest(f"'{name}.key' {key} is used by another option")
        label = _text(opt.get("label"), f"{name}.label")
        if len(label) > MAX_LABEL:
            raise BadRequest(f"'{name}.label' is longer than {MAX_LABEL} characters")
        if opt.get("action") == "voicemail" and "forward_to" not in opt and not set(opt) & OPTION_GROUP:
            out_options.append({"key": key, "label": label, "action": "voicemail"})
        elif "action" in opt:
            raise BadRequest(f"'{name}' takes either forward_to or action voicemail")
        else:
            out_option: dict[str, Any] = {
                "key": key,
                "label": label,
                "forward_to": v.e164(opt.get("forward_to"), f"{name}.forward_to"),
            }
            out_option.update(_option_group(opt, name))
            out_options.append(out_option)
    default = raw.get("default", out_options[0]["key"])
    if default not in [o["key"] for o in out_options]:
        raise BadRequest("'flow.menu.default' must be the key of one of the options")
    return {"prompt": prompt, "options": out_options, "default": default}


def _option_group(opt: dict[str, Any], name: str) -> dict[str, Any]:
    """A menu option's ring group: its further phones (``failover``), how they ring (``ring``, one of
    the line's own ``RING_MODES``) and each phone's ring time (``ring_each``), checked by the same rules
    as the line's (``parse``), since the option is dialled as a line of its own (``twiml.option_route``)."""
    group = {k: opt[k] for k in OPTION_GROUP if k in opt}
    if not group:
        return {}
    try:
        return parse(group) or {}
    except BadRequest as exc:  # say which option: 'flow.failover' -> 'flow.menu.options[1].failover'
        raise BadRequest(str(exc).replace("'flow.", f"'{name}.", 1)) from None


def menu_option(flow: dict[str, Any] | None, digits: str | None, speech: str | None) -> dict[str, Any] | None:
    """The option a caller chose by key or by saying its label (or its key); the default when
    nothing matched; ``None`` when the line has no menu."""
    menu = (flow or {}).get("menu")
    if not menu:
        return None
    options: list[dict[str, Any]] = menu["options"]
    by_key = {o["key"]: o for o in options}
    if digits and digits[:1] in by_key:
        return by_key[digits[:1]]
    said = (speech or "").lower()
    words = set(re.findall(r"[a-z0-9]+", said))
    numbers = {
        "one": "1",
        "two": "2",
        "three": "3",
        "four": "4",
        "five": "5",
        "six": "6",
        "seven": "7",
        "eight": "8",
        "nine": "9",
    }
    for word in words:
        key = numbers.get(word, word)
        if key in by_key:
            return by_key[key]
    for o in options:
        if o["label"].lower() in said:
            return o
    return by_key[menu["default"]]


def is_open(flow: dict[str, Any] | None, at: datetime) -> bool:
    """Whether the business takes calls at ``at`` (an aware datetime); always open without hours."""
    hours = (flow or {}).get("hours")
    if not hours:
        return True
    local = at.astimezone(_zone(hours["timezone"]))
    if local.strftime("%Y-%m-%d") in hours.get("closed_dates", []):
        return False
    now = local.strftime("%H:%M")
    return any(start <= now < end for start, end in hours["weekly"].get(DAYS[local.weekday()], []))


def handling_fields(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """What channels and pools share: name, forward-to phone, recording, disclosure and call flow."""
    out: dict[str, Any] = {}
    name = v.string(body, "name", required=not partial, max_len=100, min_len=1)
    if name is not None:
        out["name"] = name
    if "forward_to" in body or not partial:
        out["forward_to"] = v.e164(body.get("forward_to"), "forward_to")
    record = v.boolean(body, "record", default=None if partial else False)
    if record is not None:
        out["record"] = record
    if "flow" in body:
        out["flow"] = parse(body["flow"])
    if "disclosure" in body:
        out["disclosure"] = v.string(body, "disclosure", max_len=MAX_DISCLOSURE) or None
    return out


def disclosure_for(record: bool | None, disclosure: str | None) -> str | None:
    """A recorded line always has a disclosure: the default one unless the business wrote its own."""
    return disclosure or (DEFAULT_DISCLOSURE if record else None)
