"""Chalice blueprints: each route parses its request, calls one function, returns.

The blueprints here serve the domain and the dashboard; an integration's (or a feature's) own
routes live in its folder and are registered by ``app.py`` from the wiring list.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from chalicelib.core.lazy import lazy_module

if TYPE_CHECKING:
    from chalice import Chalice

    from chalicelib.integrations.registry import Integration

__all__ = ["lazy_module", "register_integration_routes"]


def register_integration_routes(app: Chalice, integrations: Iterable[Integration]) -> list[str]:
    """Register each integration's own blueprint (its ``routes`` module's ``bp``); the modules registered."""
    done = []
    for integration in integrations:
        if integration.routes:
            app.register_blueprint(importlib.import_module(integration.routes).bp)
            done.append(integration.routes)
    return done
