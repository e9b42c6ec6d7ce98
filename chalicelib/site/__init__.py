"""The site script (``ct.js``) and the demo landing page, served by the app itself.

``GET /ct.js`` serves ``ct.min.js``, built by ``make site`` from the readable ``src/ct.js``.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from html import escape
from pathlib import Path

from chalice import Response

from chalicelib.core.errors import NotFound
from chalicelib.core.settings import get_settings
from chalicelib.store import lines

HERE = Path(__file__).resolve().parent
SCRIPT_FILE = "ct.min.js"  # built from src/ct.js by `make site`, committed
# Browsers and CDNs may keep the script an hour; the ETag makes revalidation cheap.
SCRIPT_MAX_AGE = 3600


@lru_cache(maxsize=1)
def _script() -> tuple[bytes, str]:
    body = (HERE / SCRIPT_FILE).read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def script_response(if_none_match: str | None) -> Response:
    body, etag = _script()
    headers: dict[str, str | list[str]] = {
        "Content-Type": "application/javascript; charset=utf-8",
        "Cache-Control": f"public, max-age={SCRIPT_MAX_AGE}",
        "ETag": etag,
        "Access-Control-Allow-Origin": "*",
        "X-Content-Type-Options": "nosniff",
    }
    if if_none_match and etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(body="", status_code=304, headers=headers)
    return Response(body=body.decode("utf-8"), status_code=200, headers=headers)


def demo_response() -> Response:
    """The demo landing page, wired to the demo pool (the local stack and the tests only)."""
    if not get_settings().local:
        raise NotFound("the demo page is served by the local stack only")
    pool = next((p for p in lines.list_pools() if p.name == DEMO_POOL_NAME), None)
    if pool is None:
        raise NotFound("the demo pool does not exist: run `make run`, which seeds it")
    html = (HERE / "demo.html").read_text(encoding="utf-8")
    for key, value in demo_values(pool.site_key, pool.original_number).items():
        html = html.replace("{{" + key + "}}", value)
    return Response(body=html, status_code=200, headers={"Content-Type": "text/html; charset=utf-8"})


def demo_values(site_key: str, original: str) -> dict[str, str]:
    """The demo page's placeholders: the pool's key and its original number the ways sites write it."""
    import phonenumbers  # the demo page only: kept out of the app's cold start

    parsed = phonenumbers.parse(original, None)
    fmt = phonenumbers.PhoneNumberFormat
    national = phonenumbers.format_number(parsed, fmt.NATIONAL)
    head, _, tail = national.rpartition(" ")
    return {
        "SITE_KEY": escape(site_key),
        "ORIGINAL_NUMBER": escape(original),
        "ORIGINAL_NATIONAL": escape(national),
        "ORIGINAL_INTERNATIONAL": escape(phonenumbers.format_number(parsed, fmt.INTERNATIONAL)),
        "ORIGINAL_DOTS": escape(re.sub(r"\D+", ".", national).strip(".")),
        "ORIGINAL_NBSP": escape(national).replace(" ", "&nbsp;"),
        # Split across inline elements, as page builders often write it.
        "ORIGINAL_SPLIT": f'<span class="pre">{escape(head)}</span> <strong>{escape(tail)}</strong>',
    }


DEMO_POOL_NAME = "Demo website"
