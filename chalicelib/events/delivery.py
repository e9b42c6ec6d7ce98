"""Delivering one SQS message (one event, one subscriber): exactly once in effect, retried, dead-lettered.

Each delivery is claimed with a conditional write on its own item before the subscriber
runs, and marked done after, so a redelivered or duplicated message is skipped and two
copies never run at once. A failing subscriber is tried again after growing delays
(``EVENT_RETRY_SECONDS``, or the subscriber's own schedule; a handler may name the delay
with ``RetryIn``, or skip the retries with ``GiveUp``; ``ChangeMessageVisibility`` reaches past SQS's 900-second
``DelaySeconds`` limit); after the last one the message goes to the dead-letter queue with
its attempts and last error. The queue's redrive policy is only the backstop for a handler
that dies before it can say so.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.core import clock
from chalicelib.core.observability import logger
from chalicelib.core.settings import MAX_VISIBILITY_SECONDS, get_settings
from chalicelib.events import bus
from chalicelib.events.model import Event
from chalicelib.store import events as events_store

CLAIM_MS = 15 * 60 * 1000  # longer than a subscriber may run (the Lambda timeout)
KEEP_DAYS = 14  # how long a delivery is remembered (longer than SQS keeps a message)


class RetryLater(Exception):
    """The message stays in the queue and comes back after its delay."""


class RetryIn(Exception):
    """Raised by a handler that knows when to try again (an HTTP 429's ``Retry-After``)."""

    def __init__(self, message: str, seconds: int | None = None) -> None:
        super().__init__(message)
        self.seconds = seconds


class GiveUp(Exception):
    """Raised by a handler whose failure no retry can fix: straight to the dead-letter queue."""


def handle(raw_event: dict[str, Any]) -> None:
    """The SQS handler: every record on its own (the event source sends one at a time)."""
    for record in raw_event.get("Records", []):
        deliver(record)


def deliver(record: dict[str, Any]) -> str:
    """Deliver one message; what happened ("done", "duplicate", "dead-lettered"), or ``RetryLater``."""
    attempt = int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
    try:
        message = json.loads(record["body"])
        subscriber = str(message["subscriber"])
        event = Event.from_json(message["event"])
        handler = bus.handler_of(subscriber)
    except Exception as exc:  # a message no code can ever handle
        _dead_letter(record.get("body", ""), attempt, f"undeliverable message: {exc!r}")
        return "dead-lettered"
    now = clock.now_ms()
    state = _claim(event.id, subscriber, now)
    if state == "done":
        return "duplicate"
    delays = bus.retry_seconds(subscriber)
    if state == "busy":
        _later(record, attempt, "another copy of this delivery is running", delays)
    try:
        handler(event)
    except Exception as exc:
        _release(event.id, subscriber, now, repr(exc)[:500])
        logger.warning("subscriber failed", subscriber=subscriber, event_id=event.id, attempt=attempt, error=repr(exc))
        if attempt <= len(delays) and not isinstance(exc, GiveUp):
            asked = exc.seconds if isinstance(exc, RetryIn) else None
            _later(record, attempt, repr(exc), delays, asked)
        _dead_letter(record["body"], attempt, repr(exc)[:500])
        return "dead-lettered"
    _done(event.id, subscriber, now)
    return "done"


def _claim(event_id: str, subscriber: str, now: int) -> str:
    """ "claimed", "done" (delivered before) or "busy" (another copy holds it)."""
    return events_store.claim_delivery(event_id, subscriber, now, claim_ms=CLAIM_MS, keep_days=KEEP_DAYS)


def _release(event_id: str, subscriber: str, now: int, error: str) -> None:
    events_store.release_delivery(event_id, subscriber, now, error)


def _done(event_id: str, subscriber: str, now: int) -> None:
    events_store.finish_delivery(event_id, subscriber)


def state_of(event_id: str, subscriber: str) -> str | None:
    """A delivery's state: None (never tried), "running", "done" or "failed"."""
    return events_store.delivery_state(event_id, subscriber)


def _later(record: dict[str, Any], attempt: int, why: str, delays: tuple[int, ...], asked: int | None = None) -> None:
    delay = delays[min(attempt, len(delays)) - 1]
    if asked is not None:  # the receiver said when (Retry-After), within what SQS can wait
        delay = max(0, min(asked, MAX_VISIBILITY_SECONDS))
    try:
        bus.sqs().change_message_visibility(
            QueueUrl=bus.queue_url(), ReceiptHandle=record["receiptHandle"], VisibilityTimeout=delay
        )
    except Exception:
        logger.exception("could not set the retry delay; the queue's visibility timeout applies")
    raise RetryLater(f"attempt {attempt} failed ({why}); next try in {delay} s")


def _dead_letter(body: str, attempts: int, error: str) -> None:
    """Park the message in the dead-letter queue with its attempts; an admin can replay it from there."""
    payload = {"message": body, "attempts": attempts, "error": error, "at": clock.iso(clock.now_ms())}
    logger.error("event delivery given up; sent to the dead-letter queue", attempts=attempts, error=error)
    bus.sqs().send_message(QueueUrl=bus.queue_url(get_settings().events_dlq), MessageBody=json.dumps(payload))
