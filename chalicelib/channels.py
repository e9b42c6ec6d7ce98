"""Static tracking channels: what each is called, where its calls go, whether they are recorded."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from chalicelib import handling, numbers
from chalicelib.core import clock
from chalicelib.core import validation as v
from chalicelib.core.context import SYSTEM, RequestContext, log_change
from chalicelib.core.errors import BadRequest
from chalicelib.store import lines
from chalicelib.store.lines import Channel

FIELDS = {"name", "forward_to", "record", "disclosure", "flow"}


def to_dict(ch: Channel) -> dict[str, Any]:
    return {
        "id": ch.channel_id,
        "name": ch.name,
        "forward_to": ch.forward_to,
        "record": bool(ch.record),
        "disclosure": ch.disclosure,
        "flow": ch.flow or {},
        "created_at": clock.iso(int(ch.created_at)),
        "updated_at": clock.iso(int(ch.updated_at)),
    }


def _fields(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    v.reject_unknown(body, FIELDS)
    return handling.handling_fields(body, partial=partial)


def create(body: dict[str, Any], *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    log_change(ctx, "channels.create")
    f = _fields(body, partial=False)
    numbers.refuse_tracking_numbers(numbers.forward_phones(f))
    now = clock.now_ms()
    ch = Channel(
        channel_id="ch_" + secrets.token_hex(8),
        name=f["name"],
        forward_to=f["forward_to"],
        record=bool(f.get("record", False)),
        disclosure=handling.disclosure_for(f.get("record"), f.get("disclosure")),
        flow=handling.new_line_flow(f.get("flow"), f["forward_to"], line_type=numbers.line_type),
        created_at=now,
        updated_at=now,
    )
    lines.create_channel(ch, ctx=ctx)
    return to_dict(ch)


def load(channel_id: str, *, ctx: RequestContext = SYSTEM) -> Channel:
    return lines.get_channel(channel_id, ctx=ctx)


def get(channel_id: str, *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    return to_dict(load(channel_id, ctx=ctx))


def list_all(*, ctx: RequestContext = SYSTEM) -> list[dict[str, Any]]:
    return sorted((to_dict(c) for c in lines.list_channels(ctx=ctx)), key=lambda c: (c["name"].lower(), c["id"]))


def update(channel_id: str, body: dict[str, Any], *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    log_change(ctx, "channels.update", channel_id=channel_id)
    f = _fields(body, partial=True)
    if not f:
        raise BadRequest(f"nothing to change; send one or more of: {', '.join(sorted(FIELDS))}")
    numbers.refuse_tracking_numbers(numbers.forward_phones(f))
    old = load(channel_id, ctx=ctx)
    if "flow" in f:
        f["flow"] = handling.keep_greeting(old.flow, f["flow"])
    ch = replace(old, **f)
    ch = replace(ch, disclosure=handling.disclosure_for(ch.record, ch.disclosure), updated_at=clock.now_ms())
    lines.save_channel(ch, ctx=ctx)
    if "forward_to" in f:
        numbers.repoint(channel_id=channel_id, forward_to=ch.forward_to)
    return to_dict(ch)


def delete(channel_id: str, *, ctx: RequestContext = SYSTEM) -> None:
    """Delete a channel that has no active numbers; its calls keep the channel's name."""
    log_change(ctx, "channels.delete", channel_id=channel_id)
    load(channel_id, ctx=ctx)
    numbers.require_none_active(channel_id=channel_id)
    lines.delete_channel(channel_id, ctx=ctx)
