"""Sealing closed report days: each day bucket's caller set packed into one binary value.

A day bucket gains one ``<keyed hash>:<call>`` string per call; a report over 100,000 calls read
2.2 MB of them, one by one. Once a day is over its set barely changes, so this job packs it
(``store.aggregates.seal``: 12 bytes a call, one value) and a report reads one value per day.
Whatever changes a sealed day later (a late call, an erasure, a rebuild) goes to its small live
sets, which readers merge and the next seal folds in.

It runs with the report days' rebuild on its schedule (``rebuild.scheduled``), a chunk at a
time: the days from the last one it finished (that day and the one before again, for calls that
finished after midnight) to yesterday, one source partition after another, a page of buckets at a
time, the position saved after each page as a cursor (``store.cursor``), so a timeout loses at
most a page. Once it has reached yesterday a run costs one read until the next day closes.

Once after the upgrade that added the callers' keys beside the records (``store.aggregates.seal``),
the job's state lacks ``keyed``: its next round starts from the first day, so every bucket sealed
by older code (records only, which reports then read in one more batch) gains its keys, a chunk
at a time from its cursor like any round, with no migration to run; so does every round after a
rebuild (``reset``).

Each source's week buckets (``AGGW#``) are sealed the same way right after its days: every week
with a closed day in the run's range, the week under way too, so a week's live set holds about
one day's entries, never a whole week's (the item's size limit: README, "Reports").
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from chalicelib.core import clock
from chalicelib.core.observability import logger
from chalicelib.reports import aggregates
from chalicelib.store import aggregates as stored
from chalicelib.store import keys
from chalicelib.store.cursor import CursorCodec

CHUNK_SECONDS = 8.0
PAGE = 25  # buckets per page (a Query, then a read and a write per bucket with entries to fold)
MODELS = ("last", "first")
CURSOR = CursorCodec("p", "not a sealing cursor", lambda key, part: key.get("pk", {}).get("S") == part)


def _shift(day: str, days: int) -> str:
    return (datetime.strptime(day, "%Y-%m-%d") + timedelta(days=days)).strftime("%Y-%m-%d")


def run(budget: float = CHUNK_SECONDS) -> dict[str, Any]:
    """One chunk of sealing; the state after it (``through``: the last day every source has sealed)."""
    until = time.monotonic() + budget
    state = stored.seal_state()
    yesterday = _shift(aggregates.day(clock.now_ms()), -1)
    if not state.get("todo"):
        through = state.get("through")
        keyed = bool(state.get("keyed"))  # a round since the keys: no bucket sealed by older code is left
        if through and through >= yesterday and keyed:
            return state
        state = {
            "through": through,
            "keyed": 1,
            "from": _shift(through, -1) if through and keyed else "0000-00-00",
            "to": yesterday,
            "todo": [f"{m}|{s}" for s in stored.sources() for m in MODELS],
            "cursor": None,
            "sealed": 0,
        }
    while state["todo"]:
        model, source = state["todo"][0].split("|", 1)
        if not state.get("weeks"):  # this source's days first, then the weeks they fall in
            after = CURSOR.decode(state["cursor"])[1] if state.get("cursor") else None
            page, nxt = stored.unsealed(model, source, state["from"], state["to"], after, limit=PAGE)
            state["sealed"] = int(state.get("sealed") or 0) + sum(stored.seal(k) for k in page)
        else:
            after = CURSOR.decode(state["weeks_cursor"])[1] if state.get("weeks_cursor") else None
            first = clock.week_of(state["from"]) if state["from"] >= "0001" else state["from"]  # from the first
            last = clock.week_of(state["to"])
            page, nxt = stored.unsealed(model, source, first, last, after, limit=PAGE, weeks=True)
            state["weeks_sealed"] = int(state.get("weeks_sealed") or 0) + sum(stored.seal(k) for k in page)
        if nxt and not state.get("weeks"):
            state["cursor"] = CURSOR.encode(nxt["pk"]["S"], nxt)
        elif nxt:
            state["weeks_cursor"] = CURSOR.encode(nxt["pk"]["S"], nxt)
        elif not state.get("weeks"):
            state["weeks"], state["cursor"] = True, None
        else:
            state["todo"].pop(0)
            state["weeks"], state["weeks_cursor"] = False, None
        if not state["todo"]:
            state["through"] = state["to"]
            logger.info("report days sealed", through=state["through"], buckets=state["sealed"])
        stored.save_seal_state(state)
        if time.monotonic() >= until:
            break
    return state


def run_all() -> dict[str, Any]:
    """Seal every closed day in one go (``make rebuild-reports``, benchmarks, tests)."""
    while True:
        state = run(budget=3600.0)
        if not state.get("todo"):
            return state


def reset() -> None:
    """Seal every day again from the first (after a rebuild moved calls between days)."""
    stored.save_seal_state({})


def reseal(buckets: list[str]) -> int:
    """Seal these day and week buckets now, if their day is over or their week has a day over (an
    erasure: the caller leaves the packed values too, not only the counts). Returns how many were
    sealed."""
    today = aggregates.day(clock.now_ms())
    done = 0
    for bucket in buckets:
        if keys.is_sealable_bucket(bucket):
            key = keys.split_bucket(bucket)
            if key.sk[:10] < today:  # a week's Monday before today: a day of it is over, so it is sealed
                done += stored.seal(key)
    return done
