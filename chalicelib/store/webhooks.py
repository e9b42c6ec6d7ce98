"""Webhook endpoints (settings and secrets as typed items, ``store.shapes``) and their deliveries' log."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import UpdateError

from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.store import keys, shapes
from chalicelib.store.cursor import CursorCodec
from chalicelib.store.models import CounterModel, StoreModel, _meta
from chalicelib.store.ops import condition_failed, expires_after

FIELDS = (
    "url",
    "events",
    "channel_id",
    "pool_id",
    "enabled",
    "disabled_reason",
    "description",
    "created_at",
    "updated_at",
    "failing_since",
    "secrets",
)


class EndpointItem(StoreModel):
    """A webhook endpoint (pk ``HOOK#endpoints``, sk its id)."""

    Meta = _meta("counters")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    url = UnicodeAttribute(null=True)
    events = ListAttribute(of=UnicodeAttribute, null=True)
    channel_id = UnicodeAttribute(null=True)
    pool_id = UnicodeAttribute(null=True)
    enabled = BooleanAttribute(null=True)
    disabled_reason = UnicodeAttribute(null=True)
    description = UnicodeAttribute(null=True)
    created_at = NumberAttribute(null=True)
    updated_at = NumberAttribute(null=True)
    failing_since = NumberAttribute(null=True)
    # [{"key": "whsec_…", "until": epoch ms or null}]: stored as they are, they must be able to sign
    secrets = JSONAttribute(null=True)
    shape = NumberAttribute(null=True)
    data = JSONAttribute(null=True)  # schema 0, still written for a rollback


@dataclass(frozen=True)
class Endpoint:
    """An endpoint's id and settings (``FIELDS``; the domain validates them, the store keeps them)."""

    id: str
    settings: dict[str, Any] = field(default_factory=dict)


def _endpoint(item: EndpointItem) -> Endpoint:
    return Endpoint(item.sk, shapes.read(item, FIELDS))


def list_endpoints(*, ctx: RequestContext = SYSTEM) -> list[Endpoint]:
    return [_endpoint(i) for i in EndpointItem.query(keys.WEBHOOKS_PK)]


def get_endpoint(endpoint_id: str, *, ctx: RequestContext = SYSTEM) -> Endpoint | None:
    try:
        return _endpoint(EndpointItem.get(*keys.webhook_endpoint(endpoint_id), consistent_read=True))
    except EndpointItem.DoesNotExist:
        return None


def create_endpoint(endpoint: Endpoint, *, ctx: RequestContext = SYSTEM) -> None:
    """Store a new endpoint (an id collision raises: vanishingly rare, the client may try again)."""
    item = EndpointItem(*keys.webhook_endpoint(endpoint.id))
    item.update(
        actions=shapes.write(EndpointItem, FIELDS, endpoint.settings), condition=EndpointItem.sk.does_not_exist()
    )


def save_endpoint(endpoint: Endpoint, *, ctx: RequestContext = SYSTEM) -> bool:
    """Replace an existing endpoint's settings; ``False`` if it was deleted meanwhile."""
    try:
        EndpointItem(*keys.webhook_endpoint(endpoint.id)).update(
            actions=shapes.write(EndpointItem, FIELDS, endpoint.settings), condition=EndpointItem.sk.exists()
        )
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def delete_endpoint(endpoint_id: str, *, ctx: RequestContext = SYSTEM) -> None:
    EndpointItem(*keys.webhook_endpoint(endpoint_id)).delete()


# --- deliveries and their log ----------------------------------------------------------------------


def count_attempt(endpoint_id: str, delivery_id: str, event: dict[str, Any], *, expires_at_ms: int) -> int:
    """Count one more attempt of a delivery (keeping its event, to send again); the attempt's number."""
    item = CounterModel(*keys.webhook_message(endpoint_id, delivery_id))
    item.update(
        actions=[
            CounterModel.attempts.add(1),
            CounterModel.data.set({"event": event}),
            CounterModel.expires_at.set(expires_after(expires_at_ms, 0)),
        ]
    )
    return int(item.attempts or 1)


def log_attempt(
    endpoint_id: str, at_ms: int, delivery_id: str, attempt: int, record: dict[str, Any], *, expires_at_ms: int
) -> None:
    """One line of the endpoint's delivery log."""
    CounterModel(
        *keys.webhook_attempt(endpoint_id, at_ms, delivery_id, attempt),
        data=record,
        expires_at=expires_after(expires_at_ms, 0),
    ).save()


def attempts(endpoint_id: str, limit: int) -> list[dict[str, Any]]:
    """The endpoint's logged attempts, newest first."""
    query = CounterModel.query(keys.webhook_attempts(endpoint_id), scan_index_forward=False, limit=limit)
    return [dict(item.data or {}) for item in query]


def delivery_event(endpoint_id: str, delivery_id: str) -> dict[str, Any] | None:
    """The event a delivery carries (as ``Event.to_json``), or ``None`` if there is no such delivery."""
    try:
        item = CounterModel.get(*keys.webhook_message(endpoint_id, delivery_id))
    except CounterModel.DoesNotExist:
        return None
    event = (item.data or {}).get("event")
    return event if isinstance(event, dict) else None


def _carries(value: Any, forms: tuple[str, ...]) -> bool:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return any(f in text for f in forms)


def deliveries_of_caller(forms: tuple[str, ...], *, ctx: RequestContext = SYSTEM) -> list[dict[str, Any]]:
    """Every delivery (event kept to send again) whose event carries one of ``forms`` of a caller's
    number, with its endpoint: what was sent where, for a caller's access request. Every step at
    once (``deliveries_step``); the caller job runs a step per chunk."""
    found, token = deliveries_step(forms, None, ctx=ctx)
    while token:
        more, token = deliveries_step(forms, token, ctx=ctx)
        found += more
    return found


def deliveries_step(
    forms: tuple[str, ...], token: str | None, *, limit: int | None = None, ctx: RequestContext = SYSTEM
) -> tuple[list[dict[str, Any]], str | None]:
    """One bounded step of ``deliveries_of_caller``: one Query page of one endpoint's kept
    deliveries from where ``token`` left off; ``(the deliveries found in it, the next step's
    token)``, the token ``None`` once every endpoint is done (as ``scrub_step`` walks them)."""
    step = _page_step(token, ("messages",), limit, ctx)
    if step is None:
        return [], None
    endpoint, _, items, after = step
    found = []
    for item in items:
        event = (item.data or {}).get("event")
        if isinstance(event, dict) and _carries(event, forms):
            found.append(
                {
                    "endpoint_id": endpoint.id,
                    "url": endpoint.settings.get("url"),
                    "delivery_id": item.sk,
                    "event_id": event.get("id"),
                    "type": event.get("type"),
                    "call_sid": event.get("call_sid"),
                    "attempts": int(item.attempts or 0),
                }
            )
    return found, after


SCRUB_PAGE = 100  # items read by one scrub step: one Query page, well under a second on moto
_PARTS = ("messages", "attempts")  # per endpoint, in order: its kept deliveries, then its delivery log


def _scrub_key_ok(key: dict[str, Any], part: str) -> bool:
    endpoint_id, _, what = part.rpartition("#")
    pk = f"HOOK#{endpoint_id}#{what}"
    sk = key.get("sk")
    return (
        set(key) == {"pk", "sk"}
        and key["pk"] == {"S": pk}
        and isinstance(sk, dict)
        and set(sk) == {"S"}
        and isinstance(sk["S"], str)
        and 0 < len(sk["S"]) <= 200
    )


SCRUB_CURSOR = CursorCodec("w", "not a webhook scrub's cursor", _scrub_key_ok)


def _scrub_item(item: CounterModel, what: str, forms: tuple[str, ...]) -> int:
    if what == "messages":
        if _carries((item.data or {}).get("event"), forms):
            item.delete()
            return 1
        return 0
    record = dict(item.data or {})
    if record.get("response") and _carries(record["response"], forms):
        record["response"] = "(removed: the caller was erased)"
        item.update(actions=[CounterModel.data.set(record)])
        return 1
    return 0


def scrub_step(
    forms: tuple[str, ...], token: str | None, *, limit: int | None = None, ctx: RequestContext = SYSTEM
) -> tuple[int, str | None]:
    """One bounded step of ``scrub_caller``: one Query page (at most ``limit`` items, default
    ``SCRUB_PAGE``) of one endpoint's kept deliveries or delivery log, from where ``token``
    (``SCRUB_CURSOR``) left off;
    ``(items changed, the next step's token)``, the token ``None`` once every endpoint is done.

    Endpoints are taken in id order, so one deleted or added between two steps is no problem: a
    step resumes at the first endpoint at or after the token's. The caller job
    (``privacy.jobs``) runs one step per chunk and keeps the token as its cursor, so an erasure
    with any number of deliveries stays a string of short Lambda runs."""
    step = _page_step(token, _PARTS, limit, ctx)
    if step is None:
        return 0, None
    _, what, items, after = step
    return sum(_scrub_item(item, what, forms) for item in items), after


def _page_step(
    token: str | None, parts: tuple[str, ...], limit: int | None, ctx: RequestContext
) -> tuple[Endpoint, str, list[CounterModel], str | None] | None:
    """One Query page of the endpoints' ``parts`` (endpoints in id order, each one's parts in
    order) from where ``token`` left off: the endpoint, the part, the page's items and the next
    page's token (``None``: every endpoint done); ``None`` when no endpoint is left."""
    key: dict[str, Any] = {}
    endpoint_id, what = "", parts[0]
    if token:
        part, key = SCRUB_CURSOR.decode(token)
        endpoint_id, _, what = part.rpartition("#")
        if what not in parts:  # a token of another walk: this walk's first part of that endpoint
            what, key = parts[0], {}
    endpoints = {e.id: e for e in list_endpoints(ctx=ctx)}
    ids = sorted(endpoints)
    ahead = [i for i in ids if i >= endpoint_id]
    if not ahead:
        return None
    if ahead[0] != endpoint_id:  # the token's endpoint went: the next one from its start
        endpoint_id, what, key = ahead[0], parts[0], {}
    results = CounterModel.query(
        f"HOOK#{endpoint_id}#{what}", page_size=limit or SCRUB_PAGE, last_evaluated_key=key or None
    )
    raw = next(results.page_iter)
    items = [CounterModel.from_raw_data(i) for i in raw.get("Items", [])]
    after = results.page_iter.last_evaluated_key
    if after:
        nxt: str | None = SCRUB_CURSOR.encode(f"{endpoint_id}#{what}", after)
    elif what != parts[-1]:
        nxt = SCRUB_CURSOR.encode(f"{endpoint_id}#{parts[parts.index(what) + 1]}", {})
    else:
        later = [i for i in ids if i > endpoint_id]
        nxt = SCRUB_CURSOR.encode(f"{later[0]}#{parts[0]}", {}) if later else None
    return endpoints[endpoint_id], what, items, nxt


def scrub_caller(forms: tuple[str, ...], *, ctx: RequestContext = SYSTEM) -> int:
    """A caller erased: every delivery whose kept event carries the number is deleted (it is never
    sent again: ``resend`` answers 404), and every logged answer of a receiver that echoed the
    number loses its body. How many items were changed. Every step at once (``scrub_step``): a
    restore's re-applied erasure runs it so; the caller job runs it a step per chunk."""
    changed, token = scrub_step(forms, None, ctx=ctx)
    while token:
        more, token = scrub_step(forms, token, ctx=ctx)
        changed += more
    return changed
