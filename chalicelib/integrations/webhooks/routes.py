"""The webhooks' management routes (``/v1/webhooks``, admin scope): endpoints, secrets, deliveries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.core.context import RequestContext
from chalicelib.core.lazy import lazy_module
from chalicelib.core.responses import body, caller, json_response, no_content

if TYPE_CHECKING:
    from chalicelib.integrations.webhooks import endpoints
else:  # loaded on first use: the voice webhook's cold start never pays for it
    endpoints = lazy_module("chalicelib.integrations.webhooks.endpoints")

bp = Blueprint(__name__)


def _ctx() -> RequestContext:
    return caller(bp.current_request)


@bp.route("/v1/webhooks", methods=["POST"])
def create_webhook() -> Response:
    return json_response(endpoints.create(body(bp.current_request), ctx=_ctx()), 201)


@bp.route("/v1/webhooks", methods=["GET"])
def list_webhooks() -> Response:
    return json_response({"webhooks": endpoints.list_all()})


@bp.route("/v1/webhooks/{endpoint_id}", methods=["GET"])
def get_webhook(endpoint_id: str) -> Response:
    return json_response(endpoints.get(endpoint_id))


@bp.route("/v1/webhooks/{endpoint_id}", methods=["PATCH"])
def update_webhook(endpoint_id: str) -> Response:
    return json_response(endpoints.update(endpoint_id, body(bp.current_request), ctx=_ctx()))


@bp.route("/v1/webhooks/{endpoint_id}", methods=["DELETE"])
def delete_webhook(endpoint_id: str) -> Response:
    endpoints.delete(endpoint_id, ctx=_ctx())
    return no_content()


@bp.route("/v1/webhooks/{endpoint_id}/rotate-secret", methods=["POST"])
def rotate_webhook_secret(endpoint_id: str) -> Response:
    return json_response(endpoints.rotate_secret(endpoint_id, body(bp.current_request, optional=True), ctx=_ctx()))


@bp.route("/v1/webhooks/{endpoint_id}/deliveries", methods=["GET"])
def webhook_deliveries(endpoint_id: str) -> Response:
    return json_response({"deliveries": endpoints.deliveries(endpoint_id)})


@bp.route("/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/resend", methods=["POST"])
def resend_webhook_delivery(endpoint_id: str, delivery_id: str) -> Response:
    return json_response(endpoints.resend(endpoint_id, delivery_id, ctx=_ctx()), 202)


@bp.route("/v1/webhooks/{endpoint_id}/test", methods=["POST"])
def test_webhook(endpoint_id: str) -> Response:
    return json_response(endpoints.send_test(endpoint_id))
