"""Public routes: the lease endpoint websites call, the site script, and the demo page."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import site
from chalicelib.core.context import attach
from chalicelib.leasing import endpoint
from chalicelib.routes.http import json_response

bp = Blueprint(__name__)


@bp.route("/v1/leases", methods=["POST"], content_types=["text/plain", "application/json"])
def lease() -> Response:
    req = bp.current_request
    # The address API Gateway saw; X-Forwarded-For and the like are the client's to write.
    client_ip = ((req.context or {}).get("identity") or {}).get("sourceIp")
    answer, headers = endpoint.lease(
        req.raw_body,
        req.headers.get("origin"),
        req.headers.get("user-agent"),
        client_ip,
        on_context=lambda ctx: attach(req.context, ctx),
    )
    return json_response(answer, 200, headers)


@bp.route("/ct.js", methods=["GET"])
def script() -> Response:
    return site.script_response(bp.current_request.headers.get("if-none-match"))


@bp.route("/demo", methods=["GET"])
def demo() -> Response:
    return site.demo_response()
