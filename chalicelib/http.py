"""HTTP plumbing shared by every route: error mapping, API-key checks, JSON and TwiML answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalice import Response
from chalice.app import Request

from chalicelib import auth
from chalicelib.errors import ApiError
from chalicelib.observability import logger

JSON = {"Content-Type": "application/json"}
XML = {"Content-Type": "text/xml; charset=utf-8"}

# Routes anyone may call; every other /v1/ route needs an API key.
PUBLIC_PREFIXES = ("/twilio/", "/ct.js", "/v1/leases", "/demo")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=json.dumps(body), status_code=status, headers={**JSON, **(headers or {})})


def twiml(xml: str) -> Response:
    return Response(body=xml, status_code=200, headers=XML)


def _needs_key(resource_path: str) -> bool:
    return resource_path.startswith("/v1/") and not resource_path.startswith(PUBLIC_PREFIXES)


def middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Checks API keys and turns every ApiError, wherever raised, into a JSON 4xx."""
    resource = (event.context or {}).get("resourcePath", "") or ""
    try:
        if _needs_key(resource):
            logger.append_keys(api_key_id=auth.identify(event.headers.get("authorization")))
        return get_response(event)
    except ApiError as exc:
        logger.info("request refused", status=exc.status, code=exc.code, reason=exc.message, path=resource)
        return json_response(exc.body(), exc.status, getattr(exc, "headers", None))


def query(request: Request) -> dict[str, str]:
    """Query parameters as a plain dict (last value wins)."""
    return dict(request.query_params or {})
