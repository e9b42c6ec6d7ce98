"""Destinations: a platform, its settings, its rules, its credentials (SSM, set once, never shown
again), the pause switch, send test, the delivery log. The API and the dashboard both call these."""

from __future__ import annotations

import secrets as token
from typing import Any

from chalicelib.core import clock, secrets
from chalicelib.core import validation as v
from chalicelib.core.context import SYSTEM, RequestContext, log_change
from chalicelib.core.errors import BadRequest, NotFound, SecretUnavailable
from chalicelib.core.observability import logger
from chalicelib.core.settings import get_settings
from chalicelib.integrations.conversions import platforms, rules
from chalicelib.integrations.conversions import settings as conv_settings
from chalicelib.integrations.conversions.platform import DAY_MS, Platform, window_ms
from chalicelib.integrations.conversions.platform import Destination as PlatformDestination
from chalicelib.store import conversions as store
from chalicelib.store.conversions import Destination

MAX_DESTINATIONS = 20
LOG_DAYS = 90
FIELDS = {"platform", "name", "settings", "rules", "credentials", "enabled", "paused", "backfill_days"}


def platform_of(name: Any) -> Platform:
    if not isinstance(name, str) or name not in platforms.names():
        raise BadRequest(f"'platform' must be one of: {', '.join(platforms.names())}")
    return platforms.get(name)


def param(destination_id: str, field: str) -> str:
    return f"{conv_settings.get().conversions_ssm_prefix}/{destination_id}/{field}"


def _load(destination_id: str) -> Destination:
    found = store.get_destination(destination_id) if 0 < len(destination_id) <= 64 else None
    if found is None:
        raise NotFound(f"no conversion destination {destination_id[:64]!r}")
    return found


def load(destination_id: str) -> Destination:
    return _load(destination_id)


def public(item: Destination) -> dict[str, Any]:
    d = item.data
    backfill = d.get("backfill") or {}
    stuck = d.get("stuck") or {}
    return {
        "id": item.id,
        "platform": d["platform"],
        "name": d.get("name"),
        "settings": d.get("settings", {}),
        # the value is kept as its exact decimal text; shown as the number it is
        "rules": [{**r, "value": None if r.get("value") is None else float(r["value"])} for r in d.get("rules", [])],
        # Which credentials are set and when: never their values.
        "credentials": {
            f: {"set": f in d.get("credentials", {}), "set_at": clock.iso(d.get("credentials", {}).get(f))}
            for f in platform_of(d["platform"]).credential_fields
        },
        "enabled": bool(d.get("enabled")),
        "paused": bool(d.get("paused")),
        "disabled_reason": d.get("disabled_reason"),
        "window_days": _window_days(d),
        "backfill": {
            "state": backfill.get("state", "none"),
            "since": clock.iso(backfill.get("since_ms")),
            "considered": backfill.get("considered", 0),
        },
        "stuck": {
            "count": int(stuck.get("count", 0)),
            "since": clock.iso(stuck.get("since")),
            "reason": stuck.get("reason"),
        },
        "created_at": clock.iso(d.get("created_at")),
        "updated_at": clock.iso(d.get("updated_at")),
    }


def _window_days(d: dict[str, Any]) -> int:
    return window_ms(platform_of(d["platform"]), d.get("settings")) // DAY_MS


def _settings(platform: Platform, value: Any) -> dict[str, Any]:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise BadRequest("'settings' must be a JSON object")
    try:
        return dict(platform.check_settings(value))
    except ValueError as exc:
        raise BadRequest(f"settings: {exc}") from None


def _rules(platform: Platform, value: Any, current: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The rules, each action checked by the platform where it can (a resource name, an event name)."""
    found = rules.check_all(value, current)
    check = getattr(platform, "check_action", None)
    for i, rule in enumerate(found):
        problem = check(rule["action"], {}) if check else None
        if problem:
            raise BadRequest(f"rules[{i}]: 'action': {problem}")
        if rule["static_calls"] and not platform.takes_static_calls:
            raise BadRequest(
                f"rules[{i}]: {platform.title} cannot take channel (static number) calls: they have no "
                "click or client id"
            )
    return found


def _store_credentials(destination_id: str, platform: Platform, value: Any, known: dict[str, int]) -> dict[str, int]:
    if value is None:
        return known
    if not isinstance(value, dict):
        raise BadRequest("'credentials' must be a JSON object")
    unknown = set(value) - set(platform.credential_fields)
    if unknown:
        raise BadRequest(
            f"unknown credential {sorted(unknown)[0]!r}; {platform.title} takes: "
            f"{', '.join(platform.credential_fields)}"
        )
    out = dict(known)
    now = clock.now_ms()
    for field, secret in value.items():
        text = v.string({field: secret}, field, required=True, max_len=4000)
        assert text is not None
        try:
            secrets.put_parameter(param(destination_id, field), text)
        except Exception as exc:
            logger.warning(
                "storing a conversion credential failed", destination_id=destination_id, error=type(exc).__name__
            )
            raise SecretUnavailable("the credential could not be stored in SSM just now; try again") from None
        out[field] = now
    return out


def create(body: dict[str, Any], *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """A new destination; its credentials go to SSM and are never shown again. Starts the backfill."""
    log_change(ctx, "conversions.create")
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    v.reject_unknown(body, FIELDS)
    platform = platform_of(body.get("platform"))
    if len(store.list_destinations()) >= MAX_DESTINATIONS:
        raise BadRequest(f"at most {MAX_DESTINATIONS} conversion destinations")
    name = v.string(body, "name", max_len=100) or platform.title
    data: dict[str, Any] = {
        "platform": platform.name,
        "name": name,
        "settings": _settings(platform, body.get("settings")),
        "rules": _rules(platform, body.get("rules", [])),
        "enabled": v.boolean(body, "enabled", default=True),
        "paused": v.boolean(body, "paused", default=False),
    }
    days = v.integer(body, "backfill_days", default=conv_settings.get().conversions_backfill_days, lo=0, hi=90)
    destination_id = "cd_" + token.token_hex(8)
    data["credentials"] = _store_credentials(destination_id, platform, body.get("credentials"), {})
    now = clock.now_ms()
    data.update(created_at=now, updated_at=now)
    if days:
        since = max(now - int(days) * 86_400_000, now - _window_days(data) * 86_400_000)
        data["backfill"] = {"state": "running", "since_ms": since, "until_ms": now, "considered": 0}
    store.create_destination(Destination(destination_id, data))
    return public(Destination(destination_id, data))


def list_all() -> list[dict[str, Any]]:
    return sorted((public(d) for d in store.list_destinations()), key=lambda d: (d["created_at"] or "", d["id"]))


def get(destination_id: str) -> dict[str, Any]:
    return public(_load(destination_id))


def update(destination_id: str, body: dict[str, Any], *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    log_change(ctx, "conversions.update", destination_id=destination_id)
    item = _load(destination_id)
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    v.reject_unknown(body, FIELDS - {"platform", "backfill_days"})
    data = dict(item.data)
    platform = platform_of(data["platform"])
    if "name" in body:
        data["name"] = v.string(body, "name", max_len=100) or platform.title
    if "settings" in body:
        data["settings"] = _settings(
            platform,
            {**data.get("settings", {}), **(body["settings"] or {})}
            if isinstance(body["settings"], dict)
            else body["settings"],
        )
    if "rules" in body:
        data["rules"] = _rules(platform, body["rules"], data.get("rules"))
    for switch in ("enabled", "paused"):
        got = v.boolean(body, switch)
        if got is not None:
            data[switch] = got
            if switch == "enabled" and got:
                data.update(disabled_reason=None, stuck=None)
    data["credentials"] = _store_credentials(item.id, platform, body.get("credentials"), data.get("credentials", {}))
    data["updated_at"] = clock.now_ms()
    if not store.save_destination(Destination(item.id, data)):
        raise NotFound(f"no conversion destination {destination_id[:64]!r}")
    return public(Destination(item.id, data))


def set_credentials(destination_id: str, body: dict[str, Any], *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """Replace some credentials (each set once more; never read back)."""
    log_change(ctx, "conversions.credentials", destination_id=destination_id)
    if not isinstance(body, dict) or not body:
        raise BadRequest("the body must be a JSON object of credentials")
    return update(destination_id, {"credentials": body}, ctx=ctx)


def delete(destination_id: str, *, ctx: RequestContext = SYSTEM) -> None:
    log_change(ctx, "conversions.delete", destination_id=destination_id)
    item = _load(destination_id)
    for field in item.data.get("credentials", {}):
        try:
            secrets.delete_parameter(param(item.id, field))
        except Exception:
            logger.warning("could not delete a conversion credential", destination_id=item.id)
    store.delete_destination(item.id)


def disable(destination_id: str, reason: str) -> None:
    """Switched off by the system (dead credentials): an alert names it; a person turns it on again."""
    item = store.get_destination(destination_id)
    if item is None:
        return
    data = {**item.data, "enabled": False, "disabled_reason": reason, "updated_at": clock.now_ms()}
    store.save_destination(Destination(item.id, data))
    logger.warning("conversion destination disabled", destination_id=destination_id, reason=reason)


def note_stuck(destination_id: str, reason: str, now: int) -> None:
    item = store.get_destination(destination_id)
    if item is None:
        return
    stuck = dict(item.data.get("stuck") or {})
    stuck.update(count=int(stuck.get("count", 0)) + 1, since=stuck.get("since") or now, reason=reason[:300])
    store.save_destination(Destination(item.id, {**item.data, "stuck": stuck}))


def for_platform(item: Destination) -> PlatformDestination:
    """The destination as its platform sees it, its credentials read from SSM now."""
    platform = platform_of(item.data["platform"])
    creds = {}
    for field in platform.credential_fields:
        if field in item.data.get("credentials", {}):
            try:
                creds[field] = secrets.parameter(param(item.id, field), f"the {field} of {item.id}")
            except Exception as exc:
                raise SecretUnavailable(
                    f"the credential {field} could not be read from SSM: {type(exc).__name__}"
                ) from None
    return PlatformDestination(
        item.id, platform.name, dict(item.data.get("settings", {})), creds, local=get_settings().local
    )


def send_test(destination_id: str, *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """A made-up conversion, validate-only where the platform has it; logged like any send."""
    log_change(ctx, "conversions.test", destination_id=destination_id)
    item = _load(destination_id)
    platform = platform_of(item.data["platform"])
    now = clock.now_ms()
    try:
        result = platform.send_test(for_platform(item), now)
    except SecretUnavailable as exc:
        return {"ok": False, "messages": [str(exc)], "sent": "", "answer": "", "status": None}
    out = {
        "ok": result.ok,
        "messages": list(result.messages),
        "sent": result.sent,
        "answer": result.answer,
        "status": result.status,
    }
    store.log(
        item.id,
        "test",
        "test",
        now,
        token.token_hex(3),
        {
            "at": now,
            "call_sid": None,
            "rule_id": None,
            "kind": "test",
            "result": "sent" if result.ok else "final",
            "reason": "; ".join(result.messages) or ("the platform accepted the test" if result.ok else "refused"),
            "sent": result.sent[:2000],
            "answer": result.answer[:2000],
            "status": result.status,
        },
        keep_days=LOG_DAYS,
    )
    return out


def _line(d: dict[str, Any]) -> dict[str, Any]:
    return {**d, "at": clock.iso(d.get("at"))}


def deliveries(destination_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """The destination's delivery log, newest first."""
    _load(destination_id)
    return [_line(d) for d in store.destination_log(destination_id, limit)]


def of_call(call_sid: str) -> dict[str, Any]:
    """Where a call was sent: its state per (destination, rule) and its log lines."""
    names = {d.id: d.data.get("name") for d in store.list_destinations()}
    states = [
        {
            "destination_id": dest,
            "destination": names.get(dest),
            "rule_id": rule,
            "status": s.get("status"),
            "reason": s.get("reason"),
            "value": s.get("value"),
            "at": clock.iso(s.get("at")),
        }
        for dest, rule, s in store.call_states(call_sid)
    ]
    return {"call_sid": call_sid, "conversions": states, "log": [_line(d) for d in store.call_log(call_sid)]}
