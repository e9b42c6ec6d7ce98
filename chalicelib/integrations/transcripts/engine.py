"""Transcription engines behind one interface: Amazon Transcribe in AWS, and the local engine
(``calltracking_local.speech``: pocketsphinx, for ``make run`` and the tests).

Both read the recording where the archive put it and write AWS's result document to
``transcripts/<call>/result-<attempt>.json`` in the same bucket; ``jobs`` reads it back from there.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.core import aws

_SAFE = re.compile(r"[^0-9A-Za-z_-]")
TRANSCRIBE = aws.Limits(connect=2, read=10, max_attempts=3)


@dataclass(frozen=True)
class JobSpec:
    """One transcription job of one call's recording (one attempt)."""

    name: str  # derived from the call and the attempt, so a retried start repeats the same job
    bucket: str
    media_key: str
    output_key: str
    language: str
    channels: bool  # channel identification (caller and business); off for mono voicemail
    redact: bool


@dataclass(frozen=True)
class JobState:
    status: str  # "QUEUED", "IN_PROGRESS", "COMPLETED" or "FAILED" (Transcribe's words)
    reason: str | None = None


class Engine(Protocol):
    def start(self, spec: JobSpec) -> None:
        """Start the job; a job of that name that exists already is the same job (no error)."""

    def state(self, spec: JobSpec) -> JobState: ...

    def delete(self, name: str) -> None:
        """Forget the job (a missing one is fine)."""


def object_prefix(call_sid: str) -> str:
    return f"transcripts/{_SAFE.sub('_', call_sid)}/"


def job_name(prefix: str, call_sid: str, attempt: int) -> str:
    """Transcribe's names are ``[0-9a-zA-Z._-]``, unique per account and region: the stage's
    table prefix keeps two stages in one account apart."""
    return f"{_SAFE.sub('-', prefix)}{_SAFE.sub('_', call_sid)}-{attempt}".strip("-")


class TranscribeEngine:
    """Amazon Transcribe: batch jobs on the S3 object, output to our own bucket."""

    def __init__(self, endpoint: str | None) -> None:
        self.endpoint = endpoint

    def _client(self) -> Any:
        return aws.client("transcribe", TRANSCRIBE, endpoint=self.endpoint)

    def start(self, spec: JobSpec) -> None:
        client = self._client()
        params: dict[str, Any] = {
            "TranscriptionJobName": spec.name,
            "LanguageCode": spec.language,
            "Media": {"MediaFileUri": f"s3://{spec.bucket}/{spec.media_key}"},
            "OutputBucketName": spec.bucket,
            "OutputKey": spec.output_key,
        }
        if spec.channels:
            params["Settings"] = {"ChannelIdentification": True}
        if spec.redact:
            params["ContentRedaction"] = {"RedactionType": "PII", "RedactionOutput": "redacted"}
        # A conflict: started by an earlier delivery of the same event, the same job.
        with contextlib.suppress(client.exceptions.ConflictException):
            client.start_transcription_job(**params)

    def state(self, spec: JobSpec) -> JobState:
        client = self._client()
        try:
            job = client.get_transcription_job(TranscriptionJobName=spec.name)["TranscriptionJob"]
        except client.exceptions.NotFoundException:
            return JobState("FAILED", "the job is gone")
        return JobState(str(job.get("TranscriptionJobStatus")), job.get("FailureReason"))

    def delete(self, name: str) -> None:
        client = self._client()
        with contextlib.suppress(client.exceptions.NotFoundException):
            client.delete_transcription_job(TranscriptionJobName=name)


_engine: Engine | None = None


def get_engine(kind: str, endpoint: str | None) -> Engine:
    """The configured engine, built once (``set_engine(None)`` rebuilds it)."""
    global _engine
    if _engine is None:
        if kind == "local":
            from calltracking_local.speech import LocalEngine  # outside the Lambda package: make run and tests

            _engine = LocalEngine()
        else:
            _engine = TranscribeEngine(endpoint)
    return _engine


def set_engine(engine: Engine | None) -> None:
    global _engine
    _engine = engine
