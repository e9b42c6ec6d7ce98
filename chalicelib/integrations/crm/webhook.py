"""HubSpot's webhooks: deal changes named at once, signed with signature v3, read through ``results``.

HubSpot signs each request with ``X-HubSpot-Signature-v3``: base64 of HMAC-SHA256, keyed with the
app's client secret, over ``method + URI + body + X-HubSpot-Request-Timestamp`` (the URI as HubSpot
called it: our public base URL and the path). A timestamp more than five minutes away is refused
(a replayed request), the signature is compared in constant time, and a request without both
headers is refused. The body is a list of events (``subscriptionType`` ``deal.propertyChange``,
``deal.creation``, ``objectId``...): each deal named is read now (``platform.deal``) and goes
through the same ``results.apply`` as the schedule's, so a webhook retried or a deal also
polled writes once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from chalicelib.core import clock
from chalicelib.core.errors import BadRequest, NotFound, Unauthorized
from chalicelib.core.settings import get_settings
from chalicelib.integrations.conversions import destinations, platforms
from chalicelib.integrations.crm import results
from chalicelib.store import conversions as store

REPLAY_MS = 5 * 60 * 1000
MAX_DEALS = 20  # per request (HubSpot batches up to 100 events; more deals wait for the schedule)


def signature_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    message = method.encode() + uri.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def verify_v3(secret: str, method: str, uri: str, body: bytes, headers: dict[str, str], now_ms: int) -> None:
    """``Unauthorized`` unless the request is HubSpot's, signed now (within five minutes)."""
    lower = {k.lower(): v for k, v in headers.items()}
    given = lower.get("x-hubspot-signature-v3") or ""
    stamp = lower.get("x-hubspot-request-timestamp") or ""
    if not given or not stamp.isdigit():
        raise Unauthorized("a HubSpot webhook needs X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp")
    if abs(now_ms - int(stamp)) > REPLAY_MS:
        raise Unauthorized("the request's timestamp is more than five minutes away: refused as a replay")
    if not hmac.compare_digest(signature_v3(secret, method, uri, body, stamp).encode(), given.encode()):
        raise Unauthorized("the HubSpot signature does not match")


def receive(destination_id: str, path: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """``POST /crm/hubspot/{destination_id}``: verify, then apply each deal named; what was done."""
    item = store.get_destination(destination_id)
    if item is None or item.data.get("platform") != "hubspot":
        raise NotFound("no HubSpot destination has this id")
    dest = destinations.for_platform(item)
    secret = dest.credentials.get("client_secret") or ""
    if not secret:
        raise Unauthorized("this destination has no HubSpot client secret to check webhooks with")
    now = clock.now_ms()
    verify_v3(secret, "POST", get_settings().public_base_url + path, body, headers, now)
    try:
        events = json.loads(body or b"[]")
    except ValueError:
        raise BadRequest("the body must be HubSpot's JSON list of events") from None
    if not isinstance(events, list):
        raise BadRequest("the body must be HubSpot's JSON list of events")
    deal_ids: list[str] = []
    for e in events:
        if (
            isinstance(e, dict)
            and str(e.get("subscriptionType") or "").startswith("deal.")
            and e.get("objectId") is not None
        ):
            deal_id = str(e["objectId"])
            if deal_id.isdigit() and deal_id not in deal_ids:
                deal_ids.append(deal_id)
    if not item.data.get("enabled") or item.data.get("paused"):
        return {"applied": [], "note": "the destination is switched off or paused; the deals wait for it"}
    platform = platforms.get("hubspot")
    said = [results.apply(item, platform.deal(dest, d, now), now) for d in deal_ids[:MAX_DEALS]]  # type: ignore[attr-defined]
    return {"applied": said, "left_for_schedule": max(0, len(deal_ids) - MAX_DEALS)}
