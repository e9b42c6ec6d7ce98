"""The Meta Conversions API's own settings, declared once (field, variable, default, parser, README line).

Where Meta's Graph API is and which version we speak: one place, so a version bump is one line and
the tests point the base URL at their local receiver.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from chalicelib.core import settings as core
from chalicelib.core.settings import Section, parse_stripped, parse_url

SECTION = Section("meta", "Meta Conversions API (calls as conversions)")


class MetaSettings(NamedTuple):
    meta_graph_base_url: str = SECTION(
        "META_GRAPH_BASE_URL",
        "https://graph.facebook.com",
        parse_url,
        "Meta's Graph API (tests point it at a local receiver)",
        when="blank",
    )
    meta_graph_api_version: str = SECTION(
        "META_GRAPH_API_VERSION",
        "v25.0",
        parse_stripped,
        "the Graph API version the Conversions API is called with (each is supported for at least two years)",
        when="blank",
    )


SETTINGS = MetaSettings


def get() -> MetaSettings:
    """This process's settings (read again when ``core.get_settings`` is)."""
    return core.section(MetaSettings)


def load(env: Mapping[str, str]) -> MetaSettings:
    """The settings an environment gives (a stage's, for ``status`` and the tests)."""
    return core.load_section(MetaSettings, env, core.load(env)._asdict())


def problems(s: core.Settings, own: MetaSettings) -> list[str]:
    """A version Meta would not route (``v25.0``) is the one mistake a parser lets through."""
    if not re.fullmatch(r"v\d+\.\d+", own.meta_graph_api_version):
        return [f"META_GRAPH_API_VERSION {own.meta_graph_api_version!r} is not a Graph API version like v25.0"]
    return []
