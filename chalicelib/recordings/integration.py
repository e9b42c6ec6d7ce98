"""The recordings archive, declared like an integration: Twilio's copy to the stage's private S3, then deleted."""

from __future__ import annotations

from chalicelib.integrations.registry import Integration, Keep, SubscriberDecl

INTEGRATION = Integration(
    name="recordings",
    summary="each call's recording copied from Twilio into the private bucket; deleted with its call",
    subscribers=(
        SubscriberDecl(
            "recordings",
            ("call.completed", "call.updated", "call.deleted"),
            "chalicelib.recordings.archive:on_event",
        ),
    ),
    routes="chalicelib.recordings.routes",
    iam=(
        {
            "Sid": "Recordings",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": ["arn:aws:s3:::{prefix}recordings/recordings/*"],
        },
        {
            "Sid": "Greetings",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": ["arn:aws:s3:::{prefix}recordings/greetings/*"],
        },
    ),
    keep=Keep(botocore_services=("s3",)),
)
