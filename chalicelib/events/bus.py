"""Subscribers and the fan-out queue: one SQS message per (event, subscriber).

A subscriber is a name, the event types it wants and a handler named by its import path,
so this module imports no subscriber (they sit beside it, not below it) and a handler is
loaded only when a message for it arrives. The queue is a standard SQS queue with a
dead-letter queue; every message is handled on its own (``chalicelib/events/delivery.py``).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from chalicelib.events.model import Event, dumps
from chalicelib.observability import logger
from chalicelib.settings import get_settings

SEND_ATTEMPTS = 3


@dataclass(frozen=True)
class Subscriber:
    name: str
    types: frozenset[str]
    handler: str  # "package.module:function", called with the Event


SUBSCRIBERS: dict[str, Subscriber] = {}


def subscribe(name: str, types: Iterable[str], handler: str) -> Subscriber:
    sub = Subscriber(name, frozenset(types), handler)
    SUBSCRIBERS[name] = sub
    return sub


def unsubscribe(name: str) -> None:
    SUBSCRIBERS.pop(name, None)


# The product's own subscribers. (Tests add theirs with ``subscribe``.)
subscribe("reports", ("call.completed", "call.updated"), "chalicelib.reports.aggregates:on_event")
subscribe("recordings", ("call.completed", "call.updated", "call.deleted"), "chalicelib.recordings.archive:on_event")


def handler_of(name: str) -> Callable[[Event], None]:
    sub = SUBSCRIBERS.get(name)
    if sub is None:
        raise LookupError(f"no subscriber named {name!r}")
    module, _, func = sub.handler.partition(":")
    fn: Callable[[Event], None] = getattr(importlib.import_module(module), func)
    return fn


def interested(event: Event) -> list[str]:
    return sorted(name for name, sub in SUBSCRIBERS.items() if event.type in sub.types)


# --- SQS -----------------------------------------------------------------------------------

_clients: dict[tuple[Any, ...], Any] = {}
_urls: dict[tuple[Any, ...], str] = {}


def sqs() -> Any:
    """The SQS client, with timeouts a stream batch can afford (built once per settings)."""
    s = get_settings()
    key = (s.sqs_endpoint, s.region)
    if key not in _clients:
        import boto3  # the voice path never sends events: kept out of its cold start
        from botocore.config import Config

        config = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"})
        _clients[key] = boto3.client("sqs", region_name=s.region, endpoint_url=s.sqs_endpoint, config=config)
    return _clients[key]


def queue_url(name: str | None = None) -> str:
    s = get_settings()
    queue = name or s.events_queue
    key = (s.sqs_endpoint, s.region, queue)
    if key not in _urls:
        _urls[key] = sqs().get_queue_url(QueueName=queue)["QueueUrl"]
    return _urls[key]


def reset() -> None:
    """Forget clients and queue URLs (a test or benchmark that moved the endpoint)."""
    _clients.clear()
    _urls.clear()


def publish(events: Iterable[Event], *, only: str | None = None) -> int:
    """Queue one message per (event, interested subscriber); raises if SQS keeps failing.

    ``only`` limits it to one subscriber (the sweep re-sending what that one missed).
    """
    entries = [dumps(event, name) for event in events for name in interested(event) if only is None or name == only]
    for start in range(0, len(entries), 10):  # SQS takes ten messages a batch
        _send_batch(entries[start : start + 10])
    return len(entries)


def _send_batch(bodies: list[str]) -> None:
    pending = {str(i): body for i, body in enumerate(bodies)}
    for attempt in range(SEND_ATTEMPTS):
        try:
            answer = sqs().send_message_batch(
                QueueUrl=queue_url(), Entries=[{"Id": i, "MessageBody": b} for i, b in pending.items()]
            )
            for failed in answer.get("Failed", []):
                logger.warning(
                    "event message refused by SQS", code=failed.get("Code"), sender=failed.get("SenderFault")
                )
            pending = {f["Id"]: pending[f["Id"]] for f in answer.get("Failed", []) if f["Id"] in pending}
        except Exception:
            logger.exception("sending event messages failed", attempt=attempt + 1)
        if not pending:
            return
        time.sleep(0.2 * 2**attempt)
    raise RuntimeError(f"SQS did not take {len(pending)} event message(s); the stream will deliver them again")
