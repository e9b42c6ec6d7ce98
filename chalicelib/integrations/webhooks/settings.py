"""The webhooks integration's settings, declared once (field, variable, default, parser, README line).

Read with ``get()``; the README's configuration table lists them under their own section
(``python -m chalicelib.integrations.wiring`` prints every table).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from chalicelib.core import settings as core
from chalicelib.core.settings import Section, parse_delays

# Svix's schedule after the first, immediate attempt.
DEFAULT_RETRY_SECONDS = "5,300,1800,7200,18000,36000,36000"

SECTION = Section("webhooks", "outbound webhooks")


class WebhooksSettings(NamedTuple):
    outbound_webhook_retry_seconds: tuple[int, ...] = SECTION(
        "OUTBOUND_WEBHOOK_RETRY_SECONDS",
        DEFAULT_RETRY_SECONDS,
        parse_delays,
        "delays before a failed webhook delivery is tried again (after the first, immediate attempt); then the "
        "dead-letter queue",
    )


SETTINGS = WebhooksSettings


def get() -> WebhooksSettings:
    """This process's settings (read again when ``core.get_settings`` is)."""
    return core.section(WebhooksSettings)


def load(env: Mapping[str, str]) -> WebhooksSettings:
    """The settings an environment gives (a stage's, for ``status`` and the tests)."""
    return core.load_section(WebhooksSettings, env, core.load(env)._asdict())


def problems(s: core.Settings, own: WebhooksSettings) -> list[str]:
    """Nothing of the webhooks' own can be wrong in a way a parser lets through."""
    return []
