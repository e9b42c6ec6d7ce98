"""The lease endpoint's view of pools: a pool by its public site key, and how often it ran out.

A pool's settings change rarely and the lease endpoint is the busiest route, so each
process keeps a pool for ``CACHE_SECONDS``; the process that changes a pool forgets its
copy at once.
"""

from __future__ import annotations

import hashlib
import math
import re

from chalicelib.core import clock
from chalicelib.core.errors import NotFound
from chalicelib.store import lines
from chalicelib.store.cache import TTLCache
from chalicelib.store.lines import Pool

CACHE_SECONDS = 30.0
EXHAUSTION_KEEP_DAYS = 8
# Refused visitors are counted in a fixed number of hash buckets per hour (linear counting), so
# the hour's item stays a few KB however many are refused (a set of visitor hashes grew until
# DynamoDB's 400 KB item limit turned refusals into errors).
REFUSED_BUCKETS = 1024
_cache: TTLCache[Pool | None] = TTLCache(CACHE_SECONDS)
_SITE_KEY = re.compile(r"sk_[A-Za-z0-9_-]{10,40}")


def by_site_key(site_key: str) -> Pool:
    """The pool a public site key names, cached briefly per process (settings change rarely)."""
    if not _SITE_KEY.fullmatch(site_key):
        raise NotFound("unknown site key")
    pool = _cache.get_or_load(site_key, lambda: lines.pool_by_site_key(site_key))
    if pool is None:
        raise NotFound("unknown site key")
    return pool


def public_view(site_key: str) -> dict[str, object]:
    """What anyone holding a site key may read (it is in the site's pages): the number the script
    replaces and the sites it may run on, so a CMS plugin can show the owner what to expect."""
    pool = by_site_key(site_key)
    return {"site_key": pool.site_key, "original_number": pool.original_number, "allowed_origins": pool.allowed_origins}


def forget(site_key: str) -> None:
    _cache.pop(site_key)


def clear_cache() -> None:
    _cache.clear()


def refused_bucket(visitor_id: str) -> str:
    """The bucket a refused visitor marks (the same one on every page they are refused on)."""
    digest = int.from_bytes(hashlib.sha256(visitor_id.encode()).digest()[:4], "big")
    return f"{digest % REFUSED_BUCKETS:04d}"


def distinct_refused(marked: int, refused: int) -> int:
    """About how many distinct visitors marked ``marked`` of the buckets (linear counting:
    n = -m ln(1 - k/m), within a few percent up to about m visitors), never more than the
    ``refused`` requests; once every bucket is marked, the requests are all that is known."""
    if marked <= 0:
        return 0
    if marked >= REFUSED_BUCKETS:
        return refused
    estimate = -REFUSED_BUCKETS * math.log(1 - marked / REFUSED_BUCKETS)
    return min(refused, round(estimate)) if refused else round(estimate)


def count_exhaustion(pool_id: str, now_ms: int, visitor_id: str | None = None) -> None:
    """One more refusal, counted per hour (kept 8 days); the visitor's bucket too, so sizing
    counts a visitor refused on several pages about once (``distinct_refused``)."""
    bucket = refused_bucket(visitor_id) if visitor_id else None
    lines.count_exhaustion(pool_id, clock.hour_key(now_ms), now_ms, keep_days=EXHAUSTION_KEEP_DAYS, bucket=bucket)


def exhaustion_counts(pool_id: str, now_ms: int) -> dict[str, int]:
    since_7d = clock.hour_key(now_ms - 7 * 86_400_000)
    since_24h = clock.hour_key(now_ms - 86_400_000)
    last_24h = last_7d = 0
    for item in lines.exhausted_hours(pool_id, after=since_7d):
        last_7d += item.refused
        if item.hour > since_24h:
            last_24h += item.refused
    return {"last_24h": last_24h, "last_7d": last_7d}
