"""Copying a call's recording from Twilio into the stage's bucket: the ``recordings`` subscriber.

Idempotent at every step, because the queue retries a failing delivery and the call's own
change (the archive recorded on it) comes back as a ``call.updated`` event:

1. a call whose copy is recorded and verified is not fetched again;
2. the object's key is deterministic, so a retried put overwrites the same object;
3. Twilio's copy is deleted only after ours was read back with the same size and SHA-256,
   and a retry after a failed delete only deletes (a 404 there means done).

``call.deleted`` deletes the object; the bucket's lifecycle rule is the backstop.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from chalicelib.core import clock
from chalicelib.core.observability import logger
from chalicelib.core.settings import get_settings
from chalicelib.core.telephony import get_provider
from chalicelib.events.model import Event
from chalicelib.recordings import storage
from chalicelib.store import calls as store
from chalicelib.store.calls import CallChange, CallRecord


class CopyMismatch(RuntimeError):
    """What S3 holds is not what Twilio served: never delete Twilio's copy then."""


def on_event(event: Event) -> None:
    recording = event.call.get("recording") or {}
    sid = recording.get("sid")
    if not sid:
        return
    if event.type == "call.deleted":
        delete_object(event.call_sid, sid)
    else:
        archive(event.call_sid)


def has_copy(c: CallRecord) -> bool:
    return bool(c.recording_key and c.recording_size and c.recording_sha256)


def archive(call_sid: str) -> CallRecord | None:
    """Copy the call's recording to S3 (once), record it, then delete it at Twilio (when set to).

    Runs as ``SYSTEM`` (a subscriber, or playback on an authorised caller's behalf)."""
    c = store.get(call_sid, consistent=True)
    if c is None:
        return None
    rec_sid = c.recording_sid
    if not rec_sid or not rec_sid.startswith("RE"):
        return None
    logger.append_keys(call_sid=call_sid, recording_sid=rec_sid)
    if not has_copy(c):
        copied = _copy(c)
        if copied is None:
            return None
        c = copied
    if get_settings().recordings_delete_at_twilio and c.recording_deleted_at_twilio is None:
        get_provider().delete_recording(rec_sid)
        deleted = CallChange(set={"recording_deleted_at_twilio": clock.now_ms()}, remove=("recording_url",))
        after = store.update(c.call_sid, deleted, guard=store.EXISTS)
        logger.info("recording deleted at the telephony provider")
        if after is None:
            # The call was deleted meanwhile (retention or erasure): its call.deleted event
            # deletes our copy too, and there is no call left to return.
            return None
        c = after
    return c


def _copy(c: CallRecord) -> CallRecord | None:
    rec_sid = str(c.recording_sid)
    data, content_type = get_provider().fetch_recording(rec_sid)
    digest = hashlib.sha256(data).digest()
    key = storage.object_key(c.call_sid, rec_sid)
    client, bucket = storage.s3(), storage.bucket()
    client.put_object(
        Bucket=bucket,
        Key=key,
        Body=data,
        ContentType=content_type or storage.CONTENT_TYPE,
        ServerSideEncryption="AES256",
        ChecksumSHA256=base64.b64encode(digest).decode(),  # S3 refuses a body that does not match
        Metadata={"sha256": digest.hex(), "call-sid": c.call_sid, "recording-sid": rec_sid},
    )
    _verify(client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED"), len(data), digest)
    copied = CallChange(
        set={
            "recording_key": key,
            "recording_size": len(data),
            "recording_sha256": digest.hex(),
            "recording_archived_at": clock.now_ms(),
        }
    )
    after = store.update(c.call_sid, copied, guard=store.EXISTS)
    if after is None:
        logger.info("the call was deleted while its recording was copied; the copy is deleted too")
        client.delete_object(Bucket=bucket, Key=key)
        return None
    logger.info("recording archived", key=key, size=len(data))
    return after


def _verify(head: dict[str, Any], size: int, digest: bytes) -> None:
    if int(head.get("ContentLength", -1)) != size:
        raise CopyMismatch(f"S3 holds {head.get('ContentLength')} bytes, Twilio served {size}")
    if (head.get("Metadata") or {}).get("sha256") != digest.hex():
        raise CopyMismatch("the stored object's SHA-256 is not the fetched recording's")
    stored = head.get("ChecksumSHA256")
    if stored and stored.split("-")[0] != base64.b64encode(digest).decode():
        raise CopyMismatch("S3's SHA-256 checksum of the object is not the fetched recording's")


def delete_object(call_sid: str, recording_sid: str) -> None:
    """The call is gone (retention or erasure): so is its recording (deleting twice is harmless)."""
    key = storage.object_key(call_sid, recording_sid)
    storage.s3().delete_object(Bucket=storage.bucket(), Key=key)
    logger.info("recording deleted with its call", call_sid=call_sid, key=key)
