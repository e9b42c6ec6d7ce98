"""The webhooks integration, declared: what it subscribes to, what it needs, what it keeps about a caller."""

from __future__ import annotations

from chalicelib.integrations.registry import FamilyDecl, Integration, Keep, SubscriberDecl

_HERE = "chalicelib.integrations.webhooks"

INTEGRATION = Integration(
    name="webhooks",
    summary="signed Standard Webhooks to the owner's endpoints, retried, logged and replayable",
    # One subscriber finds the endpoints an event is for and queues one message per endpoint
    # ("webhook:<endpoint id>"), each delivered and retried on its own, Svix-like schedule.
    subscribers=(
        SubscriberDecl(
            "webhooks",
            ("call.started", "call.completed", "call.updated", "call.deleted", "text.received"),
            f"{_HERE}.endpoints:on_event",
            gate=f"{_HERE}.endpoints:wanted_types",
        ),
    ),
    families=(
        FamilyDecl(
            "webhook:", f"{_HERE}.endpoints:deliver", retry_setting=f"{_HERE}.settings:outbound_webhook_retry_seconds"
        ),
    ),
    routes=f"{_HERE}.routes",
    scopes=(("/v1/webhooks", "admin", "admin"),),
    settings=f"{_HERE}.settings",
    keep=Keep(packages=("standardwebhooks",)),
    openapi="chalicelib/integrations/webhooks/openapi.yaml",
    export=f"{_HERE}.caller_data:export",
    erase=f"{_HERE}.caller_data:erase",
    erase_step=f"{_HERE}.caller_data:erase_step",
    export_step=f"{_HERE}.caller_data:export_step",
)
