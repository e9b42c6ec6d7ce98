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
            description="numbers masked after CALLER_MASK_DAYS; recordings deleted after RECORDING_RETENTION_DAYS; "
            "an idle pool number's copy of its last visit's source removed after LEASE_HISTORY_DAYS",
        ),
        ScheduleDecl(
            "caller_jobs",
            1,
            "chalicelib.privacy.jobs:run",
            local_seconds=2,
            description="a chunk of each running access or erasure job of a caller with many calls",
        ),
    ),
    routes="chalicelib.privacy.routes",
    iam=(
        {
            "Sid": "CallersObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": [
                "arn:aws:s3:::{prefix}recordings/erasures/*",
                "arn:aws:s3:::{prefix}recordings/callers/*",
            ],
        },
        {
            "Sid": "CallersObjectsList",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": ["arn:aws:s3:::{prefix}recordings"],
            "Condition": {"StringLike": {"s3:prefix": ["erasures/*", "callers/*"]}},
        },
    ),
    scopes=(("/v1/callers", "admin", "admin"),),
)
