"""The platforms, one line each: name -> ``"module:attribute"`` of its ``Platform`` instance.

Named, never imported: a platform's module (and its HTTP code) loads on its first send.
"""

from __future__ import annotations

import importlib

from chalicelib.integrations.conversions.platform import Platform

PLATFORMS: dict[str, str] = {
    "google_ads": "chalicelib.integrations.conversions.google_ads.client:PLATFORM",
    "ga4": "chalicelib.integrations.conversions.ga4.client:PLATFORM",
    "meta": "chalicelib.integrations.conversions.meta.client:PLATFORM",
    "metrica": "chalicelib.integrations.conversions.metrica.client:PLATFORM",
    "bitrix24": "chalicelib.integrations.conversions.bitrix24.client:PLATFORM",
    "hubspot": "chalicelib.integrations.conversions.hubspot.client:PLATFORM",
}

_loaded: dict[str, Platform] = {}


def names() -> tuple[str, ...]:
    return tuple(PLATFORMS)


def get(name: str) -> Platform:
    """The platform's instance (``KeyError`` for an unknown name)."""
    if name not in _loaded:
        module, _, attribute = PLATFORMS[name].partition(":")
        _loaded[name] = getattr(importlib.import_module(module), attribute)
    return _loaded[name]
