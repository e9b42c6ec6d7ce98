"""The signed player page: one call's recording for someone with no sign-in (a CRM's user).

``GET /dashboard/listen/{sid}?e=&k=&s=`` checks the link (``recordings/shared.py``: signature in
constant time, expiry), then the call and its recording (erased or gone: 404), and renders a page
that shows nothing but when the call was, how long it is and the player; the player asks
``GET /dashboard/listen/{sid}/recording`` with the same signed query for a presigned URL that
lasts ``RECORDING_URL_SECONDS`` (and again when one expires mid-listen). No caller number, no
attribution, no other call: the link reaches that one recording and nothing else.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from chalice import Response  # type: ignore[attr-defined]
from chalice.app import Request

from chalicelib import business, calls
from chalicelib.core.errors import NotFound
from chalicelib.core.responses import json_response
from chalicelib.dashboard import overview, web
from chalicelib.recordings import playback, shared

NO_STORE: dict[str, str | list[str]] = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _signed(request: Request, sid: str) -> tuple[dict[str, str], Any]:
    params = web.query_params(request)
    expires = shared.check(sid, params)
    call = calls.load(sid)  # an erased call is gone: 404
    if not call.recording_sid:
        raise NotFound("this call has no recording (any more)")
    return {k: params[k] for k in ("e", "k", "s")}, (call, expires)


def _when(ms: int) -> str:
    """A moment as the business reads it: ``7 Dec 2026, 14:05 (Europe/Berlin)``."""
    zone = business.timezone()
    try:
        from zoneinfo import ZoneInfo

        at = datetime.fromtimestamp(ms / 1000, ZoneInfo(zone))
    except (ValueError, KeyError, ImportError):
        at, zone = datetime.fromtimestamp(ms / 1000, UTC), "UTC"
    return f"{at.day} {at:%b %Y, %H:%M} ({zone})"


def page(request: Request, sid: str) -> Response:
    query, (call, expires) = _signed(request, sid)
    return web.render(
        request,
        "listen.html",
        viewer=None,
        headers=NO_STORE,
        sid=sid,
        data_link=web.url(f"/dashboard/listen/{quote(sid)}/recording?{urlencode(query)}"),
        started=_when(int(call.started_at)) if call.started_at else None,
        duration=overview.display("seconds", call.recording_duration) if call.recording_duration else None,
        expires=_when(expires * 1000),
    )


def recording(request: Request, sid: str) -> Response:
    _signed(request, sid)
    return json_response(playback.link(sid), headers={k: str(v) for k, v in NO_STORE.items()})
