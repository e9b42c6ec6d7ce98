"""Subscribers and the fan-out queue: one SQS message per (event, subscriber).

A subscriber is a name, the event types it wants and a handler named by its import path,
declared by its integration (``chalicelib/integrations/wiring.py``, the one list), so this
module imports no subscriber's code and a handler is loaded only when a message for it
arrives. The queue is a standard SQS queue with a dead-letter queue; every message is handled
on its own (``chalicelib/events/delivery.py``).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from chalicelib.core import aws
from chalicelib.core.observability import logger
from chalicelib.core.settings import get_settings
from chalicelib.events.model import Event, dumps
from chalicelib.integrations.registry import Integration, load
from chalicelib.integrations.wiring import INTEGRATIONS

SEND_ATTEMPTS = 3


@dataclass(frozen=True)
class Subscriber:
    name: str
    types: frozenset[str]
    handler: str  # "package.module:function", called with the Event
    # "package.settings_module:field": a field of its integration's settings (``get()``) holding its own
    # retry delays (else EVENT_RETRY_SECONDS)
    retry_setting: str | None = None
    # "package.module:function" answering which of its types it wants right now (asked once per
    # publish): a subscriber with nothing to do (no webhook endpoints) then costs no message.
    gate: str | None = None


@dataclass(frozen=True)
class Family:
    """Subscribers made at run time, named ``<prefix><member>`` (``webhook:<endpoint id>``): one
    handler, called with the event and the member, and one retry schedule for all of them."""

    prefix: str
    handler: str  # "package.module:function", called with (Event, member)
    retry_setting: str | None = None


SUBSCRIBERS: dict[str, Subscriber] = {}
FAMILIES: dict[str, Family] = {}


def subscribe(
    name: str, types: Iterable[str], handler: str, *, retry_setting: str | None = None, gate: str | None = None
) -> Subscriber:
    sub = Subscriber(name, frozenset(types), handler, retry_setting, gate)
    SUBSCRIBERS[name] = sub
    return sub


def family(prefix: str, handler: str, *, retry_setting: str | None = None) -> Family:
    fam = Family(prefix, handler, retry_setting)
    FAMILIES[prefix] = fam
    return fam


def unsubscribe(name: str) -> None:
    SUBSCRIBERS.pop(name, None)


def declare(integrations: Iterable[Integration]) -> None:
    """Take the subscribers and families of ``integrations`` (their declarations, not their code)."""
    for integration in integrations:
        for sub in integration.subscribers:
            subscribe(sub.name, sub.types, sub.handler, retry_setting=sub.retry_setting, gate=sub.gate)
        for fam in integration.families:
            family(fam.prefix, fam.handler, retry_setting=fam.retry_setting)


def forget(integration: Integration) -> None:
    """Drop what ``declare`` took from ``integration`` (a test's made-up integration)."""
    for sub in integration.subscribers:
        SUBSCRIBERS.pop(sub.name, None)
    for fam in integration.families:
        FAMILIES.pop(fam.prefix, None)


# The product's own subscribers and every integration's, from the one list. (Tests add theirs with
# ``subscribe``.)
declare(INTEGRATIONS)


def _family_of(name: str) -> Family | None:
    return next((f for prefix, f in FAMILIES.items() if name.startswith(prefix) and len(name) > len(prefix)), None)


def handler_of(name: str) -> Callable[[Event], None]:
    sub = SUBSCRIBERS.get(name)
    if sub is not None:
        fn: Callable[[Event], None] = load(sub.handler)
        return fn
    fam = _family_of(name)
    if fam is None:
        raise LookupError(f"no subscriber named {name!r}")
    member_fn: Callable[[Event, str], None] = load(fam.handler)
    member = name[len(fam.prefix) :]
    return lambda event: member_fn(event, member)


def retry_seconds(name: str) -> tuple[int, ...]:
    """The delays between a subscriber's attempts (its own schedule, or ``EVENT_RETRY_SECONDS``)."""
    sub = SUBSCRIBERS.get(name) or _family_of(name)
    return _delays(sub.retry_setting if sub is not None else None)


def _delays(setting: str | None) -> tuple[int, ...]:
    if not setting:
        return get_settings().event_retry_seconds
    module, _, field = setting.partition(":")
    delays: tuple[int, ...] = getattr(importlib.import_module(module).get(), field)
    return delays


def most_attempts() -> int:
    """The most attempts any subscriber makes (the queue's redrive count must let them all happen)."""
    settings = {None, *(s.retry_setting for s in SUBSCRIBERS.values()), *(f.retry_setting for f in FAMILIES.values())}
    return max(len(_delays(setting)) for setting in settings)


def interested(event: Event) -> list[str]:
    return sorted(name for name, sub in SUBSCRIBERS.items() if event.type in sub.types)


# --- SQS -----------------------------------------------------------------------------------

_urls: dict[tuple[Any, ...], str] = {}


def sqs() -> Any:
    """The SQS client, with timeouts a stream batch can afford (the voice path never sends events)."""
    return aws.client("sqs", aws.STREAM_BATCH, endpoint=get_settings().sqs_endpoint)


def queue_url(name: str | None = None) -> str:
    s = get_settings()
    queue = name or s.events_queue
    key = (s.sqs_endpoint, s.region, queue)
    if key not in _urls:
        _urls[key] = sqs().get_queue_url(QueueName=queue)["QueueUrl"]
    return _urls[key]


def reset() -> None:
    """Forget clients and queue URLs (a test or benchmark that moved the endpoint)."""
    aws.forget("sqs")
    _urls.clear()


def publish(events: Iterable[Event], *, only: str | None = None) -> int:
    """Queue one message per (event, interested subscriber); raises if SQS keeps failing.

    ``only`` limits it to one subscriber (the sweep re-sending what that one missed).
    """
    events = list(events)
    open_to = _gates({name for event in events for name in interested(event) if only is None or name == only}, events)
    entries = [
        dumps(event, name)
        for event in events
        for name in interested(event)
        if (only is None or name == only) and (name not in open_to or event.type in open_to[name])
    ]
    _send(entries)
    return len(entries)


def _gates(names: set[str], events: list[Event]) -> dict[str, frozenset[str]]:
    """What each gated subscriber among ``names`` wants now; a gate that fails lets everything through."""
    out: dict[str, frozenset[str]] = {}
    for name in names:
        sub = SUBSCRIBERS[name]
        if sub.gate is None:
            continue
        try:
            out[name] = frozenset(load(sub.gate)())
        except Exception:
            logger.exception("subscriber gate failed; publishing to it anyway", subscriber=name)
    return out


def publish_to(event: Event, names: Iterable[str]) -> int:
    """Queue one message of ``event`` for each named subscriber (a family's members included)."""
    entries = [dumps(event, name) for name in names]
    _send(entries)
    return len(entries)


def _send(entries: list[str]) -> None:
    for start in range(0, len(entries), 10):  # SQS takes ten messages a batch
        _send_batch(entries[start : start + 10])


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
