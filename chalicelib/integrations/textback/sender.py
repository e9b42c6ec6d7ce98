"""Text-back: a caller nobody answered gets one text from the tracking number they called.

The ``textback`` subscriber of ``call.completed`` decides (``reason_not_to_text``, pure), claims
the caller's window (a conditional write: the first delivery of the event wins, the second and
third find it taken) and only then sends, once: Twilio's Messages API has no idempotency key, so
a send that fails after its claim is not retried (at most one text, never two). The event
arrives seconds after the call ends, so the text goes within the minute.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib import calls, handling, spam
from chalicelib.core import clock
from chalicelib.core.context import SYSTEM
from chalicelib.core.errors import NotFound
from chalicelib.core.observability import logger, metrics
from chalicelib.core.telephony import TelephonyError, get_provider
from chalicelib.core.validation import country_of, is_e164
from chalicelib.events.delivery import RetryIn
from chalicelib.events.model import Event
from chalicelib.integrations.spam import settings as spam_settings
from chalicelib.integrations.textback import caller_data
from chalicelib.integrations.textback import settings as textback_settings
from chalicelib.routing import lookup
from chalicelib.store import texts
from chalicelib.store.ops import expires_after

MISSED_RESULTS = ("missed", "voicemail")
SPAM_WAIT_SECONDS = 20  # the spam subscriber's Lookup comes within seconds of the call's end
STALE_MS = 3_600_000  # a replayed event about an older call texts nobody
OPEN_TEXT = "Sorry we missed your call to {name}. We'll call you back soon. Reply STOP to opt out."
CLOSED_TEXT = (
    "Thanks for calling {name}. We're closed right now and will call you back when we open. Reply STOP to opt out."
)


def wanted_types() -> set[str]:
    """The gate: with text-back off for the deployment, no message is queued at all."""
    return {"call.completed"} if textback_settings.get().text_back_enabled else set()


def reason_not_to_text(
    call: dict[str, Any], flow: dict[str, Any] | None, countries: tuple[str, ...], now_ms: int
) -> str | None:
    """Why this call gets no text (``None``: it gets one, if the caller's window is free)."""
    if not (flow or {}).get("text_back"):
        return "the line does not text back"
    if call.get("result") not in MISSED_RESULTS:
        return "the call was not missed"
    kept_out = spam.kept_out(call)
    if kept_out:
        return kept_out
    caller, called = call.get("caller"), call.get("called")
    if not is_e164(caller) or not is_e164(called):
        return "no caller or tracking number to text between"
    if country_of(caller) not in countries:
        return "the caller's country is not one texts may go to"
    started = call.get("started_at")
    if started and now_ms - clock.parse_iso(str(started)) > STALE_MS:
        return "the call is too old"
    return None


def waits_for_spam_score(call: dict[str, Any]) -> bool:
    """Whether text-back waits for this call's spam score: with Lookup on (``SPAM_LOOKUP``) and no
    score stored yet, the subscriber raises ``delivery.RetryIn`` before claiming the caller's
    window, so the event comes back later and the claim still makes it at most one text; a call
    scored as spam then gets none. With Lookup off nothing waits: the StirVerstat check and the
    block list decide at once (``spam.kept_out``)."""
    return spam_settings.get().spam_lookup and call.get("spam") is None


def text_for(name: str | None, flow: dict[str, Any] | None, at: datetime) -> str:
    """The text: the line's name, and whether the business is open now."""
    template = OPEN_TEXT if handling.is_open(flow, at) else CLOSED_TEXT
    return template.replace("{name}", name or "us")


def on_event(event: Event) -> None:
    """The ``textback`` subscriber: at most one text per caller per window, never to an opted-out caller."""
    s = textback_settings.get()
    if not s.text_back_enabled:
        return
    call = event.call
    route, _, _ = lookup(str(call.get("called") or ""))
    now = clock.now_ms()
    why = reason_not_to_text(call, route.flow, s.text_back_countries, now)
    caller = str(call.get("caller") or "")
    if why is None and caller_data.opted_out(caller, SYSTEM):
        why = "the caller texted STOP"
    if why is not None:
        logger.debug("no text-back", reason=why, call_sid=event.call_sid)
        return
    if waits_for_spam_score(call):
        try:
            fresh = calls.get(event.call_sid)
        except NotFound:
            return  # deleted since: nobody to text
        if fresh.get("spam") is None:
            raise RetryIn("waiting for the call's spam score", SPAM_WAIT_SECONDS)
        why = spam.kept_out(fresh)
        if why is not None:
            logger.debug("no text-back", reason=why, call_sid=event.call_sid)
            return
    window = str(now // (3_600_000 * s.text_back_window_hours))
    expires = expires_after(now, s.text_back_window_hours / 24 + 1)
    if not texts.claim_text_back(caller, window, event.call_sid, expires):
        logger.info("text-back already sent to this caller in this window", call_sid=event.call_sid)
        return
    body = text_for(route.name, route.flow, datetime.fromtimestamp(now / 1000, UTC))
    try:
        sid = get_provider().send_sms(
            to=caller, from_=str(call["called"]), body=body, messaging_service_sid=s.text_back_messaging_service_sid
        )
    except TelephonyError as exc:
        # Not retried: the claim stands, so a later delivery cannot text twice.
        metrics.add_metric(name="TextBackFailed", unit=MetricUnit.Count, value=1)
        logger.warning("the text-back could not be sent", call_sid=event.call_sid, error=str(exc))
        return
    metrics.add_metric(name="TextBackSent", unit=MetricUnit.Count, value=1)
    logger.info("text-back sent", call_sid=event.call_sid, message_sid=sid)
