"""A module imported on first use: what only some requests need stays out of the cold start
every request (the voice webhook's included) pays for."""

from __future__ import annotations

import importlib
from typing import Any


class _LazyModule:
    """A module imported on first attribute access (``lazy_module``)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)


def lazy_module(name: str) -> Any:
    """``name``, imported when a route first uses it."""
    return _LazyModule(name)
