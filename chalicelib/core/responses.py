"""What every route answers with and reads from its request: JSON and TwiML answers, the query,
the JSON body, the request's context.

Base-layer plumbing, so that a feature or an integration can keep its own routes in its own
folder (``integrations/<name>/routes.py``) without importing ``chalicelib/routes/`` upward; the
middleware that turns errors into answers and checks API keys stays in ``routes/http.py``.
"""

from __future__ import annotations

import json
from typing import Any

from chalice import Response
from chalice.app import Request

from chalicelib.core import context
from chalicelib.core.context import RequestContext
from chalicelib.core.validation import json_body

Headers = dict[str, str | list[str]]
JSON: Headers = {"Content-Type": "application/json"}
XML: Headers = {"Content-Type": "text/xml; charset=utf-8"}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    merged: Headers = {**JSON, **(headers or {})}
    return Response(body=json.dumps(body), status_code=status, headers=merged)


def no_content() -> Response:
    return Response(body="", status_code=204)


def twiml(xml: str) -> Response:
    return Response(body=xml, status_code=200, headers=XML)


def query(request: Request) -> dict[str, str]:
    """Query parameters as a plain dict (last value wins)."""
    return dict(request.query_params or {})


def body(request: Request, *, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object, or a 400 saying what is wrong with it (``optional``: no body is ``{}``)."""
    if optional and not request.raw_body:
        return {}
    parsed: dict[str, Any] = json_body(request.raw_body, request.headers.get("content-type"))
    return parsed


def caller(request: Request) -> RequestContext:
    """The context an edge attached to ``request``. A route behind no edge that builds one is a
    bug (a 500), never a request run as nobody or as the system."""
    found = context.of(request.context)
    if found is None:
        raise RuntimeError(f"no request context on {request.context.get('resourcePath')!r}: which edge admits it?")
    return found
