"""Event deliveries (one subscriber's claim on one event) and parked stream records, in the counters table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pynamodb.exceptions import UpdateError

from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.store import keys
from chalicelib.store.models import CounterModel
from chalicelib.store.ops import condition_failed, expires_after

Claim = Literal["claimed", "done", "busy"]


@dataclass(frozen=True)
class ParkedRecord:
    id: str
    reason: str | None
    record: str | None  # the stream record as JSON text (cut)
    parked_at: int | None


def claim_delivery(
    event_id: str, subscriber: str, now_ms: int, *, claim_ms: int, keep_days: float, ctx: RequestContext = SYSTEM
) -> Claim:
    """Claim a delivery with one conditional write: free if never tried, failed, or a running
    claim whose lease ran out. "done" (delivered before) or "busy" (another copy holds it) if not."""
    item = CounterModel(*keys.event_delivery(event_id, subscriber))
    free = (
        CounterModel.pk.does_not_exist()
        | (CounterModel.state == "failed")
        | ((CounterModel.state == "running") & (CounterModel.lease_until < now_ms))
    )
    try:
        item.update(
            actions=[
                CounterModel.state.set("running"),
                CounterModel.lease_until.set(now_ms + claim_ms),
                CounterModel.attempts.add(1),
                CounterModel.expires_at.set(expires_after(now_ms, keep_days)),
            ],
            condition=free,
        )
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
        return "done" if delivery_state(event_id, subscriber) == "done" else "busy"
    return "claimed"


def release_delivery(event_id: str, subscriber: str, now_ms: int, error: str, *, ctx: RequestContext = SYSTEM) -> None:
    """The subscriber failed: the claim is free for the next try, and says why."""
    CounterModel(*keys.event_delivery(event_id, subscriber)).update(
        actions=[CounterModel.state.set("failed"), CounterModel.data.set({"error": error, "at": now_ms})]
    )


def finish_delivery(event_id: str, subscriber: str, *, ctx: RequestContext = SYSTEM) -> None:
    CounterModel(*keys.event_delivery(event_id, subscriber)).update(
        actions=[CounterModel.state.set("done"), CounterModel.lease_until.remove()]
    )


def delivery_state(event_id: str, subscriber: str, *, ctx: RequestContext = SYSTEM) -> str | None:
    """None (never tried), "running", "done" or "failed"."""
    try:
        return CounterModel.get(*keys.event_delivery(event_id, subscriber), consistent_read=True).state
    except CounterModel.DoesNotExist:
        return None


# --- parked stream records ---------------------------------------------------------------------------


def park_record(record_id: str, reason: str, record: str, now_ms: int, *, keep_days: float) -> None:
    key = keys.parked_record(record_id)
    data: dict[str, Any] = {"reason": reason, "record": record, "parked_at": now_ms}
    CounterModel(key.pk, key.sk, data=data, expires_at=expires_after(now_ms, keep_days)).save()


def parked_records(limit: int | None = None) -> list[ParkedRecord]:
    """Parked records in key order (one Query; ``limit`` bounds it)."""
    out = []
    for item in CounterModel.query(keys.PARKED_PK, limit=limit):
        d: dict[str, Any] = item.data or {}
        parked_at = d.get("parked_at")
        out.append(
            ParkedRecord(item.sk, d.get("reason"), d.get("record"), None if parked_at is None else int(parked_at))
        )
    return out


def forget_parked(record_id: str) -> None:
    CounterModel(*keys.parked_record(record_id)).delete()
