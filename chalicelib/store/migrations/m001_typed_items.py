"""Migration 1: users, webhook endpoints and alert recipients get their ``data`` as typed attributes.

It walks the three partitions that hold them (one Query page per chunk) and rewrites each
item still in the old shape, on condition that it still is (a write by this release since
the read already stored both shapes). ``data`` stays (``store.shapes``).

Web sessions are not walked: finding them needs a Scan of the whole counters table
(aggregates and event claims included), and they end within ``DASHBOARD_SESSION_HOURS``
anyway; until then ``store.accounts`` reads them in either shape, and every new one is
written typed.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.store import accounts, alerts, keys, shapes, webhooks
from chalicelib.store.ops import condition_failed

USER_FIELDS = ("role", "password_hash", "created_at", "disabled_at")
# (partition, item type, the typed fields) in the order they are walked; the cursor is
# "<position in this list>|<last sort key done>".
PARTS: tuple[tuple[str, Any, tuple[str, ...]], ...] = (
    (keys.DASHBOARD_USERS_PK, accounts.UserItem, USER_FIELDS),
    (keys.WEBHOOKS_PK, webhooks.EndpointItem, webhooks.FIELDS),
    (keys.ALERT_RECIPIENTS_PK, alerts.RecipientItem, alerts.FIELDS),
)


def _rewrite(item: Any, model: Any, fields: tuple[str, ...]) -> bool:
    if item.shape == shapes.TYPED:
        return False
    data = {k: x for k, x in (item.data or {}).items() if k in fields}
    try:
        item.update(
            actions=shapes.write(model, fields, data)[:-1],  # ``data`` itself is left exactly as it was
            condition=model.sk.exists() & model.shape.does_not_exist(),
        )
    except UpdateError as exc:
        if condition_failed(exc):  # deleted, or written in both shapes meanwhile
            return False
        raise
    return True


def step(cursor: str | None, limit: int) -> tuple[str | None, int]:
    """Rewrite up to ``limit`` items after ``cursor``; the next cursor (``None``: done) and how many."""
    position, _, last = (cursor or "0|").partition("|")
    index = int(position)
    if index >= len(PARTS):
        return None, 0
    pk, model, fields = PARTS[index]
    condition = model.sk > last if last else None
    items = list(model.query(pk, condition, limit=limit, consistent_read=True))
    rewritten = sum(_rewrite(item, model, fields) for item in items)
    if len(items) < limit:  # this partition is done: the next one begins at the next step
        return (f"{index + 1}|" if index + 1 < len(PARTS) else None), rewritten
    return f"{index}|{items[-1].sk}", rewritten
