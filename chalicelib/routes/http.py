"""HTTP plumbing shared by every route: error mapping, API keys and scopes, timeouts per route, JSON and TwiML answers.

Each edge builds the request's ``RequestContext`` and attaches it to the request
(``chalicelib.core.context.attach``): the API key check here, the dashboard's ``web.require``,
the Twilio signature check (``voice.webhook_auth.verified_request``) and the lease endpoint.
Routes read it with ``caller(request)`` and hand it on as ``ctx=``.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

from chalice import Response
from chalice.app import Request

from chalicelib.core import context
from chalicelib.core.errors import ApiError, NotFound
from chalicelib.core.observability import logger
from chalicelib.core.responses import Headers, caller, json_response, query, twiml
from chalicelib.integrations import wiring
from chalicelib.routes import scopes
from chalicelib.store import connections

# Re-exported: the route modules here take their answers from this module.
__all__ = ["Headers", "caller", "json_response", "middleware", "query", "twiml"]

# Routes anyone may call; every other /v1/ route needs an API key.
PUBLIC_PREFIXES = ("/twilio/", "/ct.js", "/v1/leases", "/v1/sites/", "/demo")


def _needs_key(resource_path: str) -> bool:
    return resource_path.startswith("/v1/") and not resource_path.startswith(PUBLIC_PREFIXES)


_settings_checked = False


def _warn_about_settings_once() -> None:
    """At a container's first request, a WARNING per problem in the settings: loud in the logs,
    never an exception (importing the app must not fail: the fallback needs it too)."""
    global _settings_checked
    if _settings_checked:
        return
    _settings_checked = True
    for problem in wiring.settings_problems():
        logger.warning("configuration problem: " + problem)


def middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Checks API keys and path ids, gives Twilio's webhooks the short DynamoDB timeouts, turns
    every ApiError, wherever raised, into a JSON 4xx, and marks every /v1/ answer ``no-store``."""
    _warn_about_settings_once()
    resource = (event.context or {}).get("resourcePath", "") or ""
    with context.changes_of_request() as settle:  # its audit entries stand only if it succeeded
        response = _answer(event, get_response, resource)
        settle(response.status_code < 400)
    if resource.startswith("/v1/"):
        # Calls, callers' numbers, keys' results, a visitor's lease: nothing under /v1/ may be kept
        # by a browser, proxy or CDN, errors included (a cached 200 could be served after a 401).
        response.headers["Cache-Control"] = "no-store"
    return response


def _answer(event: Request, get_response: Callable[[Request], Response], resource: str) -> Response:
    try:
        if resource.startswith("/twilio/"):
            with connections.voice_path():
                return _uniform(get_response(event))
        if resource.startswith("/dashboard"):
            return _dashboard(event, get_response)
        if _needs_key(resource):
            from chalicelib.access import auth  # management API only: kept out of the voice path's cold start

            ctx = context.attach(event.context, auth.identify(event.headers.get("authorization")))
            # Powertools' inject_lambda_context(clear_state=True) drops these at the next request.
            logger.append_keys(api_key_id=ctx.actor, api_key_name=ctx.key_name)
            scopes.enforce(ctx, event.method, resource)  # before the path ids: a key refused learns nothing
            _require_path_ids(event)
        return _uniform(get_response(event))
    except ApiError as exc:
        logger.info("request refused", status=exc.status, code=exc.code, reason=exc.message, path=resource)
        return json_response(exc.body(), exc.status, getattr(exc, "headers", None))


def _require_path_ids(event: Request) -> None:
    """A 404 for an id in the path that is empty or blank (``POST /v1/webhooks//test``): it names
    nothing, and handed on it reached DynamoDB as an empty key, which DynamoDB refuses (a 500).

    Checked here, once for every route, after the API key (a caller without one learns nothing);
    an id that is merely unknown or malformed is each domain's to refuse, as it already does.
    The value is decoded as well, since a gateway may hand path parameters on still encoded."""
    for name, value in (event.uri_params or {}).items():
        if not unquote(value or "").strip():
            raise NotFound(f"'{name}' is empty in the path {event.context.get('path', '')!r}; it names nothing")


def _dashboard(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Dashboard pages: a ``Redirect`` or an ``ApiError`` becomes a redirect or an HTML error page
    (``chalicelib.dashboard.web.error_response``), never the API's JSON."""
    from chalicelib.dashboard import web  # dashboard requests only: Jinja2 and the pages stay off the voice path

    try:
        _require_path_ids(event)  # an empty id names nothing, signed in or not: a 404 page, never a 500
        return get_response(event)
    except (web.Redirect, ApiError) as exc:
        if isinstance(exc, ApiError):
            logger.info("dashboard request refused", status=exc.status, code=exc.code, path=event.context.get("path"))
        return web.error_response(event, exc)


def _uniform(response: Response) -> Response:
    """Chalice's own error answers (415 for a wrong Content-Type, its 500) in this API's error shape."""
    if response.status_code < 400 or not isinstance(response.body, dict) or "Code" not in response.body:
        return response
    code = str(response.body["Code"])
    message = str(response.body.get("Message") or code)
    if response.status_code == 415:
        message = f"this route does not take that Content-Type ({message})"
    body = {"error": {"code": _snake(code), "message": message}}
    return json_response(body, response.status_code)


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))
