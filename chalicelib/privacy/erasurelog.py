"""The callers' objects in the stage's private bucket: the erasure log and access documents.

* ``erasures/<keyed hash>/<erased at>-<part>.json``: the erasure log, outside the restorable
  tables (DynamoDB's point-in-time recovery restores tables, never this bucket), so a restore
  can re-apply every erasure made after its point (``privacy.reapply``). An object names the
  caller by keyed hash only (``core.callerkeys``), when, and the sids of the calls erased (an
  erasure job writes one object per chunk, then a last one with the count); the sids name no
  one once the calls are anonymised, and they are how a restored call is found again. The
  bucket's lifecycle rule ``erasures`` keeps them ``CALL_RETENTION_DAYS`` (no call older than
  that can come back); the bucket is not versioned, so a deleted object is gone.
* ``callers/<keyed hash>/<job id>.json``: the document of an access job (the caller's number
  and calls), read through a short-lived presigned URL; the lifecycle rule ``callers`` deletes
  it after 1 day, and an erasure of that caller deletes it at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from chalicelib.recordings import storage

ERASURES = "erasures/"
DOCUMENTS = "callers/"
_SAFE = re.compile(r"[^0-9A-Za-z._-]")


def write(caller_hash: str, erased_at: int, sids: list[str], *, part: int, erased_calls: int | None = None) -> str:
    """One object of the erasure log (rewriting the same part is a no-op in effect); its key."""
    key = f"{ERASURES}{_SAFE.sub('_', caller_hash)}/{erased_at:013d}-{part:05d}.json"
    doc: dict[str, Any] = {"caller_hash": caller_hash, "erased_at": erased_at, "calls": sids}
    if erased_calls is not None:
        doc["erased_calls"] = erased_calls  # the last object: the erasure is complete
    storage.s3().put_object(
        Bucket=storage.bucket(), Key=key, Body=json.dumps(doc).encode(), ContentType="application/json"
    )
    return key


def logged(start_after: str | None = None) -> Iterator[str]:
    """Every erasure log object's key, in key order, after ``start_after`` (a resumed re-apply)."""
    pages = storage.s3().get_paginator("list_objects_v2")
    args: dict[str, Any] = {"Bucket": storage.bucket(), "Prefix": ERASURES}
    if start_after:
        args["StartAfter"] = start_after
    for page in pages.paginate(**args):
        for obj in page.get("Contents", []):
            yield str(obj["Key"])


def read(key: str) -> dict[str, Any]:
    body = storage.s3().get_object(Bucket=storage.bucket(), Key=key)["Body"].read()
    data: dict[str, Any] = json.loads(body)
    return data


def document_key(caller_hash: str, job_id: str, part: int | None = None) -> str:
    base = f"{DOCUMENTS}{_SAFE.sub('_', caller_hash)}/{job_id}"
    return f"{base}.json" if part is None else f"{base}/part-{part:05d}.json"


def put_json(key: str, data: Any) -> None:
    storage.s3().put_object(
        Bucket=storage.bucket(), Key=key, Body=json.dumps(data).encode(), ContentType="application/json"
    )


def get_json(key: str) -> Any:
    return json.loads(storage.s3().get_object(Bucket=storage.bucket(), Key=key)["Body"].read())


def delete(key: str) -> None:
    storage.s3().delete_object(Bucket=storage.bucket(), Key=key)


def presigned(key: str, seconds: int) -> str:
    url: str = storage.s3().generate_presigned_url(
        "get_object",
        Params={
            "Bucket": storage.bucket(),
            "Key": key,
            "ResponseContentType": "application/json",
            "ResponseContentDisposition": 'attachment; filename="caller.json"',
        },
        ExpiresIn=seconds,
    )
    return url


def delete_documents(caller_hashes: list[str]) -> int:
    """Every access document (and unfinished part) of the caller, under each of their hashes; how many."""
    client, bucket = storage.s3(), storage.bucket()
    gone = 0
    for h in caller_hashes:
        for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=f"{DOCUMENTS}{_SAFE.sub('_', h)}/"
        ):
            for obj in page.get("Contents", []):
                client.delete_object(Bucket=bucket, Key=obj["Key"])
                gone += 1
    return gone
