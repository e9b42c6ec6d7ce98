"""Caller jobs benchmark: a heavy caller's access and erasure as jobs (``chalicelib/privacy/jobs.py``).

Budget (issue 24): within Lambda's 20 s and API Gateway's 6 MB. A caller with ``N`` calls is
exported and then erased by the jobs, one chunk (a page of ``jobs.PAGE`` calls) at a time, as the
``caller_jobs`` schedule runs them; each chunk's seconds and DynamoDB requests are measured, and
the access document's size (which no API answer carries: it is fetched from S3 by a presigned URL).
Against moto's server on this machine, so the seconds are an upper bound of DynamoDB's.
"""

from __future__ import annotations

import os
import time
from typing import Any

from bench import common

N = 1000  # calls of the one heavy caller
CALLER = "+14155550111"


def run() -> dict[str, Any]:
    with common.embedded_dynamodb("bench-callerjobs-") as endpoint:
        os.environ["S3_ENDPOINT"] = endpoint
        from chalicelib.core.settings import get_settings
        from chalicelib.recordings import storage

        get_settings.cache_clear()
        storage.reset()
        return _measure()


def _seed() -> None:
    from chalicelib.core import clock
    from chalicelib.store import models
    from chalicelib.store.models import CallModel

    models.create_tables()
    from chalicelib.recordings import storage

    storage.create_bucket()
    now = clock.now_ms()
    with CallModel.batch_write() as batch:
        for i in range(N):
            started = now - i * 60_000
            batch.save(
                CallModel(
                    f"CA{i:032d}",
                    caller=CALLER,
                    called="+12025550100",
                    started_at=started,
                    month=clock.month_key(started),
                    status="completed",
                    note=f"call {i}",
                    attribution={"confidence": "static", "source": {"utm_source": "radio"}},
                )
            )


def _job(kind: str) -> dict[str, Any]:
    from chalicelib.core.context import SYSTEM
    from chalicelib.privacy import jobs
    from chalicelib.store import callerjobs

    start = jobs.access_request if kind == "access" else jobs.erase_request
    status, job = start(CALLER, ctx=SYSTEM)
    assert status == 202, (status, job)
    seconds: list[float] = []
    requests: list[int] = []
    with common.counting() as counter:
        while callerjobs.running():
            [item] = callerjobs.running()
            counter.reset()
            began = time.perf_counter()
            jobs.chunk(item)
            seconds.append(time.perf_counter() - began)
            requests.append(counter.total)
    done = jobs.status(job["id"])
    out: dict[str, Any] = {
        "chunks": len(seconds),
        "max_chunk_seconds": round(max(seconds), 3),
        "median_chunk_seconds": round(common.median(seconds), 3),
        "max_chunk_dynamodb_requests": max(requests),
        "calls": done["progress"]["calls"],
    }
    if kind == "access":
        from chalicelib.privacy import erasurelog
        from chalicelib.recordings import storage

        key = f"callers/{callerjobs.get(job['id']).caller_hash}/{job['id']}.json"  # type: ignore[union-attr]
        size = storage.s3().head_object(Bucket=storage.bucket(), Key=key)["ContentLength"]
        out |= {"document_bytes": size, "bytes_per_call": round(size / N), "key_ok": erasurelog.DOCUMENTS in key}
    return out


def _measure() -> dict[str, Any]:
    from chalicelib.core.settings import get_settings
    from chalicelib.privacy import jobs

    os.environ["CALLER_JOB_THRESHOLD"] = "200"
    get_settings.cache_clear()
    _seed()
    access = _job("access")
    erase = _job("erase")
    return {
        "calls": N,
        "page": jobs.PAGE,
        "access": access,
        "erase": erase,
        "calls_in_6_mb_inline": int(6_000_000 / access["bytes_per_call"]),
        "budget": "each chunk well under the Lambda's 20 s (the schedule stops after 12 s); no answer near 6 MB",
    }


def table(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    a, e = r["access"], r["erase"]
    return [
        (
            f"Caller jobs, {r['calls']} calls: slowest chunk of {r['page']} calls, access / erasure",
            f"{a['max_chunk_seconds']:g} s / {e['max_chunk_seconds']:g} s ({a['chunks']} / {e['chunks']} chunks)",
            "< 20 s (12 s per schedule run)",
        ),
        (
            "Caller access document: bytes per call (calls that would fill 6 MB inline)",
            f"{a['bytes_per_call']} ({r['calls_in_6_mb_inline']})",
            "served from S3, never in an answer",
        ),
    ]
