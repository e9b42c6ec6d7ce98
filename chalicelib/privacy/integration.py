"""Callers' rights, declared like an integration: its routes (``/v1/callers/...``, admin scope)."""

from __future__ import annotations

from chalicelib.integrations.registry import Integration, ScheduleDecl

INTEGRATION = Integration(
    name="privacy",
    summary="a caller erased everywhere we hold them (DELETE /v1/callers/{number})",
    schedules=(
        ScheduleDecl(
            "retention_by_kind",
            1440,
            "chalicelib.privacy.retention:sweep",
            local_seconds=3600,
            description="numbers masked after CALLER_MASK_DAYS; recordings deleted after RECORDING_RETENTION_DAYS",
        ),
    ),
    routes="chalicelib.privacy.routes",
    scopes=(("/v1/callers", "admin", "admin"),),
)
