"""Retention by kind: caller numbers masked after ``CALLER_MASK_DAYS``, recordings deleted after
``RECORDING_RETENTION_DAYS``, both sooner than the call itself (``CALL_RETENTION_DAYS``, TTL);
and an idle pool number's copy of its last lease's source removed after ``LEASE_HISTORY_DAYS``,
when its lease history item and session expire (TTL).

A daily schedule walks the calls that crossed each threshold since its last run (the month
index, from a stored mark to the threshold), so each call is looked at about once: masking takes
the number, city, state and country off the call (the reports keep its counts and its keyed
caller entry, which names no one) and drops the call-back entry of that call; a recording goes
from S3 and, if Twilio still has it, from Twilio. The mark is saved after each month, and the
walk stops at its deadline, so a first run over years of calls goes on where it stopped the next
day.
"""

from __future__ import annotations

import time
from typing import Any

from chalicelib.core import clock
from chalicelib.core.observability import logger
from chalicelib.core.settings import get_settings
from chalicelib.core.telephony import get_provider
from chalicelib.recordings import archive
from chalicelib.store import callbacks, leases
from chalicelib.store import calls as store_calls

DAY_MS = 86_400_000
BUDGET_SECONDS = 600.0  # of the schedule's 15 minutes


def _walk(kind: str, days: int, act: Any, deadline: float) -> int:
    """Calls started between the stored mark and ``days`` ago, each given to ``act``; how many acted on."""
    now = clock.now_ms()
    cutoff = now - days * DAY_MS
    mark = store_calls.retention_mark(kind) or now - get_settings().call_retention_days * DAY_MS
    done = 0
    for month in clock.months(mark, cutoff):
        for call in store_calls.started_between(month, mark, cutoff):
            done += int(bool(act(call)))
        store_calls.set_retention_mark(kind, min(cutoff, _month_end(month)))
        if time.monotonic() > deadline:
            break
    return done


def _month_end(month: str) -> int:
    from datetime import UTC, datetime

    year, m = (int(x) for x in month.split("-"))
    start = datetime(year + (m == 12), m % 12 + 1, 1, tzinfo=UTC)
    return int(start.timestamp() * 1000) - 1


def _masker() -> Any:
    """``_mask`` with the call-back list read once: an entry whose latest missed call is being
    masked goes too (it names the caller; a caller who called since has a newer entry)."""
    waiting = {(w.caller, w.call_sid) for w in callbacks.all_waiting()}

    def mask(call: store_calls.CallRecord) -> bool:
        if not call.caller and not call.caller_city:
            return False
        if (call.caller, call.call_sid) in waiting:
            callbacks.delete(str(call.caller))
        return store_calls.remove_fields(call.call_sid, store_calls.MASKED_FIELDS) is not None

    return mask


def _drop_recording(call: store_calls.CallRecord) -> bool:
    if not call.recording_sid:
        return False
    archive.delete_object(call.call_sid, call.recording_sid)
    if not call.recording_deleted_at_twilio:
        try:
            get_provider().delete_recording(call.recording_sid)
        except Exception as exc:  # gone already, or Twilio down: the object in S3 is gone either way
            logger.warning("a recording could not be deleted at Twilio", call_sid=call.call_sid, error=repr(exc))
    return store_calls.remove_fields(call.call_sid, store_calls.RECORDING_FIELDS) is not None


def sweep(budget_seconds: float = BUDGET_SECONDS) -> dict[str, int]:
    """The daily run: numbers masked, recordings deleted and idle numbers' lease sources removed
    past their settings; counts."""
    s = get_settings()
    deadline = time.monotonic() + budget_seconds
    out = {"masked": 0, "recordings_deleted": 0}
    out["lease_sources_dropped"] = leases.drop_sources_before(clock.now_ms() - s.lease_history_days * DAY_MS)
    if s.caller_mask_days > 0:
        out["masked"] = _walk("mask", s.caller_mask_days, _masker(), deadline)
    if s.recording_retention_days > 0:
        out["recordings_deleted"] = _walk("recordings", s.recording_retention_days, _drop_recording, deadline)
    if any(out.values()):
        logger.info(
            "retention sweep",
            masked=out["masked"],
            recordings_deleted=out["recordings_deleted"],
            lease_sources_dropped=out["lease_sources_dropped"],
        )
    return out
