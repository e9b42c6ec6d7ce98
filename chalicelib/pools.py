"""Dynamic number pools: one per website, with its origins, hold time, grace window and exhaustion policy."""

from __future__ import annotations

import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from chalicelib import channels, clock
from chalicelib import validation as v
from chalicelib.errors import BadRequest, Conflict, NotFound
from chalicelib.models import CounterModel, NumberModel, PoolModel, get_or_404

FIELDS = {
    "name",
    "allowed_origins",
    "original_number",
    "hold_seconds",
    "grace_seconds",
    "exhaustion_policy",
    "forward_to",
    "record",
    "disclosure",
    "flow",
}
POLICIES = ("original", "overflow")
MAX_ORIGINS = 20
# How long a lease endpoint process trusts its copy of a pool's settings.
CACHE_SECONDS = 30.0


def to_dict(p: PoolModel) -> dict[str, Any]:
    return {
        "id": p.pool_id,
        "site_key": p.site_key,
        "name": p.name,
        "allowed_origins": list(p.allowed_origins or []),
        "original_number": p.original_number,
        "hold_seconds": int(p.hold_seconds),
        "grace_seconds": int(p.grace_seconds),
        "exhaustion_policy": p.exhaustion_policy,
        "overflow_number": p.overflow_number,
        "forward_to": p.forward_to,
        "record": bool(p.record),
        "disclosure": p.disclosure,
        "flow": p.flow or {},
        "created_at": clock.iso(int(p.created_at)),
        "updated_at": clock.iso(int(p.updated_at)),
    }


def normalize_origin(value: Any) -> str:
    """``scheme://host[:port]`` in lower case, or a 400."""
    if not isinstance(value, str) or len(value) > 200:
        raise BadRequest("each allowed origin must be a string like https://www.example.com")
    try:
        parts = urlsplit(value.strip())
        port = parts.port  # raises for a port that is not a number in 0..65535
    except ValueError:
        raise BadRequest(f"{value!r} is not an origin; write it like https://www.example.com") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise BadRequest(f"{value!r} is not an origin; write it like https://www.example.com")
    origin = f"{parts.scheme}://{parts.hostname.lower()}"
    if port:
        origin += f":{port}"
    return origin


def _fields(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    v.reject_unknown(body, FIELDS)
    out = channels.handling_fields(body, partial=partial)
    if "allowed_origins" in body or not partial:
        origins = body.get("allowed_origins")
        if not isinstance(origins, list) or not origins:
            raise BadRequest("'allowed_origins' must be a non-empty list of origins")
        if len(origins) > MAX_ORIGINS:
            raise BadRequest(f"'allowed_origins' may list at most {MAX_ORIGINS} origins")
        out["allowed_origins"] = sorted({normalize_origin(o) for o in origins})
    if "original_number" in body or not partial:
        out["original_number"] = v.e164(body.get("original_number"), "original_number")
    hold = v.integer(body, "hold_seconds", default=None if partial else 900, lo=60, hi=86_400)
    if hold is not None:
        out["hold_seconds"] = hold
    grace = v.integer(body, "grace_seconds", default=None if partial else 1800, lo=0, hi=7 * 86_400)
    if grace is not None:
        out["grace_seconds"] = grace
    policy = v.string(body, "exhaustion_policy", max_len=20)
    if policy is not None:
        if policy not in POLICIES:
            raise BadRequest(f"'exhaustion_policy' must be one of: {', '.join(POLICIES)}")
        out["exhaustion_policy"] = policy
    elif not partial:
        out["exhaustion_policy"] = "original"
    return out


def create(body: dict[str, Any]) -> dict[str, Any]:
    f = _fields(body, partial=False)
    f["disclosure"] = channels.disclosure_for(f.get("record"), f.get("disclosure"))
    now = clock.now_ms()
    pool = PoolModel(
        "pl_" + secrets.token_hex(8),
        site_key="sk_" + secrets.token_urlsafe(18),
        created_at=now,
        updated_at=now,
        **f,
    )
    pool.save(condition=PoolModel.pool_id.does_not_exist())
    return to_dict(pool)


def load(pool_id: str) -> PoolModel:
    return get_or_404(PoolModel, pool_id, "pool with id")


def list_all() -> list[dict[str, Any]]:
    return sorted((to_dict(p) for p in PoolModel.scan()), key=lambda p: (p["name"].lower(), p["id"]))


def update(pool_id: str, body: dict[str, Any]) -> dict[str, Any]:
    f = _fields(body, partial=True)
    if not f:
        raise BadRequest(f"nothing to change; send one or more of: {', '.join(sorted(FIELDS))}")
    pool = load(pool_id)
    if f.get("exhaustion_policy") == "overflow" and not pool.overflow_number:
        raise Conflict("add an overflow number first: POST /v1/numbers with pool_id and overflow true")
    for key, value in f.items():
        setattr(pool, key, value)
    pool.disclosure = channels.disclosure_for(pool.record, pool.disclosure)
    pool.updated_at = clock.now_ms()
    pool.save(condition=PoolModel.pool_id.exists())
    _cache.pop(pool.site_key, None)
    return to_dict(pool)


def delete(pool_id: str) -> None:
    from chalicelib import numbers

    load(pool_id)
    numbers.require_none_active(pool_id=pool_id)
    PoolModel(pool_id).delete()


def set_overflow_number(pool_id: str, number: str) -> None:
    PoolModel(pool_id).update(actions=[PoolModel.overflow_number.set(number), PoolModel.updated_at.set(clock.now_ms())])


def clear_overflow_number(pool_id: str, number: str) -> None:
    pool = load(pool_id)
    if pool.overflow_number == number:
        actions: list[Any] = [PoolModel.overflow_number.remove(), PoolModel.updated_at.set(clock.now_ms())]
        if pool.exhaustion_policy == "overflow":
            actions.append(PoolModel.exhaustion_policy.set("original"))
        pool.update(actions=actions)


# --- the lease endpoint's view of pools --------------------------------------------------

_cache: dict[str, tuple[float, PoolModel | None]] = {}
_SITE_KEY = re.compile(r"sk_[A-Za-z0-9_-]{10,40}")


def by_site_key(site_key: str) -> PoolModel:
    """The pool a public site key names, cached briefly per process (settings change rarely)."""
    if not _SITE_KEY.fullmatch(site_key):
        raise NotFound("unknown site key")
    hit = _cache.get(site_key)
    if hit is not None and hit[0] > time.monotonic():
        pool = hit[1]
    else:
        pool = next(iter(PoolModel.site_key_index.query(site_key, limit=1)), None)
        _cache[site_key] = (time.monotonic() + CACHE_SECONDS, pool)
    if pool is None:
        raise NotFound("unknown site key")
    return pool


def clear_cache() -> None:
    _cache.clear()


# --- exhaustion counts and status --------------------------------------------------------


def _hour(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H")


def count_exhaustion(pool_id: str, now_ms: int, visitor_id: str | None = None) -> None:
    """One more refusal, counted per hour (kept 8 days); the visitor's hash too, so sizing
    counts a visitor refused on several pages once."""
    import hashlib

    expires = datetime.fromtimestamp(now_ms / 1000 + 8 * 86_400, tz=UTC)
    actions: list[Any] = [CounterModel.total.add(1), CounterModel.expires_at.set(expires)]
    if visitor_id:
        actions.append(CounterModel.keys.add({hashlib.sha256(visitor_id.encode()).hexdigest()[:16]}))
    CounterModel(f"POOL#{pool_id}#EXHAUSTED", _hour(now_ms)).update(actions=actions)


def exhaustion_counts(pool_id: str, now_ms: int) -> dict[str, int]:
    since_7d = _hour(now_ms - 7 * 86_400_000)
    since_24h = _hour(now_ms - 86_400_000)
    last_24h = last_7d = 0
    for item in CounterModel.query(f"POOL#{pool_id}#EXHAUSTED", CounterModel.sk > since_7d):
        last_7d += int(item.total)
        if item.sk > since_24h:
            last_24h += int(item.total)
    return {"last_24h": last_24h, "last_7d": last_7d}


def status(pool_id: str) -> dict[str, Any]:
    """The pool with its size, numbers leased now, utilization and how often it ran out."""
    pool = load(pool_id)
    now = clock.now_ms()
    size = leased = 0
    for n in NumberModel.pool_index.query(pool_id):
        if n.status != "active" or n.kind != "pool":
            continue
        size += 1
        if n.lease_expires_at is not None and int(n.lease_expires_at) > now:
            leased += 1
    out = to_dict(pool)
    out["size"] = size
    out["leased_now"] = leased
    out["utilization"] = round(leased / size, 4) if size else 0.0
    out["exhausted"] = exhaustion_counts(pool_id, now)
    return out
