"""The transcripts' routes: the keyword rules (``/v1/transcripts/rules``) and a call's conversation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.core.lazy import lazy_module
from chalicelib.core.responses import body, caller, json_response

if TYPE_CHECKING:
    from chalicelib.integrations.transcripts import api
else:  # loaded on first use: the voice webhook's cold start never pays for it
    api = lazy_module("chalicelib.integrations.transcripts.api")

bp = Blueprint(__name__)


@bp.route("/v1/transcripts/rules", methods=["GET"])
def get_transcript_rules() -> Response:
    return json_response(api.get_config())


@bp.route("/v1/transcripts/rules", methods=["PUT"])
def put_transcript_rules() -> Response:
    return json_response(api.save_config(body(bp.current_request), ctx=caller(bp.current_request)))


@bp.route("/v1/calls/{sid}/transcript", methods=["GET"])
def get_call_transcript(sid: str) -> Response:
    return json_response(api.transcript(sid, ctx=caller(bp.current_request)))
