"""The text-back's settings, declared once (field, variable, default, parser, README line)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from chalicelib.core import settings as core
from chalicelib.core.settings import Section, parse_bool, parse_list, parse_optional

SECTION = Section("text-back", "texts to missed callers")


class TextBackSettings(NamedTuple):
    text_back_enabled: bool = SECTION(
        "TEXT_BACK_ENABLED",
        "false",
        parse_bool,
        "send text-backs at all (lines opt in with `flow.text_back`). Leave off until the account can send "
        "texts carriers accept: US local numbers need an A2P 10DLC registration (a Brand and a Campaign, "
        "ideally a Messaging Service); unregistered texts to US numbers are blocked or filtered",
        when="blank",
    )
    text_back_countries: tuple[str, ...] = SECTION(
        "TEXT_BACK_COUNTRIES",
        "US,CA",
        parse_list,
        "ISO country codes of callers that may be texted (SMS-pumping fraud sends texts to premium ranges "
        "abroad: name only where the business's callers are)",
        when="blank",
    )
    text_back_window_hours: int = SECTION(
        "TEXT_BACK_WINDOW_HOURS",
        "24",
        int,
        "at most one text-back per caller in this many hours, however many calls they miss",
        when="blank",
    )
    text_back_messaging_service_sid: str | None = SECTION(
        "TEXT_BACK_MESSAGING_SERVICE_SID",
        "",
        parse_optional,
        "a Twilio Messaging Service (MG...) to send through (its registered A2P campaign); without it texts "
        "go from the tracking number that was called",
        shown="— (from the tracking number)",
    )


SETTINGS = TextBackSettings


def get() -> TextBackSettings:
    """This process's settings (read again when ``core.get_settings`` is)."""
    return core.section(TextBackSettings)


def load(env: Mapping[str, str]) -> TextBackSettings:
    """The settings an environment gives (a stage's, for ``status`` and the tests)."""
    return core.load_section(TextBackSettings, env, core.load(env)._asdict())


def problems(s: core.Settings, t: TextBackSettings) -> list[str]:
    """What is wrong in the text-back's settings, in words an operator can act on."""
    found: list[str] = []
    if not 1 <= t.text_back_window_hours <= 24 * 30:
        found.append(f"TEXT_BACK_WINDOW_HOURS {t.text_back_window_hours} must be from 1 to 720")
    sid = t.text_back_messaging_service_sid
    if sid and not sid.startswith("MG"):
        found.append(f"TEXT_BACK_MESSAGING_SERVICE_SID {sid!r} is not a Messaging Service SID (MG...)")
    return found
