"""Alert recipients: who hears about what, on which channel, when, and how often.

A recipient is one channel (an email address through SES, a Slack incoming webhook, a
Telegram chat through a bot, or a phone by SMS through Twilio's Messages API) with the alerts it
wants, its quiet hours, its limit and its summaries. Slack webhook URLs and Telegram bot tokens
are secrets: they go to an SSM SecureString parameter (``ALERTS_SSM_PREFIX/<recipient id>``) and the API shows only a
masked hint of them, never the value.
"""

from __future__ import annotations

import re
import secrets as pysecrets
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.core import clock, secrets
from chalicelib.core import validation as v
from chalicelib.core.context import SYSTEM, RequestContext, log_change
from chalicelib.core.errors import BadRequest, NotFound, SecretUnavailable
from chalicelib.core.observability import logger
from chalicelib.integrations.alerts import settings as alert_settings
from chalicelib.integrations.webhooks import endpoints
from chalicelib.store import alerts
from chalicelib.store.alerts import Recipient

CHANNELS = ("email", "slack", "telegram", "sms")
CALL_ALERTS = ("missed_call", "voicemail", "first_time_caller", "sale", "screens_refused")
SCHEDULED_ALERTS = ("pool_exhausted", "webhook_disabled", "events_stuck")
ALERTS = CALL_ALERTS + SCHEDULED_ALERTS
SUMMARIES = ("daily", "weekly")
MAX_RECIPIENTS = 50
FIELDS = {
    "name",
    "channel",
    "email",
    "slack_webhook_url",
    "telegram_bot_token",
    "telegram_chat_id",
    "phone",
    "events",
    "summaries",
    "summary_hour",
    "timezone",
    "quiet_hours",
    "limit",
    "enabled",
}
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
_TELEGRAM_TOKEN = re.compile(r"\d{3,15}:[A-Za-z0-9_-]{20,80}")
_TELEGRAM_CHAT = re.compile(r"-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31}")
_CLOCK_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def secret_param(recipient_id: str) -> str:
    return f"{alert_settings.get().alerts_ssm_prefix}/{recipient_id}"


def _hint(secret: str) -> str:
    """Enough to tell two secrets apart, nothing to use: the last four characters."""
    return "…" + secret[-4:]


def _email(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL.fullmatch(value.strip()):
        raise BadRequest("'email' must be an email address like owner@example.com")
    return value.strip()


def _slack_url(value: Any) -> str:
    """The webhooks' own check (https, public addresses only; loopback on the local stage)."""
    try:
        return endpoints.check_url(value)
    except BadRequest as exc:
        raise BadRequest(str(exc).replace("'url'", "'slack_webhook_url'", 1)) from None


def _zone(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise BadRequest("'timezone' must be an IANA time zone like America/Los_Angeles")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise BadRequest(f"'timezone' {value[:64]!r} is not an IANA time zone like America/Los_Angeles") from None
    return value


def _minutes(value: Any, name: str) -> int:
    m = _CLOCK_TIME.fullmatch(value) if isinstance(value, str) else None
    if not m:
        raise BadRequest(f"'quiet_hours.{name}' must be a time like 22:00")
    return int(m.group(1)) * 60 + int(m.group(2))


def _quiet(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"start", "end"}:
        raise BadRequest('\'quiet_hours\' must be {"start": "22:00", "end": "07:00"} or null')
    if _minutes(value["start"], "start") == _minutes(value["end"], "end"):
        raise BadRequest("'quiet_hours' start and end must differ")
    return {"start": value["start"], "end": value["end"]}


def _limit(value: Any) -> dict[str, int]:
    if not isinstance(value, dict) or not set(value) <= {"count", "minutes"}:
        raise BadRequest('\'limit\' must be {"count": 5, "minutes": 10}')
    count = v.integer(value, "count", default=alert_settings.get().alert_limit_count, lo=1, hi=100)
    minutes = v.integer(value, "minutes", default=alert_settings.get().alert_limit_minutes, lo=1, hi=1440)
    assert count is not None and minutes is not None
    return {"count": count, "minutes": minutes}


def _choices(body: dict[str, Any], name: str, allowed: tuple[str, ...], *, empty: bool) -> list[str]:
    value = body.get(name)
    if not isinstance(value, list) or (not value and not empty) or any(x not in allowed for x in value):
        raise BadRequest(f"'{name}' must be a {'' if empty else 'non-empty '}list of: {', '.join(allowed)}")
    return sorted(set(value))


def _settings_from(
    body: dict[str, Any], current: dict[str, Any], recipient_id: str
) -> tuple[dict[str, Any], str | None]:
    """The recipient's new settings and, when one was given, its new secret (not in the settings)."""
    v.reject_unknown(body, FIELDS)
    out = dict(current)
    if "name" in body or "name" not in current:
        name = v.string(body, "name", required=True, max_len=100)
        out["name"] = name
    if "channel" in body or "channel" not in current:
        channel = body.get("channel")
        if channel not in CHANNELS:
            raise BadRequest(f"'channel' must be one of: {', '.join(CHANNELS)}")
        if current.get("channel") not in (None, channel):
            raise BadRequest("'channel' cannot change: make a new recipient")
        out["channel"] = channel
    channel = out["channel"]
    other = {"email": "email", "slack": "slack_webhook_url", "telegram": "telegram_bot_token"}
    for ch, field in other.items():
        if ch != channel and field in body:
            raise BadRequest(f"'{field}' is for {ch} recipients; this one is {channel}")
    if "telegram_chat_id" in body and channel != "telegram":
        raise BadRequest(f"'telegram_chat_id' is for telegram recipients; this one is {channel}")
    if "phone" in body and channel != "sms":
        raise BadRequest(f"'phone' is for sms recipients; this one is {channel}")
    if channel == "sms" and ("phone" in body or "phone" not in current):
        out["phone"] = v.e164(body.get("phone"), "phone")
    secret: str | None = None
    if channel == "email" and ("email" in body or "email" not in current):
        out["email"] = _email(body.get("email"))
    if channel == "slack" and ("slack_webhook_url" in body or "secret_hint" not in current):
        secret = _slack_url(body["slack_webhook_url"]) if "slack_webhook_url" in body else None
        if secret is None:
            raise BadRequest("'slack_webhook_url' is required: the Slack incoming webhook's URL")
    if channel == "telegram":
        if "telegram_bot_token" in body or "secret_hint" not in current:
            token = body.get("telegram_bot_token")
            if not isinstance(token, str) or not _TELEGRAM_TOKEN.fullmatch(token.strip()):
                raise BadRequest("'telegram_bot_token' must be a bot token from @BotFather, like 123456:ABC-…")
            secret = token.strip()
        if "telegram_chat_id" in body or "telegram_chat_id" not in current:
            chat = body.get("telegram_chat_id")
            chat = str(chat) if isinstance(chat, int) and not isinstance(chat, bool) else chat
            if not isinstance(chat, str) or not _TELEGRAM_CHAT.fullmatch(chat.strip()):
                raise BadRequest("'telegram_chat_id' must be a chat id (a number) or @channelname")
            out["telegram_chat_id"] = chat.strip()
    if secret is not None:
        out["secret_hint"] = _hint(secret)
        out["secret_param"] = secret_param(recipient_id)
    if "events" in body or "events" not in current:
        out["events"] = _choices(
            {"events": body.get("events", ["missed_call", "voicemail"])}, "events", ALERTS, empty=True
        )
    if "summaries" in body or "summaries" not in current:
        out["summaries"] = _choices({"summaries": body.get("summaries", [])}, "summaries", SUMMARIES, empty=True)
    if out["summaries"] and channel != "email":
        raise BadRequest("'summaries' are emails: only email recipients can have them")
    if "summary_hour" in body or "summary_hour" not in current:
        out["summary_hour"] = v.integer(body, "summary_hour", default=alert_settings.get().summary_hour, lo=0, hi=23)
    if "timezone" in body:
        out["timezone"] = _zone(body["timezone"])
    if "quiet_hours" in body:
        out["quiet_hours"] = _quiet(body["quiet_hours"])
    if "limit" in body or "limit" not in current:
        out["limit"] = _limit(body.get("limit", {}))
    enabled = v.boolean(body, "enabled")
    if enabled is not None:
        out["enabled"] = enabled
    out.setdefault("enabled", True)
    return out, secret


def public(item: Recipient) -> dict[str, Any]:
    """What the API shows: never the secret, only its hint."""
    d = item.settings
    return {
        "id": item.id,
        "name": d.get("name"),
        "channel": d.get("channel"),
        "email": d.get("email"),
        "telegram_chat_id": d.get("telegram_chat_id"),
        "phone": d.get("phone"),
        "secret_hint": d.get("secret_hint"),
        "events": d.get("events", []),
        "summaries": d.get("summaries", []),
        "summary_hour": d.get("summary_hour"),
        "timezone": d.get("timezone"),
        "quiet_hours": d.get("quiet_hours"),
        "limit": d.get("limit"),
        "enabled": bool(d.get("enabled")),
        "created_at": clock.iso(d.get("created_at")),
        "updated_at": clock.iso(d.get("updated_at")),
    }


def load(recipient_id: str) -> Recipient:
    found = alerts.get_recipient(recipient_id) if 0 < len(recipient_id) <= 64 else None
    if found is not None:
        return found
    raise NotFound(f"no alert recipient {recipient_id[:64]!r}")


def all_items() -> list[Recipient]:
    return alerts.list_recipients()


def _store_secret(recipient_id: str, secret: str) -> None:
    try:
        secrets.put_parameter(secret_param(recipient_id), secret)
    except Exception as exc:  # SSM refused or timed out: the recipient is not saved, the client may retry
        logger.warning("storing an alert secret in SSM failed", recipient_id=recipient_id, error=type(exc).__name__)
        raise SecretUnavailable("the secret could not be stored in SSM just now; try again") from None


def create(body: dict[str, Any], *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    log_change(ctx, "alert_recipients.create")
    if len(all_items()) >= MAX_RECIPIENTS:
        raise BadRequest(f"at most {MAX_RECIPIENTS} alert recipients")
    recipient_id = "rcp_" + pysecrets.token_hex(8)
    now = clock.now_ms()
    data, secret = _settings_from(body, {"created_at": now}, recipient_id)
    data["updated_at"] = now
    if secret is not None:  # first the secret, so no recipient ever lacks its parameter
        _store_secret(recipient_id, secret)
    item = Recipient(recipient_id, data)
    alerts.create_recipient(item)
    return public(item)


def list_all() -> list[dict[str, Any]]:
    return sorted((public(i) for i in all_items()), key=lambda r: (r["created_at"] or "", r["id"]))


def get(recipient_id: str) -> dict[str, Any]:
    return public(load(recipient_id))


def update(recipient_id: str, body: dict[str, Any], *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    log_change(ctx, "alert_recipients.update", recipient_id=recipient_id)
    item = load(recipient_id)
    data, secret = _settings_from(body, dict(item.settings), recipient_id)
    data["updated_at"] = clock.now_ms()
    if secret is not None:
        _store_secret(recipient_id, secret)
    item = Recipient(recipient_id, data)
    if not alerts.save_recipient(item):
        raise NotFound(f"no alert recipient {recipient_id[:64]!r}")
    return public(item)


def delete(recipient_id: str, *, ctx: RequestContext = SYSTEM) -> None:
    log_change(ctx, "alert_recipients.delete", recipient_id=recipient_id)
    item = load(recipient_id)
    alerts.delete_recipient(item.id)
    if item.settings.get("secret_param"):
        secrets.delete_parameter(str(item.settings["secret_param"]))
