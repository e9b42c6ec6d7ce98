"""A stand-in for Amazon Transcribe's batch API (JSON 1.1, ``X-Amz-Target: Transcribe.*``) on loopback.

moto's Transcribe only steps a job's status and writes no transcript, so this one does what the
integration relies on: it checks each StartTranscriptionJob as AWS documents it (media in S3, our
bucket and key for the output, channel identification), answers ConflictException for a name in
use and NotFoundException for an unknown one, and, as each test's ``plan`` says, fails a job,
keeps it running, or completes it by writing the result document in AWS's documented shape
(``results.transcripts``, ``results.channel_labels.channels[].items[]`` with ``start_time``,
``end_time``, ``alternatives[].content`` and ``type``, and ``results.items``) into the bucket.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.support.receivers import JsonHandler, serving

Plan = Callable[[str, int], str]  # (job name, how many times it was asked) -> FAILED / IN_PROGRESS / COMPLETED


class StandIn:
    def __init__(self, write: Callable[[str, str, dict[str, Any]], None]) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.plan: Plan = lambda name, asked: "COMPLETED"
        self.words: list[list[tuple[float, float, str]]] = [[(0.5, 0.9, "hello")], []]
        self.write = write  # (bucket, key, document): puts the output where the job said

    def handle(self, action: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.requests.append((action, body))
        name = body.get("TranscriptionJobName", "")
        if action == "StartTranscriptionJob":
            problem = _check_start(body)
            if problem:
                return 400, {"__type": "BadRequestException", "Message": problem}
            if name in self.jobs:
                return 400, {"__type": "ConflictException", "Message": "The requested job name already exists."}
            self.jobs[name] = {"params": body, "asked": 0, "status": "QUEUED"}
            return 200, {"TranscriptionJob": {"TranscriptionJobName": name, "TranscriptionJobStatus": "QUEUED"}}
        job = self.jobs.get(name)
        if job is None:
            return 400, {"__type": "NotFoundException", "Message": "The requested job couldn't be found."}
        if action == "DeleteTranscriptionJob":
            del self.jobs[name]
            return 200, {}
        if action == "GetTranscriptionJob":
            job["asked"] += 1
            if job["status"] not in ("COMPLETED", "FAILED"):
                job["status"] = self.plan(name, job["asked"])
                if job["status"] == "COMPLETED":
                    from chalicelib.integrations.transcripts.results import document

                    p = job["params"]
                    self.write(p["OutputBucketName"], p["OutputKey"], document(name, self.words))
            out = {"TranscriptionJobName": name, "TranscriptionJobStatus": job["status"]}
            if job["status"] == "FAILED":
                out["FailureReason"] = "The media file is too short (test plan)."
            return 200, {"TranscriptionJob": out}
        return 400, {"__type": "BadRequestException", "Message": f"not served here: {action}"}

    def started(self) -> list[dict[str, Any]]:
        return [b for a, b in self.requests if a == "StartTranscriptionJob"]

    def deleted(self) -> list[str]:
        return [b["TranscriptionJobName"] for a, b in self.requests if a == "DeleteTranscriptionJob"]


def _check_start(body: dict[str, Any]) -> str | None:
    for field in ("TranscriptionJobName", "LanguageCode", "Media", "OutputBucketName"):
        if field not in body:
            return f"{field} is required"
    if not str(body["Media"].get("MediaFileUri", "")).startswith("s3://"):
        return "MediaFileUri must be an S3 URI"
    name = body["TranscriptionJobName"]
    if not name or len(name) > 200 or not all(c.isalnum() or c in "._-" for c in name):
        return "TranscriptionJobName must match ^[0-9a-zA-Z._-]+"
    if not str(body.get("OutputKey", "")).endswith(".json"):
        return "this integration names its output object"
    return None


@contextmanager
def standin(write: Callable[[str, str, dict[str, Any]], None]) -> Iterator[tuple[StandIn, str]]:
    state = StandIn(write)

    class Handler(JsonHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            action = str(self.headers.get("x-amz-target", "")).split(".")[-1]
            status, answer = state.handle(action, body)
            self.answer_json(status, answer)

    with serving(Handler) as url:
        yield state, url


@pytest.fixture
def transcribe(tables: None, settings_env: Any) -> Iterator[StandIn]:
    """The stand-in, with the app's engine set to ``transcribe`` at it (the output goes to moto's S3)."""
    from chalicelib.integrations.transcripts import engine as engines
    from chalicelib.recordings import storage

    def write(bucket: str, key: str, doc: dict[str, Any]) -> None:
        storage.s3().put_object(Bucket=bucket, Key=key, Body=json.dumps(doc).encode())

    with standin(write) as (state, url):
        settings_env(TRANSCRIPTS_ENGINE="transcribe", TRANSCRIBE_ENDPOINT=url)
        engines.set_engine(None)
        yield state
    engines.set_engine(None)
