"""A call's recording for an authorised caller: a short-lived presigned S3 URL, never Twilio's.

S3 answers the URL itself, range requests included, so an ``<audio>`` element can seek and a
recording of any length plays (API Gateway's 6 MB response limit is never in the way). A
call the subscriber has not archived yet is archived here, on first request.
"""

from __future__ import annotations

from typing import Any

from chalicelib import calls
from chalicelib.core import clock
from chalicelib.core.errors import NotFound, RecordingUnavailable
from chalicelib.core.observability import logger
from chalicelib.core.settings import get_settings
from chalicelib.recordings import archive, storage


def link(call_sid: str) -> dict[str, Any]:
    """``{url, expires_at, duration, size, content_type}``; 404 without a recording, 503 while it cannot be copied."""
    c = calls.load(call_sid)
    if not c.recording_sid:
        raise NotFound(f"call {call_sid} has no recording")
    if not archive.has_copy(c):
        try:
            copied = archive.archive(call_sid)
        except Exception as exc:  # Twilio or S3 unreachable, or a copy that did not verify
            logger.warning("archiving on request failed", call_sid=call_sid, error=repr(exc))
            copied = calls.load(call_sid)
            if not archive.has_copy(copied):  # (a copy made before deleting at Twilio failed still plays)
                raise RecordingUnavailable("the recording cannot be copied from the telephony provider now") from None
        if copied is None or not archive.has_copy(copied):
            raise NotFound(f"call {call_sid} has no recording")
        c = copied
    seconds = get_settings().recording_url_seconds
    url = storage.s3().generate_presigned_url(
        "get_object",
        Params={"Bucket": storage.bucket(), "Key": c.recording_key, "ResponseContentType": storage.CONTENT_TYPE},
        ExpiresIn=seconds,
    )
    return {
        "url": url,
        "expires_at": clock.iso(clock.now_ms() + seconds * 1000),
        "duration": int(c.recording_duration) if c.recording_duration is not None else None,
        "size": int(c.recording_size or 0),
        "content_type": storage.CONTENT_TYPE,
    }
