"""The ``transcripts`` subscriber and the schedule that reads jobs back.

1. A call whose recording is archived (``call.completed`` or the ``call.updated`` the archive
   makes) starts one job, if its line transcribes calls of its length and the day's cap has room.
   The job's name comes from the call and the attempt, so a redelivered event starts the same job;
   the summary on the call is written only where none is (``set_if_absent``).
2. The schedule (``poll``) asks each pending job's state. Completed: the result document becomes
   turns stored in S3 (``transcripts/<call>/turns.json``), the keyword rules run over them, and
   what they say goes through the outcome editor's ``set_outcome``. Failed, or running past
   ``TRANSCRIPTS_JOB_HOURS``: started again as the next attempt; after the last, the call's
   summary says ``failed`` with the reason (and a metric and an error line say so): never lost.
3. ``call.deleted`` and ``caller.erased`` delete the objects and the engine's jobs.
"""

from __future__ import annotations

import json
import math
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.core import clock
from chalicelib.core.observability import logger, metrics
from chalicelib.core.settings import get_settings
from chalicelib.events.model import Event
from chalicelib.integrations.transcripts import engine as engines
from chalicelib.integrations.transcripts import results, rules
from chalicelib.integrations.transcripts import settings as transcript_settings
from chalicelib.recordings import storage
from chalicelib.reports import outcomes
from chalicelib.routing import lookup
from chalicelib.store import calls as store
from chalicelib.store import transcripts as jobs_store
from chalicelib.store.calls import CallChange, CallRecord
from chalicelib.store.ops import expires_after

ATTEMPTS = 3
CHECK_EVERY_MS = 30_000
MIN_BILLED_SECONDS = 15  # Transcribe bills each job at least 15 s
VOCAB_CHARS = 30_000  # the distinct words kept on the call's summary (the item's 400 KB stays far)


def wanted_types() -> set[str]:
    """The gate: with the engine off, no message is queued at all."""
    if transcript_settings.get().transcripts_engine == "off":
        return set()
    return {"call.completed", "call.updated", "call.deleted", "caller.erased"}


def engine() -> engines.Engine:
    t = transcript_settings.get()
    return engines.get_engine(t.transcripts_engine, t.transcribe_endpoint)


def spec_of(c: CallRecord, attempt: int, language: str | None = None) -> engines.JobSpec:
    t = transcript_settings.get()
    lang = language or str((c.transcript or {}).get("language") or t.transcripts_language)
    return engines.JobSpec(
        name=engines.job_name(get_settings().table_prefix, c.call_sid, attempt),
        bucket=storage.bucket(),
        media_key=str(c.recording_key),
        output_key=f"{engines.object_prefix(c.call_sid)}result-{attempt}.json",
        language=lang,
        channels=not c.voicemail,
        redact=t.transcripts_redact_pii,
    )


def turns_key(call_sid: str) -> str:
    return f"{engines.object_prefix(call_sid)}turns.json"


def on_event(event: Event) -> None:
    if event.type in ("call.deleted", "caller.erased"):
        forget(event.call_sid)
        return
    start(event.call_sid)


def line_of(c: CallRecord) -> str | None:
    return c.channel_id or c.pool_id


def mode_for(config: dict[str, Any], line: str | None) -> str | int:
    modes = config.get("lines") or {}
    raw = modes.get(line) if line else None
    return rules.parse_mode(raw if raw is not None else config.get("default", "on"))


def start(call_sid: str) -> CallRecord | None:
    """Start the call's first job (once), if its line and the day's cap let it."""
    c = store.get(call_sid, consistent=True)
    if c is None or c.erased_at or not c.recording_key or c.transcript:
        return None
    t = transcript_settings.get()
    seconds = float(c.recording_duration or c.duration or 0)
    if not rules.wanted(mode_for(jobs_store.config(), line_of(c)), seconds):
        logger.debug("the line does not transcribe this call", call_sid=call_sid)
        return None
    now = clock.now_ms()
    billed = max(MIN_BILLED_SECONDS, math.ceil(seconds))
    if not jobs_store.claim_seconds(
        clock.day_key(now), billed, t.transcripts_daily_minutes * 60, expires_after(now, 3)
    ):
        metrics.add_metric(name="TranscriptCapped", unit=MetricUnit.Count, value=1)
        logger.warning("the daily transcription cap is reached; the call is not transcribed", call_sid=call_sid)
        return store.update(
            call_sid, CallChange(set_if_absent={"transcript": {"status": "capped"}}), guard=store.EXISTS
        )
    route, _, _ = lookup(str(c.called or ""))
    language = str((route.flow or {}).get("disclosure_language") or t.transcripts_language)
    return _start_attempt(c, 1, language, now, first=True)


def _start_attempt(c: CallRecord, attempt: int, language: str, now: int, *, first: bool) -> CallRecord | None:
    spec = spec_of(c, attempt, language)
    summary = {"status": "running", "job": spec.name, "attempt": attempt, "language": language, "started_at": now}
    change = CallChange(set_if_absent={"transcript": summary}) if first else CallChange(set={"transcript": summary})
    after = store.update(c.call_sid, change, guard=store.EXISTS)
    if after is None:
        return None
    if (after.transcript or {}).get("job") != spec.name:
        return after  # another delivery started it already
    job = jobs_store.PendingJob(c.call_sid, spec.name, now, attempt, now)
    jobs_store.save_job(job, expires_after(now, 30))
    engine().start(spec)
    logger.info("transcription started", call_sid=c.call_sid, job=spec.name, attempt=attempt)
    return after


def poll(limit: int = 50) -> dict[str, int]:
    """The schedule: read back what finished, restart what failed or hangs; what it did."""
    done = {"completed": 0, "restarted": 0, "failed": 0, "waiting": 0}
    now = clock.now_ms()
    for job in jobs_store.pending_jobs(limit):
        if job.next_check_at > now:
            done["waiting"] += 1
            continue
        try:
            done[check(job, now)] += 1
        except Exception:  # one bad job never holds back the others; it is checked again next run
            logger.exception("a transcription job could not be checked", call_sid=job.call_sid, job=job.job)
    return done


def check(job: jobs_store.PendingJob, now: int) -> str:
    c = store.get(job.call_sid, consistent=True)
    if c is None or c.erased_at or not c.recording_key:
        forget(job.call_sid)
        return "failed"
    spec = spec_of(c, job.attempt)
    state = engine().state(spec)
    hours = transcript_settings.get().transcripts_job_hours
    if state.status == "COMPLETED":
        try:
            doc = json.loads(storage.s3().get_object(Bucket=spec.bucket, Key=spec.output_key)["Body"].read())
            said = results.turns(doc)
        except (ValueError, KeyError) as exc:
            return _retry(c, job, f"the result could not be read: {exc}", now)
        finish(c, said, spec.language, now)
        jobs_store.delete_job(c.call_sid)
        return "completed"
    if state.status == "FAILED":
        return _retry(c, job, state.reason or "the job failed", now)
    if now - job.started_at > hours * 3_600_000:
        return _retry(c, job, f"the job ran more than {hours} h", now)
    jobs_store.save_job(
        jobs_store.PendingJob(job.call_sid, job.job, job.started_at, job.attempt, now + CHECK_EVERY_MS),
        expires_after(now, 30),
    )
    return "waiting"


def _retry(c: CallRecord, job: jobs_store.PendingJob, reason: str, now: int) -> str:
    engine().delete(job.job)
    if job.attempt < ATTEMPTS:
        metrics.add_metric(name="TranscriptRetried", unit=MetricUnit.Count, value=1)
        logger.warning("transcription retried", call_sid=c.call_sid, job=job.job, reason=reason)
        _start_attempt(c, job.attempt + 1, spec_of(c, job.attempt).language, now, first=False)
        return "restarted"
    metrics.add_metric(name="TranscriptFailed", unit=MetricUnit.Count, value=1)
    logger.error("transcription failed after every attempt", call_sid=c.call_sid, job=job.job, reason=reason)
    summary = {**(c.transcript or {}), "status": "failed", "error": reason[:300], "failed_at": now}
    store.update(c.call_sid, CallChange(set={"transcript": summary}), guard=store.EXISTS)
    jobs_store.delete_job(c.call_sid)
    return "failed"


def finish(c: CallRecord, said: list[results.Turn], language: str, now: int) -> CallRecord | None:
    """Store the turns, run the rules, put the summary on the call and act through the outcome editor."""
    found = rules.match(load_rules(), said, line_of(c))
    key = turns_key(c.call_sid)
    payload = {
        "turns": [t.to_json() for t in said],
        "matches": {str(n): phrases for n, phrases in found.turns.items()},
    }
    storage.s3().put_object(
        Bucket=storage.bucket(),
        Key=key,
        Body=json.dumps(payload).encode(),
        ContentType="application/json",
        ServerSideEncryption="AES256",
    )
    summary: dict[str, Any] = {
        "status": "completed",
        "key": key,
        "language": language,
        "turns": len(said),
        "words": sum(len(t.text.split()) for t in said),
        "seconds": round(max((t.end for t in said), default=0.0), 1),
        "keywords": list(found.keywords),
        "rules": list(found.rules),
        "rule_tags": list(found.tags),
        "score": found.score,
        "completed_at": now,
        "excerpt": " ".join(t.text for t in said)[:200],
        # Every word once, for the log's search (the turns stay in S3): an hour's call has a few thousand.
        "vocab": " ".join(sorted({w for t in said for w in rules.words(t.text)}))[:VOCAB_CHARS],
    }
    after = store.update(c.call_sid, CallChange(set={"transcript": summary}), guard=store.EXISTS)
    if after is None:
        return None
    logger.info("transcript stored", call_sid=c.call_sid, turns=len(said), keywords=len(found.keywords))
    return apply(after, found)


def apply(c: CallRecord, found: rules.Verdict) -> CallRecord:
    """What the rules found, through the outcome editor: a person's outcome and tags stay."""
    body: dict[str, Any] = {}
    if found.outcome and not c.outcome:
        body["outcome"] = found.outcome
    have = set(c.tags or ())
    if found.tags and not set(found.tags) <= have:
        body["tags"] = sorted(have | set(found.tags))[: outcomes.MAX_TAGS]
    if not body:
        return c
    return outcomes.set_outcome(c.call_sid, body)


def load_rules() -> list[rules.Rule]:
    raw = jobs_store.config().get("rules") or []
    return [rules.parse_rule(r, i) for i, r in enumerate(raw)]


def read_turns(c: CallRecord) -> dict[str, Any] | None:
    """The stored conversation of a transcribed call (turns and where the keywords were)."""
    key = (c.transcript or {}).get("key")
    if not key:
        return None
    client = storage.s3()
    try:
        data: dict[str, Any] = json.loads(client.get_object(Bucket=storage.bucket(), Key=key)["Body"].read())
    except client.exceptions.NoSuchKey:
        return None
    return data


def forget(call_sid: str) -> None:
    """The call is gone or its caller erased: its transcript objects and the engine's jobs go too."""
    client, bucket, prefix = storage.s3(), storage.bucket(), engines.object_prefix(call_sid)
    for key in [f"{prefix}turns.json"] + [f"{prefix}result-{n}.json" for n in range(1, ATTEMPTS + 1)]:
        client.delete_object(Bucket=bucket, Key=key)
    for n in range(1, ATTEMPTS + 1):
        engine().delete(engines.job_name(get_settings().table_prefix, call_sid, n))
    jobs_store.delete_job(call_sid)
    logger.info("transcript deleted with its call", call_sid=call_sid)
