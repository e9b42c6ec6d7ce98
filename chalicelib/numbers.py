"""Tracking numbers: buying them for channels and pools, the inventory, releasing.

(Leasing pool numbers to website visitors is ``chalicelib/leasing/``.)
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlencode

from chalicelib.core import clock
from chalicelib.core import validation as v
from chalicelib.core.context import SYSTEM, RequestContext, log_change
from chalicelib.core.errors import BadRequest, Conflict, NotFound, UpstreamError
from chalicelib.core.observability import logger
from chalicelib.core.settings import get_settings
from chalicelib.core.telephony import TelephonyError, Webhooks, get_provider
from chalicelib.store import lines
from chalicelib.store.lines import Channel, Number, Pool

PROVISION_FIELDS = {"channel_id", "pool_id", "country", "area_code", "contains", "number", "overflow"}


REPOINT_BUDGET_SECONDS = 20.0  # API Gateway gives a request 29 s; what is left is finished by saving again


def webhooks(forward_to: str | None = None) -> Webhooks:
    """This deployment's webhook URLs, from the configured public base URL (never a Host header).

    The voice and fallback URLs carry the line's phone (``?to=+1...``): Twilio signs the whole
    URL, so the fallback, and the voice webhook when DynamoDB fails, can forward the call to
    the right phone without the database.
    """
    base = get_settings().public_base_url
    if not base:
        raise Conflict("PUBLIC_BASE_URL is not configured, so Twilio could not reach this deployment")
    query = f"?{urlencode({'to': forward_to})}" if forward_to else ""
    return Webhooks(
        voice_url=f"{base}/twilio/voice{query}",
        voice_fallback_url=f"{base}/twilio/fallback{query}",
        status_callback=f"{base}/twilio/call-status",
        sms_url=f"{base}/twilio/sms",
    )


def to_dict(n: Number) -> dict[str, Any]:
    out: dict[str, Any] = {
        "number": n.number,
        "display": v.display(n.number),
        "status": n.status,
        "kind": n.kind,
        "channel_id": n.channel_id,
        "pool_id": n.pool_id,
        "provider": n.provider,
        "provider_sid": n.provider_sid,
        "created_at": clock.iso(int(n.created_at)),
        "released_at": clock.iso(int(n.released_at)) if n.released_at is not None else None,
    }
    return out


def _target(body: dict[str, Any], ctx: RequestContext) -> tuple[str, str | None, str | None, str]:
    """The number's kind, its channel or pool, and that line's phone."""
    channel_id = v.string(body, "channel_id", max_len=64)
    pool_id = v.string(body, "pool_id", max_len=64)
    if bool(channel_id) == bool(pool_id):
        raise BadRequest("give exactly one of 'channel_id' or 'pool_id'")
    if channel_id:
        channel = lines.get_channel(channel_id, ctx=ctx)
        return "channel", channel_id, None, channel.forward_to
    pool = lines.get_pool(pool_id or "", ctx=ctx)
    overflow = v.boolean(body, "overflow", default=False)
    return ("overflow" if overflow else "pool"), None, pool_id, pool.forward_to


def search_terms(body: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """The country (``US`` by default), area code and "contains" pattern of a number search, or a 400."""
    country = (v.string(body, "country", max_len=2) or "US").upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise BadRequest("'country' must be a two-letter ISO country code")
    area_code = v.string(body, "area_code", max_len=5)
    if area_code is not None and not re.fullmatch(r"\d{2,5}", area_code):
        raise BadRequest("'area_code' must be 2 to 5 digits")
    contains = v.string(body, "contains", max_len=10)
    if contains is not None and not re.fullmatch(r"[0-9*]{1,10}", contains):
        raise BadRequest("'contains' must be digits (and * as a wildcard)")
    return country, area_code, contains


def available(body: dict[str, Any], *, limit: int = 10) -> list[dict[str, Any]]:
    """Numbers the provider offers for a search (``country``, ``area_code``, ``contains``): what
    the dashboard lists before buying one. Twilio's search returns no price."""
    v.reject_unknown(body, {"country", "area_code", "contains"})
    country, area_code, contains = search_terms(body)
    try:
        found = get_provider().search(country=country, area_code=area_code, contains=contains, limit=limit)
    except TelephonyError as exc:
        if exc.client_error:
            raise BadRequest(f"the telephony provider refused the search: {exc}") from None
        raise UpstreamError(f"the telephony provider failed: {exc}") from None
    return [
        {"number": a.number, "display": v.display(a.number), "locality": a.locality, "region": a.region} for a in found
    ]


def provision(body: dict[str, Any], *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """Search for a number (or take the one given) and buy it for a channel or a pool."""
    log_change(ctx, "numbers.provision")
    v.reject_unknown(body, PROVISION_FIELDS)
    kind, channel_id, pool_id, forward_to = _target(body, ctx)
    if kind != "overflow" and "overflow" in body and body["overflow"]:
        raise BadRequest("'overflow' applies to pool numbers only")
    country, area_code, contains = search_terms(body)
    wanted = v.e164(body["number"], "number") if body.get("number") is not None else None

    hooks = webhooks(forward_to)
    provider = get_provider()
    try:
        if wanted is None:
            found = provider.search(country=country, area_code=area_code, contains=contains, limit=1)
            if not found:
                raise Conflict("no number is available for that country, area code and pattern")
            wanted = found[0].number
        _ensure_free(wanted)
        _refuse_forward_target(wanted)
        bought = provider.buy(wanted, hooks)
    except TelephonyError as exc:
        if exc.client_error:
            raise Conflict(f"the telephony provider refused: {exc}") from None
        raise UpstreamError(f"the telephony provider failed: {exc}") from None

    item = Number(
        bought.number,
        provider=provider.name,
        provider_sid=bought.sid,
        status="active",
        kind=kind,
        channel_id=channel_id,
        pool_id=pool_id,
        friendly_name=bought.friendly_name,
        hooks_to=forward_to,
        hooks_base=get_settings().public_base_url,
        created_at=clock.now_ms(),
        # A never-leased number sorts first among the least recently released.
        lease_ended_at=0 if kind == "pool" else None,
    )
    if not lines.create_number(item, ctx=ctx):
        raise Conflict(f"{bought.number} is already a tracking number here")
    if kind == "overflow":
        lines.set_overflow_number(pool_id or "", bought.number, clock.now_ms())
    return to_dict(item)


def line_type(phone: str) -> str | None:
    """What kind of phone ``phone`` is, by the provider's Lookup; ``None`` when unknown or when
    the lookup failed (a line is never refused for it: screening just stays off)."""
    try:
        return get_provider().line_type(phone)
    except TelephonyError as exc:
        logger.warning("looking up the forward-to phone's line type failed; screening stays off", error=str(exc))
        return None


def forward_phones(fields: dict[str, Any]) -> dict[str, str]:
    """Every phone a line sends calls to, by the field that names it: ``forward_to``, each
    ``flow.failover`` phone, the ``flow.after_hours`` forward (the shapes ``chalicelib.handling`` checks).
    ``fields`` is a channel's or pool's fields, as validated for saving or as stored."""
    out: dict[str, str] = {}
    if fields.get("forward_to"):
        out["forward_to"] = fields["forward_to"]
    fl = fields.get("flow") or {}
    for i, phone in enumerate(fl.get("failover") or []):
        out[f"flow.failover[{i}]"] = phone
    after = fl.get("after_hours") or {}
    if after.get("forward_to"):
        out["flow.after_hours.forward_to"] = after["forward_to"]
    return out


def refuse_tracking_numbers(phones: dict[str, str]) -> None:
    """A 400 when a phone a line forwards to (``{field: E.164}``, see ``forward_phones``) is
    one of this deployment's active tracking numbers: its calls would come back to us, be
    forwarded to it again, and loop (each leg billed) until the carrier gives up.

    A released number is not ours any more, so it may be any business's phone. Channels and
    pools (the API, the seeding script, and a dashboard form when there is one) all save through here."""
    for field, phone in phones.items():
        item = lines.find_number(phone)
        if item is not None and item.status == "active":
            raise BadRequest(
                f"'{field}' {phone} is one of this deployment's tracking numbers: its calls would come "
                "back here and loop; forward to the business's own phone"
            )


def line_phones(channels: list[Channel], pools: list[Pool]) -> Iterator[tuple[str, str, str, str]]:
    """``(phone, kind, line id, field)`` for every phone these channels and pools send calls to."""
    for ch in channels:
        for field, phone in forward_phones({"forward_to": ch.forward_to, "flow": ch.flow}).items():
            yield phone, "channel", ch.channel_id, field
    for pool in pools:
        for field, phone in forward_phones({"forward_to": pool.forward_to, "flow": pool.flow}).items():
            yield phone, "pool", pool.pool_id, field


def _refuse_forward_target(number: str) -> None:
    """A 400 when ``number``, about to be bought, is a phone a channel or pool forwards to (the
    same loop as ``refuse_tracking_numbers``, from the other side). Two scans, as the lists do:
    buying a number is rare, and a carrier seldom offers a number someone uses."""
    for phone, kind, line_id, field in line_phones(lines.list_channels(), lines.list_pools()):
        if phone == number:
            raise BadRequest(
                f"{number} is where {kind} {line_id} forwards its calls ('{field}'): as a tracking "
                "number its calls would come back here and loop"
            )


def _ensure_free(number: str) -> None:
    existing = lines.find_number(number)
    if existing is not None and existing.status == "active":
        raise Conflict(f"{number} is already a tracking number here")


def load(number: str) -> Number:
    e164 = v.e164(unquote(number), "number")
    found = lines.find_number(e164)
    if found is None:
        raise NotFound(f"{e164} is not a tracking number here")
    return found


def get(number: str, *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    return to_dict(load(number))


def list_all(
    *,
    status: str | None = None,
    channel_id: str | None = None,
    pool_id: str | None = None,
    ctx: RequestContext = SYSTEM,
) -> list[dict[str, Any]]:
    if status not in (None, "active", "released"):
        raise BadRequest("'status' must be 'active' or 'released'")
    out = []
    for n in lines.list_numbers(ctx=ctx):
        if (
            (status and n.status != status)
            or (channel_id and n.channel_id != channel_id)
            or (pool_id and n.pool_id != pool_id)
        ):
            continue
        out.append(to_dict(n))
    return sorted(out, key=lambda d: d["number"])


def require_none_active(*, channel_id: str | None = None, pool_id: str | None = None) -> None:
    """A 409 naming the active numbers of a channel or pool that is about to be deleted."""
    active = [n.number for n in lines.numbers_of(channel_id=channel_id, pool_id=pool_id) if n.status == "active"]
    if active:
        what = "channel" if channel_id else "pool"
        raise Conflict(f"release the {what}'s numbers first: {', '.join(active)}")


def repoint(*, forward_to: str, channel_id: str | None = None, pool_id: str | None = None) -> int:
    """Point the webhook URLs of a channel's or pool's active numbers at the line's phone ``forward_to``.

    Each number remembers the phone its URLs carry (``hooks_to``), so only the numbers not
    pointed there yet go to the provider: saving the line again finishes what a failure or
    the time budget left, and costs nothing when every number is up to date. Returns how
    many numbers were re-pointed; an ``UpstreamError`` says how many are left.
    """
    found = lines.numbers_of(channel_id=channel_id, pool_id=pool_id)
    stale = [n for n in found if n.status == "active" and n.hooks_to != forward_to]
    if not stale:
        return 0
    hooks = webhooks(forward_to)
    provider = get_provider()
    deadline = time.monotonic() + REPOINT_BUDGET_SECONDS
    for done, item in enumerate(stale):
        left = len(stale) - done
        if time.monotonic() > deadline:
            raise UpstreamError(f"saved; {left} number(s) still forward to the old phone when down: save it again")
        try:
            provider.update(item.provider_sid, hooks)
        except TelephonyError as exc:
            raise UpstreamError(
                f"saved, but {left} number(s) still forward to the old phone when the database is down "
                f"(the telephony provider failed: {exc}); save it again to finish"
            ) from None
        lines.set_hooks_to(item.number, forward_to)
    return len(stale)


def repoint_deployment(*, force: bool = False) -> int:
    """Point every active number's webhooks at this deployment's ``PUBLIC_BASE_URL``, where they are not yet.

    ``calltracking deploy`` calls it after the URL may have changed. Each number remembers the base
    URL it was last pointed at (``hooks_base``), so a second run sends nothing to the provider, and a
    run that failed half way finishes on the next. Numbers of another provider (a local number in a
    copied table) are left alone. ``force`` re-points them all (after a change made in the provider's
    console, which ``hooks_base`` cannot see). Returns how many numbers were re-pointed.
    """
    base = get_settings().public_base_url
    provider = get_provider()
    stale = [n for n in lines.active_numbers() if (force or n.hooks_base != base) and n.provider == provider.name]
    for done, item in enumerate(stale):
        hooks = webhooks(item.hooks_to)  # after the scan: an empty PUBLIC_BASE_URL with no numbers is fine
        try:
            provider.update(item.provider_sid, hooks)
        except TelephonyError as exc:
            raise UpstreamError(
                f"{done} number(s) re-pointed, {len(stale) - done} still point at the old URL "
                f"(the telephony provider failed on {item.number}: {exc}); run it again to finish"
            ) from None
        lines.set_hooks_base(item.number, base)
    return len(stale)


def release(number: str, *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """Give the number back to the carrier; its item (and its calls) stay, marked released."""
    log_change(ctx, "numbers.release", number=number)
    item = load(number)
    if item.status == "released":
        return to_dict(item)
    try:
        get_provider().release(item.provider_sid)
    except TelephonyError as exc:
        if not exc.client_error:
            raise UpstreamError(f"the telephony provider failed: {exc}") from None
        # A 404 from the carrier means it is gone already: mark it released here too.
    item = lines.mark_released(item.number, clock.now_ms(), ctx=ctx)
    if item.kind == "overflow" and item.pool_id:
        _clear_overflow_number(item.pool_id, item.number)
    return to_dict(item)


# The pool item names its overflow number; it follows the number's purchase and release.


def _clear_overflow_number(pool_id: str, number: str) -> None:
    pool = lines.get_pool(pool_id)
    if pool.overflow_number == number:
        lines.clear_overflow_number(pool_id, clock.now_ms(), back_to_original=pool.exhaustion_policy == "overflow")
