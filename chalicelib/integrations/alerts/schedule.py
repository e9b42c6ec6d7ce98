"""The scheduled run (every 5 minutes): digests that are due, alerts on conditions, summaries.

* A digest is due once the recipient's limit window has ended and it is outside its quiet
  hours: everything held goes out as one message, then is forgotten.
* Conditions are checked, not events: a pool refused more than ``ALERT_POOL_EXHAUSTED_PER_HOUR``
  numbers in an hour (UTC hours, leasing's counts), a webhook endpoint the system disabled,
  events parked or in the dead-letter queue. A sent-marker per (condition, period,
  recipient) makes each go out once: once per pool and hour, once per endpoint and
  disabling, once per day while events are stuck.
* Summaries go at the recipient's hour (its time zone, else ``REPORT_TIMEZONE``), once per
  period: yesterday, and on Mondays last week.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.core import clock
from chalicelib.core.observability import logger
from chalicelib.core.settings import get_settings
from chalicelib.events import bus
from chalicelib.integrations.alerts import dispatch, messages, recipients, summary_email, transports
from chalicelib.integrations.alerts import settings as alert_settings
from chalicelib.reports import aggregates
from chalicelib.store import alerts as alerts_store
from chalicelib.store import conversions as conversions_store
from chalicelib.store import events as events_store
from chalicelib.store import webhooks
from chalicelib.store.alerts import Recipient
from chalicelib.store.lines import exhausted_hours, pool_names

LOCK_MS = 5 * 60_000
MARK_DAYS = 14
MAX_DIGEST = 500


def run(now_ms: int | None = None) -> dict[str, int]:
    now = clock.now_ms() if now_ms is None else now_ms
    found = {"digests": 0, "conditions": 0, "summaries": 0}
    items = [i for i in recipients.all_items() if i.settings.get("enabled")]
    if not items:
        return found
    for item in items:
        try:
            found["digests"] += send_digest(item.id, item.settings, now)
        except Exception:
            logger.exception("sending a digest failed; the next run tries again", recipient_id=item.id)
    wanting = [i for i in items if set(i.settings.get("events", [])) & set(recipients.SCHEDULED_ALERTS)]
    if wanting:
        for condition, kind, alert in conditions(now):
            for item in wanting:
                if kind in item.settings.get("events", []):
                    found["conditions"] += _once(f"{kind}:{condition}", item, alert, now)
    for item in items:
        for kind in item.settings.get("summaries", []):
            try:
                found["summaries"] += send_summary(item.id, item.settings, kind, now)
            except Exception:
                logger.exception("sending a summary failed; the next run tries again", recipient_id=item.id)
    logger.info("alerts run", extra={"alerts": found})
    return found


# --- digests -------------------------------------------------------------------------------------


def _lock(recipient_id: str, now: int) -> bool:
    return alerts_store.lock_digest(recipient_id, now, lock_ms=LOCK_MS)


def send_digest(recipient_id: str, data: dict[str, Any], now: int) -> int:
    """One digest of everything held, when it is due; 1 if sent."""
    held = alerts_store.held_alerts(recipient_id, MAX_DIGEST)
    if not held or dispatch.in_quiet_hours(data, now):
        return 0
    if (dispatch.window_open_until(recipient_id) or 0) > now:
        return 0  # the limit's window is still open: the digest goes when it ends
    if not _lock(recipient_id, now):
        return 0
    try:
        alerts = [h.alert for h in held]
        quiet = sum(1 for a in alerts if a.get("held_for") == "quiet hours")
        why = (
            f"{len(alerts)} alert(s) held back: {quiet} during quiet hours, {len(alerts) - quiet} over the limit "
            f"of {(data.get('limit') or {}).get('count')} per {(data.get('limit') or {}).get('minutes')} minutes."
        )
        transports.send(data, messages.digest(alerts, why))
        alerts_store.forget_held(held)
    finally:
        alerts_store.unlock_digest(recipient_id)
    return 1


# --- conditions ----------------------------------------------------------------------------------


def conditions(now: int) -> list[tuple[str, str, dict[str, Any]]]:
    """(condition id with its period, alert kind, the alert) for each condition that holds now."""
    s = get_settings()
    out: list[tuple[str, str, dict[str, Any]]] = []
    since = clock.hour_key(now - 3_600_000)
    for pool_id, pool_name in pool_names().items():
        for bucket in exhausted_hours(pool_id, since=since):
            if bucket.refused > alert_settings.get().alert_pool_exhausted_per_hour:
                text = f"{pool_name or pool_id} had no free number {bucket.refused} times"
                lines = [
                    f"Hour (UTC): {bucket.hour}:00",
                    f"Visitors saw the original number instead {bucket.refused} times "
                    f"(alert above {alert_settings.get().alert_pool_exhausted_per_hour} an hour).",
                    "Add numbers to the pool, or shorten its hold time (GET /v1/pools/{id}/sizing suggests a size).",
                ]
                alert = messages.condition_alert("pool_exhausted", text, lines, None, now)
                out.append((f"{pool_id}:{bucket.hour}", "pool_exhausted", alert))
    for hook in webhooks.list_endpoints():
        d = hook.settings
        if not d.get("enabled") and d.get("disabled_reason"):
            lines = [f"URL: {d.get('url')}", f"Why: {d['disabled_reason']}", "Fix the receiver, then PATCH it enabled."]
            alert = messages.condition_alert("webhook_disabled", hook.id, lines, None, now)
            out.append((f"{hook.id}:{d.get('updated_at')}", "webhook_disabled", alert))
    out += _conversions_stuck(now)
    parked = len(events_store.parked_records(100))
    dead = _dead_letters()
    if parked or dead:
        lines = [
            f"Parked stream records: {parked} (GET /v1/events/parked)",
            f"Messages in the dead-letter queue {s.events_dlq}: {dead}",
            "A subscriber kept failing or a record could not be read: see the logs, fix, then replay.",
        ]
        text = f"{parked} parked, {dead} dead-lettered"
        day = clock.day_key(now)
        out.append((day, "events_stuck", messages.condition_alert("events_stuck", text, lines, None, now)))
    return out


def _conversions_stuck(now: int) -> list[tuple[str, str, dict[str, Any]]]:
    """A conversion destination that gave up on calls past its retries, or was disabled (dead
    credentials): ``events_stuck`` naming it, once a day while it stays so."""
    out = []
    for dest in conversions_store.list_destinations():
        d = dest.data
        stuck = d.get("stuck") or {}
        if not stuck.get("count") and not d.get("disabled_reason"):
            continue
        name = f"{d.get('name') or dest.id} ({d.get('platform')}, {dest.id})"
        lines = [f"Destination: {name}"]
        if d.get("disabled_reason"):
            lines.append(f"Disabled: {d['disabled_reason']}")
        if stuck.get("count"):
            lines.append(f"Conversions given up or refused since {clock.iso(stuck.get('since'))}: {stuck['count']}")
            lines.append(f"Last reason: {stuck.get('reason')}")
        lines.append(
            f"See its delivery log: GET /v1/conversions/destinations/{dest.id}/deliveries; fix, then PATCH it "
            "enabled (which clears this)."
        )
        text = f"conversions to {name} need attention"
        alert = messages.condition_alert("events_stuck", text, lines, None, now)
        out.append((f"conv:{dest.id}:{clock.day_key(now)}", "events_stuck", alert))
    return out


def _dead_letters() -> int:
    answer = bus.sqs().get_queue_attributes(
        QueueUrl=bus.queue_url(get_settings().events_dlq), AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(answer.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))


def _mark(condition: str, recipient_id: str, now: int) -> bool:
    return alerts_store.mark_sent(condition, recipient_id, now, keep_days=MARK_DAYS)


def _unmark(condition: str, recipient_id: str) -> None:
    alerts_store.unmark_sent(condition, recipient_id)


def _once(condition: str, item: Recipient, alert: dict[str, Any], now: int) -> int:
    """Route the alert once per (condition, recipient); a failed send is tried again next run."""
    if not _mark(condition, item.id, now):
        return 0
    try:
        dispatch.route(item.id, item.settings, alert, condition, now)
    except Exception:
        _unmark(condition, item.id)
        logger.exception("a scheduled alert failed; the next run tries again", recipient_id=item.id)
        return 0
    return 1


# --- summaries -----------------------------------------------------------------------------------


def send_summary(recipient_id: str, data: dict[str, Any], kind: str, now: int) -> int:
    """The latest complete period's summary, once, from the recipient's hour on; 1 if sent."""
    if data.get("channel") != "email":
        return 0
    local = datetime.fromtimestamp(now / 1000, tz=dispatch.zone(data))
    hour = int(data.get("summary_hour", alert_settings.get().summary_hour))
    if kind == "weekly" and local.weekday() == 0 and local.hour < hour:
        return 0
    if kind == "daily" and local.hour < hour:
        return 0
    today = datetime.strptime(aggregates.day(now), "%Y-%m-%d").date()
    start, _, _, _ = summary_email.period(kind, today)
    condition = f"summary:{kind}:{start.isoformat()}"
    if not _mark(condition, recipient_id, now):
        return 0
    try:
        built = summary_email.build(kind, today, now)
        base = get_settings().public_base_url
        transports.send_email(
            data["email"],
            summary_email.subject(built),
            summary_email.as_text(built, base),
            summary_email.as_html(built, base),
        )
    except Exception:
        _unmark(condition, recipient_id)
        raise
    return 1
