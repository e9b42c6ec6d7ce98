"""Alert recipients (settings as typed items, ``store.shapes``), their rate-limit windows, the
alerts held for their digests, and the marks of scheduled alerts sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pynamodb.attributes import BooleanAttribute, JSONAttribute, ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, UpdateError

from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.store import keys, shapes
from chalicelib.store.models import CounterModel, StoreModel, _meta
from chalicelib.store.ops import condition_failed, expires_after

FIELDS = (
    "name",
    "channel",
    "email",
    "telegram_chat_id",
    "phone",
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
    channel = UnicodeAttribute(null=True)  # email, slack, telegram or sms
    email = UnicodeAttribute(null=True)
    telegram_chat_id = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)  # an sms recipient's phone (E.164)
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


# --- rate-limit windows, digests and sent marks ---------------------------------------------------


def take_window_slot(recipient_id: str, entry_id: str, now_ms: int, *, count: int, window_ms: int) -> bool:
    """One of the recipient's window's alerts for this entry (the same entry asking again keeps
    its slot). Two conditional writes at most: count one more in the open window, or open a new one."""
    item = CounterModel(*keys.alert_window(recipient_id))
    try:
        item.update(
            actions=[CounterModel.total.add(1), CounterModel.keys.add({entry_id})],
            condition=(CounterModel.lease_until > now_ms) & (CounterModel.total < count),
        )
        return True
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
    try:
        item.update(
            actions=[
                CounterModel.total.set(1),
                CounterModel.lease_until.set(now_ms + window_ms),
                CounterModel.keys.set({entry_id}),
                CounterModel.expires_at.set(expires_after(now_ms, 2)),
            ],
            condition=CounterModel.pk.does_not_exist() | (CounterModel.lease_until <= now_ms),
        )
        return True
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
    current = CounterModel.get(*keys.alert_window(recipient_id), consistent_read=True)
    return entry_id in (current.keys or set())


def window_open_until(recipient_id: str) -> int | None:
    """When the recipient's current window ends (epoch ms); ``None`` if there never was one."""
    try:
        return int(CounterModel.get(*keys.alert_window(recipient_id), consistent_read=True).lease_until or 0)
    except CounterModel.DoesNotExist:
        return None


@dataclass(frozen=True)
class HeldAlert:
    key: tuple[str, str]  # its item's key, to delete it once sent
    alert: dict[str, Any]  # the alert as it was held, with ``held_for``


def hold_alert(recipient_id: str, at_ms: int, entry_id: str, alert: dict[str, Any], *, expires_at_ms: int) -> None:
    """Keep an alert for the digest (keyed by its time and entry: holding it again changes nothing)."""
    CounterModel(
        *keys.alert_digest_entry(recipient_id, at_ms, entry_id), data=alert, expires_at=expires_after(expires_at_ms, 0)
    ).save()


def held_alerts(recipient_id: str, limit: int) -> list[HeldAlert]:
    """The alerts held for a recipient's digest, oldest first (one Query)."""
    return [
        HeldAlert((i.pk, i.sk), dict(i.data or {}))
        for i in CounterModel.query(keys.alert_digest(recipient_id), limit=limit)
    ]


def held_alerts_naming(recipient_id: str, caller: str) -> list[HeldAlert]:
    """Every alert held for a recipient's digest that names ``caller`` (all pages: an export or an erasure)."""
    return [
        HeldAlert((i.pk, i.sk), dict(i.data or {}))
        for i in CounterModel.query(keys.alert_digest(recipient_id), consistent_read=True)
        if (i.data or {}).get("caller") == caller
    ]


def forget_held(held: list[HeldAlert]) -> None:
    with CounterModel.batch_write() as batch:
        for h in held:
            batch.delete(CounterModel(*h.key))


def lock_digest(recipient_id: str, now_ms: int, *, lock_ms: int) -> bool:
    """Held while one scheduled run sends a recipient's digest: ``False`` if another run holds it."""
    try:
        CounterModel(*keys.alert_digest_lock(recipient_id)).update(
            actions=[
                CounterModel.lease_until.set(now_ms + lock_ms),
                CounterModel.expires_at.set(expires_after(now_ms, 1)),
            ],
            condition=CounterModel.pk.does_not_exist() | (CounterModel.lease_until < now_ms),
        )
        return True
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
        return False


def unlock_digest(recipient_id: str) -> None:
    CounterModel(*keys.alert_digest_lock(recipient_id)).delete()


def mark_sent(condition: str, recipient_id: str, now_ms: int, *, keep_days: float) -> bool:
    """Mark a scheduled alert as sent to a recipient (a conditional put): ``False`` if it already was."""
    try:
        CounterModel(
            *keys.alert_sent(condition, recipient_id), expires_at=expires_after(now_ms, keep_days), total=now_ms
        ).save(condition=CounterModel.pk.does_not_exist())
        return True
    except PutError as exc:
        if not condition_failed(exc):
            raise
        return False


def unmark_sent(condition: str, recipient_id: str) -> None:
    CounterModel(*keys.alert_sent(condition, recipient_id)).delete()
