"""The ``spam`` subscriber of ``call.completed``: score the call (``chalicelib.spam.score_call``) and
store ``spam: {likely, reasons}`` on it, off the voice webhook's path. Its write makes a
``call.updated`` (the reports count the call apart as spam; webhooks see the score)."""

from __future__ import annotations

from chalicelib import spam
from chalicelib.core.observability import logger
from chalicelib.events.model import Event
from chalicelib.integrations.spam import settings as spam_settings
from chalicelib.voice import blocklist


def on_event(event: Event) -> None:
    call = event.call
    if call.get("medium") == "text" or call.get("spam") is not None:
        return
    s = spam_settings.get()
    result = spam.score_call(
        call,
        blocked=blocklist.is_blocked(call.get("caller")),
        short_calls=s.spam_short_calls,
        short_seconds=s.spam_short_seconds,
    )
    if result and result["likely"]:
        logger.info("likely spam", call_sid=event.call_sid, reasons=result["reasons"])
