"""The call-back list's items in the counters table: one per caller waiting for a call back
(pk ``CALLBACK#pending``, sk the caller), kept by ``chalicelib.callbacks`` from the caller's calls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.store import keys
from chalicelib.store.models import CounterModel


@dataclass(frozen=True)
class Waiting:
    caller: str
    call_sid: str  # their latest missed call
    at_ms: int
    missed_calls: int
    source_name: str
    voicemail: bool


def save(entry: Waiting, expires_at: datetime, *, ctx: RequestContext = SYSTEM) -> None:
    """Put the caller's entry (whole). One PutItem."""
    key = keys.callback_pending(entry.caller)
    data = {
        "call_sid": entry.call_sid,
        "at_ms": entry.at_ms,
        "missed_calls": entry.missed_calls,
        "source_name": entry.source_name,
        "voicemail": entry.voicemail,
    }
    CounterModel(key.pk, key.sk, data=data, expires_at=expires_at).save()


def delete(caller: str, *, ctx: RequestContext = SYSTEM) -> None:
    """The caller is no longer waiting. One DeleteItem (a no-op when absent)."""
    CounterModel(*keys.callback_pending(caller)).delete()


def is_waiting(caller: str, *, ctx: RequestContext = SYSTEM) -> bool:
    """Whether the caller has an entry. One GetItem (keys only)."""
    try:
        CounterModel.get(*keys.callback_pending(caller), attributes_to_get=["pk"])
    except CounterModel.DoesNotExist:
        return False
    return True


def all_waiting(*, ctx: RequestContext = SYSTEM) -> list[Waiting]:
    """Every caller waiting, in no order. One Query (more pages only past 1 MB: thousands of callers)."""
    out = []
    for item in CounterModel.query(keys.CALLBACKS_PK):
        d = dict(item.data or {})
        out.append(
            Waiting(
                caller=item.sk,
                call_sid=str(d.get("call_sid", "")),
                at_ms=int(d.get("at_ms", 0)),
                missed_calls=int(d.get("missed_calls", 1)),
                source_name=str(d.get("source_name", "")),
                voicemail=bool(d.get("voicemail")),
            )
        )
    return out
