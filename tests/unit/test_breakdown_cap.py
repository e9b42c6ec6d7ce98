"""10,000 distinct hostile utm values in one day stay within the per-day cap (no database).

The reports subscriber (``aggregates.on_event``) is fed one Lambda-shaped call event per call;
the store's two seams it writes through are replaced by an in-memory table that applies the
same rules as DynamoDB's conditions: the call's contribution version, and a day's value set that
takes a new value only while it holds fewer than the cap (``store.aggregates.apply_contribution``).
The same rule against DynamoDB itself: tests/integration/test_breakdown.py."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from chalicelib.events.model import Event, event_id
from chalicelib.reports import aggregates
from chalicelib.store import keys
from chalicelib.store.calls import CallRecord

T0 = 1_791_201_600_000  # 2026-10-05 12:00 UTC


class Table:
    def __init__(self) -> None:
        self.calls: dict[str, CallRecord] = {}
        self.buckets: dict[str, dict[str, Decimal]] = {}
        self.values: dict[tuple[str, str], set[str]] = {}

    def get(self, call_sid: str, consistent: bool = False) -> CallRecord | None:
        return self.calls.get(call_sid)

    def apply(self, call_sid, contribution, version, deltas, sources, registrations=(), **_: Any):
        c = self.calls[call_sid]
        if int(c.agg_version or 0) != version:
            return False
        refused = frozenset(
            i
            for i, r in enumerate(registrations)
            if len(self.values.get(r.key, set())) >= r.cap and r.value not in self.values.get(r.key, set())
        )
        if refused:
            return aggregates.stored.Refused(refused, frozenset())
        for r in registrations:
            self.values.setdefault(r.key, set()).add(r.value)
        for bucket, d in deltas.items():
            sums = self.buckets.setdefault(bucket, {})
            for k, x in d.add.items():
                sums[k] = sums.get(k, Decimal(0)) + x
        self.calls[call_sid] = replace(c, agg=contribution, agg_version=version + 1)
        return True


def test_ten_thousand_distinct_hostile_campaigns_in_a_day_stay_within_the_cap(monkeypatch):
    table = Table()
    monkeypatch.setattr(aggregates.store_calls, "get", table.get)
    monkeypatch.setattr(aggregates.stored, "apply_contribution", table.apply)
    monkeypatch.setattr(aggregates, "day", lambda ms: "2026-10-05")
    flood = 10_000
    for n in range(flood):
        sid = f"CA{n:032d}"
        hostile = {
            "utm_source": "google",
            "utm_campaign": f'=HYPERLINK("x")|{n}|' + "\u202e" * (n % 3),
            "utm_term": f"{n}",
        }
        table.calls[sid] = CallRecord(
            call_sid=sid,
            started_at=T0 + n,
            caller=f"+1415555{n % 10000:04d}",
            kind="pool",
            status_rank=4,
            answered=True,
            talk_time=30,
            attribution={"confidence": "active", "source": hostile},
        )
        event = Event.from_json(
            Event(event_id(sid, "call.completed"), "call.completed", sid, T0 + n, {"sid": sid}).to_json()
        )
        aggregates.on_event(event)
    for dim in ("campaign", "keyword"):
        day_values = table.values[keys.dimension_values("last", dim, "web:google", "2026-10-05")]
        assert len(day_values) == aggregates.DIMENSION_CAP
        rows = {b.split("#n#", 1)[1]: v for b, v in table.buckets.items() if b.startswith(f"AGGD#last#{dim}#")}
        assert len(rows) == aggregates.DIMENSION_CAP + 1  # the kept values and "(other)"
        assert rows["(other)"]["calls"] == flood - aggregates.DIMENSION_CAP
        assert sum(r["calls"] for r in rows.values()) == flood  # nothing lost, nothing counted twice
