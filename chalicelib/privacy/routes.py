"""Callers' routes: access and erasure (admin scope)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.core.lazy import lazy_module
from chalicelib.core.responses import caller, json_response

if TYPE_CHECKING:
    from chalicelib.privacy import access, erasure
else:  # management only: never on the voice webhook's cold start
    access = lazy_module("chalicelib.privacy.access")
    erasure = lazy_module("chalicelib.privacy.erasure")

bp = Blueprint(__name__)


@bp.route("/v1/callers/{number}", methods=["GET"])
def caller_data(number: str) -> Response:
    return json_response(access.held(number, ctx=caller(bp.current_request)))


@bp.route("/v1/callers/{number}", methods=["DELETE"])
def erase_caller(number: str) -> Response:
    return json_response(erasure.erase(number, ctx=caller(bp.current_request)))
