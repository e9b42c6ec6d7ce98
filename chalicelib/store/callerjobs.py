"""Callers' access and erasure jobs (``chalicelib.privacy.jobs``): one item per job in the counters
table (``keys.caller_job``), and one "running" item per (kind, caller hash) so a replayed request
finds the job it started instead of starting a second one.

A job item holds its kind, state, progress, the caller's keyed hash, and, only while it runs,
the caller's number and the cursor into the caller index (whose key holds the number too); the
last chunk removes both (``finish``). A finished job is kept ``JOB_DAYS`` (TTL), then goes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import PutError

from chalicelib.core import clock
from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.store import keys
from chalicelib.store.models import CounterModel
from chalicelib.store.ops import condition_failed, expires_after

JOB_DAYS = 7


@dataclass(frozen=True)
class CallerJob:
    id: str
    kind: str  # "access" or "erase"
    state: str  # "running", "done"
    caller_hash: str
    created_at: int
    updated_at: int
    number: str | None = None  # only while running
    cursor: str | None = None  # the caller index's resume token (``store.cursor``), only while running
    done: int = 0  # calls handled so far
    chunks: int = 0
    result: dict[str, Any] = field(default_factory=dict)  # erasure: its answer; access: the document's key
    actor: str = ""


def _record(item: CounterModel) -> CallerJob:
    d = dict(item.data or {})
    return CallerJob(
        id=item.sk,
        kind=str(d.get("kind", "")),
        state=str(d.get("state", "")),
        caller_hash=str(d.get("caller_hash", "")),
        created_at=int(d.get("created_at", 0)),
        updated_at=int(d.get("updated_at", 0)),
        number=d.get("number"),
        cursor=d.get("cursor"),
        done=int(d.get("done", 0)),
        chunks=int(d.get("chunks", 0)),
        result=dict(d.get("result") or {}),
        actor=str(d.get("actor", "")),
    )


def _data(job: CallerJob) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": job.kind,
        "state": job.state,
        "caller_hash": job.caller_hash,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "done": job.done,
        "chunks": job.chunks,
        "result": job.result,
        "actor": job.actor,
    }
    if job.state == "running":  # the number and cursor never outlive the job's run
        data.update(number=job.number, cursor=job.cursor)
    return data


def start(
    kind: str, caller_hash: str, number: str, actor: str, *, ctx: RequestContext = SYSTEM
) -> tuple[CallerJob, bool]:
    """The running job of ``kind`` for the caller, started now unless one runs already; and
    whether it was started now. One conditional PutItem (plus one GetItem for a replay)."""
    now = clock.now_ms()
    job = CallerJob(secrets.token_hex(8), kind, "running", caller_hash, now, now, number=number, actor=actor)
    marker = keys.caller_job_running(kind, caller_hash)
    try:
        CounterModel(marker.pk, marker.sk, data={"id": job.id}, expires_at=expires_after(now, JOB_DAYS)).save(
            condition=CounterModel.pk.does_not_exist()
        )
    except PutError as exc:
        if not condition_failed(exc):
            raise
        running = CounterModel.get(marker.pk, marker.sk, consistent_read=True)
        found = get(str((running.data or {}).get("id", "")))
        if found is not None and found.state == "running":
            return found, False
        CounterModel(marker.pk, marker.sk).delete()  # a job that ended without clearing it
        return start(kind, caller_hash, number, actor, ctx=ctx)
    save(job)
    return job, True


def save(job: CallerJob, *, ctx: RequestContext = SYSTEM) -> None:
    """The job as it is after a chunk. One PutItem."""
    key = keys.caller_job(job.id)
    CounterModel(key.pk, key.sk, data=_data(job), expires_at=expires_after(job.created_at, JOB_DAYS)).save()


def finish(job: CallerJob, *, ctx: RequestContext = SYSTEM) -> None:
    """The job done: saved without the number and cursor, its running marker deleted."""
    save(job)
    CounterModel(*keys.caller_job_running(job.kind, job.caller_hash)).delete()


def get(job_id: str, *, ctx: RequestContext = SYSTEM) -> CallerJob | None:
    if not job_id or len(job_id) > 64:
        return None
    try:
        return _record(CounterModel.get(*keys.caller_job(job_id), consistent_read=True))
    except CounterModel.DoesNotExist:
        return None


def running(*, ctx: RequestContext = SYSTEM) -> list[CallerJob]:
    """Every job still running (the schedule's work). One Query of the jobs' partition."""
    return [j for j in (_record(i) for i in CounterModel.query(keys.CALLER_JOBS_PK)) if j.state == "running"]
