"""The conversions' management routes (``/v1/conversions``; read to look, admin to change)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.core.context import RequestContext
from chalicelib.core.lazy import lazy_module
from chalicelib.core.responses import body, caller, json_response, no_content

if TYPE_CHECKING:
    from chalicelib.integrations.conversions import api
else:  # loaded on first use: the voice webhook's cold start never pays for it
    api = lazy_module("chalicelib.integrations.conversions.api")

bp = Blueprint(__name__)


def _ctx() -> RequestContext:
    return caller(bp.current_request)


@bp.route("/v1/conversions/destinations", methods=["POST"])
def create_conversion_destination() -> Response:
    return json_response(api.destinations.create(body(bp.current_request), ctx=_ctx()), 201)


@bp.route("/v1/conversions/destinations", methods=["GET"])
def list_conversion_destinations() -> Response:
    return json_response({"destinations": api.destinations.list_all(), "platforms": api.platform_list()})


@bp.route("/v1/conversions/destinations/{destination_id}", methods=["GET"])
def get_conversion_destination(destination_id: str) -> Response:
    return json_response(api.destinations.get(destination_id))


@bp.route("/v1/conversions/destinations/{destination_id}", methods=["PATCH"])
def update_conversion_destination(destination_id: str) -> Response:
    return json_response(api.destinations.update(destination_id, body(bp.current_request), ctx=_ctx()), 200)


@bp.route("/v1/conversions/destinations/{destination_id}", methods=["DELETE"])
def delete_conversion_destination(destination_id: str) -> Response:
    api.destinations.delete(destination_id, ctx=_ctx())
    return no_content()


@bp.route("/v1/conversions/destinations/{destination_id}/credentials", methods=["PUT"])
def set_conversion_credentials(destination_id: str) -> Response:
    return json_response(api.destinations.set_credentials(destination_id, body(bp.current_request), ctx=_ctx()), 200)


@bp.route("/v1/conversions/destinations/{destination_id}/test", methods=["POST"])
def test_conversion_destination(destination_id: str) -> Response:
    return json_response(api.destinations.send_test(destination_id, ctx=_ctx()))


@bp.route("/v1/conversions/destinations/{destination_id}/backfill", methods=["POST"])
def backfill_conversion_destination(destination_id: str) -> Response:
    return json_response(api.backfill(destination_id, body(bp.current_request, optional=True), ctx=_ctx()), 202)


@bp.route("/v1/conversions/destinations/{destination_id}/deliveries", methods=["GET"])
def conversion_deliveries(destination_id: str) -> Response:
    return json_response({"deliveries": api.destinations.deliveries(destination_id)})


@bp.route("/v1/conversions/calls/{call_sid}", methods=["GET"])
def call_conversions(call_sid: str) -> Response:
    return json_response(api.of_call(call_sid))
