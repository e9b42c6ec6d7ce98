"""Rules: which calls count for a destination, the action or event each sends, its value.

Pure: a rule is validated once (``check``) and applied to a call as the API shows it
(``calls.to_dict``, the events' ``call``), with no I/O. ``conversion`` builds what a platform
receives from a call, a destination and a rule.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from chalicelib import attribution, spam
from chalicelib.core import clock
from chalicelib.core import validation as v
from chalicelib.core.errors import BadRequest
from chalicelib.core.settings import get_settings
from chalicelib.integrations.conversions.platform import AdjustmentKind, ClickIds, Consent, Conversion, CrmCall

OUTCOMES = ("lead", "sale")
FIELDS = {
    "id",
    "action",
    "answered",
    "min_talk_seconds",
    "first_time_only",
    "outcomes",
    "tags",
    "sources",
    "value",
    "value_from_revenue",
    "currency",
    "static_calls",
    "enabled",
}
MAX_RULES = 20
MAX_LIST = 50
_CONSENT = ("granted", "denied")


def _strings(body: dict[str, Any], name: str, *, allowed: tuple[str, ...] | None = None) -> list[str]:
    value = body.get(name, [])
    if not isinstance(value, list) or len(value) > MAX_LIST:
        raise BadRequest(f"'{name}' must be a list of at most {MAX_LIST} strings")
    out = []
    for i, item in enumerate(value):
        s = v.string({name: item}, name, required=True, max_len=100)
        assert s is not None
        if allowed is not None and s not in allowed:
            raise BadRequest(f"'{name}[{i}]' must be one of: {', '.join(allowed)}")
        out.append(s)
    return sorted(set(out))


def check(body: Any, *, known: dict[str, Any] | None = None) -> dict[str, Any]:
    """A rule as stored, or a 400 saying what is wrong. ``known``: the rule it replaces (keeps its id)."""
    if not isinstance(body, dict):
        raise BadRequest("a rule must be a JSON object")
    v.reject_unknown(body, FIELDS)
    action = v.string(body, "action", required=True, max_len=200)
    assert action is not None
    currency = (v.string(body, "currency", max_len=3) or "USD").upper()
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        raise BadRequest("'currency' must be a three-letter ISO 4217 code like USD")
    value = body.get("value")
    amount = None if value is None else str(v.money(value, "value"))
    return {
        "id": (known or {}).get("id") or "ru_" + secrets.token_hex(6),
        "action": action,
        "answered": v.boolean(body, "answered", default=True),
        "min_talk_seconds": v.integer(body, "min_talk_seconds", default=0, lo=0, hi=36_000),
        "first_time_only": v.boolean(body, "first_time_only", default=False),
        "outcomes": _strings(body, "outcomes", allowed=OUTCOMES),
        "tags": _strings(body, "tags"),
        "sources": _strings(body, "sources"),
        "value": amount,
        "value_from_revenue": v.boolean(body, "value_from_revenue", default=False),
        "currency": currency,
        "static_calls": v.boolean(body, "static_calls", default=False),
        "enabled": v.boolean(body, "enabled", default=True),
    }


def check_all(value: Any, current: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    if not isinstance(value, list) or len(value) > MAX_RULES:
        raise BadRequest(f"'rules' must be a list of at most {MAX_RULES} rules")
    by_id = {r["id"]: r for r in current or []}
    out = []
    for i, item in enumerate(value):
        try:
            known = by_id.get(item.get("id")) if isinstance(item, dict) and isinstance(item.get("id"), str) else None
            out.append(check(item, known=known))
        except BadRequest as exc:
            raise BadRequest(f"rules[{i}]: {exc}") from None
    return out


def is_static(call: dict[str, Any]) -> bool:
    """A channel (static number) call: no visit behind it."""
    attr = call.get("attribution") or {}
    return call.get("kind") == "channel" or attr.get("confidence") == "static"


def why_not(rule: dict[str, Any], call: dict[str, Any]) -> str | None:
    """None if the call counts for the rule, else why not, in words."""
    if not rule.get("enabled", True):
        return "the rule is switched off"
    kept_out = spam.kept_out(call)
    if kept_out:
        return kept_out
    if rule.get("answered", True) and not call.get("answered"):
        return "the call was not answered"
    if int(call.get("talk_time") or 0) < int(rule.get("min_talk_seconds") or 0):
        return f"talk time under {rule['min_talk_seconds']} s"
    if rule.get("first_time_only") and not call.get("first_time"):
        return "not a first-time caller"
    if rule.get("outcomes") and call.get("outcome") not in rule["outcomes"]:
        return f"outcome is not {' or '.join(rule['outcomes'])}"
    if rule.get("tags") and not set(rule["tags"]) & set(call.get("tags") or []):
        return "none of the rule's tags"
    if rule.get("sources") and source_of(call) not in rule["sources"]:
        return f"source {source_of(call)} is not among the rule's"
    if is_static(call) and not rule.get("static_calls"):
        return "a channel (static number) call, and the rule leaves them out"
    return None


def source_of(call: dict[str, Any]) -> str:
    return attribution.source_key(call.get("attribution"), call.get("kind"))


def value_of(rule: dict[str, Any], call: dict[str, Any]) -> float | None:
    """The call's revenue when the rule takes it and it is set, else the rule's fixed value."""
    if rule.get("value_from_revenue") and call.get("revenue") is not None:
        return float(Decimal(str(call["revenue"])))
    return float(Decimal(rule["value"])) if rule.get("value") is not None else None


def _consent(source: dict[str, Any]) -> Consent:
    def state(name: str) -> Any:
        got = source.get(f"consent_{name}") or source.get(name)
        return got if got in _CONSENT else "unspecified"

    return Consent(state("ad_user_data"), state("ad_personalization"))


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def conversion(
    call: dict[str, Any],
    destination_id: str,
    rule: dict[str, Any],
    *,
    adjustment: AdjustmentKind = "none",
    previous_value: float | None = None,
    attempt: int = 1,
) -> Conversion:
    """What a platform receives for ``call`` under ``rule``."""
    attr = call.get("attribution") or {}
    source = attr.get("source") or {}
    consent = _consent(source)
    started = clock.parse_iso(call["started_at"]) if call.get("started_at") else 0
    duration = int(call.get("duration") or 0)
    talk = int(call.get("talk_time") or 0)

    def sid(name: str) -> str | None:
        got = source.get(name)
        return str(got)[:200] if got else None

    return Conversion(
        call_sid=call["sid"],
        destination_id=destination_id,
        rule_id=rule["id"],
        action=rule["action"],
        occurred_at_ms=started,
        value=value_of(rule, call),
        currency=rule.get("currency") or "USD",
        click_ids=ClickIds(*(sid(k) for k in ("gclid", "gbraid", "wbraid", "fbclid", "yclid", "msclkid"))),
        ga_client_id=sid("ga_client_id"),
        ga_session_id=sid("ga_session_id"),
        ym_client_id=sid("ym_client_id"),
        landing_url=sid("landing_page"),
        click_at_ms=_int(attr.get("lease_started_at")),
        consent=consent,
        caller_e164=call.get("caller") if consent.user_data and v.is_e164(call.get("caller")) else None,
        static_call=is_static(call),
        answered=bool(call.get("answered")),
        talk_seconds=talk,
        hold_seconds=max(0, duration - talk),
        first_time_caller=bool(call.get("first_time")),
        tags=tuple(call.get("tags") or ()),
        outcome=call.get("outcome"),
        adjustment=adjustment,
        previous_value=previous_value,
        attempt=attempt,
        crm=crm_call(call),
    )


UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def crm_call(call: dict[str, Any]) -> CrmCall:
    """The first-party details a CRM platform receives (see ``CrmCall``)."""
    source = (call.get("attribution") or {}).get("source") or {}
    utm = tuple((k, str(source[k])[:200]) for k in UTM if source.get(k))
    sid = str(call.get("sid") or "")
    return CrmCall(
        caller=call.get("caller") if v.is_e164(call.get("caller")) else None,
        called=call.get("called") if v.is_e164(call.get("called")) else None,
        forwarded_to=call.get("forwarded_to"),
        channel_id=call.get("channel_id"),
        pool_id=call.get("pool_id"),
        channel_name=call.get("channel_name"),
        source=source_of(call),
        utm=utm,
        duration_seconds=int(call.get("duration") or 0),
        status=str(call.get("status") or ""),
        link=f"{get_settings().public_base_url}/dashboard/calls/{sid}" if sid else None,
        recorded=bool(call.get("recording")),
    )
