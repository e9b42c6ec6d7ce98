"""The conversions integration's settings, declared once (field, variable, default, parser, README line)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from chalicelib.core import settings as core
from chalicelib.core.settings import Section, parse_delays, parse_stripped, parse_url


def parse_schedule(raw: str) -> tuple[int, ...]:
    """Seconds, comma-separated, each 60 to 7 days (the later schedule is ours, not SQS's: no 12-hour cap)."""
    try:
        out = tuple(int(x) for x in raw.split(",") if x.strip())
    except ValueError:
        raise ValueError("must be seconds, comma-separated") from None
    if not out or any(not 60 <= x <= 7 * 86_400 for x in out):
        raise ValueError("must be delays of 60 to 604800 seconds, comma-separated")
    return out


SECTION = Section("conversions", "calls as conversions in the ad platforms")


class ConversionsSettings(NamedTuple):
    conversions_ssm_prefix: str = SECTION(
        "CONVERSIONS_SSM_PREFIX",
        "",
        parse_url,
        "where destinations' credentials are kept (SSM SecureString, one parameter per credential)",
        when="blank",
        shown="`/calltracking/<STAGE>/conversions`",
        derive=lambda v: f"/calltracking/{v['stage']}/conversions",
    )
    conversions_retry_seconds: tuple[int, ...] = SECTION(
        "CONVERSIONS_RETRY_SECONDS",
        "60,300,1800,7200,21600",
        parse_delays,
        "delays before a conversion that failed for a passing reason (a timeout, a 5xx) is tried again; after "
        "the last the delivery log says so and an `events_stuck` alert names the destination",
    )
    conversions_later_seconds: tuple[int, ...] = SECTION(
        "CONVERSIONS_LATER_SECONDS",
        "21600,21600,43200,86400",
        parse_schedule,
        "the schedule for conversions a platform said to send later (Google's TOO_RECENT_EVENT: the click is "
        "under 6 hours old), one delay per try when the platform names no time",
    )
    conversions_backfill_days: int = SECTION(
        "CONVERSIONS_BACKFILL_DAYS",
        "30",
        int,
        "a new destination sends the eligible calls of this many past days (never past its platform's window)",
        when="blank",
    )
    google_ads_api_base_url: str = SECTION(
        "GOOGLE_ADS_API_BASE_URL",
        "https://googleads.googleapis.com",
        parse_url,
        "the Google Ads API (tests point it at a local receiver)",
        when="blank",
    )
    google_oauth_token_url: str = SECTION(
        "GOOGLE_OAUTH_TOKEN_URL",
        "https://oauth2.googleapis.com/token",
        parse_url,
        "Google's OAuth token endpoint, where refresh tokens are exchanged (tests: a local one)",
        when="blank",
    )
    ga4_base_url: str = SECTION(
        "GA4_BASE_URL",
        "https://www.google-analytics.com",
        parse_url,
        "the GA4 Measurement Protocol's host (`/mp/collect`, `/debug/mp/collect`; tests: a local receiver)",
        when="blank",
    )
    meta_graph_base_url: str = SECTION(
        "META_GRAPH_BASE_URL",
        "https://graph.facebook.com",
        parse_url,
        "Meta's Graph API, where the Conversions API's events go (tests point it at a local receiver)",
        when="blank",
    )
    meta_graph_api_version: str = SECTION(
        "META_GRAPH_API_VERSION",
        "v25.0",
        parse_stripped,
        "the Graph API version the Conversions API is called with (Meta supports each for at least two years)",
        when="blank",
    )
    metrica_api_base_url: str = SECTION(
        "METRICA_API_BASE_URL",
        "https://api-metrika.yandex.net",
        parse_url,
        "Yandex Metrica's management API, where call files are uploaded (tests point it at a local receiver)",
        when="blank",
    )
    hubspot_api_base_url: str = SECTION(
        "HUBSPOT_API_BASE_URL",
        "https://api.hubapi.com",
        parse_url,
        "HubSpot's CRM API, where calls, contacts and deals are read and written (tests: a local receiver)",
        when="blank",
    )


SETTINGS = ConversionsSettings


def get() -> ConversionsSettings:
    return core.section(ConversionsSettings)


def load(env: Mapping[str, str]) -> ConversionsSettings:
    return core.load_section(ConversionsSettings, env, core.load(env)._asdict())


def problems(s: core.Settings, c: ConversionsSettings) -> list[str]:
    found: list[str] = []
    if not s.local:
        for name, value in (
            ("GOOGLE_ADS_API_BASE_URL", c.google_ads_api_base_url),
            ("GOOGLE_OAUTH_TOKEN_URL", c.google_oauth_token_url),
            ("GA4_BASE_URL", c.ga4_base_url),
            ("META_GRAPH_BASE_URL", c.meta_graph_base_url),
            ("METRICA_API_BASE_URL", c.metrica_api_base_url),
            ("HUBSPOT_API_BASE_URL", c.hubspot_api_base_url),
        ):
            if not value.startswith("https://"):
                found.append(f"{name} {value!r} is not https on a deployed stage: it is for tests only")
    if not re.fullmatch(r"v\d+\.\d+", c.meta_graph_api_version):
        found.append(f"META_GRAPH_API_VERSION {c.meta_graph_api_version!r} is not a Graph API version like v25.0")
    if c.conversions_backfill_days < 0 or c.conversions_backfill_days > 90:
        found.append(f"CONVERSIONS_BACKFILL_DAYS {c.conversions_backfill_days} must be 0 to 90")
    return found
