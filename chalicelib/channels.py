"""Static tracking channels: what each is called, where its calls go, whether they are recorded."""

from __future__ import annotations

import secrets
from typing import Any

from chalicelib import handling, numbers
from chalicelib.core import clock
from chalicelib.core import validation as v
from chalicelib.core.errors import BadRequest
from chalicelib.store.models import ChannelModel
from chalicelib.store.ops import get_or_404

FIELDS = {"name", "forward_to", "record", "disclosure", "flow"}


def to_dict(ch: ChannelModel) -> dict[str, Any]:
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


def create(body: dict[str, Any]) -> dict[str, Any]:
    f = _fields(body, partial=False)
    numbers.refuse_tracking_numbers(numbers.forward_phones(f))
    f["disclosure"] = handling.disclosure_for(f.get("record"), f.get("disclosure"))
    now = clock.now_ms()
    ch = ChannelModel("ch_" + secrets.token_hex(8), created_at=now, updated_at=now, **f)
    ch.save(condition=ChannelModel.channel_id.does_not_exist())
    return to_dict(ch)


def load(channel_id: str) -> ChannelModel:
    return get_or_404(ChannelModel, channel_id, "channel with id")


def get(channel_id: str) -> dict[str, Any]:
    return to_dict(load(channel_id))


def list_all() -> list[dict[str, Any]]:
    return sorted((to_dict(c) for c in ChannelModel.scan()), key=lambda c: (c["name"].lower(), c["id"]))


def update(channel_id: str, body: dict[str, Any]) -> dict[str, Any]:
    f = _fields(body, partial=True)
    if not f:
        raise BadRequest(f"nothing to change; send one or more of: {', '.join(sorted(FIELDS))}")
    numbers.refuse_tracking_numbers(numbers.forward_phones(f))
    ch = load(channel_id)
    for key, value in f.items():
        setattr(ch, key, value)
    ch.disclosure = handling.disclosure_for(ch.record, ch.disclosure)
    ch.updated_at = clock.now_ms()
    ch.save(condition=ChannelModel.channel_id.exists())
    if "forward_to" in f:
        numbers.repoint(channel_id=channel_id, forward_to=ch.forward_to)
    return to_dict(ch)


def delete(channel_id: str) -> None:
    """Delete a channel that has no active numbers; its calls keep the channel's name."""
    load(channel_id)
    numbers.require_none_active(channel_id=channel_id)
    ChannelModel(channel_id).delete()
