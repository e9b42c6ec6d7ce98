"""Outcomes a business gives its calls (lead, sale, spam), revenue, notes and tags.

The aggregates follow through the call's ``call.updated`` event, like every other change.
"""

from __future__ import annotations

from typing import Any

from chalicelib import calls
from chalicelib.core import clock
from chalicelib.core import validation as v
from chalicelib.core.errors import BadRequest
from chalicelib.store.models import CallModel
from chalicelib.store.ops import dynamo_number

OUTCOMES = ("lead", "sale", "spam", "none")
MAX_TAGS = 20


def set_outcome(call_sid: str, body: dict[str, Any]) -> CallModel:
    """``PATCH /v1/calls/{sid}``: outcome, revenue, note, tags; the aggregates follow."""
    v.reject_unknown(body, {"outcome", "revenue", "note", "tags"})
    if not body:
        raise BadRequest("nothing to change; send one or more of: note, outcome, revenue, tags")
    actions: list[Any] = [CallModel.updated_at.set(clock.now_ms())]
    if "outcome" in body:
        if body["outcome"] not in OUTCOMES:
            raise BadRequest(f"'outcome' must be one of: {', '.join(OUTCOMES)}")
        actions.append(CallModel.outcome.set(body["outcome"]))
    if "revenue" in body:
        actions.append(CallModel.revenue.set(dynamo_number(v.money(body["revenue"], "revenue"))))
    if "note" in body:
        note = v.string(body, "note", max_len=2000)
        actions.append(CallModel.note.set(note) if note else CallModel.note.remove())
    if "tags" in body:
        tags = body["tags"]
        if not isinstance(tags, list) or len(tags) > MAX_TAGS:
            raise BadRequest(f"'tags' must be a list of at most {MAX_TAGS} short strings")
        if not all(isinstance(t, str) and 0 < len(t.strip()) <= 40 for t in tags):
            raise BadRequest("each tag must be text of 1 to 40 characters")
        clean = {t.strip() for t in tags}
        actions.append(CallModel.tags.set(clean) if clean else CallModel.tags.remove())
    item = calls.load(call_sid)
    item.update(actions=actions, condition=CallModel.call_sid.exists())
    return item
