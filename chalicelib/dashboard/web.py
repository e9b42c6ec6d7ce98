"""The dashboard's shell: who is asking (``require``), CSRF checks, pages, links, assets, HTML errors.

Every dashboard route does ``viewer = web.require(request)`` (``role="admin"`` for the user
admin), ``fields = web.check_csrf(request, viewer)`` when it changes anything, and returns
``web.render(request, "page.html", viewer=viewer, ...)``.

**How errors become pages.** A dashboard route raises as every route does: ``web.Redirect``
(to send a signed-out browser to sign-in) or any ``chalicelib.core.errors.ApiError`` (403, 404,
400...). The app's one middleware (``chalicelib.routes.http.middleware``) sees that the request is
under ``/dashboard`` and hands the exception to ``error_response`` here, which answers a 303
with ``Location`` for a ``Redirect`` and the HTML error page (``error.html``) with the
error's status and headers (``Retry-After`` of a 429 kept) for an ``ApiError``, instead of
the JSON the API gets. ``html_errors`` does the same as a decorator, for code that calls a
page function outside the middleware (a test, a script). So no route has to remember it.

**Links.** Deployed stages sit under API Gateway's stage path (``/api``), so every link,
form action and asset URL is ``url("/dashboard/...")``: the path of ``PUBLIC_BASE_URL`` plus
the app path, never a bare ``/``. Cookies are scoped to that same ``.../dashboard`` path.

**Assets.** ``asset("dashboard.css")`` is ``.../dashboard/assets/dashboard.<8 hex of its
SHA-256>.css``; a file under ``static/vendor/`` is named ``vendor-<name>.<hash>.<ext>``. The
name changes whenever the bytes do, so assets are served with a one-year immutable cache and
a new deployment is never mixed with an old stylesheet. A name with a stale hash is a 404.

**Headers.** Every page, redirect and error carries the security headers of ``HEADERS``
and a ``Content-Security-Policy`` with no ``unsafe-inline`` at all: page scripts are files
(``<script src=... defer>``), data for them sits in ``<script type="application/json">``
blocks, and no template has a ``style=""`` attribute.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from chalice import ChaliceUnhandledError, Response  # type: ignore[attr-defined]
from chalice.app import Request

from chalicelib.core.context import RequestContext, attach, for_user, source_ip
from chalicelib.core.errors import ApiError, BadRequest, Forbidden, NotFound, PayloadTooLarge, Unauthorized
from chalicelib.core.settings import get_settings
from chalicelib.dashboard import websessions

if TYPE_CHECKING:
    import jinja2

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
SESSION_COOKIE = "ct_session"
SIGNIN_COOKIE = "ct_signin"  # the sign-in form's CSRF token before there is a session (double submit)
MAX_FORM_BYTES = 64 * 1024
ASSET_MAX_AGE = 31_536_000  # a year: the name changes with the bytes
ROLES = ("admin", "viewer")
_RANK = {"viewer": 0, "admin": 1}
_ASSET = re.compile(r"(?P<stem>[A-Za-z0-9_.-]+)\.(?P<hash>[0-9a-f]{8})\.(?P<ext>css|js|svg|json|map|txt)")
_TYPES = {
    "css": "text/css; charset=utf-8",
    "js": "application/javascript; charset=utf-8",
    "svg": "image/svg+xml",
    "json": "application/json",
    "map": "application/json",
    "txt": "text/plain; charset=utf-8",
}

HEADERS: dict[str, str] = {
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors says the same to browsers that read CSP
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


@dataclass(frozen=True)
class Viewer:
    """The signed-in person a request is for."""

    email: str
    role: str  # "admin" or "viewer"
    csrf: str  # this session's CSRF token: every state-changing form carries it
    session_id: str  # the SHA-256 of the cookie's token (what the store keys the session by)
    source: str | None = None  # the request's address (API Gateway's sourceIp), for the audit log

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def context(self) -> RequestContext:
        """This person as the request's caller (``context.for_user``: their email and role)."""
        return replace(for_user(self.email, self.role), source=self.source)


class Redirect(ChaliceUnhandledError):  # type: ignore[misc]
    """Answer with a 303 to ``location`` (an app path like ``/dashboard/signin?next=...``).

    It derives from ``ChaliceUnhandledError`` so that Chalice lets it reach the middleware.
    """

    def __init__(self, location: str, *, headers: dict[str, str | list[str]] | None = None) -> None:
        super().__init__(location)
        self.location = location
        self.headers = headers or {}


# --- paths and links -----------------------------------------------------------------------------


def base_path() -> str:
    """The path of ``PUBLIC_BASE_URL`` (API Gateway's stage, e.g. ``/api``), or ``""``."""
    return urlsplit(get_settings().public_base_url).path.rstrip("/")


def url(path: str) -> str:
    """An app path (``/dashboard/calls``) as the browser must request it (``/api/dashboard/calls``)."""
    if not path.startswith("/"):
        raise ValueError(f"url() takes an absolute app path, not {path!r}")
    return base_path() + path


def app_path(request: Request) -> str:
    """The path (and query) the browser asked for, as an app path (the stage prefix taken off)."""
    ctx = request.context or {}
    path = str(ctx.get("path") or ctx.get("resourcePath") or "/dashboard")
    prefix = base_path()
    if prefix and path.startswith(prefix + "/"):
        path = path[len(prefix) :]
    query = query_params(request)
    return path + ("?" + urlencode(query) if query else "")


def query_params(request: Request) -> dict[str, str]:
    """The query string's parameters (last value wins)."""
    return {str(k): str(v) for k, v in (request.query_params or {}).items()}


def header(request: Request, name: str) -> str | None:
    """A request header by its (case-insensitive) name."""
    value = request.headers.get(name) if request.headers is not None else None
    return str(value) if value is not None else None


def safe_next(value: str | None) -> str:
    """Where to go after sign-in: an app path under ``/dashboard`` or ``/dashboard`` itself.

    Anything else (another site, ``//evil``, ``/\\evil``, a scheme, control characters, a
    path that climbs out with ``..``) is replaced, so the sign-in page is no open redirect.
    """
    default = "/dashboard"
    if not value or len(value) > 2000 or any(ord(c) < 0x20 or c in "\\\x7f" for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return default
    if parts.path != "/dashboard" and not parts.path.startswith("/dashboard/"):
        return default
    if ".." in parts.path.split("/") or "%2e" in parts.path.lower() or "%2f" in parts.path.lower():
        return default
    return value


def signin_location(request: Request) -> str:
    """The sign-in page, with ``next`` set to where the browser was going (GETs only)."""
    return "/dashboard/signin?" + urlencode({"next": safe_next(app_path(request))})


# --- assets ----------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _assets() -> dict[str, tuple[str, Path]]:
    """Served name -> (logical name, file), for every file under ``static/``."""
    out: dict[str, tuple[str, Path]] = {}
    for path in sorted(STATIC.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        logical = path.relative_to(STATIC).as_posix()
        flat, _, ext = logical.replace("/", "-").rpartition(".")
        if ext not in _TYPES:
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
        out[f"{flat}.{digest}.{ext}"] = (logical, path)
    return out


@lru_cache(maxsize=1)
def _served_names() -> dict[str, str]:
    return {logical: served for served, (logical, _) in _assets().items()}


def asset(name: str) -> str:
    """The URL of a static file by its name under ``static/`` (``"dashboard.css"``,
    ``"vendor/uPlot.iife.min.js"``): content-hashed, so it may be cached for a year."""
    served = _served_names().get(name)
    if served is None:
        raise KeyError(f"no static file {name!r} in {STATIC}")
    return url(f"/dashboard/assets/{served}")


def has_asset(name: str) -> bool:
    return name in _served_names()


def asset_response(served: str) -> Response:
    """A static file by its hashed name; anything else (an old hash, a path) is a 404."""
    m = _ASSET.fullmatch(served or "")
    found = _assets().get(served) if m else None
    if m is None or found is None:
        raise NotFound("no such asset (its name carries the hash of its content: reload the page)")
    _, path = found
    headers: dict[str, str | list[str]] = {
        "Content-Type": _TYPES[m.group("ext")] or (mimetypes.guess_type(path.name)[0] or "text/plain"),
        "Cache-Control": f"public, max-age={ASSET_MAX_AGE}, immutable",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(body=path.read_text(encoding="utf-8"), status_code=200, headers=headers)


# --- cookies ---------------------------------------------------------------------------------------


def secure_cookies() -> bool:
    """``Secure`` everywhere but the local stack served over plain http (``Settings.local``)."""
    s = get_settings()
    return not (s.local and s.public_base_url.startswith("http://"))


def cookie(name: str, value: str, *, path: str = "/dashboard", max_age: int | None = None) -> str:
    """A ``Set-Cookie`` value: HttpOnly, SameSite=Lax, Secure (but on local http), scoped to ``path``."""
    parts = [f"{name}={value}", f"Path={url(path)}", "HttpOnly", "SameSite=Lax"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if secure_cookies():
        parts.append("Secure")
    return "; ".join(parts)


def clear_cookie(name: str, *, path: str = "/dashboard") -> str:
    return cookie(name, "", path=path, max_age=0)


def read_cookie(request: Request, name: str) -> str | None:
    raw = header(request, "cookie") or ""
    jar: SimpleCookie = SimpleCookie()
    for piece in raw.split(";"):  # one malformed cookie (another app's) must not hide ours
        try:
            jar.load(piece.strip())
        except CookieError:
            continue
    morsel = jar.get(name)
    return morsel.value if morsel is not None and morsel.value else None


# --- who is asking ---------------------------------------------------------------------------------


def require(request: Request, *, role: str = "viewer") -> Viewer:
    """The signed-in viewer, or: a GET/HEAD is sent to sign-in (``Redirect``), any other
    method gets 401; a viewer without ``role`` gets 403. Refreshes the session's idle timer."""
    if role not in _RANK:
        raise ValueError(f"unknown role {role!r}")
    found = websessions.current(read_cookie(request, SESSION_COOKIE))
    if found is None:
        if request.method in ("GET", "HEAD"):
            raise Redirect(signin_location(request))
        raise Unauthorized("Please sign in again: this session has ended or never began.")
    viewer = Viewer(
        email=found.email,
        role=found.role,
        csrf=found.csrf,
        session_id=found.session_id,
        source=source_ip(getattr(request, "context", None)),
    )
    # The dashboard's edge: the session's user and role become the request's context, for the
    # routes (``viewer.context`` or ``routes.http.caller``) to hand on as ``ctx=``.
    if isinstance(getattr(request, "context", None), dict):  # a stand-in request (a test, a script) may have none
        attach(request.context, viewer.context)
    if _RANK.get(viewer.role, -1) < _RANK[role]:
        raise Forbidden("This page is for admins only. Ask an admin if you need something changed.")
    return viewer


def optional_viewer(request: Request) -> Viewer | None:
    """The signed-in viewer if there is one (the error and sign-in pages show the nav then)."""
    found = websessions.current(read_cookie(request, SESSION_COOKIE), touch=False)
    if found is None:
        return None
    return Viewer(email=found.email, role=found.role, csrf=found.csrf, session_id=found.session_id)


def form(request: Request, *, max_bytes: int = MAX_FORM_BYTES) -> dict[str, str]:
    """A urlencoded form or a JSON object's fields as strings (first value wins); 64 KB at most
    (``max_bytes``: more for a form that carries an upload)."""
    body = request.raw_body or b""
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"a form may be {max_bytes // 1024} KB at most")
    ctype = (header(request, "content-type") or "").split(";")[0].strip().lower()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the form is not UTF-8") from None
    if ctype == "application/json":
        try:
            data = json.loads(text) if text.strip() else {}
        except ValueError:
            raise BadRequest("the body is not JSON") from None
        if not isinstance(data, dict):
            raise BadRequest("the body must be a JSON object")
        return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
    fields: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        fields.setdefault(key, value)
    return fields


def tokens_match(presented: str | None, expected: str | None) -> bool:
    """Constant-time comparison of two tokens; a missing one never matches."""
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))


def check_csrf(request: Request, viewer: Viewer, *, max_bytes: int = MAX_FORM_BYTES) -> dict[str, str]:
    """The request's form fields, once its ``csrf`` field (or ``X-CSRF-Token`` header) is this
    session's token; 403 otherwise."""
    fields = form(request, max_bytes=max_bytes)
    presented = fields.get("csrf") or header(request, "x-csrf-token")
    if not tokens_match(presented, viewer.csrf):
        raise Forbidden("This form has expired or did not come from this dashboard. Reload the page and try again.")
    return fields


# --- pages ---------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    import jinja2  # the first dashboard request pays for it, never the voice webhook

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(url=url, asset=asset, has_asset=has_asset, user_path=user_path)
    return env


def media_origins() -> str:
    """Where the recordings' presigned URLs point (the player's ``media-src``): the stage's bucket
    only. The S3 client presigns path-style URLs (``recordings/storage.py``), so the source names
    the host and the bucket's path; a CSP source ending in ``/`` matches that path's prefix."""
    s = get_settings()
    bucket = s.recordings_bucket
    if s.s3_endpoint:
        p = urlsplit(s.s3_endpoint)
        hosts = [f"{p.scheme}://{p.netloc}"]
    else:
        hosts = [f"https://s3.{s.region}.amazonaws.com"]
        if s.region == "us-east-1":  # botocore presigns us-east-1 on the global endpoint
            hosts.append("https://s3.amazonaws.com")
    return " ".join(f"{host}/{bucket}/" for host in hosts)


def csp() -> str:
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            f"media-src 'self' {media_origins()}",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


def page_headers(extra: dict[str, str | list[str]] | None = None) -> dict[str, str | list[str]]:
    headers: dict[str, str | list[str]] = {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": csp(),
        **HEADERS,
    }
    headers.update(extra or {})
    return headers


def render(
    request: Request,
    template: str,
    *,
    viewer: Viewer | None,
    status: int = 200,
    headers: dict[str, str | list[str]] | None = None,
    **context: Any,
) -> Response:
    """A page from ``templates/`` (autoescaped), with ``viewer``, ``csrf``, ``url``, ``asset``
    and ``path`` (the app path asked for) in its context, and the security headers."""
    ctx: dict[str, Any] = {"viewer": viewer, "csrf": viewer.csrf if viewer else "", "path": app_path(request)}
    ctx.update(context)
    html = _env().get_template(template).render(**ctx)
    return Response(body=html, status_code=status, headers=page_headers(headers))


def redirect(location: str, *, headers: dict[str, str | list[str]] | None = None) -> Response:
    """A 303 to an app path (made stage-aware here)."""
    target = url(location) if location.startswith("/") else url("/dashboard")
    merged = {**HEADERS, "Location": target, "Content-Security-Policy": csp(), **(headers or {})}
    return Response(body="", status_code=303, headers=merged)


_TITLES = {
    400: "That request could not be used",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    413: "Too large",
    429: "Too many attempts",
}


def error_response(request: Request, exc: Exception) -> Response:
    """What a dashboard request gets for a ``Redirect`` or an ``ApiError``: a redirect or the HTML error page."""
    if isinstance(exc, Redirect):
        return redirect(exc.location, headers=exc.headers)
    if not isinstance(exc, ApiError):
        raise exc
    try:
        viewer = optional_viewer(request)
    except ApiError:
        viewer = None
    extra: dict[str, str | list[str]] = dict(getattr(exc, "headers", None) or {})
    extra.pop("WWW-Authenticate", None)  # the dashboard's 401 is a page with a sign-in link, not Bearer
    title = _TITLES.get(exc.status, "Something went wrong" if exc.status >= 500 else "That did not work")
    return render(
        request, "error.html", viewer=viewer, status=exc.status, headers=extra, title=title, message=exc.message
    )


def html_errors(handler: Callable[..., Response]) -> Callable[..., Response]:
    """A route (or page function) whose ``Redirect`` and ``ApiError`` come back as HTML.

    The middleware already does this for every ``/dashboard`` request; the decorator is for
    calling a page function where no middleware runs. Its first argument must be the request.
    """

    @functools.wraps(handler)
    def wrapped(request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return handler(request, *args, **kwargs)
        except (Redirect, ApiError) as exc:
            return error_response(request, exc)

    return wrapped


def path_email(raw: str) -> str:
    """An email taken from a URL path segment (``/dashboard/users/{email}/disable``)."""
    return unquote(raw or "")


def user_path(email: str, action: str) -> str:
    return f"/dashboard/users/{quote(email, safe='@+')}/{action}"
