"""The install check of a website pool: does the owner's page carry the site script, and has the pool
handed out numbers to visitors yet (which also catches a tag added through a tag manager)?

The page is fetched through the SSRF-safe outbound client (``chalicelib.integrations.outbound``):
only a URL on one of the pool's own allowed origins, resolved and refused when the address is
private, loopback (but on the local stack) or a metadata address; a few redirects are followed,
each checked again.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlsplit

from chalicelib import pools
from chalicelib.core.errors import BadRequest
from chalicelib.core.settings import get_settings
from chalicelib.integrations import outbound
from chalicelib.store import lines

MAX_BYTES = 512 * 1024
MAX_REDIRECTS = 3
TIMEOUT = 8.0
_SCRIPT = re.compile(r"<script\b[^>]*>", re.IGNORECASE)


def check_url(pool: dict[str, Any], url: str) -> str:
    """The page to check: an http(s) URL on one of the pool's allowed origins, or a 400."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadRequest("'url' must be the address of a page of your site, like https://www.example.com/")
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    if origin not in pool["allowed_origins"]:
        raise BadRequest(f"'url' must be on one of the pool's sites: {', '.join(pool['allowed_origins'])}")
    return url


def has_tag(html: str, site_key: str) -> bool:
    """Whether the page has a ``<script>`` loading ``ct.js`` with this pool's ``data-site``."""
    for tag in _SCRIPT.findall(html):
        if "ct.js" in tag and re.search(r"data-site\s*=\s*[\"']?" + re.escape(site_key) + r"[\"'\s>]", tag):
            return True
    return False


def check(pool_id: str, url: str) -> dict[str, Any]:
    """The check's findings: ``tag`` (found / missing / unreachable), what was fetched, and leases."""
    pool = pools.to_dict(pools.load(pool_id))
    target = check_url(pool, url)
    found = _fetch(target, pool["site_key"])
    leased = any(n.lease_started_at or n.lease_ended_at for n in lines.pool_numbers(pool_id) if n.kind == "pool")
    found["leased"] = leased
    found["ok"] = found["tag"] == "found" or leased
    return found


def _fetch(url: str, site_key: str) -> dict[str, Any]:
    loopback = get_settings().local  # only the local stack may check a page on this machine
    for _ in range(MAX_REDIRECTS + 1):
        try:
            answer = outbound.request(
                "GET",
                url,
                headers={"User-Agent": "calltracking-install-check", "Accept": "text/html"},
                timeout=TIMEOUT,
                allow_loopback=loopback,
                max_bytes=MAX_BYTES,
            )
        except outbound.Refused as exc:
            return {"tag": "unreachable", "url": url, "detail": f"This address may not be fetched: {exc}"}
        except OSError as exc:
            return {"tag": "unreachable", "url": url, "detail": f"The page could not be reached: {exc}"}
        if answer.status in (301, 302, 303, 307, 308) and answer.headers.get("location"):
            url = urljoin(url, answer.headers["location"])
            continue
        if answer.status >= 400:
            return {"tag": "unreachable", "url": url, "detail": f"The page answered {answer.status}."}
        html = answer.body.decode("utf-8", "replace")
        if has_tag(html, site_key):
            return {"tag": "found", "url": url, "detail": "The page carries this pool's script."}
        return {"tag": "missing", "url": url, "detail": "The page does not carry this pool's script yet."}
    return {"tag": "unreachable", "url": url, "detail": f"More than {MAX_REDIRECTS} redirects."}
