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


# --- the local "your website" page ---------------------------------------------------------------
# ``make run`` serves a small stand-in for the owner's website at /demo/site: paste a pool's script
# tag into its form and the page carries it from then on, so the dashboard's install check, test
# link and the number swap can be tried for real without a website. Local stack only; the tag is
# kept in this process (``chalice local`` is one) and only its two attributes are kept, never HTML.

_TAG_SRC = re.compile(r"""\bsrc\s*=\s*["']([^"'<>\s]+/ct\.js)["']""", re.IGNORECASE)
_TAG_SITE = re.compile(r"""\bdata-site\s*=\s*["'](sk_[A-Za-z0-9_-]{10,40})["']""", re.IGNORECASE)
_pasted: dict[str, str] = {}
TEST_SITE_PLACEHOLDER = "+12025550123"


def parse_tag(text: str) -> tuple[str, str] | None:
    """The script URL and site key of a pasted ``<script ... src=".../ct.js" data-site="sk_...">``."""
    src, site = _TAG_SRC.search(text or ""), _TAG_SITE.search(text or "")
    if not src or not site or not src.group(1).startswith(("http://", "https://", "/")):
        return None
    return src.group(1), site.group(1)


def test_site_response(method: str, form: dict[str, str]) -> Response:
    """The local test website: GET shows it (with the pasted tag), POST pastes a tag."""
    if not get_settings().local:
        raise NotFound("the test website is served by the local stack only")
    message = ""
    if method == "POST":
        found = parse_tag(form.get("tag", ""))
        if found is None:
            message = "That is not a site script tag: paste the whole <script ...></script> from the dashboard."
        else:
            _pasted["src"], _pasted["site"] = found
            message = "Saved: this page now carries your script."
    site = _pasted.get("site")
    pool = lines.pool_by_site_key(site) if site else None
    original = pool.original_number if pool else TEST_SITE_PLACEHOLDER
    values = demo_values(site or "", original)
    tag = ""
    if site:
        tag = f'<script async src="{escape(_pasted["src"])}" data-site="{escape(site)}"></script>'
    html = (HERE / "testsite.html").read_text(encoding="utf-8")
    replacements = {
        "TAG": tag,
        "MESSAGE": escape(message),
        "PASTED": escape(tag) if tag else "nothing yet",
        "ORIGINAL_NUMBER": values["ORIGINAL_NUMBER"],
        "ORIGINAL_NATIONAL": values["ORIGINAL_NATIONAL"],
    }
    for key, value in replacements.items():
        html = html.replace("{{" + key + "}}", value)
    headers: dict[str, str | list[str]] = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
    return Response(body=html, status_code=200, headers=headers)


def forget_test_site() -> None:
    _pasted.clear()
