"""The one list of integrations (and the features shaped like them): one line each.

``events/bus.py`` takes its subscribers and families from it, ``routes/events.py`` registers
its schedules with Chalice, and the local event pump runs the same schedules; the tests hold
the stage policies, the package's trim and ``docs/openapi.yaml`` to it. Adding an integration
is its folder (with an ``integration.py``) and one line here.

Why a module of its own and not ``chalicelib/integrations/__init__.py``: the declarations of
``reports``, ``recordings`` and ``events`` import ``chalicelib.integrations.registry``, which
runs the package's ``__init__`` first; a list there would import them back while the first of
them is half-made.
"""

from __future__ import annotations

from chalicelib.events.integration import INTEGRATION as EVENTS
from chalicelib.integrations.alerts.integration import INTEGRATION as ALERTS
from chalicelib.integrations.registry import Integration
from chalicelib.integrations.webhooks.integration import INTEGRATION as WEBHOOKS
from chalicelib.recordings.integration import INTEGRATION as RECORDINGS
from chalicelib.reports.integration import INTEGRATION as REPORTS

INTEGRATIONS: tuple[Integration, ...] = (
    EVENTS,
    REPORTS,
    RECORDINGS,
    WEBHOOKS,
    ALERTS,
)
