"""A line's uploaded voicemail greeting: checked, kept in the stage's private bucket, played by URL.

The recording is kept at ``greetings/<line kind>/<line id>.<wav|mp3>`` in the recordings bucket
(private, encrypted: ``storage``) and the line's flow says which format it is (``flow.greeting``),
so the voicemail TwiML knows there is one without a read: it ``<Play>``s a presigned URL made when
the TwiML is made (Twilio fetches it at once; ``URL_SECONDS``), and the spoken greeting is the
fallback whenever the URL cannot be made.

**How it arrives: base64 text, not multipart.** The API takes ``{"audio": "<base64>"}`` (``PUT
/v1/channels/{id}/greeting``, ``/v1/pools/{id}/greeting``); the call-flow form carries the same text
in its hidden ``greeting_audio`` field, which a small script (``static/setup.js``) fills from the
file chosen. Why: the dashboard's forms, their CSRF check and their refusals (the page again, the
message by the field, the form as typed) all read ``application/x-www-form-urlencoded``, and Chalice
hands a route a multipart body only as raw bytes to parse by hand; base64 keeps one way in for the
API and the page, through the form handling that exists. A 2 MB recording is under 2.8 MB of text,
far within API Gateway's 6 MB. The bytes are checked by their magic numbers (a RIFF/WAVE header, or
an MP3's ID3 tag or frame sync), never by a name or a declared type.

Removed with the line (the routes that delete one call ``forget``) and replaced by a new upload.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import replace
from typing import Any

from chalicelib import channels, pools
from chalicelib.core import clock
from chalicelib.core.context import SYSTEM, RequestContext, log_change
from chalicelib.core.errors import BadRequest
from chalicelib.core.observability import logger
from chalicelib.handling import GREETING_FORMATS
from chalicelib.recordings import storage
from chalicelib.store import lines

MAX_BYTES = 2 * 1024 * 1024
# A request carrying one: base64 is 4/3 of the bytes, and a form percent-encodes its + and /.
MAX_BODY_BYTES = 3 * MAX_BYTES // 2 + 64 * 1024
CONTENT_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg"}
URL_SECONDS = 300  # Twilio fetches the <Play> URL as soon as it reads the TwiML
KINDS = ("channel", "pool")
_SAFE = re.compile(r"[^0-9A-Za-z_-]")


def audio_format(data: bytes) -> str | None:
    """``wav`` or ``mp3`` from the bytes themselves, or ``None``. Pure."""
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:3] == b"ID3" or (len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


def check(text: Any) -> tuple[bytes, str]:
    """The upload (base64 text) as bytes and their format, or a 400 naming ``greeting``. Pure."""
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("'greeting' must be an MP3 or WAV recording, as base64 text")
    try:
        data = base64.b64decode(text.strip().split(",", 1)[-1], validate=True)  # a data: URL's prefix is dropped
    except (binascii.Error, ValueError):
        raise BadRequest("'greeting' is not base64 text of an MP3 or WAV recording") from None
    if len(data) > MAX_BYTES:
        raise BadRequest(f"'greeting' is larger than {MAX_BYTES // (1024 * 1024)} MB; a short greeting is enough")
    fmt = audio_format(data)
    if fmt is None:
        raise BadRequest("'greeting' is not an MP3 or WAV recording (audio/mpeg or audio/wav)")
    return data, fmt


def key(kind: str, line_id: str, fmt: str) -> str:
    return f"greetings/{kind}/{_SAFE.sub('_', line_id)}.{fmt}"


def _load(kind: str, line_id: str, ctx: RequestContext) -> Any:
    if kind not in KINDS:
        raise BadRequest("'kind' must be channel or pool")
    return (channels if kind == "channel" else pools).load(line_id, ctx=ctx)


def _save(kind: str, line: Any, flow: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    line = replace(line, flow=flow, updated_at=clock.now_ms())
    if kind == "channel":
        lines.save_channel(line, ctx=ctx)
        return channels.to_dict(line)
    lines.save_pool(line, ctx=ctx)
    return pools.to_dict(line)


def upload(kind: str, line_id: str, text: Any, *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """Keep the line's greeting (replacing any before it) and say so on its flow; the line as the API shows it."""
    data, fmt = check(text)
    line = _load(kind, line_id, ctx)
    log_change(ctx, "greetings.upload", kind=kind, line_id=line_id, size=len(data))
    storage.s3().put_object(
        Bucket=storage.bucket(), Key=key(kind, line_id, fmt), Body=data, ContentType=CONTENT_TYPES[fmt]
    )
    for other in GREETING_FORMATS:
        if other != fmt:
            storage.s3().delete_object(Bucket=storage.bucket(), Key=key(kind, line_id, other))
    return _save(kind, line, {**(line.flow or {}), "greeting": fmt}, ctx)


def remove(kind: str, line_id: str, *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """Back to the spoken greeting: the recording deleted, the flow without it."""
    line = _load(kind, line_id, ctx)
    log_change(ctx, "greetings.remove", kind=kind, line_id=line_id)
    forget(kind, line_id)
    return _save(kind, line, {k: v for k, v in (line.flow or {}).items() if k != "greeting"}, ctx)


def forget(kind: str, line_id: str) -> None:
    """Delete the line's recording, whatever its format (the line is gone or goes back to speech)."""
    for fmt in GREETING_FORMATS:
        storage.s3().delete_object(Bucket=storage.bucket(), Key=key(kind, line_id, fmt))


def url(kind: str, line_id: str, fmt: str) -> str | None:
    """A short-lived URL of the greeting for Twilio's ``<Play>`` (made locally, no request), or ``None``."""
    try:
        return str(
            storage.s3().generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": storage.bucket(),
                    "Key": key(kind, line_id, fmt),
                    "ResponseContentType": CONTENT_TYPES[fmt],
                },
                ExpiresIn=URL_SECONDS,
            )
        )
    except Exception:
        logger.exception("the greeting's URL could not be made; the greeting is spoken")
        return None


def forget_quietly(kind: str, line_id: str) -> None:
    """``forget`` for a line just deleted: a failure is logged, the deletion stands."""
    try:
        forget(kind, line_id)
    except Exception:
        logger.exception("the deleted line's greeting could not be deleted", kind=kind, line_id=line_id)
