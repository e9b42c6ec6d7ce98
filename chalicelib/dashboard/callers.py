"""The dashboard's caller page (admins): what we hold about one caller, and their erasure.

The same domain code as ``GET`` and ``DELETE /v1/callers/{number}`` (``chalicelib.privacy``):
the page shows the access answer readably, offers it as JSON, and erases only after a
confirmation the form must carry (a missing tick is said next to it, the number kept).
"""

from __future__ import annotations

import json
from typing import Any

from chalice import Response
from chalice.app import Request

from chalicelib.core.errors import BadRequest
from chalicelib.dashboard import web
from chalicelib.privacy import access, erasure


def _page(request: Request, viewer: web.Viewer, *, status: int = 200, **context: Any) -> Response:
    context.setdefault("number", "")
    return web.render(request, "caller.html", viewer=viewer, status=status, **context)


def page(request: Request) -> Response:
    viewer = web.require(request, role="admin")
    number = web.query_params(request).get("number", "").strip()[:40]
    if not number:
        return _page(request, viewer)
    try:
        held = access.held(number, ctx=viewer.context)
    except BadRequest as exc:
        return _page(request, viewer, status=400, number=number, error=exc.message, error_field="number")
    return _page(request, viewer, number=number, held=held)


def as_json(request: Request) -> Response:
    viewer = web.require(request, role="admin")
    held = access.held(web.query_params(request).get("number", ""), ctx=viewer.context)
    headers = web.page_headers(
        {"Content-Type": "application/json", "Content-Disposition": 'attachment; filename="caller.json"'}
    )
    return Response(body=json.dumps(held, indent=2), status_code=200, headers=headers)


def erase(request: Request) -> Response:
    viewer = web.require(request, role="admin")
    fields = web.check_csrf(request, viewer)
    number = (fields.get("number") or "").strip()[:40]
    if fields.get("confirm") != "yes":
        return _page(
            request,
            viewer,
            status=400,
            number=number,
            error="Tick the box to confirm: erasing cannot be undone.",
            error_field="confirm",
        )
    try:
        done = erasure.erase(number, ctx=viewer.context)
    except BadRequest as exc:
        return _page(request, viewer, status=400, number=number, error=exc.message, error_field="number")
    return _page(request, viewer, erased=done)
