"""Dynamic number pools: one per website, with its origins, hold time, grace window and exhaustion policy."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from chalicelib import handling, numbers, sites
from chalicelib.core import clock
from chalicelib.core import validation as v
from chalicelib.core.context import SYSTEM, RequestContext, log_change
from chalicelib.core.errors import BadRequest, Conflict
from chalicelib.store import lines
from chalicelib.store.lines import Pool

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


def to_dict(p: Pool) -> dict[str, Any]:
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


def _fields(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    v.reject_unknown(body, FIELDS)
    out = handling.handling_fields(body, partial=partial)
    if "allowed_origins" in body or not partial:
        origins = body.get("allowed_origins")
        if not isinstance(origins, list) or not origins:
            raise BadRequest("'allowed_origins' must be a non-empty list of origins")
        if len(origins) > MAX_ORIGINS:
            raise BadRequest(f"'allowed_origins' may list at most {MAX_ORIGINS} origins")
        out["allowed_origins"] = sorted({v.origin(o, "allowed_origins") for o in origins})
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


def create(body: dict[str, Any], *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    log_change(ctx, "pools.create")
    f = _fields(body, partial=False)
    numbers.refuse_tracking_numbers(numbers.forward_phones(f))
    now = clock.now_ms()
    pool = Pool(
        pool_id="pl_" + secrets.token_hex(8),
        site_key="sk_" + secrets.token_urlsafe(18),
        name=f["name"],
        allowed_origins=f["allowed_origins"],
        original_number=f["original_number"],
        hold_seconds=f["hold_seconds"],
        grace_seconds=f["grace_seconds"],
        exhaustion_policy=f["exhaustion_policy"],
        overflow_number=None,
        forward_to=f["forward_to"],
        record=bool(f.get("record", False)),
        disclosure=handling.disclosure_for(f.get("record"), f.get("disclosure")),
        flow=handling.new_line_flow(f.get("flow"), f["forward_to"], line_type=numbers.line_type),
        created_at=now,
        updated_at=now,
    )
    lines.create_pool(pool, ctx=ctx)
    return to_dict(pool)


def load(pool_id: str, *, ctx: RequestContext = SYSTEM) -> Pool:
    return lines.get_pool(pool_id, ctx=ctx)


def list_all(*, ctx: RequestContext = SYSTEM) -> list[dict[str, Any]]:
    return sorted((to_dict(p) for p in lines.list_pools(ctx=ctx)), key=lambda p: (p["name"].lower(), p["id"]))


def update(pool_id: str, body: dict[str, Any], *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    log_change(ctx, "pools.update", pool_id=pool_id)
    f = _fields(body, partial=True)
    if not f:
        raise BadRequest(f"nothing to change; send one or more of: {', '.join(sorted(FIELDS))}")
    numbers.refuse_tracking_numbers(numbers.forward_phones(f))
    pool = load(pool_id, ctx=ctx)
    if "flow" in f:
        f["flow"] = handling.keep_greeting(pool.flow, f["flow"])
    if f.get("exhaustion_policy") == "overflow" and not pool.overflow_number:
        raise Conflict("add an overflow number first: POST /v1/numbers with pool_id and overflow true")
    pool = replace(pool, **f)
    pool = replace(pool, disclosure=handling.disclosure_for(pool.record, pool.disclosure), updated_at=clock.now_ms())
    lines.save_pool(pool, ctx=ctx)
    sites.forget(pool.site_key)
    if "forward_to" in f:
        numbers.repoint(pool_id=pool_id, forward_to=pool.forward_to)  # its overflow number too
    return to_dict(pool)


def delete(pool_id: str, *, ctx: RequestContext = SYSTEM) -> None:
    log_change(ctx, "pools.delete", pool_id=pool_id)
    load(pool_id, ctx=ctx)
    numbers.require_none_active(pool_id=pool_id)
    lines.delete_pool(pool_id, ctx=ctx)


def status(pool_id: str, *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """The pool with its size, numbers leased now, utilization and how often it ran out."""
    pool = load(pool_id, ctx=ctx)
    now = clock.now_ms()
    size = leased = 0
    for n in lines.pool_numbers(pool_id):
        if n.status != "active" or n.kind != "pool":
            continue
        size += 1
        if n.lease_expires_at is not None and int(n.lease_expires_at) > now:
            leased += 1
    out = to_dict(pool)
    out["size"] = size
    out["leased_now"] = leased
    out["utilization"] = round(leased / size, 4) if size else 0.0
    out["exhausted"] = sites.exhaustion_counts(pool_id, now)
    return out
