"""Yandex Metrica's own settings, declared once (field, variable, default, parser, README line)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from chalicelib.core import settings as core
from chalicelib.core.settings import Section, parse_url

SECTION = Section("metrica", "Yandex Metrica offline calls (calls as conversions)")


class MetricaSettings(NamedTuple):
    metrica_api_base_url: str = SECTION(
        "METRICA_API_BASE_URL",
        "https://api-metrika.yandex.net",
        parse_url,
        "Yandex Metrica's management API (tests point it at a local receiver)",
        when="blank",
    )


SETTINGS = MetricaSettings


def get() -> MetricaSettings:
    """This process's settings (read again when ``core.get_settings`` is)."""
    return core.section(MetricaSettings)


def load(env: Mapping[str, str]) -> MetricaSettings:
    """The settings an environment gives (a stage's, for ``status`` and the tests)."""
    return core.load_section(MetricaSettings, env, core.load(env)._asdict())


def problems(s: core.Settings, own: MetricaSettings) -> list[str]:
    """Nothing of Metrica's own can be wrong in a way a parser lets through."""
    return []
