"""Spam scoring's settings, declared once (field, variable, default, parser, README line)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from chalicelib.core import settings as core
from chalicelib.core.settings import Section, parse_bool, parse_list

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
    spam_lookup: bool = SECTION(
        "SPAM_LOOKUP",
        "false",
        parse_bool,
        "look first-time callers up with Twilio Lookup v2 (line type intelligence), once per number per "
        "`SPAM_LOOKUP_CACHE_DAYS`; text-back waits for the score while this is on",
        when="blank",
    )
    spam_lookup_caller_name: bool = SECTION(
        "SPAM_LOOKUP_CALLER_NAME",
        "true",
        parse_bool,
        "with `SPAM_LOOKUP` on, ask Lookup for the caller's name (CNAM) too, in the same request, for US "
        "numbers only (Lookup has caller names for US numbers only); a second paid field",
        when="blank",
    )
    spam_caller_names: tuple[str, ...] = SECTION(
        "SPAM_CALLER_NAMES",
        "",
        parse_list,
        "words that make a call likely spam when Lookup's caller name holds one, case aside (e.g. "
        "`Scam Likely,Telemarketer`; empty: the rule is off; needs `SPAM_LOOKUP_CALLER_NAME`)",
        when="blank",
    )
    spam_line_types: tuple[str, ...] = SECTION(
        "SPAM_LINE_TYPES",
        "nonFixedVoip,tollFree",
        parse_list,
        "Lookup line types that make a call likely spam (Twilio's names: `nonFixedVoip`, `tollFree`, "
        "`premium`, `sharedCost`, `uan`, `voicemail`, `pager`, `unknown`, ...)",
        when="blank",
    )
    spam_lookup_daily_cap: int = SECTION(
        "SPAM_LOOKUP_DAILY_CAP",
        "100",
        int,
        "at most this many Lookups per UTC day (the daily spend cap: the day's cost is at most this times "
        "Twilio's per-request price for line type intelligence); callers past it are scored without one",
        when="blank",
    )
    spam_lookup_cache_days: int = SECTION(
        "SPAM_LOOKUP_CACHE_DAYS",
        "30",
        int,
        "a number's Lookup result is kept this many days (a cache item keyed by the caller's keyed hash, "
        "deleted by TTL): a number is looked up at most once per period",
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
    if t.spam_lookup_daily_cap < 0:
        found.append(f"SPAM_LOOKUP_DAILY_CAP {t.spam_lookup_daily_cap} must be 0 or more")
    if not 1 <= t.spam_lookup_cache_days <= 365:
        found.append(f"SPAM_LOOKUP_CACHE_DAYS {t.spam_lookup_cache_days} must be from 1 to 365")
    return found
