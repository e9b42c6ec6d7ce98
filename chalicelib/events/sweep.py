"""The scheduled sweep: calls (and texts) whose events never arrived are sent again, parked records retried.

A ``call.completed`` whose delivery to a subscriber was never attempted (its message was
lost, or a stream batch failed for good) or whose claim was left by a handler that died,
is queued again for that subscriber. Deliveries that gave up (the dead-letter queue) are
counted, not resent: they failed on their own merit and wait for an admin.
"""

from __future__ import annotations

from typing import Any

from chalicelib import calls
from chalicelib.core import clock
from chalicelib.core.observability import logger
from chalicelib.events import bus, delivery, stream
from chalicelib.events.model import Event, event_id
from chalicelib.store import calls as store

WINDOW_HOURS = 48
SETTLE_MINUTES = 10  # younger calls may still be on their way through the stream


def run(now_ms: int | None = None) -> dict[str, Any]:
    now = clock.now_ms() if now_ms is None else now_ms
    start, end = now - WINDOW_HOURS * 3_600_000, now - SETTLE_MINUTES * 60_000
    wanted = [name for name, sub in bus.SUBSCRIBERS.items() if "call.completed" in sub.types]
    # A text to a tracking number (chalicelib/texts.py) makes one text.received: resent the same way.
    wanted_texts = [name for name, sub in bus.SUBSCRIBERS.items() if "text.received" in sub.types]
    found = {"calls_checked": 0, "resent": 0, "dead_lettered": 0, "running": 0}
    for month in clock.months(start, end):
        for call in store.started_between(month, start, end):
            if call.medium == "text" and not call.erased_at:
                event = Event(event_id(call.call_sid, "text"), "text.received", call.call_sid, now, calls.to_dict(call))
                _resend(event, wanted_texts, found)
                continue
            if not calls.is_call(call) or not calls.is_final(call):  # a call-back: no call.* event
                continue
            found["calls_checked"] += 1
            completed = Event(
                event_id(call.call_sid, "completed"), "call.completed", call.call_sid, now, calls.to_dict(call)
            )
            _resend(completed, wanted, found)
    found |= stream.retry_parked()
    logger.info("event sweep", extra={"sweep": found})
    return found


def _resend(event: Event, wanted: list[str], found: dict[str, Any]) -> None:
    """Queue ``event`` again for each of ``wanted`` that never handled it (counted in ``found``)."""
    for name in wanted:
        state = delivery.state_of(event.id, name)
        if state == "done":
            continue
        if state == "failed":
            found["dead_lettered"] += 1
            continue
        if state == "running":
            found["running"] += 1  # a lost claim expires and the next sweep resends it
            continue
        found["resent"] += bus.publish([event], only=name)
