"""The dashboard's setup pages: tracking numbers, channels, website pools, call handling, first run.

Everyone signed in sees them; only admins change anything (a viewer's POST, by hand too, is a 403).
Every change checks the CSRF token and goes through the domain the management API uses; a refusal
shows the same page again with the typed values kept and the message beside the field it names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from chalice import Blueprint, Response

from chalicelib.core.errors import ApiError
from chalicelib.routes import lazy_module

if TYPE_CHECKING:
    from chalice.app import Request

    from chalicelib import channels, numbers, pools
    from chalicelib.dashboard import callflow, install, setup, web
    from chalicelib.recordings import greetings
else:  # dashboard only: loaded on its first request (see lazy_module)
    channels = lazy_module("chalicelib.channels")
    numbers = lazy_module("chalicelib.numbers")
    pools = lazy_module("chalicelib.pools")
    callflow = lazy_module("chalicelib.dashboard.callflow")
    install = lazy_module("chalicelib.dashboard.install")
    setup = lazy_module("chalicelib.dashboard.setup")
    web = lazy_module("chalicelib.dashboard.web")
    greetings = lazy_module("chalicelib.recordings.greetings")

bp = Blueprint(__name__)
FORMS = ["application/x-www-form-urlencoded"]
REFUSED = (400, 409, 502)  # what a form shows beside its field; a 404 or 403 is the error page


def _refusal(exc: ApiError) -> dict[str, str]:
    if exc.status not in REFUSED:
        raise exc
    return {callflow.field_of(exc.message): exc.message}


def _notice(req: Request) -> str:
    return web.query_params(req).get("saved", "")


NOTICES = {
    "created": "Saved. Next: buy its tracking number below.",
    "saved": "Saved.",
    "handling": "Call handling saved. The preview shows what a caller hears now.",
    "bought": "Bought. Calls to it are tracked from now on.",
    "released": "Released.",
    "deleted": "Deleted.",
}


# --- numbers ---------------------------------------------------------------------------------------


def _numbers_page(req: Request, *, status: int = 200, **extra: Any) -> Response:
    viewer = web.require(req)
    q = web.query_params(req)
    at_provider, provider_error = None, ""
    if q.get("check") == "1":  # "Check at Twilio": one request to the provider, none to DynamoDB
        try:
            at_provider = setup.provider_states()
        except ApiError as exc:
            provider_error = exc.message
    rows = setup.number_rows(q.get("q", ""), show_released=q.get("released") == "1", at_provider=at_provider)
    context: dict[str, Any] = {
        "rows": rows,
        "q": q.get("q", ""),
        "show_released": q.get("released") == "1",
        "choices": setup.line_choices(),
        "form": {"country": "US", **{k: q[k] for k in ("country", "area_code", "contains", "line") if k in q}},
        "errors": {},
        "available": None,
        "notice": NOTICES.get(_notice(req), ""),
        "checked": at_provider is not None,
        "provider_error": provider_error,
    }
    context.update(extra)
    if viewer.is_admin and q.get("find") == "1" and "errors" not in extra:
        try:
            context["available"] = setup.search_available(q)
        except ApiError as exc:
            context["errors"] = _refusal(exc)
            status = 400
    return web.render(req, "numbers.html", viewer=viewer, status=status, **context)


@bp.route("/dashboard/numbers", methods=["GET"])
def numbers_page() -> Response:
    return _numbers_page(bp.current_request)


@bp.route("/dashboard/numbers", methods=["POST"], content_types=FORMS)
def buy_number() -> Response:
    req = bp.current_request
    viewer = web.require(req, role="admin")
    form = web.check_csrf(req, viewer)
    try:
        setup.buy(form, ctx=viewer.context)
    except ApiError as exc:
        errors = _refusal(exc)
        back = form.get("back", "")
        if back.startswith("/dashboard/channels/"):
            return _channel_page(req, back.rsplit("/", 1)[-1], status=exc.status, buy_errors=errors, buy_form=form)
        return _numbers_page(req, status=exc.status, errors=errors, form=form)
    back = form.get("back", "")
    target = back if back.startswith(("/dashboard/channels/", "/dashboard/pools/")) else "/dashboard/numbers"
    return web.redirect(target + "?" + urlencode({"saved": "bought"}))


@bp.route("/dashboard/numbers/{number}/release", methods=["GET"])
def release_confirm(number: str) -> Response:
    req = bp.current_request
    viewer = web.require(req, role="admin")
    return web.render(req, "number_release.html", viewer=viewer, info=setup.release_info(number))


@bp.route("/dashboard/numbers/{number}/release", methods=["POST"], content_types=FORMS)
def release_number(number: str) -> Response:
    req = bp.current_request
    viewer = web.require(req, role="admin")
    web.check_csrf(req, viewer)
    numbers.release(number, ctx=viewer.context)
    return web.redirect("/dashboard/numbers?" + urlencode({"saved": "released"}))


# --- channels --------------------------------------------------------------------------------------


@bp.route("/dashboard/channels", methods=["GET"])
def channels_page() -> Response:
    req = bp.current_request
    viewer = web.require(req)
    return web.render(req, "channels.html", viewer=viewer, rows=setup.channel_rows(), form={}, errors={})


@bp.route("/dashboard/channels", methods=["POST"], content_types=FORMS)
def create_channel() -> Response:
    req = bp.current_request
    viewer = web.require(req, role="admin")
    form = web.check_csrf(req, viewer)
    try:
        ch = channels.create(setup.line_body(form, ("name", "forward_to")), ctx=viewer.context)
    except ApiError as exc:
        errors = _refusal(exc)
        rows = setup.channel_rows()
        return web.render(req, "channels.html", viewer=viewer, status=exc.status, rows=rows, form=form, errors=errors)
    setup.forget_lines()
    return web.redirect(f"/dashboard/channels/{quote(ch['id'])}?" + urlencode({"saved": "created"}))


def _channel_page(req: Request, channel_id: str, *, status: int = 200, **extra: Any) -> Response:
    viewer = web.require(req)
    data = setup.channel_page(channel_id)
    line = data["line"]
    context: dict[str, Any] = {
        "main_form": {**line, "forward_to": setup.phone(line["forward_to"])},
        "handling": callflow.form_from_line(data["line"]),
        "main_errors": {},
        "handling_errors": {},
        "buy_form": {"country": "US"},
        "buy_errors": {},
        "notice": NOTICES.get(_notice(req), ""),
        "days": callflow.DAY_NAMES,
    }
    context.update(extra)
    return web.render(req, "line.html", viewer=viewer, status=status, **data, **context)


@bp.route("/dashboard/channels/{channel_id}", methods=["GET"])
def channel_page(channel_id: str) -> Response:
    return _channel_page(bp.current_request, channel_id)


@bp.route("/dashboard/channels/{channel_id}", methods=["POST"], content_types=FORMS)
def update_channel(channel_id: str) -> Response:
    return _update("channel", channel_id, "main")


@bp.route("/dashboard/channels/{channel_id}/handling", methods=["POST"], content_types=FORMS)
def channel_handling(channel_id: str) -> Response:
    return _update("channel", channel_id, "handling")


@bp.route("/dashboard/channels/{channel_id}/delete", methods=["GET"])
def delete_channel_confirm(channel_id: str) -> Response:
    return _delete("channel", channel_id)


@bp.route("/dashboard/channels/{channel_id}/delete", methods=["POST"], content_types=FORMS)
def delete_channel(channel_id: str) -> Response:
    return _delete("channel", channel_id)


# --- what channels and pools share: saving either form, deleting (after a confirmation) ----------


def _line(kind: str) -> tuple[Any, Callable[..., Response], Callable[[str], dict[str, Any]], str]:
    """A kind's domain module, page, page data and path."""
    if kind == "channel":
        return channels, _channel_page, setup.channel_page, "/dashboard/channels"
    return pools, _pool_page, setup.pool_page, "/dashboard/pools"


def _update(kind: str, line_id: str, which: str) -> Response:
    """Save a channel's or pool's ``main`` settings or its call ``handling`` through the domain the
    API uses; refused, the page again with the form as typed and the message by its field."""
    req = bp.current_request
    viewer = web.require(req, role="admin")
    form = web.check_csrf(
        req, viewer, max_bytes=greetings.MAX_BODY_BYTES if which == "handling" else web.MAX_FORM_BYTES
    )
    domain, page, _, path = _line(kind)
    audio = form.pop("greeting_audio", "").strip() if which == "handling" else ""
    try:  # the form's own checks (a half-typed day) refuse as the domain's do
        if which == "handling":
            body = callflow.body_from_form(form)
            if audio:
                greetings.check(audio)  # a file that is no recording refuses the form before anything is saved
        else:
            body = setup.line_body(form, ("name", "forward_to")) if kind == "channel" else setup.pool_body(form)
        domain.update(line_id, body, ctx=viewer.context)
        if audio:
            greetings.upload(kind, line_id, audio, ctx=viewer.context)
        elif which == "handling" and callflow.checked(form, "remove_greeting"):
            greetings.remove(kind, line_id, ctx=viewer.context)
    except ApiError as exc:
        refused = {f"{which}_errors": _refusal(exc), ("handling" if which == "handling" else "main_form"): form}
        return page(req, line_id, status=exc.status, **refused)
    if which == "main":
        setup.forget_lines()
    saved = urlencode({"saved": "handling" if which == "handling" else "saved"})
    return web.redirect(f"{path}/{quote(line_id)}?{saved}" + ("#handling" if which == "handling" else ""))


def _delete(kind: str, line_id: str) -> Response:
    """GET: what deleting does, to confirm; POST: delete (a 409 naming the numbers to release first)."""
    req = bp.current_request
    viewer = web.require(req, role="admin")
    domain, _, data_of, path = _line(kind)
    if req.method == "GET":
        return web.render(req, "line_delete.html", viewer=viewer, **data_of(line_id))
    web.check_csrf(req, viewer)
    try:
        domain.delete(line_id, ctx=viewer.context)
        greetings.forget_quietly(kind, line_id)
    except ApiError as exc:
        if exc.status != 409:
            raise
        return web.render(req, "line_delete.html", viewer=viewer, status=409, error=exc.message, **data_of(line_id))
    setup.forget_lines()
    return web.redirect(f"{path}?" + urlencode({"saved": "deleted"}))


# --- pools -----------------------------------------------------------------------------------------


def _pools_list(req: Request, *, status: int = 200, form: dict[str, str] | None = None, errors: Any = None) -> Response:
    viewer = web.require(req)
    defaults = {"hold_minutes": "15"}
    return web.render(
        req,
        "pools.html",
        viewer=viewer,
        status=status,
        rows=setup.pool_rows(),
        form=form or defaults,
        errors=errors or {},
        origin_hint=setup.origin_hint(),
    )


@bp.route("/dashboard/pools", methods=["GET"])
def pools_page() -> Response:
    return _pools_list(bp.current_request)


@bp.route("/dashboard/pools", methods=["POST"], content_types=FORMS)
def create_pool() -> Response:
    req = bp.current_request
    viewer = web.require(req, role="admin")
    form = web.check_csrf(req, viewer)
    try:
        p = pools.create(setup.pool_body(form), ctx=viewer.context)
    except ApiError as exc:
        return _pools_list(req, status=exc.status, form=form, errors=_refusal(exc))
    setup.forget_lines()
    return web.redirect(f"/dashboard/pools/{quote(p['id'])}?" + urlencode({"saved": "created"}))


def _pool_page(req: Request, pool_id: str, *, status: int = 200, **extra: Any) -> Response:
    viewer = web.require(req)
    data = setup.pool_page(pool_id)
    line = data["line"]
    main = {
        **line,
        "forward_to": setup.phone(line["forward_to"]),
        "original_number": setup.phone(line["original_number"]),
        "allowed_origins": "\n".join(line["allowed_origins"]),
        "hold_minutes": line["hold_seconds"] // 60,
    }
    context: dict[str, Any] = {
        "main_form": main,
        "handling": callflow.form_from_line(line),
        "main_errors": {},
        "handling_errors": {},
        "check_errors": {},
        "buy_form": {"count": "1"},
        "buy_errors": {},
        "check": None,
        "check_url": data["site_url"],
        "notice": NOTICES.get(_notice(req), ""),
        "days": callflow.DAY_NAMES,
    }
    context.update(extra)
    visitors = web.query_params(req).get("visitors")
    context.update(advice=None, advice_errors={}, visitors=visitors or "")
    if visitors is not None:  # the sizing model's advice: pure arithmetic, no request
        try:
            context["advice"] = setup.size_advice(visitors, line["hold_seconds"], line["size"])
        except ApiError as exc:
            context["advice_errors"] = {"visitors": exc.message}
    return web.render(req, "line.html", viewer=viewer, status=status, **data, **context)


@bp.route("/dashboard/pools/{pool_id}", methods=["GET"])
def pool_page(pool_id: str) -> Response:
    return _pool_page(bp.current_request, pool_id)


@bp.route("/dashboard/pools/{pool_id}", methods=["POST"], content_types=FORMS)
def update_pool(pool_id: str) -> Response:
    return _update("pool", pool_id, "main")


@bp.route("/dashboard/pools/{pool_id}/handling", methods=["POST"], content_types=FORMS)
def pool_handling(pool_id: str) -> Response:
    return _update("pool", pool_id, "handling")


@bp.route("/dashboard/pools/{pool_id}/numbers", methods=["POST"], content_types=FORMS)
def add_pool_numbers(pool_id: str) -> Response:
    req = bp.current_request
    viewer = web.require(req, role="admin")
    form = web.check_csrf(req, viewer)
    try:
        setup.add_pool_numbers(pool_id, form, ctx=viewer.context)
    except ApiError as exc:
        return _pool_page(req, pool_id, status=exc.status, buy_errors=_refusal(exc), buy_form=form)
    return web.redirect(f"/dashboard/pools/{quote(pool_id)}?" + urlencode({"saved": "bought"}))


@bp.route("/dashboard/pools/{pool_id}/check", methods=["POST"], content_types=FORMS)
def check_pool(pool_id: str) -> Response:
    req = bp.current_request
    viewer = web.require(req, role="admin")
    form = web.check_csrf(req, viewer)
    url = form.get("url", "")
    try:
        found = install.check(pool_id, url)
    except ApiError as exc:
        return _pool_page(req, pool_id, status=exc.status, check_errors=_refusal(exc), check_url=url)
    return _pool_page(req, pool_id, check=found, check_url=url)


@bp.route("/dashboard/pools/{pool_id}/delete", methods=["GET"])
def delete_pool_confirm(pool_id: str) -> Response:
    return _delete("pool", pool_id)


@bp.route("/dashboard/pools/{pool_id}/delete", methods=["POST"], content_types=FORMS)
def delete_pool(pool_id: str) -> Response:
    return _delete("pool", pool_id)


# --- first run -------------------------------------------------------------------------------------


@bp.route("/dashboard/start", methods=["GET"])
def start_page() -> Response:
    req = bp.current_request
    viewer = web.require(req)
    return web.render(req, "start.html", viewer=viewer, checklist=setup.checklist())
