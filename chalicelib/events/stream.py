"""The calls table's stream handler: each record becomes its events, queued for every subscriber.

A record that can never make an event (it cannot be decoded, or its images are not a call)
is parked in the counters table (``GET /v1/events/parked``; the sweep tries it again) and
the shard moves on. A temporary failure (SQS throttled or unreachable, DynamoDB down while
parking) raises after the bus's retries, so the stream delivers the batch again; the
events' stable ids make the repeats harmless.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from chalicelib.core import clock
from chalicelib.core.observability import logger
from chalicelib.events import bus
from chalicelib.events.model import Event, PoisonRecord, from_record
from chalicelib.store import events as events_store

PARK_DAYS = 30
MAX_PARKED_BYTES = 32 * 1024


def handle(raw_event: dict[str, Any]) -> dict[str, int]:
    """Handle one batch of stream records (Lambda's shape); counts of what was done."""
    events: list[Event] = []
    parked = 0
    for record in raw_event.get("Records", []) if isinstance(raw_event, dict) else []:
        try:
            events += from_record(record)
        except PoisonRecord as exc:
            park(record, str(exc))
            parked += 1
    sent = bus.publish(events)
    return {"events": len(events), "messages": sent, "parked": parked}


def _record_id(record: Any) -> str:
    if isinstance(record, dict) and isinstance(record.get("eventID"), str) and 0 < len(record["eventID"]) <= 128:
        return str(record["eventID"])
    return "sha-" + hashlib.sha256(repr(record).encode()).hexdigest()[:32]


def park(record: Any, reason: str) -> None:
    """Keep a record no code can handle where an admin sees it (``GET /v1/events/parked``)."""
    now = clock.now_ms()
    try:
        text = json.dumps(record, default=str)
    except (TypeError, ValueError):
        text = repr(record)
    rid = _record_id(record)
    logger.error("stream record parked", record_id=rid, reason=reason)
    events_store.park_record(rid, reason[:500], text[:MAX_PARKED_BYTES], now, keep_days=PARK_DAYS)


def parked(limit: int = 100) -> list[dict[str, Any]]:
    """Parked records, newest first."""
    out = [
        {"id": p.id, "reason": p.reason, "parked_at": clock.iso(p.parked_at), "record": p.record}
        for p in events_store.parked_records(limit)
    ]
    return sorted(out, key=lambda r: r["parked_at"] or "", reverse=True)


def retry_parked() -> dict[str, int]:
    """Try every parked record again (the code may have been fixed); forget those that now work."""
    done = left = 0
    for item in events_store.parked_records():
        try:
            record = json.loads(item.record or "null")
            bus.publish(from_record(record))
        except (PoisonRecord, ValueError, TypeError):
            left += 1
            continue
        events_store.forget_parked(item.id)
        done += 1
    return {"parked_retried": done, "parked_left": left}
