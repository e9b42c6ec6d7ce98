"""What the alerts keep about a caller: the alerts held back for a recipient's next digest.

An alert names its caller (``caller``, the E.164 number) and is kept as it is until the digest
goes (or its TTL ends it, ``HOLD_DAYS``). Sent alerts are not kept; the rate-limit windows and
"sent once" markers name no caller. So a caller's export is their held alerts, by recipient,
and an erasure deletes them (the digest then simply does not mention that call).
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.context import RequestContext
from chalicelib.store import alerts as alerts_store
from chalicelib.store.alerts import HeldAlert


def _held_for(phone: str, ctx: RequestContext) -> list[tuple[str, HeldAlert]]:
    return [
        (recipient.id, held)
        for recipient in alerts_store.list_recipients(ctx=ctx)
        for held in alerts_store.held_alerts_naming(recipient.id, phone)
    ]


def export(phone: str, ctx: RequestContext) -> dict[str, Any]:
    """The alerts held for a digest that name ``phone``, by recipient id (empty when none)."""
    held: dict[str, list[dict[str, Any]]] = {}
    for recipient_id, item in _held_for(phone, ctx):
        held.setdefault(recipient_id, []).append(item.alert)
    return {"held_alerts": held} if held else {}


def erase(phone: str, ctx: RequestContext) -> int:
    """Delete the held alerts that name ``phone``; how many went."""
    held = _held_for(phone, ctx)
    alerts_store.forget_held([item for _, item in held])
    return len(held)
