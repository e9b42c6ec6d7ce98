"""The dashboard's caller page (admins): what we hold about one caller, and their erasure.

The same domain code as ``GET`` and ``DELETE /v1/callers/{number}`` (``chalicelib.privacy``):
the page shows the access answer readably, offers it as JSON, and erases only after a
confirmation the form must carry (a missing tick is said next to it, the number kept). For a
caller with more than ``CALLER_JOB_THRESHOLD`` calls both run as a job (``privacy.jobs``): the
page then shows the job (``?job=<id>``): its progress, and once done the erasure's answer or a
link to the access document.
"""

from __future__ import annotations

import json
from typing import Any

from chalice import Response
from chalice.app import Request

from chalicelib.core.errors import BadRequest, NotFound
from chalicelib.dashboard import web
from chalicelib.privacy import jobs


def _page(request: Request, viewer: web.Viewer, *, status: int = 200, **context: Any) -> Response:
    context.setdefault("number", "")
    return web.render(request, "caller.html", viewer=viewer, status=status, **context)


def page(request: Request) -> Response:
    viewer = web.require(request, role="admin")
    params = web.query_params(request)
    if params.get("job"):
        try:
            return _page(request, viewer, job=jobs.status(params["job"][:64], ctx=viewer.context))
        except NotFound as exc:
            return _page(request, viewer, status=404, error=exc.message, error_field="job")
    number = params.get("number", "").strip()[:40]
    if not number:
        return _page(request, viewer)
    try:
        status, held = jobs.access_request(number, ctx=viewer.context)
    except BadRequest as exc:
        return _page(request, viewer, status=400, number=number, error=exc.message, error_field="number")
    if status == 202:
        return web.redirect(f"/dashboard/callers?job={held['id']}")
    return _page(request, viewer, number=number, held=held)


def as_json(request: Request) -> Response:
    viewer = web.require(request, role="admin")
    status, held = jobs.access_request(web.query_params(request).get("number", ""), ctx=viewer.context)
    if status == 202:  # too many calls for one answer: the job's page links its document when done
        return web.redirect(f"/dashboard/callers?job={held['id']}")
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
        status, done = jobs.erase_request(number, ctx=viewer.context)
    except BadRequest as exc:
        return _page(request, viewer, status=400, number=number, error=exc.message, error_field="number")
    if status == 202:
        return web.redirect(f"/dashboard/callers?job={done['id']}")
    return _page(request, viewer, erased=done)
