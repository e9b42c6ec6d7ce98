"""The CRMs' incoming route: HubSpot's signed webhooks (``/crm/hubspot/{destination_id}``).

Outside ``/v1/``: HubSpot carries no API key; the request is checked by its signature v3
(``webhook.py``). Managing a CRM destination is the conversions' routes (``/v1/conversions``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.core.lazy import lazy_module
from chalicelib.core.responses import json_response

if TYPE_CHECKING:
    from chalicelib.integrations.crm import webhook
else:  # loaded on first use: the voice webhook's cold start never pays for it
    webhook = lazy_module("chalicelib.integrations.crm.webhook")

bp = Blueprint(__name__)


@bp.route("/crm/hubspot/{destination_id}", methods=["POST"], content_types=["application/json"])
def hubspot_webhook(destination_id: str) -> Response:
    request = bp.current_request
    raw = request.raw_body or b""
    done = webhook.receive(
        destination_id,
        f"/crm/hubspot/{destination_id}",
        raw.encode() if isinstance(raw, str) else raw,
        dict(request.headers),
    )
    return json_response(done)
