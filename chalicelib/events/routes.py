"""The events' management route: what the dead-letter queue holds (events no retry delivered)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.core.lazy import lazy_module
from chalicelib.core.responses import json_response

if TYPE_CHECKING:
    from chalicelib.events import stream as event_stream
else:  # loaded on first use
    event_stream = lazy_module("chalicelib.events.stream")

bp = Blueprint(__name__)


@bp.route("/v1/events/parked", methods=["GET"])
def parked_events() -> Response:
    return json_response({"records": event_stream.parked()})
