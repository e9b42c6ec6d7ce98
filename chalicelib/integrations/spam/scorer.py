"""The ``spam`` subscriber of ``call.completed``: score the call (``chalicelib.spam.score_call``) and
store ``spam: {likely, reasons}`` on it, off the voice webhook's path. Its write makes a
``call.updated`` (the reports count the call apart as spam; webhooks see the score)."""

from __future__ import annotations

from chalicelib import spam
from chalicelib.core.observability import logger
from chalicelib.core.validation import is_e164
from chalicelib.events.model import Event
from chalicelib.integrations.spam import settings as spam_settings
from chalicelib.voice import blocklist


def on_event(event: Event) -> None:
    call = event.call
    if call.get("medium") == "text" or call.get("spam") is not None:
        return
    s = spam_settings.get()
    caller = str(call.get("caller") or "")
    lookup = None
    if s.spam_lookup and call.get("first_time") and is_e164(caller):  # first-time callers only
        lookup = spam.looked_up(caller, daily_cap=s.spam_lookup_daily_cap, cache_days=s.spam_lookup_cache_days)
    result = spam.score_call(
        call,
        blocked=blocklist.is_blocked(caller),
        short_calls=s.spam_short_calls,
        short_seconds=s.spam_short_seconds,
        lookup=lookup,
        line_types=s.spam_line_types,
    )
    if result and result["likely"]:
        logger.info("likely spam", call_sid=event.call_sid, reasons=result["reasons"])
