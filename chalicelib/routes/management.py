"""The management API (API key required): channels, pools, numbers, calls, spend, reports, webhooks, alerts..."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib import calls
from chalicelib.core import clock
from chalicelib.core.context import RequestContext
from chalicelib.core.errors import BadRequest
from chalicelib.core.validation import json_body
from chalicelib.routes import lazy_module
from chalicelib.routes.http import Headers, caller, json_response, query
from chalicelib.voice import blocklist

if TYPE_CHECKING:
    from chalicelib import callbacks, channels, numbers, pools
    from chalicelib.events import stream as event_stream
    from chalicelib.integrations.alerts import api as alerts
    from chalicelib.integrations.webhooks import endpoints
    from chalicelib.recordings import playback
    from chalicelib.reports import calllog, figures, outcomes, sizing, spend
else:  # management only: loaded on first use (see lazy_module)
    callbacks = lazy_module("chalicelib.callbacks")
    channels = lazy_module("chalicelib.channels")
    numbers = lazy_module("chalicelib.numbers")
    event_stream = lazy_module("chalicelib.events.stream")
    endpoints = lazy_module("chalicelib.integrations.webhooks.endpoints")
    alerts = lazy_module("chalicelib.integrations.alerts.api")
    pools = lazy_module("chalicelib.pools")
    playback = lazy_module("chalicelib.recordings.playback")
    calllog = lazy_module("chalicelib.reports.calllog")
    outcomes = lazy_module("chalicelib.reports.outcomes")
    sizing = lazy_module("chalicelib.reports.sizing")
    spend = lazy_module("chalicelib.reports.spend")
    figures = lazy_module("chalicelib.reports.figures")

bp = Blueprint(__name__)


def _ctx() -> RequestContext:
    """Who is asking: the API key the middleware identified (and whose scope it checked)."""
    return caller(bp.current_request)


def _body() -> dict:  # type: ignore[type-arg]
    req = bp.current_request
    return json_body(req.raw_body, req.headers.get("content-type"))


@bp.route("/v1/channels", methods=["POST"])
def create_channel() -> Response:
    return json_response(channels.create(_body(), ctx=_ctx()), 201)


@bp.route("/v1/channels", methods=["GET"])
def list_channels() -> Response:
    return json_response({"channels": channels.list_all(ctx=_ctx())})


@bp.route("/v1/channels/{channel_id}", methods=["GET"])
def get_channel(channel_id: str) -> Response:
    return json_response(channels.get(channel_id, ctx=_ctx()))


@bp.route("/v1/channels/{channel_id}", methods=["PATCH"])
def update_channel(channel_id: str) -> Response:
    return json_response(channels.update(channel_id, _body(), ctx=_ctx()))


@bp.route("/v1/channels/{channel_id}", methods=["DELETE"])
def delete_channel(channel_id: str) -> Response:
    channels.delete(channel_id, ctx=_ctx())
    return Response(body="", status_code=204)


@bp.route("/v1/numbers", methods=["POST"])
def provision_number() -> Response:
    return json_response(numbers.provision(_body(), ctx=_ctx()), 201)


@bp.route("/v1/numbers", methods=["GET"])
def list_numbers() -> Response:
    q = query(bp.current_request)
    return json_response(
        {
            "numbers": numbers.list_all(
                status=q.get("status"), channel_id=q.get("channel_id"), pool_id=q.get("pool_id"), ctx=_ctx()
            )
        }
    )


@bp.route("/v1/numbers/{number}", methods=["GET"])
def get_number(number: str) -> Response:
    return json_response(numbers.get(number, ctx=_ctx()))


@bp.route("/v1/numbers/{number}", methods=["DELETE"])
def release_number(number: str) -> Response:
    return json_response(numbers.release(number, ctx=_ctx()))


@bp.route("/v1/calls", methods=["GET"])
def list_calls() -> Response:
    req = bp.current_request
    q = query(req)
    if q.get("format") == "csv" or "text/csv" in (req.headers.get("accept") or ""):
        body, cursor = calllog.calls_csv(q, ctx=_ctx())
        headers: Headers = {
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="calls.csv"',
        }
        if cursor:
            headers["X-Next-Cursor"] = cursor
        return Response(body=body, status_code=200, headers=headers)
    if q.get("format") not in (None, "json"):
        raise BadRequest("'format' must be json or csv")
    return json_response(calllog.list_calls(q, ctx=_ctx()))


@bp.route("/v1/callbacks", methods=["GET"])
def list_callbacks() -> Response:
    return json_response(callbacks.api_list(query(bp.current_request)))


@bp.route("/v1/calls/{sid}", methods=["GET"])
def get_call(sid: str) -> Response:
    return json_response(calls.get(sid, ctx=_ctx()))


@bp.route("/v1/calls/{sid}/recording", methods=["GET"])
def get_call_recording(sid: str) -> Response:
    return json_response(playback.link(sid))


@bp.route("/v1/calls/{sid}", methods=["PATCH"])
def update_call(sid: str) -> Response:
    return json_response(calls.to_dict(outcomes.set_outcome(sid, _body(), ctx=_ctx())))


@bp.route("/v1/spend", methods=["PUT"])
def put_spend() -> Response:
    return json_response(spend.put_spend(_body(), ctx=_ctx()))


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


@bp.route("/v1/blocked-callers", methods=["GET"])
def get_blocked_callers() -> Response:
    return json_response({"callers": blocklist.entries()})


@bp.route("/v1/blocked-callers", methods=["PUT"])
def put_blocked_callers() -> Response:
    return json_response(blocklist.replace(_body(), ctx=_ctx()))


@bp.route("/v1/pools", methods=["POST"])
def create_pool() -> Response:
    return json_response(pools.create(_body(), ctx=_ctx()), 201)


@bp.route("/v1/pools", methods=["GET"])
def list_pools() -> Response:
    return json_response({"pools": pools.list_all(ctx=_ctx())})


@bp.route("/v1/pools/{pool_id}", methods=["GET"])
def get_pool(pool_id: str) -> Response:
    return json_response(pools.status(pool_id, ctx=_ctx()))


@bp.route("/v1/pools/{pool_id}/sizing", methods=["GET"])
def pool_sizing(pool_id: str) -> Response:
    target = sizing.parse_target(query(bp.current_request).get("target"))
    return json_response(sizing.pool_sizing(pool_id, clock.now_ms(), target))


@bp.route("/v1/pools/{pool_id}", methods=["PATCH"])
def update_pool(pool_id: str) -> Response:
    return json_response(pools.update(pool_id, _body(), ctx=_ctx()))


@bp.route("/v1/pools/{pool_id}", methods=["DELETE"])
def delete_pool(pool_id: str) -> Response:
    pools.delete(pool_id, ctx=_ctx())
    return Response(body="", status_code=204)


@bp.route("/v1/events/parked", methods=["GET"])
def parked_events() -> Response:
    return json_response({"records": event_stream.parked()})


@bp.route("/v1/webhooks", methods=["POST"])
def create_webhook() -> Response:
    return json_response(endpoints.create(_body(), ctx=_ctx()), 201)


@bp.route("/v1/webhooks", methods=["GET"])
def list_webhooks() -> Response:
    return json_response({"webhooks": endpoints.list_all()})


@bp.route("/v1/webhooks/{endpoint_id}", methods=["GET"])
def get_webhook(endpoint_id: str) -> Response:
    return json_response(endpoints.get(endpoint_id))


@bp.route("/v1/webhooks/{endpoint_id}", methods=["PATCH"])
def update_webhook(endpoint_id: str) -> Response:
    return json_response(endpoints.update(endpoint_id, _body(), ctx=_ctx()))


@bp.route("/v1/webhooks/{endpoint_id}", methods=["DELETE"])
def delete_webhook(endpoint_id: str) -> Response:
    endpoints.delete(endpoint_id, ctx=_ctx())
    return Response(body="", status_code=204)


@bp.route("/v1/webhooks/{endpoint_id}/rotate-secret", methods=["POST"])
def rotate_webhook_secret(endpoint_id: str) -> Response:
    raw = bp.current_request.raw_body
    return json_response(endpoints.rotate_secret(endpoint_id, _body() if raw else {}, ctx=_ctx()))


@bp.route("/v1/webhooks/{endpoint_id}/deliveries", methods=["GET"])
def webhook_deliveries(endpoint_id: str) -> Response:
    return json_response({"deliveries": endpoints.deliveries(endpoint_id)})


@bp.route("/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/resend", methods=["POST"])
def resend_webhook_delivery(endpoint_id: str, delivery_id: str) -> Response:
    return json_response(endpoints.resend(endpoint_id, delivery_id, ctx=_ctx()), 202)


@bp.route("/v1/webhooks/{endpoint_id}/test", methods=["POST"])
def test_webhook(endpoint_id: str) -> Response:
    return json_response(endpoints.send_test(endpoint_id))


@bp.route("/v1/alerts/recipients", methods=["POST"])
def create_alert_recipient() -> Response:
    return json_response(alerts.create(_body(), ctx=_ctx()), 201)


@bp.route("/v1/alerts/recipients", methods=["GET"])
def list_alert_recipients() -> Response:
    return json_response({"recipients": alerts.list_all()})


@bp.route("/v1/alerts/recipients/{recipient_id}", methods=["GET"])
def get_alert_recipient(recipient_id: str) -> Response:
    return json_response(alerts.get(recipient_id))


@bp.route("/v1/alerts/recipients/{recipient_id}", methods=["PATCH"])
def update_alert_recipient(recipient_id: str) -> Response:
    return json_response(alerts.update(recipient_id, _body(), ctx=_ctx()))


@bp.route("/v1/alerts/recipients/{recipient_id}", methods=["DELETE"])
def delete_alert_recipient(recipient_id: str) -> Response:
    alerts.delete(recipient_id, ctx=_ctx())
    return Response(body="", status_code=204)


@bp.route("/v1/alerts/recipients/{recipient_id}/test", methods=["POST"])
def test_alert_recipient(recipient_id: str) -> Response:
    return json_response(alerts.send_test(recipient_id))


@bp.route("/v1/alerts/sender", methods=["GET"])
def alerts_sender() -> Response:
    return json_response(alerts.sender_status())


@bp.route("/v1/alerts/summary", methods=["GET"])
def alerts_summary_preview() -> Response:
    return json_response(alerts.summary_preview(query(bp.current_request)))
