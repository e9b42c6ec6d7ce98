"""What a change of a call means: ``call.started``, ``call.completed``, ``call.updated``, ``call.deleted``. Pure.

* ``call.started``: the call item appeared (the voice webhook, or a callback that came first).
* ``call.completed``: the call became final (ended, or blocked): once per call.
* ``call.updated``: a final call changed as the API shows it (outcome, revenue, note, tags, a
  late recording, routing completed later); ``changes`` holds each field's previous value.
* ``call.deleted``: the item was removed: ``retention`` (DynamoDB's TTL) or ``erasure``.
* ``text.received``: a text to a tracking number was stored (``chalicelib/texts.py``): once per
  MessageSid; ``call`` holds the text as ``GET /v1/texts`` shows it. A text makes no other event
  (it never rings, ends or changes as the API shows it; its erasure and retention are silent).
* ``caller.erased``: the call's caller was erased (``chalicelib/privacy``): the call as it is now,
  anonymised, and no ``changes``: an erasure never sends the old number anywhere. Whatever
  changes on an erased call later (the aggregates taking its caller out) makes no event.

Changes that the API does not show (the aggregates' own bookkeeping, ``updated_at``) make no
event, so a subscriber's write to the call never feeds back into the stream as work.

Ids are stable: ``started``, ``completed`` and ``deleted`` happen once per call, so their id
comes from the call; an update's comes from the stream record's sequence number, which a
redelivered record keeps. The same change therefore always makes the same event.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from chalicelib import calls
from chalicelib.store import calls as store

TYPES = ("call.started", "call.completed", "call.updated", "call.deleted", "caller.erased", "text.received")
PERSONAL = ("caller", "caller_city", "caller_state", "caller_country", "text")  # never sent as a previous value
TTL_PRINCIPAL = "dynamodb.amazonaws.com"  # who deletes an item when its TTL expires
VERSION = 1


class PoisonRecord(ValueError):
    """A stream record that can never make a valid event: parked, never retried blindly."""


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    call_sid: str
    occurred_at: int  # epoch ms of the change
    call: dict[str, Any]  # the call as GET /v1/calls/{sid} shows it (before deletion, for call.deleted)
    changes: dict[str, Any] = field(default_factory=dict)  # call.updated: field -> previous value
    reason: str | None = None  # call.deleted: "retention" or "erasure"
    version: int = VERSION

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        if not isinstance(data, dict) or data.get("type") not in TYPES or not isinstance(data.get("id"), str):
            raise ValueError("not an event")
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


def event_id(call_sid: str, kind: str, sequence: str = "") -> str:
    return "evt_" + hashlib.sha256(f"{call_sid}|{kind}|{sequence}".encode()).hexdigest()[:32]


def _view(image: dict[str, Any] | None) -> dict[str, Any] | None:
    if not image:
        return None
    try:
        call = store.from_image(image)
        if not call.call_sid:
            raise ValueError("no call_sid")
        return {
            "_final": calls.is_final(call),
            "_erased": bool(call.erased_at),
            "_text": call.medium == "text",
            "_call": calls.is_call(call),
            **calls.to_dict(call),
        }
    except Exception as exc:  # anything a broken image raises: it can never become an event
        raise PoisonRecord(f"the call image cannot be read: {exc}") from None


def from_record(record: dict[str, Any]) -> list[Event]:
    """The events one stream record (Lambda's shape) makes; ``PoisonRecord`` if it can make none."""
    try:
        name = record["eventName"]
        ddb = record["dynamodb"]
        sequence = str(ddb["SequenceNumber"])
        at = int(float(ddb.get("ApproximateCreationDateTime", 0)) * 1000)
    except (KeyError, TypeError, ValueError) as exc:
        raise PoisonRecord(f"not a DynamoDB stream record: {exc!r}") from None
    if name not in ("INSERT", "MODIFY", "REMOVE"):
        raise PoisonRecord(f"unknown eventName {name!r}")
    old, new = _view(ddb.get("OldImage")), _view(ddb.get("NewImage"))
    view = new or old
    if view is not None and not view["_text"] and not view["_call"]:
        return []  # a call-back made from the dashboard (not ``calls.is_call``): no event of any kind
    if (new or old or {}).get("_text"):
        if name != "INSERT" or new is None or new["_erased"]:
            return []
        return [Event(event_id(new["sid"], "text"), "text.received", new["sid"], at, _public(new))]
    if name == "REMOVE":
        if old is None:
            raise PoisonRecord("a REMOVE record without its old image")
        principal = (record.get("userIdentity") or {}).get("principalId")
        reason = "retention" if principal == TTL_PRINCIPAL else "erasure"
        sid = old["sid"]
        return [Event(event_id(sid, "deleted"), "call.deleted", sid, at, _public(old), reason=reason)]
    if new is None:
        raise PoisonRecord(f"an {name} record without its new image")
    sid = new["sid"]
    if new["_erased"]:
        if old is not None and old["_erased"]:
            return []  # after the erasure: nothing an erased call does is news to anyone
        return [Event(event_id(sid, "erased"), "caller.erased", sid, at, _public(new))]
    out: list[Event] = []
    if old is None:
        out.append(Event(event_id(sid, "started"), "call.started", sid, at, _public(new)))
    was_final = bool(old and old["_final"])
    if new["_final"] and not was_final:
        out.append(Event(event_id(sid, "completed"), "call.completed", sid, at, _public(new)))
    elif new["_final"] and old is not None:
        changes = {k: old.get(k) for k in new if not k.startswith("_") and old.get(k) != new[k]}
        for k in PERSONAL:  # taken off by retention: the old value is the very data that went
            if new.get(k) is None:
                changes.pop(k, None)
        if changes:
            out.append(Event(event_id(sid, "updated", sequence), "call.updated", sid, at, _public(new), changes))
    return out


def _public(view: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in view.items() if not k.startswith("_")}


def dumps(event: Event, subscriber: str) -> str:
    """The SQS message for one (event, subscriber)."""
    return json.dumps({"subscriber": subscriber, "event": event.to_json()}, separators=(",", ":"))
