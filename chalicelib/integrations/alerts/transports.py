"""Sending one message to one recipient: SES v2 email, a Slack incoming webhook, a Telegram bot, an SMS.

An SMS goes through the telephony provider's Messages API send (``core/telephony``, the one
text-back uses), from ``ALERTS_SMS_FROM``. Twilio's Messages API has no idempotency key: a send
that failed after Twilio took it could be sent again by a retry, so only a refusal before the send
(no sender set, a client error) gives up; the rest is retried like any alert.

Slack and Telegram go through ``chalicelib/integrations/outbound.py``, the same SSRF-safe
requests webhooks make (checked addresses, no redirects, timeouts). A send that may work
later raises (the event delivery retries it); one that never will (a revoked Slack webhook,
a bot removed from its chat) raises ``delivery.GiveUp``.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.core import aws, secrets
from chalicelib.core.telephony import TelephonyError, get_provider
from chalicelib.events import delivery
from chalicelib.integrations import outbound
from chalicelib.integrations.alerts import messages
from chalicelib.integrations.alerts import settings as alert_settings
from chalicelib.integrations.webhooks import endpoints

TIMEOUT_SECONDS = 10.0


def ses() -> Any:
    """The SES v2 client (background work only)."""
    return aws.client("sesv2", aws.EMAIL, endpoint=alert_settings.get().ses_endpoint)


def send_email(to: str, subject: str, text: str, html_body: str) -> str:
    """One email with a text and an HTML part; SES's message id."""
    s = alert_settings.get()
    if not s.alerts_from_email:
        raise delivery.GiveUp("ALERTS_FROM_EMAIL is not set: no email can be sent")
    answer = ses().send_email(
        FromEmailAddress=s.alerts_from_email,
        Destination={"ToAddresses": [to]},
        Content={
            "Simple": {
                "Subject": {"Data": subject[:200], "Charset": "UTF-8"},
                "Body": {"Text": {"Data": text, "Charset": "UTF-8"}, "Html": {"Data": html_body, "Charset": "UTF-8"}},
            }
        },
    )
    return str(answer.get("MessageId", ""))


def send_sms(to: str, body: str) -> str:
    """One SMS from ``ALERTS_SMS_FROM`` (a number, or a Messaging Service SID); the message's SID."""
    sender = alert_settings.get().alerts_sms_from
    if not sender:
        raise delivery.GiveUp("ALERTS_SMS_FROM is not set: no SMS alert can be sent")
    service = sender if sender.startswith("MG") else None
    try:
        return get_provider().send_sms(to=to, from_=sender, body=body, messaging_service_sid=service)
    except TelephonyError as exc:
        if exc.client_error:
            raise delivery.GiveUp(f"Twilio refused the SMS: {exc}") from None
        raise


def _post(url: str, payload: dict[str, Any], what: str) -> outbound.Answer:
    try:
        answer = outbound.request(
            "POST",
            url,
            headers={"content-type": "application/json", "user-agent": "calltracking-alerts/1"},
            body=json.dumps(payload).encode(),
            timeout=TIMEOUT_SECONDS,
            allow_loopback=endpoints.loopback_allowed(),
        )
    except outbound.Refused as exc:
        raise delivery.GiveUp(f"{what}: refused: {exc}") from None
    if 200 <= answer.status < 300:
        return answer
    if answer.status == 429 or answer.status >= 500:
        retry = answer.headers.get("retry-after", "")
        raise delivery.RetryIn(f"{what} answered {answer.status}", int(retry) if retry.isdigit() else None)
    raise delivery.GiveUp(f"{what} answered {answer.status}: {answer.body[:200].decode('utf-8', 'replace')}")


def send(recipient: dict[str, Any], alert: dict[str, Any]) -> None:
    """Send one alert (or digest) on the recipient's channel."""
    channel = recipient.get("channel")
    if channel == "email":
        send_email(recipient["email"], alert["title"], messages.as_text(alert), messages.as_html(alert))
        return
    if channel == "sms":
        send_sms(str(recipient["phone"]), messages.as_sms(alert))
        return
    secret = secrets.parameter(str(recipient["secret_param"]), f"the {channel} secret of an alert recipient")
    if channel == "slack":
        _post(secret, messages.as_slack(alert), "the Slack webhook")
    elif channel == "telegram":
        url = f"{alert_settings.get().telegram_api_base_url}/bot{secret}/sendMessage"
        _post(url, messages.as_telegram(alert, str(recipient["telegram_chat_id"])), "Telegram")
    else:
        raise delivery.GiveUp(f"unknown channel {channel!r}")
