"""Why a call came: a static channel, a website session that held the number, or nothing known.

Confidence values: ``static`` (a channel's own number), ``active`` (the call came while a
session held the pool number), ``late`` (after the hold but within the pool's grace
window and before the number was leased again), ``overflow`` (the pool's overflow
number), ``unattributed`` (none of these).
"""

from __future__ import annotations

from typing import Any

from chalicelib.models import NumberModel


def for_channel(channel_id: str, channel_name: str) -> dict[str, Any]:
    return {
        "confidence": "static",
        "channel_id": channel_id,
        "channel_name": channel_name,
        "channel_group": None,
        "source": {},
        "session_id": None,
    }


def unattributed(reason: str) -> dict[str, Any]:
    return {"confidence": "unattributed", "reason": reason, "source": {}, "channel_group": None, "session_id": None}


def resolve(number: NumberModel | None, call_time_ms: int, *, channel_name: str | None = None, pool: Any = None) -> dict[str, Any]:
    """The attribution of a call to ``number`` at ``call_time_ms``."""
    if number is None:
        return unattributed("not a tracking number here")
    if number.kind == "channel" and number.channel_id:
        return for_channel(number.channel_id, channel_name or "")
    if number.kind == "overflow":
        return {
            "confidence": "overflow",
            "pool_id": number.pool_id,
            "source": {},
            "channel_group": "pool overflow",
            "session_id": None,
        }
    if number.kind == "pool" and pool is not None:
        from chalicelib.sessions import attribute_pool_call

        return attribute_pool_call(number, pool, call_time_ms)
    return unattributed("number has no channel or pool")
