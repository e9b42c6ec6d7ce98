"""The conversions integration, declared: calls sent to ad platforms as conversions, exactly once."""

from __future__ import annotations

from chalicelib.integrations.registry import FamilyDecl, Integration, Keep, ScheduleDecl, SubscriberDecl

_HERE = "chalicelib.integrations.conversions"

INTEGRATION = Integration(
    name="conversions",
    summary="answered calls as conversions in Google Ads and GA4 (and more platforms): rules, exactly once, a log",
    # One subscriber finds the active destinations and queues one message per destination
    # ("conversion:<destination id>"), each sent and retried on its own schedule.
    subscribers=(
        SubscriberDecl(
            "conversions",
            ("call.completed", "call.updated"),
            f"{_HERE}.delivery:on_event",
            gate=f"{_HERE}.delivery:wanted_types",
        ),
    ),
    families=(
        FamilyDecl(
            "conversion:", f"{_HERE}.delivery:deliver", retry_setting=f"{_HERE}.settings:conversions_retry_seconds"
        ),
    ),
    schedules=(
        ScheduleDecl(
            "conversions_later",
            15,
            f"{_HERE}.delivery:run_later",
            local_seconds=300.0,  # make run: a 6-hour wait is simulated by the clock, not waited for
            description="conversions a platform said to send later (Google's TOO_RECENT_EVENT), when due",
        ),
        ScheduleDecl(
            "conversions_backfill",
            5,
            f"{_HERE}.delivery:run_backfill",
            local_seconds=120.0,
            description="a new destination's past calls, a page at a time from a stored cursor",
        ),
    ),
    routes=f"{_HERE}.routes",
    scopes=(("/v1/conversions", "read", "admin"),),
    settings=f"{_HERE}.settings",
    iam=(
        {
            "Sid": "ConversionCredentials",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:PutParameter", "ssm:DeleteParameter"],
            "Resource": ["arn:aws:ssm:{region}:{account}:parameter/calltracking/{stage}/conversions/*"],
        },
    ),
    keep=Keep(botocore_services=("ssm",), packages=("google", "rsa", "pyasn1", "pyasn1_modules")),
    openapi="chalicelib/integrations/conversions/openapi.yaml",
    export=f"{_HERE}.caller_data:export",
    erase=f"{_HERE}.caller_data:erase",
)
