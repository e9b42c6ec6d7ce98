"""The call-handling form of a channel or pool: its fields to the API's body and back, which field a
refusal names, and a preview of what a caller hears, in words.

The form is only a way of typing the API's body (``record``, ``disclosure``, ``flow``): the body goes
to ``channels.update`` / ``pools.update``, whose rules (``chalicelib.handling``) refuse or accept it,
so the page and ``PATCH /v1/channels/{id}`` can never disagree. The preview runs the voice webhook's
own TwiML (``chalicelib.voice.twiml``) for a time inside and outside business hours and tells each
verb as a step.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree

from chalicelib import business, handling
from chalicelib.core import clock
from chalicelib.core import validation as v
from chalicelib.core.errors import BadRequest
from chalicelib.integrations.textback import sender
from chalicelib.integrations.textback import settings as textback_settings
from chalicelib.routing import Route
from chalicelib.voice import twiml

DAYS = handling.DAYS
DAY_NAMES = dict(zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"), strict=True))
CHECKED = ("on", "true", "1", "yes")
PREVIEW_SID = "CA" + "0" * 32  # a made-up call for the preview's TwiML

# A refusal's message starts with the field it is about (``'flow.hours.weekly.mon' ...``): the form
# field that shows it. The first matching prefix wins.
FIELD_OF = (
    ("flow.hours.weekly.", None),  # the day itself: ``<day>_open``
    ("flow.hours.timezone", "tz"),
    ("flow.hours.closed_dates", "closed_dates"),
    ("flow.hours", "hours_on"),
    ("flow.after_hours", "after_hours_forward"),
    ("flow.failover", "failover"),
    ("flow.ring_seconds", "ring_seconds"),
    ("flow.ring_each", "ring_each"),
    ("flow.ring", "ring"),
    ("flow.screen_alert_after", "screen_alert_after"),
    ("flow.menu.options[0].ring_each", "menu_1_ring_each"),
    ("flow.menu.options[0].ring", "menu_1_ring"),
    ("flow.menu.options[0]", "menu_1_to"),
    ("flow.menu.options[1].ring_each", "menu_2_ring_each"),
    ("flow.menu.options[1].ring", "menu_2_ring"),
    ("flow.menu.options[1]", "menu_2_to"),
    ("flow.menu", "menu_prompt"),
    ("flow.whisper_text", "whisper_text"),
    ("flow.voicemail_prompt", "voicemail_prompt"),
    ("greeting", "greeting_file"),
    ("flow.when_unanswered", "when_unanswered"),
    ("flow.", "flow"),
    ("allowed_origins", "allowed_origins"),
    ("original_number", "original_number"),
    ("forward_to", "forward_to"),
    ("hold_seconds", "hold_minutes"),
    ("disclosure", "disclosure"),
    ("name", "name"),
    ("channel_id", "line"),
    ("pool_id", "line"),
    ("number", "number"),
    ("country", "country"),
    ("area_code", "area_code"),
    ("contains", "contains"),
)
_QUOTED = re.compile(r"'([A-Za-z_.\[\]0-9]+)'")  # at the start: the domain's messages lead with their field


def field_of(message: str) -> str:
    """The form field a refusal is about (``"form"`` when it names none)."""
    m = _QUOTED.match(message)
    if not m:
        return "form"
    name = m.group(1)
    for prefix, field in FIELD_OF:
        if name.startswith(prefix):
            if field is None:
                return name.removeprefix(prefix).split(".")[0].split("[")[0] + "_open"
            return field
    return "form"


def checked(form: dict[str, str], name: str) -> bool:
    return form.get(name, "").strip().lower() in CHECKED


def _phones(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[\n,;]+", text or "") if p.strip()]


def body_from_form(form: dict[str, str]) -> dict[str, Any]:
    """The API body (``record``, ``disclosure``, ``flow``) the call-handling form stands for."""
    flow: dict[str, Any] = {
        "whisper": checked(form, "whisper"),
        "screen": checked(form, "screen"),
        "text_back": checked(form, "text_back"),
    }
    if form.get("text_forward") in ("sms", "off"):  # email is the default: left out of the flow
        flow["text_forward"] = form["text_forward"]
    if form.get("whisper_text", "").strip():
        flow["whisper_text"] = form["whisper_text"]
    if checked(form, "hours_on"):
        weekly: dict[str, list[list[str]]] = {}
        for day in DAYS:
            start, end = form.get(f"{day}_open", "").strip(), form.get(f"{day}_close", "").strip()
            if bool(start) != bool(end):
                raise BadRequest(f"'flow.hours.weekly.{day}' needs both an opening and a closing time (or neither)")
            if start:
                weekly[day] = [[start, end]]
        dates = [d for d in re.split(r"[\s,;]+", form.get("closed_dates", "")) if d]
        tz = form.get("tz", "").strip() or business.timezone()
        flow["hours"] = {"timezone": tz, "weekly": weekly, "closed_dates": dates}
        if form.get("after_hours") == "forward":
            flow["after_hours"] = {"action": "forward", "forward_to": form.get("after_hours_forward", "")}
        else:
            flow["after_hours"] = {"action": "voicemail"}
    failover = _phones(form.get("failover", ""))
    if failover:
        flow["failover"] = failover
    if form.get("ring") in ("together", "round_robin"):
        flow["ring"] = form["ring"]
    each = [t for t in re.split(r"[\s,;]+", form.get("ring_each", "")) if t]
    if each:
        flow["ring_each"] = [int(t) if t.isdigit() else t for t in each]  # the domain refuses what is no number
    alert_after = form.get("screen_alert_after", "").strip()
    if alert_after:
        flow["screen_alert_after"] = int(alert_after) if alert_after.isdigit() else alert_after
    menu = _menu_from_form(form)
    if menu is not None:
        flow["menu"] = menu
    flow["when_unanswered"] = "voicemail" if form.get("when_unanswered") == "voicemail" else "message"
    if form.get("voicemail_prompt", "").strip():
        flow["voicemail_prompt"] = form["voicemail_prompt"]
    ring = form.get("ring_seconds", "").strip()
    if ring:
        flow["ring_seconds"] = int(ring) if ring.isdigit() else ring  # the domain refuses what is no number
    body: dict[str, Any] = {"record": checked(form, "record"), "flow": flow}
    body["disclosure"] = form.get("disclosure", "").strip() or None
    return body


MENU_KEYS = ("1", "2")  # the form's simple menu: press 1 or 2 (the API takes up to 9)


def _menu_from_form(form: dict[str, str]) -> dict[str, Any] | None:
    """The form's menu (a prompt and options 1 and 2, each a phone, several phones (a ring group, rung
    as ``menu_N_ring`` says, each for its ``menu_N_ring_each`` time) or "voicemail"), or ``None``."""
    prompt = form.get("menu_prompt", "").strip()
    if not prompt:
        return None
    options: list[dict[str, str]] = []
    for key in MENU_KEYS:
        label, to = form.get(f"menu_{key}_label", "").strip(), form.get(f"menu_{key}_to", "").strip()
        if not label and not to:
            continue
        option: dict[str, Any] = {"key": key, "label": label}
        phones = _phones(to)
        if to.lower() == "voicemail":
            option["action"] = "voicemail"
        else:
            option["forward_to"] = phones[0] if phones else to
            if len(phones) > 1:
                option["failover"] = phones[1:]
                if form.get(f"menu_{key}_ring") in ("together", "round_robin"):
                    option["ring"] = form[f"menu_{key}_ring"]
            each = [t for t in re.split(r"[\s,;]+", form.get(f"menu_{key}_ring_each", "")) if t]
            if each:
                option["ring_each"] = [int(t) if t.isdigit() else t for t in each]  # the domain refuses the rest
        options.append(option)
    return {"prompt": prompt, "options": options}


def form_from_line(line: dict[str, Any]) -> dict[str, str]:
    """The form's values for a channel or pool as the API shows it (``to_dict``)."""
    fl = line.get("flow") or {}
    out: dict[str, str] = {
        "record": "on" if line.get("record") else "",
        "disclosure": line.get("disclosure") or "",
        "whisper": "on" if fl.get("whisper") else "",
        "screen": "on" if fl.get("screen") else "",
        "text_back": "on" if fl.get("text_back") else "",
        "text_forward": handling.text_forward(fl),
        "whisper_text": fl.get("whisper_text", ""),
        "failover": "\n".join(v.typed(p) for p in fl.get("failover", [])),
        "ring": fl.get("ring", "in_order"),
        "when_unanswered": fl.get("when_unanswered", "message"),
        "voicemail_prompt": fl.get("voicemail_prompt", ""),
        "greeting": fl.get("greeting", ""),
        "ring_seconds": str(fl.get("ring_seconds", "")),
        "ring_each": ", ".join(str(t) for t in fl.get("ring_each", [])),
        "screen_alert_after": str(fl.get("screen_alert_after", "")),
        "tz": business.timezone(),
        "after_hours": "voicemail",
        "after_hours_forward": "",
        "closed_dates": "",
    }
    hours = fl.get("hours")
    if hours:
        out.update(hours_on="on", tz=hours["timezone"], closed_dates=" ".join(hours.get("closed_dates", [])))
        for day, spans in hours.get("weekly", {}).items():
            if spans:
                out[f"{day}_open"], out[f"{day}_close"] = spans[0]
    menu = fl.get("menu") or {}
    if menu:
        out["menu_prompt"] = menu["prompt"]
        for o in menu["options"]:
            if o["key"] in MENU_KEYS:
                out[f"menu_{o['key']}_label"] = o["label"]
                phones = [o["forward_to"], *o.get("failover", [])] if o.get("forward_to") else []
                out[f"menu_{o['key']}_to"] = ", ".join(v.typed(p) for p in phones) if phones else "voicemail"
                out[f"menu_{o['key']}_ring"] = o.get("ring", "in_order")
                out[f"menu_{o['key']}_ring_each"] = ", ".join(str(t) for t in o.get("ring_each", []))
    after = fl.get("after_hours") or {}
    if after.get("action") == "forward":
        out.update(after_hours="forward", after_hours_forward=v.typed(after["forward_to"]))
    return out


# --- what a caller hears -------------------------------------------------------------------------


def _probe_times(flow: dict[str, Any], start: datetime) -> tuple[datetime | None, datetime | None]:
    """A coming moment when the line is open, and one when it is closed (``None``: never, this week)."""
    opened = closed = None
    at = start.replace(second=0, microsecond=0)
    for _ in range(8 * 24 * 4):  # every quarter hour of the next eight days
        if handling.is_open(flow, at):
            opened = opened or at
        else:
            closed = closed or at
        if opened and closed:
            break
        at += timedelta(minutes=15)
    return opened, closed


def preview(kind: str, line: dict[str, Any]) -> list[dict[str, Any]]:
    """What a caller hears, as scenarios (``title``, ``steps`` in words), from the voice webhook's
    own TwiML for this line as saved."""
    route = Route(
        kind,
        line["id"],
        line["name"],
        line.get("forward_to"),
        bool(line.get("record")),
        line.get("disclosure"),
        line.get("flow") or None,
    )
    fl = line.get("flow") or {}
    opened, closed = _probe_times(fl, clock.now())
    out: list[dict[str, Any]] = []
    if opened is not None:
        plan = twiml.plan(route, opened)
        title = "During business hours" if fl.get("hours") else "When someone calls"
        steps = _steps(twiml.forward(route, "+15555550100", at=opened, call_sid=PREVIEW_SID), route, fl)
        if fl.get("menu"):
            # Each option: what its TwiML does, then (unanswered) what the next step's does.
            for o in fl["menu"]["options"]:
                said = [
                    " ".join(
                        s["text"]
                        for s in _steps(
                            twiml.forward(
                                route, "+15555550100", step=step, at=opened, call_sid=PREVIEW_SID, option=o["key"]
                            ),
                            route,
                            fl,
                        )
                    )
                    for step in ((0,) if o.get("action") == "voicemail" else range(_option_steps(o) + 1))
                ]
                steps.append({"when": f"Option {o['key']} ({o['label']})", "text": " If nobody answers: ".join(said)})
        else:
            for step in range(1, len(plan.groups) + 1):
                steps.append({"when": "If nobody answers, the line is busy or the call fails", "text": ""})
                steps[-1]["text"] = " ".join(
                    s["text"]
                    for s in _steps(
                        twiml.forward(route, "+15555550100", step=step, at=opened, call_sid=PREVIEW_SID), route, fl
                    )
                )
        if plan.action == "dial" and fl.get("ring") == "round_robin" and len(plan.phones) > 1:
            order = ", then ".join(v.display(p) for p in plan.phones[1:] + plan.phones[:1])
            steps.append(
                {
                    "when": "Round-robin",
                    "text": f"The next call starts at the next phone ({order}), and so on in turn,"
                    " so that each phone is rung first as often as the others.",
                }
            )
        if fl.get("screen"):
            n = handling.screen_alert_after(fl)
            steps.append(
                {
                    "when": "Screening",
                    "text": f"After {n} screened answer{'s' if n != 1 else ''} in a row without a key press"
                    " (a phone's own voicemail answering first), the alert recipients who chose it are told.",
                }
            )
        out.append({"title": title, "steps": steps})
    if fl.get("text_back"):
        out.append(
            {
                "title": "When nobody answered",
                "steps": [
                    {
                        "when": "",
                        "text": "Within a minute the caller gets one text from the number they called: “"
                        + text_back_words(line["name"], fl, opened or closed or clock.now())
                        + f"” (at most one per caller in {text_back_hours()} hours; never after a STOP).",
                    }
                ],
            }
        )
    if closed is not None:
        out.append(
            {
                "title": "Outside business hours and on closed dates",
                "steps": _steps(twiml.forward(route, "+15555550100", at=closed, call_sid=PREVIEW_SID), route, fl),
            }
        )
    if "text_forward" in fl:  # the default (emailed) is said by the form's hint; a choice made is said here
        out.append(
            {"title": "When someone texts the number", "steps": [{"when": "", "text": text_forward_words(line)}]}
        )
    return out


def _option_steps(option: dict[str, Any]) -> int:
    """How many dials a menu option makes: one, or one per phone of its ring group rung in order."""
    phones = 1 + len(option.get("failover", []))
    return 1 if option.get("ring") == "together" else phones


def text_forward_words(line: dict[str, Any]) -> str:
    """What happens to a text to the line's numbers, in words (``handling.text_forward``)."""
    how = handling.text_forward(line.get("flow"))
    if how == "sms":
        phone = v.typed(line["forward_to"]) if line.get("forward_to") else "the line's phone"
        return f"It is in the log, and forwarded by text to {phone} from the number it was sent to."
    if how == "email":
        return "It is in the log, and emailed to the alert email recipients."
    return "It is in the log only."


def text_back_words(name: str, fl: dict[str, Any], at: datetime) -> str:
    """The text-back's words as sent at ``at`` (the integration's own template; the open-hours words
    when the line opens at all, as most missed calls come then)."""
    return sender.text_for(name, fl, at)


def _describe_menu(route: Route, fl: dict[str, Any]) -> str:
    """The menu in words: its prompt, and where each key (or saying the option) leads."""
    m = fl["menu"]
    ways = []
    for o in m["options"]:
        to = f"rings {_group_words(o)}" if o.get("forward_to") else "takes a voicemail"
        ways.append(f"{o['key']} or “{o['label']}” {to}")
    default = next(o["label"] for o in m["options"] if o["key"] == m["default"])
    return (
        f"The caller hears “{m['prompt']}” and presses or says an option: {'; '.join(ways)}. "
        f"Nothing pressed: {default}."
    )


def _group_words(option: dict[str, Any]) -> str:
    """A menu option's phones in words: one phone, or its ring group and how it rings."""
    shown = [v.display(p) for p in (option["forward_to"], *option.get("failover", []))]
    if len(shown) == 1:
        return shown[0]
    listed = f"{', '.join(shown[:-1])} and {shown[-1]}"
    how = {
        "together": "together",
        "round_robin": "one after another, each call starting at the next",
    }.get(option.get("ring", "in_order"), "one after another")
    return f"{listed} {how}"


def text_back_hours() -> int:
    return textback_settings.get().text_back_window_hours


def _steps(xml: str, route: Route, fl: dict[str, Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    for verb in ElementTree.fromstring(xml):  # noqa: S314  (our own TwiML, never input)
        text = _describe(verb, route, fl)
        if text:
            steps.append({"when": "", "text": text})
    return steps


def _describe(verb: ElementTree.Element, route: Route, fl: dict[str, Any]) -> str:
    if verb.tag == "Say":
        return f"The caller hears: “{(verb.text or '').strip()}”"
    if verb.tag == "Play":
        return "The caller hears the recorded greeting you uploaded."
    if verb.tag == "Dial":
        phones = [n.text or "" for n in verb.iter("Number")]
        ring = int(verb.get("timeout") or 0) + handling.TWILIO_DIAL_EXTRA_SECONDS
        shown = [v.display(p) for p in phones]
        together = f"{', '.join(shown[:-1])} and {shown[-1]} together" if len(shown) > 1 else "".join(shown)
        text = f"Rings {together} for about {ring} seconds"
        if verb.get("record"):
            text += ", recording the conversation once it is answered"
        if any("/twilio/screen/" in (n.get("url") or "") for n in verb.iter("Number")):
            screen = twiml.screen(route.name, fl, PREVIEW_SID, 0)
            heard = ElementTree.fromstring(screen).findtext("Gather/Say") or ""  # noqa: S314
            text += (
                f"; whoever answers hears “{heard.strip()}” and must press a key, or the call goes on as not"
                " answered (a phone's own voicemail cannot press)"
            )
        elif any(n.get("url") for n in verb.iter("Number")):
            heard = ElementTree.fromstring(twiml.whisper(route.name, fl)).findtext("Say") or ""  # noqa: S314
            text += f"; whoever answers hears “{heard.strip()}” first (the caller does not)"
        return text + "."
    if verb.tag == "Gather":
        return _describe_menu(route, fl)
    if verb.tag == "Record":
        minutes = int(verb.get("maxLength") or twiml.VOICEMAIL_MAX_SECONDS) // 60
        return f"After a beep the caller leaves a voicemail (up to {minutes} minutes); it shows on the call's page."
    if verb.tag == "Hangup":
        return "The call ends."
    if verb.tag == "Reject":
        return "The call is rejected."
    return ""
