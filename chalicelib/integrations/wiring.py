"""The one list of integrations (and the features shaped like them): one line each.

``events/bus.py`` takes its subscribers and families from it, ``routes/events.py`` registers
its schedules with Chalice, and the local event pump runs the same schedules; the tests hold
the stage policies, the package's trim and ``docs/openapi.yaml`` to it; ``app.py`` registers
its routes, ``routes/scopes.py`` takes its routes' scopes, and the settings' problems and the
README's configuration tables take its settings. Adding an integration is its folder (with an
``integration.py``) and one line here.

Why a module of its own and not ``chalicelib/integrations/__init__.py``: the declarations of
``reports``, ``recordings`` and ``events`` import ``chalicelib.integrations.registry``, which
runs the package's ``__init__`` first; a list there would import them back while the first of
them is half-made.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType

from chalicelib.core.settings import get_settings, load, problems
from chalicelib.core.settings import readme_table as core_readme_table
from chalicelib.events.integration import INTEGRATION as EVENTS
from chalicelib.integrations.alerts.integration import INTEGRATION as ALERTS
from chalicelib.integrations.conversions.integration import INTEGRATION as CONVERSIONS
from chalicelib.integrations.crm.integration import INTEGRATION as CRM
from chalicelib.integrations.registry import Integration
from chalicelib.integrations.spam.integration import INTEGRATION as SPAM
from chalicelib.integrations.textback.integration import INTEGRATION as TEXTBACK
from chalicelib.integrations.transcripts.integration import INTEGRATION as TRANSCRIPTS
from chalicelib.integrations.webhooks.integration import INTEGRATION as WEBHOOKS
from chalicelib.privacy.integration import INTEGRATION as PRIVACY
from chalicelib.recordings.integration import INTEGRATION as RECORDINGS
from chalicelib.reports.integration import INTEGRATION as REPORTS

INTEGRATIONS: tuple[Integration, ...] = (
    EVENTS,
    REPORTS,
    RECORDINGS,
    WEBHOOKS,
    ALERTS,
    CONVERSIONS,
    PRIVACY,
    CRM,
    TEXTBACK,
    TRANSCRIPTS,
    SPAM,
)


def settings_modules() -> list[ModuleType]:
    """Each integration's settings module (``settings=`` in its declaration), imported now."""
    return [importlib.import_module(i.settings) for i in INTEGRATIONS if i.settings]


def settings_problems(env: Mapping[str, str] | None = None) -> list[str]:
    """What is wrong in the settings, the core's and every integration's: this process's, or those an
    environment gives (a stage's, for ``status`` and the tests). Never raised (see ``core.settings.problems``)."""
    core = get_settings() if env is None else load(env)
    found = problems(core)
    for module in settings_modules():
        own = module.get() if env is None else module.load(env)
        found += module.problems(core, own)
    return found


def readme_table() -> str:
    """The README's configuration tables: the core sections, then each integration's."""
    return core_readme_table(tuple((m.SECTION, m.SETTINGS) for m in settings_modules()))


if __name__ == "__main__":  # python -m chalicelib.integrations.wiring: the README's configuration tables
    print(readme_table(), end="")
