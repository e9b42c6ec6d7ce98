"""Transcripts' items in the counters table: the jobs still to be read back, the daily seconds
sent to transcription (the cap), and the deployment's keyword rules and per-line modes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.store import keys
from chalicelib.store.models import CounterModel
from chalicelib.store.ops import condition_failed


@dataclass(frozen=True)
class PendingJob:
    """A transcription job started and not read back yet."""

    call_sid: str
    job: str
    started_at: int
    attempt: int
    next_check_at: int


def _job(item: CounterModel) -> PendingJob:
    d = item.data or {}
    return PendingJob(
        call_sid=item.sk,
        job=str(d.get("job", "")),
        started_at=int(d.get("started_at", 0)),
        attempt=int(d.get("attempt", 1)),
        next_check_at=int(d.get("next_check_at", 0)),
    )


def save_job(job: PendingJob, expires_at: datetime, *, ctx: RequestContext = SYSTEM) -> None:
    """Remember a started job (a restart with the next attempt replaces it). One PutItem."""
    key = keys.transcript_job(job.call_sid)
    data = {"job": job.job, "started_at": job.started_at, "attempt": job.attempt, "next_check_at": job.next_check_at}
    CounterModel(key.pk, key.sk, data=data, expires_at=expires_at).save()


def pending_jobs(limit: int, *, ctx: RequestContext = SYSTEM) -> list[PendingJob]:
    """Up to ``limit`` jobs to read back (one Query page)."""
    pk = keys.transcript_job("").pk
    return [_job(i) for i in CounterModel.query(pk, limit=limit)]


def get_job(call_sid: str, *, ctx: RequestContext = SYSTEM) -> PendingJob | None:
    key = keys.transcript_job(call_sid)
    try:
        return _job(CounterModel.get(key.pk, key.sk))
    except CounterModel.DoesNotExist:
        return None


def delete_job(call_sid: str, *, ctx: RequestContext = SYSTEM) -> None:
    key = keys.transcript_job(call_sid)
    CounterModel(key.pk, key.sk).delete()


def claim_seconds(day: str, seconds: int, cap: int, expires_at: datetime, *, ctx: RequestContext = SYSTEM) -> bool:
    """Add ``seconds`` to the day's transcribed seconds unless that would pass ``cap`` (one
    conditional UpdateItem): two jobs racing for the last minutes cannot both pass."""
    key = keys.transcript_minutes(day)
    item = CounterModel(key.pk, key.sk)
    condition = CounterModel.total.does_not_exist() | (CounterModel.total <= cap - seconds)
    if seconds > cap:
        return False
    try:
        item.update(
            actions=[CounterModel.total.add(seconds), CounterModel.expires_at.set(expires_at)], condition=condition
        )
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def seconds_on(day: str, *, ctx: RequestContext = SYSTEM) -> int:
    key = keys.transcript_minutes(day)
    try:
        return int(CounterModel.get(key.pk, key.sk).total or 0)
    except CounterModel.DoesNotExist:
        return 0


def config(*, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """The keyword rules and per-line modes as stored (``{}`` when never saved). One GetItem."""
    key = keys.transcript_config()
    try:
        return dict(CounterModel.get(key.pk, key.sk).data or {})
    except CounterModel.DoesNotExist:
        return {}


def save_config(data: dict[str, Any], *, ctx: RequestContext = SYSTEM) -> None:
    """Replace the rules and modes. One PutItem."""
    key = keys.transcript_config()
    CounterModel(key.pk, key.sk, total=len(data.get("rules", [])), data=data).save()
