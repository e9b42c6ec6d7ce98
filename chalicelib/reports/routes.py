"""The reports' management routes: figures by channel and by day, ad spend (typed or imported)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.core.context import RequestContext
from chalicelib.core.lazy import lazy_module
from chalicelib.core.responses import body, caller, json_response, query

if TYPE_CHECKING:
    from chalicelib import business
    from chalicelib.reports import figures, spend
else:  # loaded on first use: the voice webhook's cold start never pays for them
    business = lazy_module("chalicelib.business")
    figures = lazy_module("chalicelib.reports.figures")
    spend = lazy_module("chalicelib.reports.spend")

bp = Blueprint(__name__)


def _ctx() -> RequestContext:
    return caller(bp.current_request)


@bp.route("/v1/spend", methods=["PUT"])
def put_spend() -> Response:
    return json_response(spend.put_spend(body(bp.current_request), ctx=_ctx()))


@bp.route("/v1/spend/import", methods=["POST"], content_types=["text/csv"])
def import_spend() -> Response:
    return json_response(spend.import_spend(bp.current_request.raw_body, ctx=_ctx()), 201)


@bp.route("/v1/reports/channels", methods=["GET"])
def channels_report() -> Response:
    return json_response(figures.channels_report(query(bp.current_request)))


@bp.route("/v1/reports/daily", methods=["GET"])
def daily_report() -> Response:
    return json_response(figures.daily_report(query(bp.current_request)))


@bp.route("/v1/reports/breakdown", methods=["GET"])
def breakdown_report() -> Response:
    return json_response(figures.breakdown_report(query(bp.current_request)))


@bp.route("/v1/reports/menu", methods=["GET"])
def menu_report() -> Response:
    return json_response(figures.menu_report(query(bp.current_request)))


@bp.route("/v1/settings/timezone", methods=["PUT"])
def put_timezone() -> Response:
    """A new business time zone: 202 with the report days' rebuild it started, followed at
    ``GET /v1/settings/rebuild``."""
    status = business.change_timezone(body(bp.current_request), ctx=_ctx())
    return json_response(status, 202, {"Location": "/v1/settings/rebuild"})


@bp.route("/v1/settings/rebuild", methods=["GET"])
def get_rebuild() -> Response:
    return json_response(business.rebuild_status(ctx=_ctx()))
