"""Page URLs and referrers cut to what attribution needs, whatever a client sends.

A page URL can carry password-reset tokens, e-mail addresses or OAuth tokens (often in the
``#fragment``); a referrer can carry someone else's search or session. Calls keep their source
for years and leave in CSV exports, so the lease endpoint keeps only:

* page URLs and landing pages: origin + path + the tracking parameters below;
* referrers: origin + path.

User info (``user:password@``) and fragments are always dropped; ports are kept. The site
script cuts URLs the same way before sending them, but an old cached script or a hand-made
request must not get around it, so the server does it again here.

The result is ASCII: characters a browser would percent-encode in a URL are encoded the same
way (a lone surrogate becomes U+FFFD first, as in a browser), so odd input is stored as
harmless text. Hosts must be what a browser sends (ASCII DNS names, punycode for IDNs, IP
literals); anything else is refused, like a scheme other than http(s).
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, quote, urlsplit

# Click ids of Google (gclid, and gbraid / wbraid for iOS app and web-to-app clicks), Yandex,
# Meta and Microsoft. Parameter names are compared exactly as written (case-sensitive, not
# percent-decoded), as the ad platforms and analytics tools read them.
CLICK_ID_PARAMETERS = ("gclid", "gbraid", "wbraid", "yclid", "fbclid", "msclkid")
UTM_PREFIX = "utm_"  # utm_source, utm_medium, utm_campaign, utm_term, utm_content, utm_id, ...
TRACKING_PARAMETER = re.compile(UTM_PREFIX + r"[A-Za-z0-9_]+|" + "|".join(CLICK_ID_PARAMETERS))

_SCHEMES = ("http", "https")
# A DNS name or IPv4 address (browsers send hosts ASCII-serialized, IDNs as punycode), or the
# inside of an IPv6 literal's brackets (urlsplit has already checked that it is an address).
_HOST = re.compile(r"[a-z0-9._-]+")
_IPV6 = re.compile(r"[0-9a-f:.]+")
# What stays as written in a path or query; everything else is percent-encoded as a browser does.
_PATH_SAFE = "/:@!$&'()*+,;=%~-._"
_QUERY_SAFE = _PATH_SAFE + "?"
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # JSON can carry one; UTF-8 cannot


def page_url(url: str) -> str | None:
    """``url`` as origin + path + its tracking parameters (in their order); None if not an http(s) URL."""
    parts = _split(url)
    if parts is None:
        return None
    origin_path, query = parts
    kept = [pair for pair in query.split("&") if TRACKING_PARAMETER.fullmatch(pair.partition("=")[0])]
    if not kept:
        return origin_path
    return origin_path + "?" + _encode("&".join(kept), _QUERY_SAFE)


def referrer(url: str) -> str | None:
    """``url`` as origin + path; None if not an http(s) URL."""
    parts = _split(url)
    return None if parts is None else parts[0]


def _split(url: str) -> tuple[str, str] | None:
    """(origin + path, raw query) of an http(s) URL with a host, or None."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # ValueError when not a number from 0 to 65535
    except ValueError:  # also an IPv6 literal that is not an address, unbalanced brackets
        return None
    host = _host(parts)
    if parts.scheme not in _SCHEMES or host is None:
        return None
    netloc = host if port is None else f"{host}:{port}"  # user:password@ is left behind
    path = _encode(parts.path or "/", _PATH_SAFE)
    return f"{parts.scheme}://{netloc}{path}", parts.query


def _host(parts: SplitResult) -> str | None:
    host = parts.hostname  # lowercased, without brackets, user info or port
    if not host:
        return None
    if parts.netloc.rpartition("@")[2].startswith("["):  # an IP literal: IPv6 only ([v1.x] is refused)
        return f"[{host}]" if _IPV6.fullmatch(host) else None
    return host if _HOST.fullmatch(host) else None


def _encode(text: str, safe: str) -> str:
    return quote(_SURROGATE.sub("\ufffd", text), safe=safe)
