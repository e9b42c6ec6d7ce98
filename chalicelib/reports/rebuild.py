"""The report days' rebuild after the business's time zone changed: a resumable background job.

A change of zone (Settings page or ``PUT /v1/settings/timezone``) stores a rebuild in the
business's profile: a cursor into the calls table and a count. The ``rebuild_report_days``
schedule (declared in ``reports/integration.py``; the local pump runs it too) takes one chunk
at a time, well under the Lambda's 20 s: a page of calls, each moved to its day in the new zone
(``aggregates.sync``: one transaction per call that moved, a no-op for one already right), then
the cursor saved, so a timeout or a crash loses at most one page of work and the next run
resumes there.

Calls keep arriving (and changing) meanwhile: the subscriber counts them in the zone its
process read, which is the new one once its profile cache (``business.CACHE_SECONDS``) expired.
So after the scan (phase ``scan``) the job waits out that cache and scans once more (phase
``check``: a call already right costs its read, no write), and only then says ``done``: whatever
a process with the old zone counted before the check began is moved by it, and nothing counts in
the old zone after. Every call ends in the new zone's days.
"""

from __future__ import annotations

import time
from typing import Any

from chalicelib import business
from chalicelib.core import clock
from chalicelib.core.observability import logger
from chalicelib.reports import aggregates, seal
from chalicelib.store import business as stored
from chalicelib.store import calls as store_calls

CHUNK_SECONDS = 12.0  # work per run, under the Lambda's 20 s with room for the last page
SCHEDULE_SECONDS = 16.0  # both jobs of one scheduled run, under the Lambda's 20 s
PAGE = 100  # calls per Scan page (each page ends with the cursor saved)


def run(budget: float = CHUNK_SECONDS) -> dict[str, Any] | None:
    """One chunk of the pending rebuild, if any; its state after the chunk (None when none runs)."""
    rb = dict(stored.get().rebuild)
    if rb.get("state") != "running":
        return None
    business.clear_cache()  # this process counts in the new zone from now on
    until = time.monotonic() + budget
    if rb.get("phase") == "check" and clock.now_ms() < int(rb["started_at"]) + business.CACHE_SECONDS * 1000:
        return rb  # another process may still count in the old zone: come back after its cache
    while True:
        page, cursor = store_calls.scan_page(rb.get("cursor"), limit=PAGE)
        _sync(page)
        count = "done" if rb.get("phase") == "scan" else "checked"
        rb.update({"cursor": cursor, count: int(rb.get(count) or 0) + len(page), "updated_at": clock.now_ms()})
        if cursor is None and rb.get("phase") == "scan":
            rb.update(phase="check", checked=0)
        elif cursor is None:
            rb.update(state="done", phase=None, finished_at=clock.now_ms())
        if not stored.save_rebuild(rb["id"], rb):
            return None  # the zone changed again: that rebuild starts over on its own
        if rb["state"] == "done":
            logger.info("report days rebuilt", timezone=rb.get("zone"), calls=rb.get("done"))
            seal.reset()  # calls moved between days: every day's packed callers folded again
            return rb
        if cursor is None or time.monotonic() >= until:
            return rb


def scheduled() -> None:
    """The schedule's run: a chunk of a pending rebuild, then of sealing closed days (``seal``)."""
    started = time.monotonic()
    run()
    left = SCHEDULE_SECONDS - (time.monotonic() - started)  # a sealing page is short: stop well inside 20 s
    seal.run(min(seal.CHUNK_SECONDS, max(0.5, left)))


def _sync(page: list[store_calls.CallRecord]) -> None:
    for call in page:
        if not aggregates.sync(call):
            logger.warning("a call could not be moved; the check pass tries again", call_sid=call.call_sid)
