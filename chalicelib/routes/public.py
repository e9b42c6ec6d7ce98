"""Public routes: the lease endpoint websites call, the site script, the demo page and test website."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import site, sites
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


@bp.route("/v1/sites/{site_key}", methods=["GET"])
def site_info(site_key: str) -> Response:
    """A pool's public face by its site key: its original number and allowed sites (CMS plugins' status)."""
    return json_response(sites.public_view(site_key))


@bp.route("/ct.js", methods=["GET"])
def script() -> Response:
    return site.script_response(bp.current_request.headers.get("if-none-match"))


@bp.route("/demo/site", methods=["GET"])
def test_site() -> Response:
    """A stand-in for the owner's website (local stack only), carrying the script tag pasted into it."""
    return site.test_site_response("GET", {})


@bp.route("/demo/site", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
def paste_test_site() -> Response:
    req = bp.current_request
    from urllib.parse import parse_qsl  # this local page only

    raw = req.raw_body or b""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return site.test_site_response("POST", dict(parse_qsl(text[:8192])))


@bp.route("/demo", methods=["GET"])
def demo() -> Response:
    return site.demo_response()
