"""Outcomes a business gives its calls (lead, sale, spam), revenue, notes and tags.

The aggregates follow through the call's ``call.updated`` event, like every other change.
"""

from __future__ import annotations

from typing import Any

from chalicelib import callbacks, calls
from chalicelib.core import clock
from chalicelib.core import validation as v
from chalicelib.core.context import SYSTEM, RequestContext, log_change
from chalicelib.core.errors import BadRequest
from chalicelib.store import calls as store
from chalicelib.store.calls import CallChange, CallRecord
from chalicelib.store.ops import dynamo_number

OUTCOMES = ("lead", "sale", "spam", "none")
MAX_TAGS = 20


def set_outcome(call_sid: str, body: dict[str, Any], *, ctx: RequestContext = SYSTEM) -> CallRecord:
    """``PATCH /v1/calls/{sid}``: outcome, revenue, note, tags, called back; the aggregates follow."""
    log_change(ctx, "calls.set_outcome", call_sid=call_sid)
    v.reject_unknown(body, {"outcome", "revenue", "note", "tags", "called_back"})
    if not body:
        raise BadRequest("nothing to change; send one or more of: called_back, note, outcome, revenue, tags")
    values: dict[str, Any] = {"updated_at": clock.now_ms()}
    gone: list[str] = []
    if "outcome" in body:
        if body["outcome"] not in OUTCOMES:
            raise BadRequest(f"'outcome' must be one of: {', '.join(OUTCOMES)}")
        values["outcome"] = body["outcome"]
    if "revenue" in body:
        values["revenue"] = dynamo_number(v.money(body["revenue"], "revenue"))
    if "note" in body:
        note = v.string(body, "note", max_len=2000)
        if note:
            values["note"] = note
        else:
            gone.append("note")
    if "tags" in body:
        tags = body["tags"]
        if not isinstance(tags, list) or len(tags) > MAX_TAGS:
            raise BadRequest(f"'tags' must be a list of at most {MAX_TAGS} short strings")
        if not all(isinstance(t, str) and 0 < len(t.strip()) <= 40 for t in tags):
            raise BadRequest("each tag must be text of 1 to 40 characters")
        clean = {t.strip() for t in tags}
        if clean:
            values["tags"] = clean
        else:
            gone.append("tags")
    if "called_back" in body:  # marked by hand (chalicelib/callbacks.py): true sets the time, false clears it
        if v.boolean(body, "called_back"):
            values["called_back_at"] = values["updated_at"]
        else:
            gone.append("called_back_at")
    item = calls.load(call_sid, ctx=ctx)
    # Deleted between the read and the write: a 404, as if the read had missed it.
    done = store.update(item.call_sid, CallChange(set=values, remove=tuple(gone)), guard=store.EXISTS, ctx=ctx) or (
        calls.load(call_sid, ctx=ctx)
    )
    if "called_back" in body and done.caller:
        # The list shows the mark at once (its subscriber does the same again when the event comes).
        callbacks.refresh(str(done.caller))
    return done
