"""Report aggregates: what each finished call adds to its source's day buckets, kept exactly once.

Each finished call adds a small vector (calls, answered, missed, voicemail, first-time,
talk time, time to answer, leads, sales, revenue, and its caller) to two day buckets:
``AGG#last#<source>`` (its own source: last touch) and ``AGG#first#<source>`` (the source
of the caller's first call: first touch). Spam (an outcome of ``spam``, or a blocked
caller) goes to a ``<day>#spam`` bucket that reports leave out unless asked.

Exactly once: the call item keeps what it last added (``agg``) and a version. When the
call changes, the difference between what it should add now and what it added is applied
in one transaction with the new ``agg``, conditional on the version; a replayed or
concurrent callback fails the condition, re-reads the call and finds nothing left to do.
So a report costs requests per source and day range, never per call.

Days are UTC days.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import attribution
from chalicelib.calls import is_final, result_of
from chalicelib.observability import logger
from chalicelib.store import connections, keys
from chalicelib.store.models import CallModel, CounterModel
from chalicelib.store.ops import dynamo_number, transaction_cancelled

NUMBERS = (
    "calls",
    "answered",
    "missed",
    "voicemail",
    "first_time",
    "talk_time",
    "answer_time",
    "answer_timed",
    "leads",
    "sales",
    "revenue",
)


def day(ms: int) -> str:
    """The report day of a time (UTC)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def contribution(c: CallModel) -> dict[str, dict[str, Any]]:
    """What the call adds to the aggregates now: bucket key -> numbers and its caller entry. Pure."""
    if not is_final(c) or c.started_at is None:
        return {}
    result = result_of(c)
    spam = bool(c.blocked) or c.outcome == "spam"
    talk = int(c.talk_time or 0) if result == "answered" else 0
    answer_time = 0
    if result == "answered" and c.duration is not None:
        answer_time = max(0, int(c.duration) - talk)
    vec: dict[str, Any] = {
        "calls": 1,
        "answered": int(result == "answered"),
        "missed": int(result == "missed"),
        "voicemail": int(result == "voicemail"),
        "first_time": int(bool(c.first_time)),
        "talk_time": talk,
        "answer_time": answer_time,
        "answer_timed": int(result == "answered" and c.duration is not None),
        "leads": int(c.outcome == "lead"),
        "sales": int(c.outcome == "sale"),
        "revenue": str(Decimal(str(c.revenue or 0))),
    }
    vec = {k: val for k, val in vec.items() if val not in (0, "0")}
    if c.caller:
        vec["caller"] = hashlib.sha256(c.caller.encode()).hexdigest()[:12] + ":" + c.call_sid[-10:]
    on = day(int(c.started_at))
    last = attribution.source_key(c.attribution, c.kind)
    first = (c.first_touch or {}).get("source_key") or last
    return {
        keys.aggregate_bucket("last", last, on, spam=spam): vec,
        keys.aggregate_bucket("first", first, on, spam=spam): vec,
    }


def sync(c: CallModel, *, attempts: int = 3) -> None:
    """Bring the aggregates in line with the call (a no-op when nothing changed)."""
    for _ in range(attempts):
        new = contribution(c)
        old: dict[str, dict[str, Any]] = dict(c.agg or {})
        if new == old:
            return
        version = int(c.agg_version or 0)
        try:
            _apply(c.call_sid, old, new, version)
            return
        except TransactWriteError as exc:
            if not transaction_cancelled(exc):
                raise
        c = CallModel.get(c.call_sid, consistent_read=True)  # somebody else moved it: look again
    logger.warning("aggregates not synced after retries; the next change of the call will", call_sid=c.call_sid)


def _apply(call_sid: str, old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]], version: int) -> None:
    deltas: dict[str, dict[str, Any]] = {}
    for sign, side in ((-1, old), (1, new)):
        for bucket, vec in side.items():
            d = deltas.setdefault(bucket, {"add": {}, "callers_add": set(), "callers_del": set()})
            for key in NUMBERS:
                if key in vec:
                    d["add"][key] = d["add"].get(key, Decimal(0)) + sign * Decimal(str(vec[key]))
            if "caller" in vec:
                d["callers_add" if sign > 0 else "callers_del"].add(vec["caller"])
    sources = {keys.bucket_source(b) for b in new}
    condition = CallModel.agg_version == version if version else CallModel.agg_version.does_not_exist()
    with TransactWrite(connection=connections.transactions()) as tx:
        tx.update(
            CallModel(call_sid),
            actions=[CallModel.agg.set(new), CallModel.agg_version.set(version + 1)],
            condition=condition,
        )
        for bucket, d in deltas.items():
            actions: list[Any] = []
            for key, amount in d["add"].items():
                if amount:
                    actions.append(getattr(CounterModel, key).add(dynamo_number(amount)))
            both = d["callers_add"] & d["callers_del"]
            if d["callers_add"] - both:
                actions.append(CounterModel.callers.add(d["callers_add"] - both))
            if d["callers_del"] - both:
                actions.append(CounterModel.callers.delete(d["callers_del"] - both))
            if actions:
                tx.update(CounterModel(*keys.split_bucket(bucket)), actions=actions)
        if sources:
            tx.update(CounterModel(*keys.REPORT_SOURCES), actions=[CounterModel.keys.add(sources)])
