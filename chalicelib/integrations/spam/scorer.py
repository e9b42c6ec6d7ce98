"""The ``spam`` subscriber of ``call.completed``: score the call (``chalicelib.spam.score_call``) and
store ``spam: {likely, reasons}`` on it, off the voice webhook's path: only a likely-spam score
(or every score while Lookup is on, which text-back waits for), so an ordinary call makes no
extra ``call.updated``. The write's ``call.updated`` moves the call to the reports' spam bucket."""

from __future__ import annotations

from chalicelib import spam
from chalicelib.core.observability import logger
from chalicelib.core.validation import is_e164
from chalicelib.events.model import Event
from chalicelib.integrations.spam import settings as spam_settings
from chalicelib.store import calls as store_calls
from chalicelib.voice import blocklist


def on_event(event: Event) -> None:
    call = event.call
    if (call.get("medium") or "call") != "call" or call.get("spam") is not None:
        return
    s = spam_settings.get()
    caller = str(call.get("caller") or "")
    lookup = None
    if s.spam_lookup and call.get("first_time") and is_e164(caller):  # first-time callers only
        # An event delivered late (a retry) still carries the number of a call erased since: looking it
        # up would keep the number's Lookup (its name) again. One consistent read, for these calls only.
        now = store_calls.get(event.call_sid, consistent=True)
        if now is None or now.erased_at:
            return
        lookup = spam.looked_up(
            caller,
            daily_cap=s.spam_lookup_daily_cap,
            cache_days=s.spam_lookup_cache_days,
            caller_name=s.spam_lookup_caller_name,
        )
    result = spam.score_call(
        call,
        blocked=blocklist.is_blocked(caller),
        short_calls=s.spam_short_calls,
        short_seconds=s.spam_short_seconds,
        lookup=lookup,
        line_types=s.spam_line_types,
        caller_names=s.spam_caller_names,
        keep_unlikely=s.spam_lookup,
    )
    if result and result["likely"]:
        logger.info("likely spam", call_sid=event.call_sid, reasons=result["reasons"])
