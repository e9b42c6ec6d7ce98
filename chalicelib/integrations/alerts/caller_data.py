"""What the alerts keep about a caller: the alerts held back for a recipient's next digest.

An alert names its caller (``caller``, the E.164 number) and is kept as it is until the digest
goes (or its TTL ends it, ``HOLD_DAYS``). Sent alerts are not kept; the rate-limit windows and
"sent once" markers name no caller. So a caller's export is their held alerts, by recipient,
and an erasure deletes them (the digest then simply does not mention that call).
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.context import RequestContext
from chalicelib.integrations.alerts import recipients
from chalicelib.store import keys
from chalicelib.store.models import CounterModel


def _held_for(phone: str) -> list[tuple[str, CounterModel]]:
    out = []
    for recipient in recipients.all_items():
        for item in CounterModel.query(keys.alert_digest(recipient.sk), consistent_read=True):
            if (item.data or {}).get("caller") == phone:
                out.append((recipient.sk, item))
    return out


def export(phone: str, ctx: RequestContext) -> dict[str, Any]:
    """The alerts held for a digest that name ``phone``, by recipient id (empty when none)."""
    held: dict[str, list[dict[str, Any]]] = {}
    for recipient_id, item in _held_for(phone):
        held.setdefault(recipient_id, []).append(dict(item.data or {}))
    return {"held_alerts": held} if held else {}


def erase(phone: str, ctx: RequestContext) -> int:
    """Delete the held alerts that name ``phone``; how many went."""
    held = _held_for(phone)
    for _, item in held:
        item.delete()
    return len(held)
