"""The alerts' management routes (``/v1/alerts``, admin scope): recipients, a test, the sender, a summary preview."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.core.context import RequestContext
from chalicelib.core.lazy import lazy_module
from chalicelib.core.responses import body, caller, json_response, no_content, query

if TYPE_CHECKING:
    from chalicelib.integrations.alerts import api as alerts
else:  # loaded on first use: the voice webhook's cold start never pays for it
    alerts = lazy_module("chalicelib.integrations.alerts.api")

bp = Blueprint(__name__)


def _ctx() -> RequestContext:
    return caller(bp.current_request)


@bp.route("/v1/alerts/recipients", methods=["POST"])
def create_alert_recipient() -> Response:
    return json_response(alerts.create(body(bp.current_request), ctx=_ctx()), 201)


@bp.route("/v1/alerts/recipients", methods=["GET"])
def list_alert_recipients() -> Response:
    return json_response({"recipients": alerts.list_all()})


@bp.route("/v1/alerts/recipients/{recipient_id}", methods=["GET"])
def get_alert_recipient(recipient_id: str) -> Response:
    return json_response(alerts.get(recipient_id))


@bp.route("/v1/alerts/recipients/{recipient_id}", methods=["PATCH"])
def update_alert_recipient(recipient_id: str) -> Response:
    return json_response(alerts.update(recipient_id, body(bp.current_request), ctx=_ctx()))


@bp.route("/v1/alerts/recipients/{recipient_id}", methods=["DELETE"])
def delete_alert_recipient(recipient_id: str) -> Response:
    alerts.delete(recipient_id, ctx=_ctx())
    return no_content()


@bp.route("/v1/alerts/recipients/{recipient_id}/test", methods=["POST"])
def test_alert_recipient(recipient_id: str) -> Response:
    return json_response(alerts.send_test(recipient_id))


@bp.route("/v1/alerts/sender", methods=["GET"])
def alerts_sender() -> Response:
    return json_response(alerts.sender_status())


@bp.route("/v1/alerts/summary", methods=["GET"])
def alerts_summary_preview() -> Response:
    return json_response(alerts.summary_preview(query(bp.current_request)))
