"""Texts to tracking numbers, forwarded to the owner: by SMS to the line's phone from the tracking
number, or by email to the alert email recipients (the line's choice, ``flow.text_forward``,
email by default).

The ``text_forward`` subscriber of ``text.received`` sends each text once: the event is claimed
per subscriber (``events/delivery.py``), and an SMS that fails is not retried (Twilio's Messages
API has no idempotency key: a retry after a send Twilio took would forward it twice). It never
loops: a text from the line's own phone (the owner answering a forward, or writing to their own
number) is not sent back to that phone.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib import business, handling
from chalicelib.core import clock
from chalicelib.core.observability import logger, metrics
from chalicelib.core.settings import get_settings
from chalicelib.core.telephony import TelephonyError, get_provider
from chalicelib.events.model import Event
from chalicelib.integrations.alerts import messages, recipients, transports
from chalicelib.routing import lookup

SMS_MAX = 1600
STALE_MS = 24 * 3_600_000  # a replayed event about an older text forwards nothing


def reason_not_to_forward(text: dict[str, Any], how: str, phone: str | None, now_ms: int) -> str | None:
    """Why this text is not forwarded (``None``: it is). Pure."""
    if how == "off":
        return "the line forwards no texts"
    caller = text.get("caller")
    if how == "sms":
        if not phone:
            return "the line has no phone to forward to"
        if caller == phone or caller == text.get("called"):
            return "the text came from the phone it would be forwarded to"
    started = text.get("started_at")
    if started and now_ms - clock.parse_iso(str(started)) > STALE_MS:
        return "the text is too old"
    return None


def forwarded_words(text: dict[str, Any], line: str | None, country: str) -> tuple[str, str]:
    """The forward's subject and words: who wrote to which line, and what. Pure."""
    number = text.get("caller")
    who = business.phone(number, country) if number else "a withheld number"
    words = (text.get("text") or {}).get("body") or ""
    pictures = int((text.get("text") or {}).get("media_count") or 0)
    if pictures:
        words += f" [+{pictures} picture{'s' if pictures != 1 else ''}]"
    subject = f"Text from {who}" + (f" to {line}" if line else "")
    return subject, words


def on_event(event: Event) -> None:
    """The ``text_forward`` subscriber."""
    text = event.call
    called = str(text.get("called") or "")
    route, _, _ = lookup(called)
    how = handling.text_forward(route.flow)
    why = reason_not_to_forward(text, how, route.forward_to, clock.now_ms())
    if why is not None:
        logger.info("text not forwarded", reason=why, message_sid=event.call_sid)
        return
    subject, words = forwarded_words(text, route.name, business.profile().country)
    if how == "sms":
        body = f"{subject}: {words}"[:SMS_MAX]
        try:
            get_provider().send_sms(to=str(route.forward_to), from_=called, body=body)
        except TelephonyError as exc:
            metrics.add_metric(name="TextForwardFailed", unit=MetricUnit.Count, value=1)
            logger.warning("a text could not be forwarded by SMS", message_sid=event.call_sid, error=str(exc))
            return
        metrics.add_metric(name="TextsForwarded", unit=MetricUnit.Count, value=1)
        return
    link = messages.call_link(get_settings().public_base_url, event.call_sid)
    alert = {"title": subject, "lines": [words, f"Source: {messages.source_label(text)}"], "link": link}
    alert["link_text"] = "Open the text"
    sent = 0
    for item in recipients.all_items():
        data = item.settings
        if data.get("enabled") and data.get("channel") == "email" and data.get("email"):
            transports.send_email(str(data["email"]), subject, messages.as_text(alert), messages.as_html(alert))
            sent += 1
    if not sent:
        logger.info("text not forwarded: no alert email recipient", message_sid=event.call_sid)
    metrics.add_metric(name="TextsForwarded", unit=MetricUnit.Count, value=sent)
