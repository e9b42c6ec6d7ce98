"""Callers' rights, declared like an integration: its routes (``/v1/callers/...``, admin scope)."""

from __future__ import annotations

from chalicelib.integrations.registry import Integration

INTEGRATION = Integration(
    name="privacy",
    summary="a caller erased everywhere we hold them (DELETE /v1/callers/{number})",
    routes="chalicelib.privacy.routes",
    scopes=(("/v1/callers", "admin", "admin"),),
)
