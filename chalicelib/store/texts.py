"""Texts to callers: the one text-back per caller per window (claimed before it is sent) and the
callers who texted STOP."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import PutError

from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.store import keys
from chalicelib.store.models import CounterModel
from chalicelib.store.ops import condition_failed


def claim_text_back(
    caller: str, window: str, call_sid: str, expires_at: datetime, *, ctx: RequestContext = SYSTEM
) -> bool:
    """Whether this call may text ``caller`` in ``window``: only the first claim wins (a conditional
    PutItem), whatever how many times the event is delivered. Twilio's Messages API has no
    idempotency key, so the claim comes before the send: at most one text, never two."""
    key = keys.text_back_sent(caller, window)
    item = CounterModel(key.pk, key.sk, data={"call_sid": call_sid}, expires_at=expires_at)
    try:
        item.save(condition=CounterModel.pk.does_not_exist())
    except PutError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def set_opted_out(caller: str, out: bool, at_ms: int, *, ctx: RequestContext = SYSTEM) -> None:
    """Remember STOP (``out``) or forget it (START). One PutItem or DeleteItem."""
    key = keys.text_opt_out(caller)
    if out:
        CounterModel(key.pk, key.sk, total=at_ms).save()
    else:
        CounterModel(key.pk, key.sk).delete()


def opted_out(caller: str, *, ctx: RequestContext = SYSTEM) -> bool:
    """Whether ``caller`` texted STOP (and not START since). One GetItem."""
    key = keys.text_opt_out(caller)
    try:
        CounterModel.get(key.pk, key.sk)
    except CounterModel.DoesNotExist:
        return False
    return True


def text_backs_of(caller: str, *, ctx: RequestContext = SYSTEM) -> list[dict[str, str]]:
    """The text-backs claimed for ``caller`` still kept: each window and call. One Query."""
    key = keys.text_back_sent(caller, "")
    return [{"window": i.sk, "call_sid": str((i.data or {}).get("call_sid", ""))} for i in CounterModel.query(key.pk)]


def forget_caller(caller: str, *, ctx: RequestContext = SYSTEM) -> int:
    """Erasure: the text-back claims and the STOP kept under ``caller``; how many items went.
    One Query, one DeleteItem each."""
    gone = 0
    for sent in text_backs_of(caller, ctx=ctx):
        CounterModel(*keys.text_back_sent(caller, sent["window"])).delete()
        gone += 1
    if opted_out(caller, ctx=ctx):
        CounterModel(*keys.text_opt_out(caller)).delete()
        gone += 1
    return gone
