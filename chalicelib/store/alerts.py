"""Alert recipients: their settings as typed items (``store.shapes``), one Query for all."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pynamodb.attributes import BooleanAttribute, JSONAttribute, ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import UpdateError

from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.store import keys, shapes
from chalicelib.store.models import StoreModel, _meta
from chalicelib.store.ops import condition_failed

FIELDS = (
    "name",
    "channel",
    "email",
    "telegram_chat_id",
    "secret_hint",
    "secret_param",
    "events",
    "summaries",
    "summary_hour",
    "timezone",
    "quiet_hours",
    "limit",
    "enabled",
    "created_at",
    "updated_at",
)


class RecipientItem(StoreModel):
    """An alert recipient (pk ``ALERT#recipients``, sk its id); its secret lives in SSM."""

    Meta = _meta("counters")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute(null=True)
    channel = UnicodeAttribute(null=True)  # email, slack or telegram
    email = UnicodeAttribute(null=True)
    telegram_chat_id = UnicodeAttribute(null=True)
    secret_hint = UnicodeAttribute(null=True)
    secret_param = UnicodeAttribute(null=True)
    events = ListAttribute(of=UnicodeAttribute, null=True)
    summaries = ListAttribute(of=UnicodeAttribute, null=True)
    summary_hour = NumberAttribute(null=True)
    timezone = UnicodeAttribute(null=True)
    quiet_hours = JSONAttribute(null=True)  # {"start": "22:00", "end": "07:00"}
    limit = JSONAttribute(null=True)  # {"count": n, "minutes": m}
    enabled = BooleanAttribute(null=True)
    created_at = NumberAttribute(null=True)
    updated_at = NumberAttribute(null=True)
    shape = NumberAttribute(null=True)
    data = JSONAttribute(null=True)  # schema 0, still written for a rollback


@dataclass(frozen=True)
class Recipient:
    """A recipient's id and settings (``FIELDS``; the domain validates them, the store keeps them)."""

    id: str
    settings: dict[str, Any] = field(default_factory=dict)


def _recipient(item: RecipientItem) -> Recipient:
    return Recipient(item.sk, shapes.read(item, FIELDS))


def list_recipients(*, ctx: RequestContext = SYSTEM) -> list[Recipient]:
    return [_recipient(i) for i in RecipientItem.query(keys.ALERT_RECIPIENTS_PK)]


def get_recipient(recipient_id: str, *, ctx: RequestContext = SYSTEM) -> Recipient | None:
    try:
        return _recipient(RecipientItem.get(*keys.alert_recipient(recipient_id), consistent_read=True))
    except RecipientItem.DoesNotExist:
        return None


def create_recipient(recipient: Recipient, *, ctx: RequestContext = SYSTEM) -> None:
    item = RecipientItem(*keys.alert_recipient(recipient.id))
    item.update(
        actions=shapes.write(RecipientItem, FIELDS, recipient.settings), condition=RecipientItem.sk.does_not_exist()
    )


def save_recipient(recipient: Recipient, *, ctx: RequestContext = SYSTEM) -> bool:
    """Replace an existing recipient's settings; ``False`` if it was deleted meanwhile."""
    try:
        RecipientItem(*keys.alert_recipient(recipient.id)).update(
            actions=shapes.write(RecipientItem, FIELDS, recipient.settings), condition=RecipientItem.sk.exists()
        )
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def delete_recipient(recipient_id: str, *, ctx: RequestContext = SYSTEM) -> None:
    RecipientItem(*keys.alert_recipient(recipient_id)).delete()
