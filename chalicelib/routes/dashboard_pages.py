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

from chalicelib.core.context import log_change
from chalicelib.core.errors import BadRequest, Conflict, UpstreamError
from chalicelib.core.settings import get_settings
from chalicelib.routes import lazy_module
from chalicelib.routes.http import json_response

if TYPE_CHECKING:
    from chalicelib import business, callback_dial
    from chalicelib.dashboard import breakdown, callers, listen, logpage, overview, setup, story, users, web
    from chalicelib.integrations.conversions import pages as conversions
    from chalicelib.integrations.transcripts import pages as transcripts
    from chalicelib.recordings import playback
    from chalicelib.reports import outcomes
else:  # dashboard only: loaded on its first request (see lazy_module)
    business = lazy_module("chalicelib.business")
    breakdown = lazy_module("chalicelib.dashboard.breakdown")
    callers = lazy_module("chalicelib.dashboard.callers")
    callback_dial = lazy_module("chalicelib.callback_dial")
    logpage = lazy_module("chalicelib.dashboard.logpage")
    listen = lazy_module("chalicelib.dashboard.listen")
    overview = lazy_module("chalicelib.dashboard.overview")
    story = lazy_module("chalicelib.dashboard.story")
    setup = lazy_module("chalicelib.dashboard.setup")
    web = lazy_module("chalicelib.dashboard.web")
    users = lazy_module("chalicelib.dashboard.users")
    conversions = lazy_module("chalicelib.integrations.conversions.pages")
    transcripts = lazy_module("chalicelib.integrations.transcripts.pages")
    playback = lazy_module("chalicelib.recordings.playback")
    outcomes = lazy_module("chalicelib.reports.outcomes")

bp = Blueprint(__name__)
FORMS = ["application/x-www-form-urlencoded"]  # forms only, as the shell's: JSON would make them API routes


def talk(seconds: int | None) -> str:
    """Seconds as a person reads a call's length (``4m 05s``), as the overview shows talk time."""
    return overview.display("seconds", seconds)


def _common() -> dict[str, Any]:
    s = get_settings()
    return {"timezone": business.timezone(), "api_base": s.public_base_url.rstrip("/"), "talk": talk}


@bp.route("/dashboard", methods=["GET"])
def overview_page() -> Response:
    req = bp.current_request
    viewer = web.require(req)
    data = overview.overview(web.query_params(req))
    if not data.get("has_sources"):  # a fresh install: the first-run checklist instead of empty charts
        data["checklist"] = setup.checklist()
    # The list's "Call back now" rings the admin's own phone: without one, a link to give it (one read,
    # only for an admin with callers waiting)
    data["own_phone"] = bool(viewer.is_admin and data.get("call_back") and users.phone_of(viewer.email))
    return web.render(req, "overview.html", viewer=viewer, **data, **_common())


@bp.route("/dashboard/breakdown", methods=["GET"])
def breakdown_page() -> Response:
    req = bp.current_request
    viewer = web.require(req)
    data = breakdown.page(web.query_params(req))
    return web.render(req, "breakdown.html", viewer=viewer, **data, **_common())


def _settings_page(req: Any, viewer: Any, status: int = 200, error: str | None = None, typed: Any = None) -> Response:
    biz = business.profile()
    form = typed or {
        "name": biz.name,
        "currency": biz.currency,
        "country": biz.country,
        "conversions": biz.conversions,
        "timezone": biz.timezone,
    }
    form.setdefault("timezone", biz.timezone)
    return web.render(
        req,
        "settings.html",
        viewer=viewer,
        status=status,
        error=error,
        tz_error=bool(error and error.startswith("'timezone'")),
        form=form,
        outcomes=business.CONVERSION_OUTCOMES,
        can_edit=viewer.role == "admin",
        retention_days=get_settings().call_retention_days,
        saved=web.query_params(req).get("saved") == "1",
        rebuild=business.rebuild_status(ctx=viewer.context),
        **_common(),
    )


@bp.route("/dashboard/settings", methods=["GET"])
def settings_page() -> Response:
    req = bp.current_request
    return _settings_page(req, web.require(req))


@bp.route("/dashboard/settings", methods=["POST"], content_types=FORMS)
def save_settings() -> Response:
    req = bp.current_request
    viewer = web.require(req, role="admin")
    form = web.check_csrf(req, viewer)
    try:
        business.save(form, ctx=viewer.context)
    except BadRequest as exc:  # the form again, as typed, with what was wrong
        typed: dict[str, Any] = {k: form.get(k, "") for k in ("name", "currency", "country", "timezone")}
        typed["conversions"] = tuple(o for o in business.CONVERSION_OUTCOMES if form.get(f"conversion_{o}") == "on")
        return _settings_page(req, viewer, 400, exc.message, typed)
    return web.redirect("/dashboard/settings?saved=1")


@bp.route("/dashboard/settings/rebuild", methods=["GET"])
def settings_rebuild() -> Response:
    """The report days' rebuild for the Settings page's progress (the API's ``/v1/settings/rebuild``)."""
    req = bp.current_request
    viewer = web.require(req)
    return json_response(business.rebuild_status(ctx=viewer.context))


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
    viewer = web.require(req)
    text, cut = logpage.export_csv(web.query_params(req))
    log_change(viewer.context, "calls.export", format="csv")
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
    data = story.story(sid, viewer.email)
    saved = web.query_params(req).get("saved") == "1"
    sent = conversions.of_call(sid)
    said = transcripts.for_call(data.pop("record"))
    return web.render(
        req, "call.html", viewer=viewer, saved=saved, conversions=sent, transcript=said, **data, **_common()
    )


@bp.route("/dashboard/calls/{sid}/outcome", methods=["POST"], content_types=FORMS)
def save_outcome(sid: str) -> Response:
    req = bp.current_request
    viewer = web.require(req)  # a viewer may tag outcomes
    form = web.check_csrf(req, viewer)
    try:
        outcomes.set_outcome(sid, story.outcome_body(form), ctx=viewer.context)
    except BadRequest as exc:  # the story again, with what was wrong next to it and everything typed kept
        data = story.story(sid, viewer.email)
        sent = conversions.of_call(sid)
        data["call"] = story.keep_typed(data["call"], form)
        field = "revenue" if "'revenue'" in exc.message else None
        return web.render(
            req,
            "call.html",
            viewer=viewer,
            status=400,
            error=exc.message,
            error_field=field,
            conversions=sent,
            **data,
            **_common(),
        )
    return web.redirect(f"/dashboard/calls/{quote(sid)}?" + urlencode({"saved": "1"}))


@bp.route("/dashboard/calls/{sid}/called-back", methods=["POST"], content_types=FORMS)
def mark_called_back(sid: str) -> Response:
    """The call-back list's button: the caller was called back (as ``PATCH /v1/calls/{sid}``
    with ``called_back: true``); back to the overview, where they are no longer listed."""
    req = bp.current_request
    viewer = web.require(req)  # a viewer may mark call-backs, as they tag outcomes
    web.check_csrf(req, viewer)
    outcomes.set_outcome(sid, {"called_back": True}, ctx=viewer.context)
    return web.redirect("/dashboard")


@bp.route("/dashboard/calls/{sid}/call-back", methods=["POST"], content_types=FORMS)
def call_back(sid: str) -> Response:
    req = bp.current_request
    viewer = web.require(req, role="admin")  # it rings phones and costs money
    fields = web.check_csrf(req, viewer)
    try:
        # The signed-in user's own phone rings first (their Account page); none: refused, saying where.
        callback_dial.call_back(sid, users.phone_of(viewer.email), ctx=viewer.context)
    except (Conflict, UpstreamError) as exc:
        data = story.story(sid, viewer.email)
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
    if fields.get("back") == "overview":  # the overview's call-back list: back to it, saying who is rung
        return web.redirect("/dashboard?" + urlencode({"calling": sid}))
    return web.redirect(f"/dashboard/calls/{quote(sid)}?" + urlencode({"called_back": "1"}))


@bp.route("/dashboard/calls/{sid}/recording", methods=["GET"])
def call_recording(sid: str) -> Response:
    req = bp.current_request
    web.require(req)
    return json_response(playback.link(sid), headers={"Cache-Control": "no-store"})


# A signed, expiring link to one recording (a CRM's users have no sign-in): chalicelib/dashboard/listen.py


@bp.route("/dashboard/listen/{sid}", methods=["GET"])
def listen_page(sid: str) -> Response:
    return listen.page(bp.current_request, sid)  # type: ignore[no-any-return]


@bp.route("/dashboard/listen/{sid}/recording", methods=["GET"])
def listen_recording(sid: str) -> Response:
    return listen.recording(bp.current_request, sid)  # type: ignore[no-any-return]


# --- the ad platforms (calls as conversions): chalicelib/integrations/conversions/pages.py ----------


@bp.route("/dashboard/transcripts", methods=["GET"])
def transcripts_page() -> Response:
    return transcripts.rules_page(bp.current_request)  # type: ignore[no-any-return]


@bp.route("/dashboard/transcripts/rules", methods=["POST"], content_types=FORMS)
def add_transcript_rule() -> Response:
    return transcripts.add_rule(bp.current_request)  # type: ignore[no-any-return]


@bp.route("/dashboard/transcripts/rules/{rule_id}/delete", methods=["POST"], content_types=FORMS)
def remove_transcript_rule(rule_id: str) -> Response:
    return transcripts.remove_rule(bp.current_request, rule_id)  # type: ignore[no-any-return]


@bp.route("/dashboard/transcripts/mode", methods=["POST"], content_types=FORMS)
def set_transcript_mode() -> Response:
    return transcripts.set_mode(bp.current_request)  # type: ignore[no-any-return]


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


@bp.route("/dashboard/callers", methods=["GET"])
def caller_page() -> Response:
    """What we hold about one caller (admins), as ``GET /v1/callers/{number}``."""
    return callers.page(bp.current_request)  # type: ignore[no-any-return]


@bp.route("/dashboard/callers.json", methods=["GET"])
def caller_json() -> Response:
    return callers.as_json(bp.current_request)  # type: ignore[no-any-return]


@bp.route("/dashboard/callers/erase", methods=["POST"], content_types=FORMS)
def erase_caller() -> Response:
    """Erase a caller after the form's confirmation (admins), as ``DELETE /v1/callers/{number}``."""
    return callers.erase(bp.current_request)  # type: ignore[no-any-return]
