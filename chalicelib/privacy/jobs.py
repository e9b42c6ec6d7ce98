"""A heavy caller's access and erasure as background jobs, within Lambda's 20 s and API Gateway's 6 MB.

``GET``/``DELETE /v1/callers/{number}`` (and the dashboard's caller page) come here first. A
caller with at most ``CALLER_JOB_THRESHOLD`` calls is answered within the request (``access.held``,
``erasure.erase``: 200). Past it the answer is 202 with a job (``store.callerjobs``) and a
``Location``, ``/v1/callers/jobs/{id}``, that says its state and progress and, for access, where
the document is: a short-lived presigned URL of a JSON object in the stage's private bucket
(``erasurelog``: ``callers/``, deleted after a day), never a body over 6 MB. A replayed request
while the job runs gets the same job (one "running" item per kind and keyed hash).

The ``caller_jobs`` schedule (``privacy/integration.py``; the local pump runs it too) takes each
running job one chunk at a time: a page of the caller index from the job's stored cursor (the
codec of every paged list, ``store.cursor``), the page's calls erased (``erasure.erase_page``,
after the page's sids went into the erasure log) or written as one part of the document, then
the cursor saved; a timeout or a crash loses at most one page and the next run resumes there.
After the last page: for an erasure, the stepped hooks (``Integration.erase_step``: the webhook
deliveries' scrub, whose work grows with every delivery kept, not with the caller's calls) one
bounded step per chunk, their token in the same cursor field (the job's ``result`` says which
hook it is at), then the rest of ``erasure.forget_caller`` and the log's last object; for access,
the parts joined into the one document. An erasure within a request whose stepped hooks outlast
``erasure.STEP_SECONDS`` becomes such a job in its hooks' phase (``_hand_over``: 202).

Why steps and not an index of deliveries by the caller's keyed hash (a query of that caller's
deliveries only): the index would cost a write more per delivery attempt, need a backfill
of the deliveries kept before it and still miss a delivery whose index write failed; the steps
change nothing on the delivery path and read each kept delivery once, in chunks.

What a job item holds: its kind, state, progress (calls, chunks), who started it, the caller's
keyed hash (how a replay finds it), and, only while it runs, the number and the cursor (the
caller index is keyed by the number, and the integrations' hooks take it); the last chunk
saves the job without both, and the finished item expires after ``callerjobs.JOB_DAYS``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any
from urllib.parse import unquote

from chalicelib import calls
from chalicelib.core import callerkeys, clock
from chalicelib.core.context import SYSTEM, RequestContext, log_change
from chalicelib.core.errors import NotFound
from chalicelib.core.observability import logger
from chalicelib.core.settings import get_settings
from chalicelib.core.validation import e164
from chalicelib.privacy import access, erasure, erasurelog
from chalicelib.store import callerjobs, callers
from chalicelib.store import calls as store_calls
from chalicelib.store.cursor import CursorCodec

CHUNK_SECONDS = 12.0  # work per run, under the Lambda's 20 s with room for the last page
PAGE = 50  # calls per chunk's page of the caller index (bench/callerjobs.py: an erasure's 100 took up to 11 s on moto)
URL_SECONDS = 300  # how long the access document's presigned URL works
FAR = 10**13  # every call started before this (ms)

CURSOR = CursorCodec("c", "not a caller job's cursor", store_calls.valid_start_key)


def _heavy(number: str, *, ctx: RequestContext) -> bool:
    """Whether the caller has more than ``CALLER_JOB_THRESHOLD`` calls. One keys-only Query."""
    limit = get_settings().caller_job_threshold
    found, _ = store_calls.one_page(number, 0, FAR, limit=limit + 1, start_key=None, ctx=ctx)
    return len(found) > limit


def access_request(raw: str, *, ctx: RequestContext = SYSTEM) -> tuple[int, dict[str, Any]]:
    """``GET /v1/callers/{number}``: ``(200, the document)`` or ``(202, the job)``."""
    number = e164(unquote(raw), "number")
    if not _heavy(number, ctx=ctx):
        found = access.held(number, ctx=ctx)
        if found is not None:
            return 200, found
        # The stepped exports outlasted the request: the job does it all (a light caller's calls again: cheap)
    return 202, _start("access", number, ctx=ctx)


def erase_request(raw: str, *, ctx: RequestContext = SYSTEM) -> tuple[int, dict[str, Any]]:
    """``DELETE /v1/callers/{number}``: ``(200, what was done)`` or ``(202, the job)``."""
    number = e164(unquote(raw), "number")
    if not _heavy(number, ctx=ctx):
        done = erasure.erase(number, ctx=ctx)
        if not isinstance(done, erasure.Unfinished):
            return 200, done
        return 202, _hand_over(done, ctx=ctx)
    return 202, _start("erase", number, ctx=ctx)


def _hand_over(left: erasure.Unfinished, *, ctx: RequestContext) -> dict[str, Any]:
    """An erasure within a request whose stepped hooks ran out of time: a job that goes on from
    the hook and token where it stopped (its calls are done, so it starts in the hooks' phase)."""
    job, new = callerjobs.start("erase", callerkeys.caller_hash(left.number), left.number, ctx.actor, ctx=ctx)
    if new:
        log_change(ctx, "callers.erase", job=job.id)  # never the number
        result: dict[str, Any] = {"erased_calls": left.erased, "recordings_left_at_twilio": left.twilio_left}
        result.update(hooks=left.hooks, hook=left.hook)
        job = _replace(job, created_at=left.now, done=left.erased, cursor=left.token, result=result)
        callerjobs.save(job)
    return public(job)


def _start(kind: str, number: str, *, ctx: RequestContext) -> dict[str, Any]:
    job, new = callerjobs.start(kind, callerkeys.caller_hash(number), number, ctx.actor, ctx=ctx)
    if new:
        log_change(ctx, f"callers.{kind}", job=job.id)  # never the number
    return public(job)


def public(job: callerjobs.CallerJob) -> dict[str, Any]:
    """A job as the API shows it (never the number or the cursor)."""
    out: dict[str, Any] = {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "location": f"/v1/callers/jobs/{job.id}",
        "progress": {"calls": job.done, "chunks": job.chunks},
        "started_at": clock.iso(job.created_at),
        "updated_at": clock.iso(job.updated_at),
    }
    if job.result.get("error"):
        out["error"] = job.result["error"]  # why a job ended without its result
    elif job.state == "done" and job.kind == "erase":
        out["result"] = job.result
    if job.state == "done" and job.kind == "access" and job.result.get("key"):
        out["result"] = {
            "calls": job.result.get("calls", 0),
            "url": erasurelog.presigned(str(job.result["key"]), URL_SECONDS),
            "url_expires_at": clock.iso(clock.now_ms() + URL_SECONDS * 1000),
        }
    return out


def status(job_id: str, *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """``GET /v1/callers/jobs/{id}``: the job's state, progress and result."""
    job = callerjobs.get(job_id, ctx=ctx)
    if job is None:
        raise NotFound(f"no caller job {job_id[:64]!r}")
    return public(job)


def run(budget: float = CHUNK_SECONDS, *, chunks: int | None = None) -> list[dict[str, Any]]:
    """The schedule: a chunk of each running job after another until ``budget`` seconds (or
    ``chunks`` chunks) are spent; each job's state after."""
    until = time.monotonic() + budget
    left = chunks
    slowest = 0.0  # no chunk starts that the slowest one so far would carry past the budget
    out = []
    for job in callerjobs.running():
        while job.state == "running" and time.monotonic() + slowest < until and (left is None or left > 0):
            began = time.monotonic()
            job = chunk(job)
            slowest = max(slowest, time.monotonic() - began)
            left = None if left is None else left - 1
        out.append(public(job))
    return out


def chunk(job: callerjobs.CallerJob) -> callerjobs.CallerJob:
    """One page of ``job`` done and saved (the last one finishes it); the job after."""
    if not job.number:  # a job whose number went before its end cannot go on; said, never guessed
        job = _replace(job, state="done", result={"error": "the job lost its caller"})
        callerjobs.finish(job)
        return job
    number = job.number
    if job.kind == "access" and (callers.erased_at([job.caller_hash]) or 0) >= job.created_at:
        return _erased_meanwhile(job)
    if "hook" in job.result:
        return _hook_chunk(job, number)
    start_key = CURSOR.decode(job.cursor, [number])[1] if job.cursor else None
    page, after = store_calls.one_page(number, 0, FAR, limit=PAGE, start_key=start_key)
    sids = [c.call_sid for c in page]
    if job.kind == "erase":
        erasurelog.write(job.caller_hash, job.created_at, sids, part=job.chunks + 1)
        erased, left = erasure.erase_page(sids, job.created_at)
        result = dict(job.result)
        result["erased_calls"] = int(result.get("erased_calls", 0)) + erased
        result["recordings_left_at_twilio"] = int(result.get("recordings_left_at_twilio", 0)) + left
    else:
        found = store_calls.batch_get(sids)
        listed = [calls.to_dict(found[s]) for s in sids if s in found]
        erasurelog.put_json(erasurelog.document_key(job.caller_hash, job.id, job.chunks + 1), listed)
        result = dict(job.result)
    job = _replace(
        job,
        done=job.done + len(sids),
        chunks=job.chunks + 1,
        cursor=CURSOR.encode(number, after) if after else None,
        result=result,
    )
    if after:
        callerjobs.save(job)
        return job
    stepped = _stepped(job.kind)
    if stepped:  # the calls are done: the stepped hooks' phase
        result = dict(job.result, hooks={name: 0 for name in stepped}, hook=stepped[0])
        job = _replace(job, cursor=None, result=result)
        callerjobs.save(job)
        return job
    return _finish(job, number)


def _stepped(kind: str) -> list[str]:
    """The hooks a job of ``kind`` runs a step per chunk after the caller's calls."""
    return erasure.stepped_hooks() if kind == "erase" else access.stepped_exports()


def _hook_chunk(job: callerjobs.CallerJob, number: str) -> callerjobs.CallerJob:
    """One step of the stepped hook the job is at (its cursor the hook's token); after the last
    step of the last one, the job's end. An erasure's step counts the items it changed; an
    access's writes what it found as a part of the document (``{"integration": name, "part": ...}``)
    and counts the parts."""
    name = str(job.result["hook"])
    if job.kind == "erase":
        count, token = erasure.hook_step(number, name, job.cursor)
    else:
        part, token = access.export_step(number, name, job.cursor)
        key = erasurelog.document_key(job.caller_hash, job.id, job.chunks + 1)
        erasurelog.put_json(key, {"integration": name, "part": part})
        count = 1
    hooks = dict(job.result.get("hooks") or {})
    hooks[name] = int(hooks.get(name, 0)) + count
    result = dict(job.result, hooks=hooks)
    if token is None:
        stepped = _stepped(job.kind)
        later = stepped[stepped.index(name) + 1 :] if name in stepped else []
        if not later:
            result.pop("hook")
            return _finish(_replace(job, chunks=job.chunks + 1, cursor=None, result=result), number)
        result["hook"] = later[0]
    job = _replace(job, chunks=job.chunks + 1, cursor=token, result=result)
    callerjobs.save(job)
    return job


def _finish(job: callerjobs.CallerJob, number: str) -> callerjobs.CallerJob:
    if job.kind == "erase":
        erased = int(job.result.get("erased_calls", 0))
        stepped = job.result.get("hooks")  # absent in a job begun before the hooks ran in steps
        hooks = erasure.forget_caller(number, job.created_at, erased, stepped=stepped)
        erasurelog.write(job.caller_hash, job.created_at, [], part=job.chunks + 1, erased_calls=erased)
        result = erasure.answer(erased, job.created_at, hooks, int(job.result.get("recordings_left_at_twilio", 0)))
    else:
        listed: list[dict[str, Any]] = []
        # A job begun before the exports ran in steps has no "hooks": its document asks them at once.
        exported: dict[str, dict[str, Any]] | None = None if "hooks" not in job.result else {}
        parts = [erasurelog.document_key(job.caller_hash, job.id, p) for p in range(1, job.chunks + 1)]
        for key in parts:
            got = erasurelog.get_json(key)
            if isinstance(got, dict) and exported is not None:  # a stepped export's part
                name = str(got.get("integration"))
                exported[name] = access.join(exported.get(name, {}), dict(got.get("part") or {}))
            elif isinstance(got, list):
                listed += got
        if exported is not None:
            for name in access.stepped_exports():
                exported.setdefault(name, {})
        listed.sort(key=lambda c: str(c.get("started_at") or ""), reverse=True)
        key = erasurelog.document_key(job.caller_hash, job.id)
        erasurelog.put_json(key, access.document(number, listed, stepped=exported))
        for part in parts:
            erasurelog.delete(part)
        result = {"key": key, "calls": len(listed)}
    job = _replace(job, state="done", number=None, cursor=None, result=result)
    callerjobs.finish(job)
    logger.info("caller job done", job_id=job.id, kind=job.kind, calls=job.done, chunks=job.chunks)
    return job


def _erased_meanwhile(job: callerjobs.CallerJob) -> callerjobs.CallerJob:
    """An export whose caller was erased after it began: its parts go, and no document is made
    (it would name the number the erasure took away)."""
    for part in range(1, job.chunks + 1):
        erasurelog.delete(erasurelog.document_key(job.caller_hash, job.id, part))
    job = _replace(job, state="done", number=None, cursor=None, result={"error": "the caller was erased meanwhile"})
    callerjobs.finish(job)
    return job


def _replace(job: callerjobs.CallerJob, **changes: Any) -> callerjobs.CallerJob:
    return replace(job, updated_at=clock.now_ms(), **changes)
