"""The API's side of conversions: what the routes call (the dashboard calls the same functions)."""

from __future__ import annotations

from typing import Any

from chalicelib import calls
from chalicelib.core import validation as v
from chalicelib.core.context import SYSTEM, RequestContext, log_change
from chalicelib.integrations.conversions import delivery, destinations, platforms
from chalicelib.integrations.conversions.platform import DAY_MS


def platform_list() -> list[dict[str, Any]]:
    out = []
    for name in platforms.names():
        p = platforms.get(name)
        out.append(
            {
                "name": p.name,
                "title": p.title,
                "window_days": p.window_days,
                "credentials": list(p.credential_fields),
                "settings": list(p.setting_fields),
                "static_calls": p.takes_static_calls,
                "adjustments": p.takes_adjustments,
            }
        )
    return out


def backfill(destination_id: str, body: dict[str, Any], *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    log_change(ctx, "conversions.backfill", destination_id=destination_id)
    v.reject_unknown(body, {"days"})
    item = destinations.load(destination_id)
    window = destinations.public(item)["window_days"]
    days = v.integer(body, "days", default=min(30, window), lo=1, hi=90)
    assert days is not None
    got = delivery.start_backfill(item.id, min(days, window))
    return {**got, "follow": f"/v1/conversions/destinations/{item.id}"}


def of_call(call_sid: str) -> dict[str, Any]:
    calls.load(call_sid[:64])  # a 404 for a call that does not exist
    return destinations.of_call(call_sid)


__all__ = ["DAY_MS", "backfill", "destinations", "of_call", "platform_list"]
