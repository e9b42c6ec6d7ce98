"""What the management API's alert routes call: recipients, a test message, the sender's state, a summary preview."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.core import clock
from chalicelib.core.errors import BadRequest
from chalicelib.core.settings import get_settings
from chalicelib.integrations.alerts import messages, recipients, sender, summary_email, transports
from chalicelib.reports import aggregates
from chalicelib.reports.spend import date as parse_date

create = recipients.create
list_all = recipients.list_all
get = recipients.get
update = recipients.update
delete = recipients.delete
sender_status = sender.status


def send_test(recipient_id: str) -> dict[str, Any]:
    """A test alert now, past quiet hours and the limit (a person asked for it); what happened."""
    item = recipients.load(recipient_id)
    now = clock.now_ms()
    alert = messages.condition_alert(
        "missed_call", "a test from the call tracker", ["This is a test alert."], None, now
    )
    alert["title"] = "Test alert: this recipient is set up"
    try:
        transports.send(item.settings, alert)
    except Exception as exc:  # whatever the channel said, said back to the person testing it
        return {"ok": False, "error": str(exc)[:300]}
    return {"ok": True, "error": None}


def summary_preview(query: dict[str, str]) -> dict[str, Any]:
    """The summary email as it would be sent on ``date`` (default today): figures, subject, text, HTML."""
    unknown = sorted(set(query) - {"kind", "date"})
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(unknown)}")
    kind = query.get("kind") or "daily"
    if kind not in recipients.SUMMARIES:
        raise BadRequest(f"'kind' must be one of: {', '.join(recipients.SUMMARIES)}")
    now = clock.now_ms()
    day = parse_date(query["date"], "date") if query.get("date") else aggregates.day(now)
    built = summary_email.build(kind, datetime.strptime(day, "%Y-%m-%d").date(), now)
    base = get_settings().public_base_url
    return {
        "summary": built,
        "subject": summary_email.subject(built),
        "text": summary_email.as_text(built, base),
        "html": summary_email.as_html(built, base),
    }
