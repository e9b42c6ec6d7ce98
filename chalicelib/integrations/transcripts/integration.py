"""Transcripts, declared: a subscriber that starts jobs, a schedule that reads them back, the rules' routes."""

from __future__ import annotations

from chalicelib.integrations.registry import Integration, Keep, ScheduleDecl, SubscriberDecl

_HERE = "chalicelib.integrations.transcripts"

INTEGRATION = Integration(
    name="transcripts",
    summary="recorded calls transcribed in the stage's own account; keyword rules tag, score and set outcomes",
    subscribers=(
        SubscriberDecl(
            "transcripts",
            ("call.completed", "call.updated", "call.deleted", "caller.erased"),
            f"{_HERE}.jobs:on_event",
            gate=f"{_HERE}.jobs:wanted_types",
        ),
    ),
    schedules=(
        ScheduleDecl(
            "transcripts_poll",
            1,
            f"{_HERE}.jobs:poll",
            local_seconds=2.0,  # make run: a transcript shows within seconds of the recording
            description="read finished transcription jobs back; restart failed or hung ones",
        ),
    ),
    routes=f"{_HERE}.routes",
    scopes=(("/v1/transcripts", "read", "admin"),),
    settings=f"{_HERE}.settings",
    iam=(
        {
            "Sid": "Transcribe",
            "Effect": "Allow",
            "Action": [
                "transcribe:StartTranscriptionJob",
                "transcribe:GetTranscriptionJob",
                "transcribe:DeleteTranscriptionJob",
            ],
            "Resource": ["arn:aws:transcribe:{region}:{account}:transcription-job/{prefix}*"],
        },
        {
            "Sid": "Transcripts",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": ["arn:aws:s3:::{prefix}recordings/transcripts/*"],
        },
    ),
    keep=Keep(botocore_services=("transcribe", "s3")),
    openapi="chalicelib/integrations/transcripts/openapi.yaml",
)
