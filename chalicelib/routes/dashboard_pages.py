"""The dashboard's pages: the overview, the call log (and its CSV), a call's story, its recording and outcome.

Every page asks ``web.require`` first (a signed-out browser is sent to sign-in; a viewer may see
all of these and tag outcomes), and every change checks the CSRF token. The dashboard's modules
load on the first dashboard request (``lazy_module``), never with ``import app``. Errors raised
here become HTML pages in ``chalicelib.routes.http``'s middleware, except where a page shows the
problem itself (a bad filter on the log, a bad outcome form).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from chalice import Blueprint, Response

from chalicelib.core.errors import BadRequest, Conflict, UpstreamError
from chalicelib.core.settings import get_settings
from chalicelib.routes import lazy_module
from chalicelib.routes.http import json_response

if TYPE_CHECKING:
    from chalicelib import callback_dial
    from chalicelib.dashboard import logpage, overview, setup, story, web
    from chalicelib.integrations.conversions import pages as conversions
    from chalicelib.recordings import playback
    from chalicelib.reports import outcomes
else:  # dashboard only: loaded on its first request (see lazy_module)
    callback_dial = lazy_module("chalicelib.callback_dial")
    logpage = lazy_module("chalicelib.dashboard.logpage")
    overview = lazy_module("chalicelib.dashboard.overview")
    story = lazy_module("chalicelib.dashboard.story")
    setup = lazy_module("chalicelib.dashboard.setup")
    web = lazy_module("chalicelib.dashboard.web")
    conversions = lazy_module("chalicelib.integrations.conversions.pages")
    playback = lazy_module("chalicelib.recordings.playback")
    outcomes = lazy_module("chalicelib.reports.outcomes")

bp = Blueprint(__name__)
FORMS = ["application/x-www-form-urlencoded"]  # forms only, as the shell's: JSON would make them API routes


def talk(seconds: int | None) -> str:
    """Seconds as a person reads a call's length (``4m 05s``), as the overview shows talk time."""
    return overview.display("seconds", seconds)


def _common() -> dict[str, Any]:
    s = get_settings()
    return {"timezone": s.report_timezone, "api_base": s.public_base_url.rstrip("/"), "talk": talk}


@bp.route("/dashboard", methods=["GET"])
def overview_page() -> Response:
    req = bp.current_request
    viewer = web.require(req)
    data = overview.overview(web.query_params(req))
    if not data.get("has_sources"):  # a fresh install: the first-run checklist instead of empty charts
        data["checklist"] = setup.checklist()
    return web.render(req, "overview.html", viewer=viewer, **data, **_common())


@bp.route("/dashboard/calls", methods=["GET"])
def calls_page() -> Response:
    req = bp.current_request
    viewer = web.require(req)
    q = web.query_params(req)
    choices = logpage.source_choices()
    context: dict[str, Any] = {"choices": choices, "choice_values": {v for v, _ in choices}, **_common()}
    try:
        data = logpage.log(q)
    except BadRequest as exc:  # a bad filter: the form again, with what was wrong, and no calls
        filters = logpage.parse_filters({}, logpage.today())
        context.update(filters=filters, rows=[], cursor=None, short=False, error=exc.message)
        context.update(query=filters.query(), filtered=True, cursor_in=False)
        return web.render(req, "calls.html", viewer=viewer, status=400, **context)
    f = data["filters"]
    filtered = any(k not in ("from", "to") for k in f.query())
    context.update(data, query=f.query(), filtered=filtered, cursor_in=bool(q.get("cursor")))
    return web.render(req, "calls.html", viewer=viewer, **context)


@bp.route("/dashboard/calls.csv", methods=["GET"])
def calls_csv() -> Response:
    req = bp.current_request
    web.require(req)
    text, cut = logpage.export_csv(web.query_params(req))
    headers = web.page_headers(
        {
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="calls.csv"',
            "X-Truncated": "true" if cut else "false",
        }
    )
    return Response(body=text, status_code=200, headers=headers)


@bp.route("/dashboard/calls/{sid}", methods=["GET"])
def call_page(sid: str) -> Response:
    req = bp.current_request
    viewer = web.require(req)
    data = story.story(sid)
    saved = web.query_params(req).get("saved") == "1"
    sent = conversions.of_call(sid)
    return web.render(req, "call.html", viewer=viewer, saved=saved, conversions=sent, **data, **_common())


@bp.route("/dashboard/calls/{sid}/outcome", methods=["POST"], content_types=FORMS)
def save_outcome(sid: str) -> Response:
    req = bp.current_request
    viewer = web.require(req)  # a viewer may tag outcomes
    form = web.check_csrf(req, viewer)
    try:
        outcomes.set_outcome(sid, story.outcome_body(form), ctx=viewer.context)
    except BadRequest as exc:  # the story again, with what was wrong
        data = story.story(sid)
        sent = conversions.of_call(sid)
        return web.render(
            req, "call.html", viewer=viewer, status=400, error=exc.message, conversions=sent, **data, **_common()
        )
    return web.redirect(f"/dashboard/calls/{quote(sid)}?" + urlencode({"saved": "1"}))


@bp.route("/dashboard/calls/{sid}/call-back", methods=["POST"], content_types=FORMS)
def call_back(sid: str) -> Response:
    req = bp.current_request
    viewer = web.require(req, role="admin")  # it rings phones and costs money
    web.check_csrf(req, viewer)
    try:
        callback_dial.call_back(sid, ctx=viewer.context)
    except (Conflict, UpstreamError) as exc:
        data = story.story(sid)
        sent = conversions.of_call(sid)
        return web.render(
            req,
            "call.html",
            viewer=viewer,
            status=exc.status,
            callback_error=exc.message,
            conversions=sent,
            **data,
            **_common(),
        )
    return web.redirect(f"/dashboard/calls/{quote(sid)}?" + urlencode({"called_back": "1"}))


@bp.route("/dashboard/calls/{sid}/recording", methods=["GET"])
def call_recording(sid: str) -> Response:
    req = bp.current_request
    web.require(req)
    return json_response(playback.link(sid), headers={"Cache-Control": "no-store"})


# --- the ad platforms (calls as conversions): chalicelib/integrations/conversions/pages.py ----------


@bp.route("/dashboard/conversions", methods=["GET"])
def conversions_page() -> Response:
    return conversions.list_page(bp.current_request)  # type: ignore[no-any-return]


@bp.route("/dashboard/conversions", methods=["POST"], content_types=FORMS)
def add_conversion_destination() -> Response:
    return conversions.create(bp.current_request)  # type: ignore[no-any-return]


@bp.route("/dashboard/conversions/{destination_id}", methods=["GET"])
def conversion_page(destination_id: str) -> Response:
    return conversions.detail_page(bp.current_request, destination_id)  # type: ignore[no-any-return]


@bp.route("/dashboard/conversions/{destination_id}/credentials", methods=["POST"], content_types=FORMS)
def conversion_credentials(destination_id: str) -> Response:
    return conversions.set_credentials(bp.current_request, destination_id)  # type: ignore[no-any-return]


@bp.route("/dashboard/conversions/{destination_id}/rules", methods=["POST"], content_types=FORMS)
def conversion_add_rule(destination_id: str) -> Response:
    return conversions.add_rule(bp.current_request, destination_id)  # type: ignore[no-any-return]


@bp.route("/dashboard/conversions/{destination_id}/rules/{rule_id}/delete", methods=["POST"], content_types=FORMS)
def conversion_remove_rule(destination_id: str, rule_id: str) -> Response:
    return conversions.remove_rule(bp.current_request, destination_id, rule_id)  # type: ignore[no-any-return]


@bp.route("/dashboard/conversions/{destination_id}/pause", methods=["POST"], content_types=FORMS)
def conversion_pause(destination_id: str) -> Response:
    return conversions.pause(bp.current_request, destination_id, True)  # type: ignore[no-any-return]


@bp.route("/dashboard/conversions/{destination_id}/resume", methods=["POST"], content_types=FORMS)
def conversion_resume(destination_id: str) -> Response:
    return conversions.pause(bp.current_request, destination_id, False)  # type: ignore[no-any-return]


@bp.route("/dashboard/conversions/{destination_id}/test", methods=["POST"], content_types=FORMS)
def conversion_test(destination_id: str) -> Response:
    return conversions.send_test(bp.current_request, destination_id)  # type: ignore[no-any-return]
