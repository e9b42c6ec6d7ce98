"""The recordings' management route: a short-lived link to a call's recording."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.core.lazy import lazy_module
from chalicelib.core.responses import json_response

if TYPE_CHECKING:
    from chalicelib.recordings import playback
else:  # loaded on first use: the voice webhook's cold start never pays for it
    playback = lazy_module("chalicelib.recordings.playback")

bp = Blueprint(__name__)


@bp.route("/v1/calls/{sid}/recording", methods=["GET"])
def get_call_recording(sid: str) -> Response:
    return json_response(playback.link(sid))
