"""Spam scoring's settings, declared once (field, variable, default, parser, README line)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from chalicelib.core import settings as core
from chalicelib.core.settings import Section

SECTION = Section("spam", "spam scoring of calls")


class SpamSettings(NamedTuple):
    spam_short_calls: int = SECTION(
        "SPAM_SHORT_CALLS",
        "3",
        int,
        "a caller with this many calls under `SPAM_SHORT_SECONDS` within a day is likely spam (0: the rule is off)",
        when="blank",
    )
    spam_short_seconds: int = SECTION(
        "SPAM_SHORT_SECONDS",
        "10",
        int,
        "how short (seconds of call) a call counts as short for `SPAM_SHORT_CALLS`",
        when="blank",
    )


SETTINGS = SpamSettings


def get() -> SpamSettings:
    """This process's settings (read again when ``core.get_settings`` is)."""
    return core.section(SpamSettings)


def load(env: Mapping[str, str]) -> SpamSettings:
    """The settings an environment gives (a stage's, for ``status`` and the tests)."""
    return core.load_section(SpamSettings, env, core.load(env)._asdict())


def problems(s: core.Settings, t: SpamSettings) -> list[str]:
    """What is wrong in spam scoring's settings, in words an operator can act on."""
    found: list[str] = []
    if not 0 <= t.spam_short_calls <= 100:
        found.append(f"SPAM_SHORT_CALLS {t.spam_short_calls} must be from 0 to 100")
    if not 1 <= t.spam_short_seconds <= 600:
        found.append(f"SPAM_SHORT_SECONDS {t.spam_short_seconds} must be from 1 to 600")
    return found
