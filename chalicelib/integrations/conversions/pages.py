"""The dashboard's conversions pages: destinations, credentials (set, never shown), rules, pause,
send test and the delivery log. Every action calls the same ``destinations`` functions as the API.

Viewers see the pages; only admins change anything (a viewer's post is a 403, as everywhere).
A refused form comes back with the message and what was typed (never a credential).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from chalice import Response
from chalice.app import Request

from chalicelib.core import clock
from chalicelib.core.errors import ApiError, BadRequest
from chalicelib.dashboard import web
from chalicelib.integrations.conversions import api, destinations, platforms

LOG_LINES = 50
CREDENTIAL_LABELS = {
    "api_secret": "Measurement Protocol API secret",
    "developer_token": "Developer token",
    "client_id": "OAuth client id",
    "refresh_token": "Refresh token",
    "access_token": "Access token (Meta Conversions API, HubSpot private app)",
    "oauth_token": "Yandex OAuth token",
    "client_secret": "OAuth client secret (HubSpot: the app's secret, signs its webhooks)",
    "webhook_url": "Bitrix24 incoming webhook URL (…/rest/1/abc…/)",
}
SETTING_LABELS = {
    "measurement_id": "Measurement id (G-…)",
    "customer_id": "Customer id (123-456-7890)",
    "login_customer_id": "Manager (login) customer id, if any",
    "window_days": "Click-through window, days (1 to 90)",
    "enhanced_conversions": "Enhanced conversions for leads (hashed phone, with consent)",
    "pixel_id": "Dataset (pixel) id",
    "test_event_code": "Test event code (Events Manager → Test events)",
    "counter_id": "Metrica tag (counter) number",
    "goal_name": "Calls goal name, if Metrica should make one",
    "user_id": "Responsible user id (CRM user by default)",
    "users": "Responsible per channel or pool (ch_abc=5, po_xyz=7)",
    "crm_source": "Bitrix24 source id for new leads (CALL)",
    "won_stages": "Won deal stages (comma-separated)",
    "lost_stages": "Lost deal stages (comma-separated)",
    "won_lead_statuses": "Won lead statuses (comma-separated; blank: leads not read)",
    "lost_lead_statuses": "Lost lead statuses (comma-separated)",
}


def _int(value: str, name: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"'{name}' must be a whole number") from None


def rule_from(fields: dict[str, str]) -> dict[str, Any] | None:
    """A rule from the form's ``r_`` fields (None when no action was typed)."""
    action = (fields.get("r_action") or "").strip()
    if not action:
        return None
    rule: dict[str, Any] = {"action": action, "answered": fields.get("r_answered", "on") == "on"}
    talk = _int(fields.get("r_min_talk_seconds", ""), "min talk seconds")
    if talk is not None:
        rule["min_talk_seconds"] = talk
    if fields.get("r_first_time_only") == "on":
        rule["first_time_only"] = True
    if fields.get("r_outcome"):
        rule["outcomes"] = [fields["r_outcome"]]
    if (fields.get("r_value") or "").strip():
        rule["value"] = fields["r_value"].strip()
    if fields.get("r_value_from_revenue") == "on":
        rule["value_from_revenue"] = True
    if (fields.get("r_currency") or "").strip():
        rule["currency"] = fields["r_currency"].strip()
    tags = [t.strip() for t in (fields.get("r_tags") or "").split(",") if t.strip()]
    if tags:
        rule["tags"] = tags
    return rule


def body_from(fields: dict[str, str]) -> dict[str, Any]:
    """The API's create body from the add form."""
    name = fields.get("platform") or ""
    platform = destinations.platform_of(name)
    settings: dict[str, Any] = {}
    # Each platform's inputs are named s_<platform>__<field> / c_<platform>__<field> (several platforms
    # share field names: access_token, user_id); the bare s_<field> / c_<field> of a form posted by hand too.
    for field in platform.setting_fields:
        raw = (fields.get(f"s_{name}__{field}") or fields.get(f"s_{field}") or "").strip()
        if field == "enhanced_conversions":
            settings[field] = raw == "on"
        elif field == "window_days":
            if raw:
                settings[field] = _int(raw, "window days")
        elif raw:
            settings[field] = raw
    creds = {}
    for f in platform.credential_fields:
        value = fields.get(f"c_{name}__{f}") or fields.get(f"c_{f}") or ""
        if value.strip():
            creds[f] = value
    body: dict[str, Any] = {"platform": name, "name": (fields.get("name") or "").strip(), "settings": settings}
    if creds:
        body["credentials"] = creds
    rule = rule_from(fields)
    if rule and getattr(platform, "crm", False):
        # A CRM takes every call (missed ones and channel calls too): the form's rule says so.
        rule = {**rule, "answered": False, "static_calls": True}
    if rule:
        body["rules"] = [rule]
    days = _int(fields.get("backfill_days", ""), "backfill days")
    if days is not None:
        body["backfill_days"] = days
    return body


def _typed(fields: dict[str, str]) -> dict[str, str]:
    """What the form keeps on a refusal: everything but the credentials and the token."""
    return {k: v[:300] for k, v in fields.items() if not k.startswith("c_") and k != "csrf"}


def _platforms() -> list[dict[str, Any]]:
    return api.platform_list()


def list_page(request: Request, *, status: int = 200, **context: Any) -> Response:
    viewer = web.require(request)
    context.setdefault("typed", {})
    return web.render(
        request,
        "conversions.html",
        viewer=viewer,
        status=status,
        destinations=destinations.list_all(),
        platforms=_platforms(),
        setting_labels=SETTING_LABELS,
        credential_labels=CREDENTIAL_LABELS,
        **context,
    )


def create(request: Request) -> Response:
    viewer = web.require(request, role="admin")
    fields = web.check_csrf(request, viewer)
    try:
        made = destinations.create(body_from(fields), ctx=viewer.context)
    except ApiError as exc:
        if exc.status >= 500:
            raise
        return list_page(request, status=exc.status, error=exc.message, typed=_typed(fields))
    return web.redirect(f"/dashboard/conversions/{quote(made['id'])}?" + urlencode({"notice": "created"}))


NOTICES = {
    "created": "Destination added. Its credentials are stored and will not be shown again.",
    "credentials": "Credentials saved. They will not be shown again.",
    "rule": "Rule added.",
    "rule-removed": "Rule removed.",
    "paused": "Paused: nothing is sent until you resume.",
    "resumed": "Sending again.",
}


def detail_page(request: Request, destination_id: str, *, status: int = 200, **context: Any) -> Response:
    viewer = web.require(request)
    dest = destinations.get(destination_id)
    platform = platforms.get(dest["platform"])
    notice = NOTICES.get(web.query_params(request).get("notice", ""))
    context.setdefault("typed", {})
    return web.render(
        request,
        "conversion.html",
        viewer=viewer,
        status=status,
        dest=dest,
        platform=platform,
        notice=context.pop("notice", None) or notice,
        log=destinations.deliveries(dest["id"], LOG_LINES),
        setting_labels=SETTING_LABELS,
        credential_labels=CREDENTIAL_LABELS,
        **context,
    )


def _change(request: Request, destination_id: str, make: Any, notice: str) -> Response:
    viewer = web.require(request, role="admin")
    fields = web.check_csrf(request, viewer)
    try:
        make(fields, viewer)
    except ApiError as exc:
        if exc.status >= 500:
            raise
        return detail_page(request, destination_id, status=exc.status, error=exc.message, typed=_typed(fields))
    return web.redirect(f"/dashboard/conversions/{quote(destination_id)}?" + urlencode({"notice": notice}))


def set_credentials(request: Request, destination_id: str) -> Response:
    def make(fields: dict[str, str], viewer: web.Viewer) -> None:
        creds = {k[2:]: v for k, v in fields.items() if k.startswith("c_") and v.strip()}
        if not creds:
            raise BadRequest("type at least one credential to set")
        destinations.set_credentials(destination_id, creds, ctx=viewer.context)

    return _change(request, destination_id, make, "credentials")


def add_rule(request: Request, destination_id: str) -> Response:
    def make(fields: dict[str, str], viewer: web.Viewer) -> None:
        rule = rule_from(fields)
        if rule is None:
            raise BadRequest("'action' is required: the conversion action or event name")
        current = destinations.get(destination_id)["rules"]
        destinations.update(destination_id, {"rules": [*current, rule]}, ctx=viewer.context)

    return _change(request, destination_id, make, "rule")


def remove_rule(request: Request, destination_id: str, rule_id: str) -> Response:
    def make(fields: dict[str, str], viewer: web.Viewer) -> None:
        current = destinations.get(destination_id)["rules"]
        destinations.update(destination_id, {"rules": [r for r in current if r["id"] != rule_id]}, ctx=viewer.context)

    return _change(request, destination_id, make, "rule-removed")


def pause(request: Request, destination_id: str, paused: bool) -> Response:
    def make(fields: dict[str, str], viewer: web.Viewer) -> None:
        body: dict[str, Any] = {"paused": paused}
        if not paused:
            body["enabled"] = True
        destinations.update(destination_id, body, ctx=viewer.context)

    return _change(request, destination_id, make, "paused" if paused else "resumed")


def send_test(request: Request, destination_id: str) -> Response:
    viewer = web.require(request, role="admin")
    web.check_csrf(request, viewer)
    result = destinations.send_test(destination_id, ctx=viewer.context)
    return detail_page(request, destination_id, test=result)


def of_call(call_sid: str) -> list[dict[str, Any]]:
    """Where a call was sent, for its page: one line per (destination, rule), newest state."""
    found = destinations.of_call(call_sid)
    log = found["log"]
    out = []
    for s in found["conversions"]:
        last: dict[str, Any] = next((x for x in log if x.get("rule_id") == s["rule_id"]), {})
        out.append({**s, "answer": last.get("answer"), "when": (s.get("at") or "")[:16].replace("T", " ")})
    return out


__all__ = ["clock"]
