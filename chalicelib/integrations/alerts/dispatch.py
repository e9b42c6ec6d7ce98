"""Call alerts through the call events, and the two brakes: quiet hours and a per-recipient limit.

The ``alerts`` subscriber finds the recipients a call change is for and queues one message
per recipient (``alert:<recipient id>``), so each is claimed, sent and retried on its own
(``chalicelib/events/delivery.py``): the same call, rule and change never alerts twice.

A recipient's limit is a window: the first alert opens it (``limit.minutes`` long) and at
most ``limit.count`` alerts go out in it; the rest are held for the recipient's digest,
which the scheduled run sends once the window has ended (``schedule.py``). An alert in the
recipient's quiet hours is held too, for the first digest after them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib import business
from chalicelib.core import clock
from chalicelib.core.observability import logger
from chalicelib.core.settings import get_settings
from chalicelib.events import bus
from chalicelib.events.model import Event
from chalicelib.integrations.alerts import messages, recipients, transports
from chalicelib.integrations.alerts import settings as alert_settings
from chalicelib.store import alerts as alerts_store

SUBSCRIBER_PREFIX = "alert:"
EVENT_TYPES = ("call.completed", "call.updated")
HOLD_DAYS = 30
# A missed call, voicemail or first call older than this alerts nobody: a replay of old events
# (the sweep resends up to 48 hours, a rebuild or a restore) must not page anyone about last week.
# A sale is a change made now, whatever the call's age.
STALE_MS = 24 * 3_600_000


def wanted_types() -> set[str]:
    """The subscriber's gate: no enabled recipient of a call alert, no message."""
    for item in recipients.all_items():
        data = item.settings
        if data.get("enabled") and set(data.get("events", [])) & set(recipients.CALL_ALERTS):
            return set(EVENT_TYPES)
    return set()


def on_event(event: Event) -> None:
    """The ``alerts`` subscriber: one message per recipient this change alerts."""
    kinds = messages.kinds_of(event.type, event.call, event.changes)
    if not kinds:
        return
    now = clock.now_ms()
    names = [
        SUBSCRIBER_PREFIX + item.id
        for item in recipients.all_items()
        if item.settings.get("enabled") and _news(item.settings, event, kinds, now)
    ]
    if names:
        bus.publish_to(event, names)


def deliver(event: Event, recipient_id: str) -> None:
    """The ``alert:<recipient id>`` subscriber: send, or hold for the digest."""
    try:
        item = recipients.load(recipient_id)
    except Exception:  # deleted since: nobody to tell
        return
    data: dict[str, Any] = item.settings
    if not data.get("enabled"):
        return
    now = clock.now_ms()
    kinds = _news(data, event, messages.kinds_of(event.type, event.call, event.changes), now)
    if not kinds:
        return
    biz = business.profile()
    alert = messages.call_alert(
        kinds,
        event.call,
        get_settings().public_base_url,
        event.occurred_at,
        zone=data.get("timezone") or biz.timezone,
        country=biz.country,
    )
    route(recipient_id, data, alert, event.id, now)


def _news(data: dict[str, Any], event: Event, kinds: list[str], now: int) -> list[str]:
    """What of ``kinds`` this recipient gets: what it wants, and only news (a missed call more than
    a day old, or from before the recipient existed, is not; a sale marked now is)."""
    wanted = messages.wanted(data.get("events", []), kinds, event.type)
    started = event.call.get("started_at")
    started_ms = clock.parse_iso(str(started)) if started else now
    if now - started_ms > STALE_MS or started_ms < int(data.get("created_at") or 0):
        wanted = [k for k in wanted if k == "sale"]
    return wanted


def route(recipient_id: str, data: dict[str, Any], alert: dict[str, Any], entry_id: str, now: int) -> str:
    """Send now ("sent") or keep for the digest ("held")."""
    if in_quiet_hours(data, now):
        hold(recipient_id, alert, entry_id, "quiet hours")
        return "held"
    if take_slot(recipient_id, data, entry_id, now):
        transports.send(data, alert)
        return "sent"
    hold(recipient_id, alert, entry_id, "limit")
    return "held"


def zone(data: dict[str, Any]) -> ZoneInfo:
    return ZoneInfo(data.get("timezone") or business.timezone())


def in_quiet_hours(data: dict[str, Any], now_ms: int) -> bool:
    """Whether ``now`` falls in the recipient's quiet hours (which may cross midnight). Pure."""
    quiet = data.get("quiet_hours")
    if not quiet:
        return False
    local = datetime.fromtimestamp(now_ms / 1000, tz=zone(data))
    minute = local.hour * 60 + local.minute
    start = int(quiet["start"][:2]) * 60 + int(quiet["start"][3:])
    end = int(quiet["end"][:2]) * 60 + int(quiet["end"][3:])
    return start <= minute < end if start < end else (minute >= start or minute < end)


def _limit(data: dict[str, Any]) -> tuple[int, int]:
    s = alert_settings.get()
    limit = data.get("limit") or {}
    return int(limit.get("count", s.alert_limit_count)), int(limit.get("minutes", s.alert_limit_minutes)) * 60_000


def take_slot(recipient_id: str, data: dict[str, Any], entry_id: str, now: int) -> bool:
    """One of the window's alerts for this entry (the same entry asking again keeps its slot).

    Two conditional writes at most: count one more in the open window, or open a new one.
    """
    count, window_ms = _limit(data)
    return alerts_store.take_window_slot(recipient_id, entry_id, now, count=count, window_ms=window_ms)


def window_open_until(recipient_id: str) -> int | None:
    return alerts_store.window_open_until(recipient_id)


def hold(recipient_id: str, alert: dict[str, Any], entry_id: str, why: str) -> None:
    """Keep an alert for the digest (keyed by its time and entry: holding it again changes nothing)."""
    at = int(alert.get("at") or clock.now_ms())
    expires = clock.now_ms() + int(HOLD_DAYS * 86_400_000)
    alerts_store.hold_alert(recipient_id, at, entry_id[:80], {**alert, "held_for": why}, expires_at_ms=expires)
    logger.info("alert held for the digest", recipient_id=recipient_id, why=why)
