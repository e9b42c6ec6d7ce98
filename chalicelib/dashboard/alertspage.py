"""The alerts page: recipients (email, Slack, Telegram), what each wants and when, a test
message with what the channel answered, and whether SES can send (the sender check).

Admins only, as the API's ``/v1/alerts`` (they say where call data goes). Every change goes
through ``integrations.alerts.api``, the management API's own functions, so the page and the
API refuse the same input with the same words (``formerrors``).
"""

from __future__ import annotations

from typing import Any

from chalice import Response
from chalice.app import Request

from chalicelib.core.errors import BadRequest
from chalicelib.dashboard import formerrors, web
from chalicelib.integrations.alerts import api as alerts
from chalicelib.integrations.alerts import recipients
from chalicelib.integrations.alerts import settings as alert_settings

ALIASES = {
    "quiet_hours.start": "quiet_start",
    "quiet_hours.end": "quiet_end",
    "quiet_hours": "quiet_start",
    "count": "limit_count",
    "minutes": "limit_minutes",
    "limit": "limit_count",
}
EVENT_WORDS = {
    "missed_call": "a missed call",
    "voicemail": "a voicemail",
    "first_time_caller": "a first-time caller",
    "sale": "a call marked a sale",
    "screens_refused": "screened calls answered without a key press, several in a row on one line",
    "pool_exhausted": "a website pool ran out of numbers",
    "webhook_disabled": "a webhook was turned off",
    "events_stuck": "call events are stuck",
}
FORM_FIELDS = (
    "name",
    "channel",
    "email",
    "slack_webhook_url",
    "telegram_bot_token",
    "telegram_chat_id",
    "phone",
    "summary_hour",
    "timezone",
    "quiet_start",
    "quiet_end",
    "limit_count",
    "limit_minutes",
)


def recipient_body(form: dict[str, str], events: list[str], summaries: list[str], *, creating: bool) -> dict[str, Any]:
    """The recipient form as the body ``POST``/``PATCH /v1/alerts/recipients`` take. Pure.

    A secret field left empty on an edit keeps the stored secret (the form never shows it);
    both quiet-hour fields empty means none.
    """
    channel = (form.get("channel") or "").strip()
    body: dict[str, Any] = {"name": form.get("name", ""), "events": events, "summaries": summaries}
    if creating:
        body["channel"] = channel
    value = {k: (form.get(k) or "").strip() for k in ("email", "slack_webhook_url", "telegram_bot_token")}
    if channel == "email":
        body["email"] = value["email"]
    if channel == "slack" and (value["slack_webhook_url"] or creating):
        body["slack_webhook_url"] = value["slack_webhook_url"]
    if channel == "telegram":
        if value["telegram_bot_token"] or creating:
            body["telegram_bot_token"] = value["telegram_bot_token"]
        body["telegram_chat_id"] = (form.get("telegram_chat_id") or "").strip()
    if channel == "sms":
        body["phone"] = (form.get("phone") or "").strip()
    body["summary_hour"] = formerrors.as_int(form.get("summary_hour"))
    body["timezone"] = (form.get("timezone") or "").strip() or None
    start, end = (form.get("quiet_start") or "").strip(), (form.get("quiet_end") or "").strip()
    body["quiet_hours"] = {"start": start, "end": end} if start or end else None
    limit = {
        "count": formerrors.as_int(form.get("limit_count")),
        "minutes": formerrors.as_int(form.get("limit_minutes")),
    }
    body["limit"] = formerrors.drop_none(limit)
    if not creating:
        body["enabled"] = form.get("enabled") == "on"
    return {k: v for k, v in body.items() if v is not None or k in ("timezone", "quiet_hours")}


def _typed(form: dict[str, str], events: list[str], summaries: list[str]) -> dict[str, Any]:
    """What was typed, to fill the form again (never a secret: those fields come back empty)."""
    kept = {k: (form.get(k) or "")[:300] for k in FORM_FIELDS if k not in ("slack_webhook_url", "telegram_bot_token")}
    return {**kept, "events": events, "summaries": summaries, "enabled": form.get("enabled") == "on"}


def _as_form(r: dict[str, Any]) -> dict[str, Any]:
    quiet = r.get("quiet_hours") or {}
    limit = r.get("limit") or {}
    return {
        "name": r.get("name") or "",
        "channel": r.get("channel") or "email",
        "email": r.get("email") or "",
        "telegram_chat_id": r.get("telegram_chat_id") or "",
        "phone": r.get("phone") or "",
        "summary_hour": str(r.get("summary_hour") if r.get("summary_hour") is not None else ""),
        "timezone": r.get("timezone") or "",
        "quiet_start": quiet.get("start", ""),
        "quiet_end": quiet.get("end", ""),
        "limit_count": str(limit.get("count", "")),
        "limit_minutes": str(limit.get("minutes", "")),
        "events": r.get("events") or [],
        "summaries": r.get("summaries") or [],
        "enabled": bool(r.get("enabled")),
    }


def _blank() -> dict[str, Any]:
    s = alert_settings.get()
    return {
        **{k: "" for k in FORM_FIELDS},
        "channel": "email",
        "summary_hour": str(s.summary_hour),
        "limit_count": str(s.alert_limit_count),
        "limit_minutes": str(s.alert_limit_minutes),
        "events": ["missed_call", "voicemail"],
        "summaries": [],
        "enabled": True,
    }


def _sender() -> dict[str, Any]:
    try:
        return alerts.sender_status()
    except Exception as exc:  # SES unreachable: the page still works, and says so
        return {"ready": False, "problems": [f"SES could not be asked just now ({type(exc).__name__}); reload later"]}


def render(
    request: Request,
    viewer: web.Viewer,
    *,
    status: int = 200,
    edit: str | None = None,
    typed: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    **context: Any,
) -> Response:
    """The page: the recipients, the add form (or the edit form of ``edit``), the sender check."""
    listed = alerts.list_all()
    editing = next((r for r in listed if r["id"] == edit), None) if edit else None
    if typed is None:
        typed = _as_form(editing) if editing else _blank()
    return web.render(
        request,
        "alerts.html",
        viewer=viewer,
        status=status,
        recipients=listed,
        editing=editing,
        form=typed,
        errors=errors or {},
        sender=_sender(),
        channels=recipients.CHANNELS,
        event_words=EVENT_WORDS,
        alert_names=recipients.ALERTS,
        hours=range(24),
        **context,
    )


def page(request: Request) -> Response:
    viewer = web.require(request, role="admin")
    return render(request, viewer, edit=web.query_params(request).get("edit"))


def create(request: Request) -> Response:
    viewer = web.require(request, role="admin")
    form = web.check_csrf(request, viewer)
    events, summaries = formerrors.multi(request, "events"), formerrors.multi(request, "summaries")
    try:
        made = alerts.create(recipient_body(form, events, summaries, creating=True), ctx=viewer.context)
    except BadRequest as exc:
        typed = _typed(form, events, summaries)
        return render(request, viewer, status=400, typed=typed, errors=formerrors.errors_for(exc.message, ALIASES))
    return render(request, viewer, status=201, notice=f"Added {made['name']}. Send it a test to see it arrive.")


def update(request: Request, recipient_id: str) -> Response:
    viewer = web.require(request, role="admin")
    form = web.check_csrf(request, viewer)
    current = alerts.get(recipient_id)
    events, summaries = formerrors.multi(request, "events"), formerrors.multi(request, "summaries")
    body = recipient_body({**form, "channel": current["channel"]}, events, summaries, creating=False)
    try:
        alerts.update(recipient_id, body, ctx=viewer.context)
    except BadRequest as exc:
        typed = {**_typed(form, events, summaries), "channel": current["channel"]}
        errors = formerrors.errors_for(exc.message, ALIASES)
        return render(request, viewer, status=400, edit=recipient_id, typed=typed, errors=errors)
    return render(request, viewer, notice=f"Saved {current['name']}.")


def delete(request: Request, recipient_id: str) -> Response:
    viewer = web.require(request, role="admin")
    web.check_csrf(request, viewer)
    current = alerts.get(recipient_id)
    alerts.delete(recipient_id, ctx=viewer.context)
    return render(request, viewer, notice=f"Removed {current['name']}: it gets no more alerts.")


def send_test(request: Request, recipient_id: str) -> Response:
    viewer = web.require(request, role="admin")
    web.check_csrf(request, viewer)
    current = alerts.get(recipient_id)
    answer = alerts.send_test(recipient_id)
    return render(request, viewer, tested={"name": current["name"], "id": recipient_id, **answer})
