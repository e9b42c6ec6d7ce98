"""The webhooks pages: endpoints with their events and filters (the list), and one endpoint's
delivery log with each attempt's status and response, resend, a test event, the secret's
rotation and removal (the endpoint's page).

Admins only, as the API's ``/v1/webhooks`` (they say where call data goes). A secret is shown
once, on the page that answers its creation or rotation, and never again. Every change goes
through ``integrations.webhooks.endpoints``, the management API's own functions.
"""

from __future__ import annotations

from typing import Any

from chalice import Response
from chalice.app import Request

from chalicelib.core.errors import BadRequest
from chalicelib.dashboard import formerrors, web
from chalicelib.events.model import TYPES
from chalicelib.integrations.webhooks import endpoints
from chalicelib.store import lines

FORM_FIELDS = ("url", "description", "channel_id", "pool_id")
EVENT_WORDS = {
    "call.started": "a call starts ringing",
    "call.completed": "a call ends",
    "call.updated": "a call changes (outcome, recording, notes)",
    "call.deleted": "a call is deleted",
    "caller.erased": "a caller's data is erased on request",
    "text.received": "a text comes in to a tracking number",
}


def endpoint_body(form: dict[str, str], events: list[str], *, creating: bool) -> dict[str, Any]:
    """The endpoint form as the body ``POST``/``PATCH /v1/webhooks`` take. Pure."""
    body: dict[str, Any] = {
        "url": form.get("url", ""),
        "events": events,
        "description": form.get("description", ""),
        "channel_id": form.get("channel_id", ""),
        "pool_id": form.get("pool_id", ""),
    }
    if not creating:
        body["enabled"] = form.get("enabled") == "on"
    return body


def _choices() -> dict[str, Any]:
    """Channels and pools by name (the filters): two reads, each of two attributes."""
    return {"channel_names": lines.channel_names(), "pool_names": lines.pool_names()}


def _typed(form: dict[str, str], events: list[str]) -> dict[str, Any]:
    return {
        **{k: (form.get(k) or "")[:2000] for k in FORM_FIELDS},
        "events": events,
        "enabled": form.get("enabled") == "on",
    }


def _blank() -> dict[str, Any]:
    return {**{k: "" for k in FORM_FIELDS}, "events": list(TYPES), "enabled": True}


def render_list(
    request: Request,
    viewer: web.Viewer,
    *,
    status: int = 200,
    typed: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    failed: str | None = None,
    **context: Any,
) -> Response:
    """The endpoints (each with its edit form), the add form. Three reads: endpoints, channels, pools.

    ``failed`` is the endpoint whose edit form was refused: it opens with ``typed`` and ``errors``;
    otherwise they belong to the add form."""
    listed = endpoints.list_all()
    forms = {
        e["id"]: {
            "url": e["url"],
            "description": e["description"] or "",
            "channel_id": e["channel_id"] or "",
            "pool_id": e["pool_id"] or "",
            "events": e["events"],
            "enabled": e["enabled"],
        }
        for e in listed
    }
    add_form = _blank()
    if failed and typed is not None:
        forms[failed] = typed
    elif typed is not None:
        add_form = typed
    return web.render(
        request,
        "webhooks.html",
        viewer=viewer,
        status=status,
        endpoints=listed,
        forms=forms,
        form=add_form,
        errors=errors or {},
        failed=failed,
        types=TYPES,
        event_words=EVENT_WORDS,
        **_choices(),
        **context,
    )


def list_page(request: Request) -> Response:
    viewer = web.require(request, role="admin")
    return render_list(request, viewer)


def create(request: Request) -> Response:
    viewer = web.require(request, role="admin")
    form = web.check_csrf(request, viewer)
    events = formerrors.multi(request, "events")
    try:
        made = endpoints.create(endpoint_body(form, events, creating=True), ctx=viewer.context)
    except BadRequest as exc:
        errors = formerrors.errors_for(exc.message)
        return render_list(request, viewer, status=400, typed=_typed(form, events), errors=errors)
    return render_endpoint(request, viewer, made["id"], status=201, secret=made["secret"], notice="Endpoint added.")


def update(request: Request, endpoint_id: str) -> Response:
    viewer = web.require(request, role="admin")
    form = web.check_csrf(request, viewer)
    events = formerrors.multi(request, "events")
    try:
        saved = endpoints.update(endpoint_id, endpoint_body(form, events, creating=False), ctx=viewer.context)
    except BadRequest as exc:
        errors = formerrors.errors_for(exc.message)
        typed = _typed(form, events)
        return render_list(request, viewer, status=400, typed=typed, errors=errors, failed=endpoint_id)
    return render_list(request, viewer, notice=f"Saved the endpoint {saved['url']}.")


def render_endpoint(
    request: Request, viewer: web.Viewer, endpoint_id: str, *, status: int = 200, **context: Any
) -> Response:
    """One endpoint and its delivery log (two reads: the endpoint, its latest 50 attempts)."""
    endpoint = endpoints.get(endpoint_id)
    log = endpoints.deliveries(endpoint_id, 50)
    return web.render(request, "webhook.html", viewer=viewer, status=status, endpoint=endpoint, log=log, **context)


def endpoint_page(request: Request, endpoint_id: str) -> Response:
    viewer = web.require(request, role="admin")
    return render_endpoint(request, viewer, endpoint_id)


def rotate(request: Request, endpoint_id: str) -> Response:
    viewer = web.require(request, role="admin")
    form = web.check_csrf(request, viewer)
    body = formerrors.drop_none({"overlap_hours": formerrors.as_int(form.get("overlap_hours"))})
    try:
        answer = endpoints.rotate_secret(endpoint_id, body, ctx=viewer.context)
    except BadRequest as exc:
        errors = formerrors.errors_for(exc.message)
        return render_endpoint(
            request, viewer, endpoint_id, status=400, errors=errors, overlap=(form.get("overlap_hours") or "")[:20]
        )
    until = answer["previous_secret_valid_until"]
    what = f"the previous one keeps working until {until}" if until else "the previous one stopped working now"
    return render_endpoint(request, viewer, endpoint_id, secret=answer["secret"], notice=f"New secret made: {what}.")


def send_test(request: Request, endpoint_id: str) -> Response:
    viewer = web.require(request, role="admin")
    web.check_csrf(request, viewer)
    answer = endpoints.send_test(endpoint_id)
    return render_endpoint(request, viewer, endpoint_id, tested=answer)


def resend(request: Request, endpoint_id: str, delivery_id: str) -> Response:
    viewer = web.require(request, role="admin")
    web.check_csrf(request, viewer)
    endpoints.resend(endpoint_id, delivery_id, ctx=viewer.context)
    notice = f"Delivery {delivery_id} is queued again: its attempt shows in the log in a moment."
    return render_endpoint(request, viewer, endpoint_id, notice=notice)


def delete(request: Request, endpoint_id: str) -> Response:
    viewer = web.require(request, role="admin")
    web.check_csrf(request, viewer)
    gone = endpoints.get(endpoint_id)
    endpoints.delete(endpoint_id, ctx=viewer.context)
    return render_list(request, viewer, notice=f"Removed {gone['url']}: nothing more is sent to it.")
