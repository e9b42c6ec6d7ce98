"""The one factory of boto3 clients: one per (service, region, endpoint, limits), kept for the process.

Each caller names its limits (``Limits``): the voice path's short ones (``voice()``: SSM within
Twilio's 15 s), the management API's and background work's patient ones (``patient()``), and the
fixed limits each background client has always had (``STREAM_BATCH``, ``EMAIL``, ``MEDIA``). A
client is built lazily (boto3 is never imported by ``import app``) from one boto3 session of our
own, so service models are parsed once per process, not once per client.

Decisions the issue left open: the cache key holds the limits themselves (two callers with equal
limits share a client), and the region and endpoint are read at each call, so a test or benchmark
that moves an endpoint gets a new client without resetting anything; ``forget()`` exists for
tests that want a fresh client for the same endpoint.
"""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

from chalicelib.core.settings import get_settings


class Limits(NamedTuple):
    """A client's timeouts and attempts (seconds; botocore's ``Config`` words)."""

    connect: float
    read: float
    # botocore's standard mode: this many retries after the first attempt ...
    max_attempts: int | None = None
    # ... or this many attempts in all, legacy mode (a caller that retries on its own terms)
    total_max_attempts: int | None = None

    def retries(self) -> dict[str, Any]:
        if self.total_max_attempts is not None:
            return {"total_max_attempts": self.total_max_attempts}
        return {"max_attempts": self.max_attempts, "mode": "standard"}


# Background clients' limits, as each had them before there was one factory.
STREAM_BATCH = Limits(connect=2, read=5, max_attempts=3)  # SQS: what a stream batch can afford
EMAIL = Limits(connect=3, read=10, max_attempts=3)  # SES: alerts and summaries
MEDIA = Limits(connect=2, read=20, max_attempts=3)  # S3: whole recordings


def voice() -> Limits:
    """SSM on the voice path, which must answer inside Twilio's 15 s: short, and one attempt per
    botocore call (``secrets._fetch`` retries itself: botocore waits up to 1 s after throttling)."""
    s = get_settings()
    return Limits(connect=s.ssm_connect_timeout, read=s.ssm_read_timeout, total_max_attempts=1)


def patient() -> Limits:
    """SSM for the management API and background work, which may wait as long as their other
    storage requests do (``STORE_*`` timeouts); one attempt per call, as on the voice path."""
    s = get_settings()
    return Limits(connect=s.store_connect_timeout, read=s.store_read_timeout, total_max_attempts=1)


_clients: dict[tuple[Any, ...], Any] = {}
_session: Any = None
_lock = threading.Lock()  # one builder at a time: a boto3 session is not safe to share while it builds


def client(service: str, limits: Limits | None, *, endpoint: str | None = None, path_style: bool = False) -> Any:
    """The ``service`` client for this deployment's region at ``endpoint`` (``None``: AWS's).

    ``limits`` ``None``: botocore's defaults (the local pump only). ``path_style``: S3 addressed by
    path (moto's server) and signed with SigV4 (presigned URLs).
    """
    region = get_settings().region
    key = (service, region, endpoint, limits, path_style)
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        found = _clients.get(key)
        if found is None:
            found = _build(service, region, endpoint, limits, path_style)
            _clients[key] = found
        return found


def _build(service: str, region: str, endpoint: str | None, limits: Limits | None, path_style: bool) -> Any:
    global _session
    import boto3  # never on import app: only a caller that needs AWS loads it
    from botocore.config import Config

    if _session is None:
        _session = boto3.session.Session()
    options: dict[str, Any] = {}
    if limits is not None:
        options |= {"connect_timeout": limits.connect, "read_timeout": limits.read, "retries": limits.retries()}
    if path_style:
        options |= {"signature_version": "s3v4", "s3": {"addressing_style": "path"}}
    config = Config(**options) if options else None
    return _session.client(service, region_name=region, endpoint_url=endpoint, config=config)


def forget(*services: str) -> None:
    """Drop the cached clients of ``services`` (all of them when none is named)."""
    with _lock:
        for key in [k for k in _clients if not services or k[0] in services]:
            del _clients[key]
