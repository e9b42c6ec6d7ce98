"""The alerts integration, declared: call alerts per recipient, digests, scheduled alerts and summaries."""

from __future__ import annotations

from chalicelib.integrations.registry import FamilyDecl, Integration, Keep, ScheduleDecl, SubscriberDecl

_HERE = "chalicelib.integrations.alerts"

INTEGRATION = Integration(
    name="alerts",
    summary="alerts by email, Slack, Telegram or SMS on call changes and conditions; digests and summary emails",
    # One subscriber finds the recipients a call change alerts and queues one message per
    # recipient ("alert:<recipient id>"), each sent (or held for a digest) and retried on its own.
    subscribers=(
        SubscriberDecl(
            "alerts",
            ("call.completed", "call.updated"),
            f"{_HERE}.dispatch:on_event",
            gate=f"{_HERE}.dispatch:wanted_types",
        ),
        # Texts to tracking numbers, forwarded to the owner by SMS or email (chalicelib/integrations/alerts/texts.py).
        SubscriberDecl("text_forward", ("text.received",), f"{_HERE}.texts:on_event"),
    ),
    families=(FamilyDecl("alert:", f"{_HERE}.dispatch:deliver"),),
    schedules=(
        ScheduleDecl(
            "alerts_and_summaries",
            5,
            f"{_HERE}.schedule:run",
            local_seconds=60.0,  # make run: a digest or summary shows within the minute
            description="digests whose window ended, alerts on conditions (pools, webhooks, stuck events), summaries",
        ),
    ),
    routes=f"{_HERE}.routes",
    scopes=(("/v1/alerts", "admin", "admin"),),
    settings=f"{_HERE}.settings",
    iam=(
        {
            "Sid": "AlertSecrets",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:PutParameter", "ssm:DeleteParameter"],
            "Resource": ["arn:aws:ssm:{region}:{account}:parameter/calltracking/{stage}/alerts/*"],
        },
        {
            "Sid": "AlertEmails",
            "Effect": "Allow",
            "Action": ["ses:SendEmail", "ses:GetEmailIdentity"],
            "Resource": ["arn:aws:ses:{region}:{account}:identity/*"],
        },
        # An account-level call: no resource-level permission exists for it.
        {"Sid": "AlertEmailAccount", "Effect": "Allow", "Action": ["ses:GetAccount"], "Resource": ["*"]},
    ),
    keep=Keep(botocore_services=("sesv2", "ssm")),
    openapi="chalicelib/integrations/alerts/openapi.yaml",
    export=f"{_HERE}.caller_data:export",
    erase=f"{_HERE}.caller_data:erase",
)
