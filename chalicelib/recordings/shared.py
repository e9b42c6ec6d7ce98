"""Signed, expiring links to one call's recording, for people with no sign-in (a CRM's users).

A CRM shows each call with a link; its users have no dashboard account, and a presigned S3 URL
dies in minutes. So the CRM gets ``<PUBLIC_BASE_URL>/dashboard/listen/<sid>?e=<expiry>&k=<key
version>&s=<signature>``: a page that plays that one recording (``listen.html``, the recording
player asking ``.../recording`` with the same query for a fresh presigned URL whenever one
expires), and nothing else.

* **Key**: no new secret to keep: HMAC-SHA256 of a fixed purpose under each key of the caller-hash
  key ring (an SSM SecureString on deployed stages, ``core/callerkeys.py``), so the link key is as
  secret as the pepper and rotates with it (a link made under a version no longer in the ring stops
  working; ``calltracking caller-key rotate`` keeps the previous one).
* **Signature**: HMAC-SHA256 under that key of ``<sid>.<expiry>``, compared in constant time; the
  expiry (epoch seconds) is signed, so it cannot be moved.
* **Expiry**: ``RECORDING_LINK_DAYS`` after the link is made (the CRM's send), never forever.
* **Refused**: expired (403 with words), tampered or made under an unknown key (403), the call or
  its recording gone (erased, or past ``RECORDING_RETENTION_DAYS``: 404).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote, urlencode

from chalicelib.core import callerkeys, clock
from chalicelib.core.errors import Forbidden
from chalicelib.core.settings import get_settings

PURPOSE = b"recording-link:v1"
MAX_DAYS = 400


def _link_key(key: callerkeys.Key) -> bytes:
    return hmac.new(key.secret, PURPOSE, hashlib.sha256).digest()


def signature(key: callerkeys.Key, sid: str, expires_s: int) -> str:
    mac = hmac.new(_link_key(key), f"{sid}.{expires_s}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def query(sid: str, now_ms: int | None = None) -> dict[str, str]:
    """The signed query for ``sid``'s link (``e``, ``k``, ``s``), valid ``RECORDING_LINK_DAYS`` from now."""
    days = max(1, min(get_settings().recording_link_days, MAX_DAYS))
    expires = ((clock.now_ms() if now_ms is None else now_ms) // 1000) + days * 86_400
    key = callerkeys.ring()[0]
    return {"e": str(expires), "k": str(key.version), "s": signature(key, sid, expires)}


def link(sid: str, now_ms: int | None = None) -> str:
    """The player page's signed address for ``sid``, as a CRM shows it."""
    return f"{get_settings().public_base_url}/dashboard/listen/{quote(sid)}?{urlencode(query(sid, now_ms))}"


def check(sid: str, params: dict[str, str], now_ms: int | None = None) -> int:
    """``Forbidden`` in words unless ``params`` sign ``sid`` and have not expired; the expiry (epoch seconds)."""
    raw_e, raw_k, given = params.get("e") or "", params.get("k") or "", params.get("s") or ""
    if not (raw_e.isdigit() and raw_k.isdigit() and given) or len(raw_e) > 12 or len(given) > 64:
        raise Forbidden("this recording link is incomplete: ask for a new one")
    keys = [k for k in callerkeys.ring() if k.version == int(raw_k)]
    expected = signature(keys[0], sid, int(raw_e)) if keys else ""
    # compared even without a key, so a wrong version answers in the same time as a wrong signature
    if not hmac.compare_digest(expected.encode(), given.encode()) or not keys:
        raise Forbidden("this recording link is not valid (changed, or made with a key since retired)")
    if int(raw_e) * 1000 <= (clock.now_ms() if now_ms is None else now_ms):
        raise Forbidden("this recording link has expired: the CRM's newer calls carry fresh links")
    return int(raw_e)
