"""Reports as a subscriber, declared like an integration: the aggregates follow every call change."""

from __future__ import annotations

from chalicelib.integrations.registry import Integration, ScheduleDecl, SubscriberDecl

INTEGRATION = Integration(
    name="reports",
    summary="the aggregates per source and day, kept up to date by every completed or updated call",
    # Not gated: every completed call counts, whatever is configured.
    subscribers=(
        SubscriberDecl(
            "reports", ("call.completed", "call.updated", "text.received"), "chalicelib.reports.aggregates:on_event"
        ),
        # The call-back list (chalicelib/callbacks.py): each caller's entry follows their calls.
        SubscriberDecl("callbacks", ("call.completed", "call.updated"), "chalicelib.callbacks:on_event"),
    ),
    schedules=(
        ScheduleDecl(
            "rebuild_report_days",
            1,
            "chalicelib.reports.rebuild:scheduled",
            local_seconds=2,
            description="after a change of the business's time zone, a chunk of the report days' rebuild; "
            "then a chunk of sealing closed days' caller sets",
        ),
    ),
    routes="chalicelib.reports.routes",
    scopes=(("/v1/reports", "read", "write"), ("/v1/spend", "read", "write"), ("/v1/settings", "read", "write")),
)
