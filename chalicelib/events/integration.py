"""The call events' own background work, declared like an integration: the sweep and the queues it needs."""

from __future__ import annotations

from chalicelib.integrations.registry import Integration, Keep, ScheduleDecl

INTEGRATION = Integration(
    name="events",
    summary="the calls table's stream fanned out through SQS, and the sweep re-sending what a subscriber missed",
    schedules=(
        ScheduleDecl(
            "sweep_call_events",
            15,
            "chalicelib.events.sweep:run",
            description="completed calls whose events a subscriber never handled, sent again",
        ),
    ),
    routes="chalicelib.events.routes",
    scopes=(("/v1/events", "read", "write"),),
    iam=(
        {
            "Sid": "CallsStream",
            "Effect": "Allow",
            "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
            "Resource": ["arn:aws:dynamodb:{region}:{account}:table/{prefix}calls/stream/*"],
        },
        {"Sid": "StreamsList", "Effect": "Allow", "Action": ["dynamodb:ListStreams"], "Resource": ["*"]},
        {
            "Sid": "EventsQueues",
            "Effect": "Allow",
            "Action": [
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ReceiveMessage",
                "sqs:SendMessage",
            ],
            "Resource": [
                "arn:aws:sqs:{region}:{account}:{prefix}events",
                "arn:aws:sqs:{region}:{account}:{prefix}events-dlq",
            ],
        },
    ),
    keep=Keep(botocore_services=("sqs",)),
)
