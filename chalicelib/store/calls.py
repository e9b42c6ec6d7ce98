"""Calls: the one data access for the calls table (``CallModel``) and its two indexes.

Every read of a call, every conditional write and the voice webhook's transaction live here;
the domain (``chalicelib/calls.py``) decides *what* changes and *when* a write may happen, in
its own words (``CallChange``, ``Guard``), and gets back ``CallRecord``: a frozen copy of the
item that carries no connection and cannot be saved by accident.

Decisions the issue left open:

* Module functions, not a class: the table comes from settings (``TableMeta``) and the
  connection from ``store.connections`` per request, so there is no dependency to inject.
* Every function takes ``ctx`` (a ``RequestContext``), defaulting to ``SYSTEM``. The voice
  path (Twilio's webhooks, whose callers pass ``TWILIO`` or nothing) and the subscribers run
  as ``SYSTEM`` by default; nothing is partitioned by account yet (one account), so the
  context is accepted for the audit log and a later tenancy, not read.
* DynamoDB errors are raised as they are (callers that must tell them apart ask
  ``store.ops.is_storage_error``): the HTTP mapping and the voice path's "the call goes on"
  rules stay where they were.
* The request counts are those of the code this replaced: one request per function, except
  ``in_month`` (PynamoDB's iterator reads as many pages as ``limit`` needs) and
  ``batch_get`` (one request per 100 keys).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal, Protocol

from pynamodb.exceptions import PutError, PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from chalicelib.core import clock
from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.store import connections, keys, ops
from chalicelib.store.keys import Key
from chalicelib.store.models import CallModel, CounterModel
from chalicelib.store.ops import condition_failed, failed_conditions

# --- records -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallRecord:
    """One call as stored. Numbers are DynamoDB's (int or float); absent attributes are None.

    A record read from the caller index (keys only) carries only ``call_sid``, ``caller``,
    ``started_at`` and ``month``."""

    call_sid: str
    month: str | None = None
    started_at: float | None = None
    caller: str | None = None
    called: str | None = None
    caller_city: str | None = None
    caller_state: str | None = None
    caller_country: str | None = None
    kind: str | None = None
    channel_id: str | None = None
    channel_name: str | None = None
    pool_id: str | None = None
    forwarded_to: str | None = None
    medium: str | None = None
    body: str | None = None
    media_count: float | None = None
    stir_verstat: str | None = None
    recorded: bool | None = None
    status: str | None = None
    status_rank: float | None = None
    duration: float | None = None
    dial_call_sid: str | None = None
    dial_status: str | None = None
    answered: bool | None = None
    talk_time: float | None = None
    recording_sid: str | None = None
    recording_url: str | None = None
    recording_duration: float | None = None
    recording_key: str | None = None
    recording_size: float | None = None
    recording_sha256: str | None = None
    recording_archived_at: float | None = None
    recording_deleted_at_twilio: float | None = None
    attribution: dict[str, Any] | None = None
    degraded: bool | None = None
    voice_token: str | None = None
    dial_step: float | None = None
    menu_option: str | None = None
    callback_sid: str | None = None
    callback_of: str | None = None
    screen_key: str | None = None
    screen_step: float | None = None
    screen_refused: float | None = None
    screen_streak: float | None = None
    screen_alert: bool | None = None
    answered_phone: str | None = None
    voicemail: bool | None = None
    blocked: bool | None = None
    first_time: bool | None = None
    first_touch: dict[str, Any] | None = None
    outcome: str | None = None
    revenue: float | None = None
    note: str | None = None
    tags: frozenset[str] | None = None
    called_back_at: float | None = None
    transcript: dict[str, Any] | None = None
    spam: dict[str, Any] | None = None
    agg: dict[str, Any] | None = None
    agg_version: float | None = None
    erased_at: float | None = None
    updated_at: float | None = None
    expires_at: datetime | None = None


_FIELDS = tuple(f.name for f in fields(CallRecord))


def _record(item: CallModel) -> CallRecord:
    values: dict[str, Any] = {name: getattr(item, name, None) for name in _FIELDS}
    if values["tags"] is not None:
        values["tags"] = frozenset(values["tags"])
    return CallRecord(**values)


def from_image(image: dict[str, Any]) -> CallRecord:
    """A call from a DynamoDB item in its wire form (a stream image, a raw query item)."""
    return _record(CallModel.from_raw_data(image))


# --- the month index's partitions ----------------------------------------------------------------


def month_of(ms: int) -> str:
    """The month index's partition (``YYYY-MM``, UTC) of a call that started at ``ms``."""
    return clock.month_key(ms)


def months_desc(start_ms: int, end_ms: int) -> list[str]:
    """The month index's partitions covering [start_ms, end_ms], newest first."""
    return clock.months_desc(start_ms, end_ms)


def valid_start_key(key: dict[str, Any], part: str) -> bool:
    """Whether ``key`` is a well-formed ExclusiveStartKey of the partition ``part`` of the month
    index (``YYYY-MM``) or the caller index (``+E.164``): only such a key may go back to DynamoDB."""
    index_attr = "caller" if part.startswith("+") else "month"
    if set(key) != {"call_sid", index_attr, "started_at"}:
        return False
    sid, p, started = key["call_sid"], key[index_attr], key["started_at"]
    return (
        isinstance(sid, dict)
        and set(sid) == {"S"}
        and isinstance(sid["S"], str)
        and 0 < len(sid["S"]) <= 64
        and p == {"S": part}
        and isinstance(started, dict)
        and set(started) == {"N"}
        and isinstance(started["N"], str)
        and started["N"].isdigit()
    )


def start_key_of(c: CallRecord, part: str) -> dict[str, Any]:
    """The ExclusiveStartKey that resumes a query of ``part`` right after ``c``."""
    index_attr = "caller" if part.startswith("+") else "month"
    return {"call_sid": {"S": c.call_sid}, index_attr: {"S": part}, "started_at": {"N": str(int(c.started_at or 0))}}


# --- changes and guards ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CallChange:
    """What one write changes: attributes set, set only when absent (the first writer wins),
    and removed. Names are ``CallRecord``'s fields."""

    set: Mapping[str, Any] = field(default_factory=dict)
    set_if_absent: Mapping[str, Any] = field(default_factory=dict)
    remove: tuple[str, ...] = ()

    def __add__(self, other: CallChange) -> CallChange:
        return CallChange(
            {**self.set, **other.set}, {**self.set_if_absent, **other.set_if_absent}, self.remove + other.remove
        )


@dataclass(frozen=True)
class Guard:
    """When a write may happen; made by the functions below, turned into a condition only here."""

    kind: Literal["exists", "first_voice", "dial_step_at_most", "rank_below", "rank_at_most", "outbound_rank_at_most"]
    value: int = 0


EXISTS = Guard("exists")


def first_voice(final_rank: int) -> Guard:
    """No voice request was stored for the call yet, and it has not reached ``final_rank``."""
    return Guard("first_voice", final_rank)


def dial_step_at_most(step: int) -> Guard:
    """No dial result of a later failover step than ``step`` is stored."""
    return Guard("dial_step_at_most", step)


def rank_below(rank: int, *, or_equal: bool = False) -> Guard:
    """The stored status ranks below ``rank`` (or equals it, with ``or_equal``), or there is none."""
    return Guard("rank_at_most" if or_equal else "rank_below", rank)


def outbound_rank_at_most(rank: int) -> Guard:
    """The record exists, is an outbound call (``medium`` "outbound"), and its status ranks at most ``rank``."""
    return Guard("outbound_rank_at_most", rank)


def _condition(guard: Guard | None) -> Any:
    """The guard's condition, and always: the call was not erased (a late or replayed Twilio
    callback for an erased caller's call changes nothing, not even the number back in)."""
    kept = CallModel.erased_at.does_not_exist()
    found = _guard_condition(guard)
    return kept if found is None else found & kept


def _guard_condition(guard: Guard | None) -> Any:
    if guard is None:
        return None
    if guard.kind == "exists":
        return CallModel.call_sid.exists()
    if guard.kind == "first_voice":
        not_over = CallModel.status_rank.does_not_exist() | (CallModel.status_rank < guard.value)
        return CallModel.voice_token.does_not_exist() & not_over
    if guard.kind == "dial_step_at_most":
        return CallModel.dial_step.does_not_exist() | (CallModel.dial_step <= guard.value)
    below = CallModel.status_rank.does_not_exist() | (CallModel.status_rank < guard.value)
    if guard.kind == "outbound_rank_at_most":
        return (CallModel.medium == "outbound") & (below | (CallModel.status_rank == guard.value))
    return below | (CallModel.status_rank == guard.value) if guard.kind == "rank_at_most" else below


def _attr(name: str) -> Any:
    if name not in _FIELDS or name == "call_sid":
        raise ValueError(f"a call has no writable attribute {name!r}")
    return getattr(CallModel, name)


def _actions(change: CallChange) -> list[Any]:
    actions = [_attr(k).set(v) for k, v in change.set.items()]
    for k, v in change.set_if_absent.items():
        a = _attr(k)
        actions.append(a.set(a | v))
    actions += [_attr(k).remove() for k in change.remove]
    return actions


# --- writes ----------------------------------------------------------------------------------------


def update(
    call_sid: str, change: CallChange, *, guard: Guard | None = None, ctx: RequestContext = SYSTEM
) -> CallRecord | None:
    """Apply ``change`` (creating the item unless ``guard`` says it must exist); the call as it is
    now, or ``None`` when the guard did not hold. One UpdateItem."""
    item = CallModel(call_sid)
    try:
        item.update(actions=_actions(change), condition=_condition(guard))
    except UpdateError as exc:
        if condition_failed(exc):
            return None
        raise
    return _record(item)


class CounterWrite(Protocol):
    """A conditional update of a counters item that must happen in the same transaction as a
    call's write (the caller's first touch: ``store.callers.FirstTouchWrite``)."""

    @property
    def key(self) -> Key: ...
    @property
    def actions(self) -> list[Any]: ...
    @property
    def condition(self) -> Any: ...


def write_with(
    call_sid: str, change: CallChange, *, guard: Guard, also: CounterWrite | None, ctx: RequestContext = SYSTEM
) -> Literal["stored", "call_refused", "also_refused"]:
    """The call's write and ``also`` in one transaction: ``call_refused`` when the call's guard
    did not hold, ``also_refused`` when only ``also``'s condition did not (read it again and
    retry); other failures raise. One TransactWriteItems."""
    return write_with_old(call_sid, change, guard=guard, also=also, ctx=ctx)[0]


def write_with_old(
    call_sid: str, change: CallChange, *, guard: Guard, also: CounterWrite | None, ctx: RequestContext = SYSTEM
) -> tuple[Literal["stored", "call_refused", "also_refused"], str | None]:
    """``write_with``, and on ``call_refused`` the stored call's ``voice_token`` as the refusal
    returned it (``ReturnValuesOnConditionCheckFailure=ALL_OLD``: no read after the write)."""
    try:
        with TransactWrite(connection=connections.transactions()) as tx:
            call = CallModel(call_sid)
            tx.update(call, actions=_actions(change), condition=_condition(guard), return_values="ALL_OLD")
            if also is not None:
                tx.update(CounterModel(also.key.pk, also.key.sk), actions=also.actions, condition=also.condition)
    except TransactWriteError as exc:
        failed = failed_conditions(exc)
        if 0 in failed:
            reason = exc.cancellation_reasons[0]
            old = (reason.raw_item if reason is not None else None) or {}
            return "call_refused", (old.get("voice_token") or {}).get("S")
        if failed == {1}:
            return "also_refused", None
        raise
    return "stored", None


# The fields erasure takes off a call: the caller, where they were, what they said or wrote, their
# recording. Attribution is cut separately (only the source's fields that reports count by stay).
ERASED_FIELDS = (
    "caller",
    "caller_city",
    "caller_state",
    "caller_country",
    "body",
    "note",
    "tags",
    "recording_sid",
    "recording_url",
    "recording_duration",
    "recording_key",
    "recording_size",
    "recording_sha256",
    "recording_archived_at",
    "transcript",
)


def put_text(message_sid: str, values: Mapping[str, Any], *, ctx: RequestContext = SYSTEM) -> bool:
    """Store a text to a tracking number, once: ``False`` when its MessageSid is stored already
    (Twilio sent the webhook again). One conditional PutItem."""
    return put_once(message_sid, "text", values, ctx=ctx)


def put_once(sid: str, medium: str, values: Mapping[str, Any], *, ctx: RequestContext = SYSTEM) -> bool:
    """Store a record of another ``medium`` than an inbound call (``text``, ``outbound``) under its
    Twilio SID, once: ``False`` when one is stored already. One conditional PutItem."""
    item = CallModel(sid, medium=medium, **values)
    try:
        item.save(condition=CallModel.call_sid.does_not_exist())
    except PutError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def anonymise(
    call_sid: str,
    attribution: dict[str, Any],
    first_touch: dict[str, Any] | None,
    at_ms: int,
    *,
    spam: dict[str, Any] | None = None,
    ctx: RequestContext = SYSTEM,
) -> CallRecord | None:
    """Erasure's write: ``ERASED_FIELDS`` removed, the cut attribution and first touch set (and the
    cut spam score, when given), and ``erased_at`` (from now on no guarded write lands, see
    ``_condition``); ``None`` when the call is gone or already erased. One UpdateItem."""
    item = CallModel(call_sid)
    actions: list[Any] = [getattr(CallModel, name).remove() for name in ERASED_FIELDS]
    actions += [CallModel.attribution.set(attribution), CallModel.erased_at.set(at_ms)]
    if spam is not None:
        actions.append(CallModel.spam.set(spam))
    actions.append(CallModel.first_touch.set(first_touch) if first_touch else CallModel.first_touch.remove())
    try:
        item.update(actions=actions, condition=CallModel.call_sid.exists() & CallModel.erased_at.does_not_exist())
    except UpdateError as exc:
        if condition_failed(exc):
            return None
        raise
    return _record(item)


MASKED_FIELDS = ("caller", "caller_city", "caller_state", "caller_country", "body")
RECORDING_FIELDS = tuple(name for name in ERASED_FIELDS if name.startswith("recording_"))


def remove_fields(call_sid: str, names: tuple[str, ...], *, ctx: RequestContext = SYSTEM) -> CallRecord | None:
    """Retention's write: ``names`` (``MASKED_FIELDS`` or ``RECORDING_FIELDS``) taken off the call;
    ``None`` when the call is gone. One UpdateItem."""
    item = CallModel(call_sid)
    try:
        item.update(actions=[getattr(CallModel, n).remove() for n in names], condition=CallModel.call_sid.exists())
    except UpdateError as exc:
        if condition_failed(exc):
            return None
        raise
    return _record(item)


def retention_mark(kind: str, *, ctx: RequestContext = SYSTEM) -> int:
    """How far the retention sweep of ``kind`` has gone (ms; 0: not begun)."""
    try:
        return int(CounterModel.get(*keys.retention_mark(kind)).total or 0)
    except CounterModel.DoesNotExist:
        return 0


def set_retention_mark(kind: str, ms: int, *, ctx: RequestContext = SYSTEM) -> None:
    CounterModel(*keys.retention_mark(kind), total=ms).save()


def sids_of_caller(caller: str, *, ctx: RequestContext = SYSTEM) -> list[str]:
    """Every call of ``caller`` (E.164) still held, newest first: the caller index, page by page."""
    return [k.call_sid for k in CallModel.caller_index.query(caller, scan_index_forward=False)]


# --- reads -----------------------------------------------------------------------------------------


def get(call_sid: str, *, consistent: bool = False, ctx: RequestContext = SYSTEM) -> CallRecord | None:
    """The call, or ``None``. One GetItem."""
    try:
        return _record(CallModel.get(call_sid, consistent_read=consistent))
    except CallModel.DoesNotExist:
        return None


def get_or_404(call_sid: str, *, ctx: RequestContext = SYSTEM) -> CallRecord:
    """The call, or a 404 naming the sid (over-long sids are never looked up). One GetItem."""
    return _record(ops.get_or_404(CallModel, call_sid, "call with sid"))


def voice_token(call_sid: str, *, ctx: RequestContext = SYSTEM) -> str | None:
    """The I-Twilio-Idempotency-Token of the voice request stored for the call; ``None`` when
    there is none or it cannot be read now (its only reader, a log line, then says "repeat")."""
    try:
        return CallModel.get(call_sid, attributes_to_get=["voice_token"]).voice_token
    except (CallModel.DoesNotExist, PynamoDBException):
        return None


def batch_get(call_sids: Iterable[str], *, ctx: RequestContext = SYSTEM) -> dict[str, CallRecord]:
    """The calls that exist among ``call_sids``, by sid. One BatchGetItem per 100 keys."""
    return {c.call_sid: _record(c) for c in CallModel.batch_get(list(call_sids))}


def in_month(
    month: str,
    start_ms: int,
    end_ms: int,
    *,
    limit: int,
    start_key: dict[str, Any] | None,
    channel_id: str | None = None,
    pool_id: str | None = None,
    answered: bool | None = None,
    medium: str | None = None,
    ctx: RequestContext = SYSTEM,
) -> tuple[list[CallRecord], dict[str, Any] | None]:
    """Up to ``limit`` calls of one month started within [start_ms, end_ms], newest first,
    filtered by channel, pool, answered (``False``: not answered, unknown included) and medium
    (``"call"``, ``"text"`` or ``"outbound"``; ``None``: all); and the key to resume from (``None`` at the
    month's end). Reads as many pages as ``limit`` needs."""
    filt: Condition | None = None
    if channel_id:
        filt = CallModel.channel_id == channel_id
    if pool_id:
        cond = CallModel.pool_id == pool_id
        filt = cond if filt is None else filt & cond
    if answered is not None:
        cond = CallModel.answered == True if answered else CallModel.answered != True  # noqa: E712
        filt = cond if filt is None else filt & cond
    if medium in ("text", "call", "outbound"):
        kind: Condition = CallModel.medium == medium if medium != "call" else CallModel.medium.does_not_exist()
        filt = kind if filt is None else filt & kind
    results = CallModel.month_index.query(
        month,
        CallModel.started_at.between(start_ms, end_ms),
        filter_condition=filt,
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=start_key,
    )
    found = [_record(c) for c in results]
    return found, results.last_evaluated_key


def started_between(month: str, start_ms: int, end_ms: int, *, ctx: RequestContext = SYSTEM) -> Iterator[CallRecord]:
    """Every call of one month started within [start_ms, end_ms], oldest first, read page by
    page as the caller iterates (for background work: sweeps and summaries)."""
    for c in CallModel.month_index.query(month, CallModel.started_at.between(start_ms, end_ms)):
        yield _record(c)


def scan_all(*, ctx: RequestContext = SYSTEM) -> Iterator[CallRecord]:
    """Every call, page by page as the caller iterates (rebuilds only: it reads the whole table)."""
    for c in CallModel.scan():
        yield _record(c)


def scan_page(
    start_key: dict[str, Any] | None, *, limit: int, ctx: RequestContext = SYSTEM
) -> tuple[list[CallRecord], dict[str, Any] | None]:
    """Exactly one Scan request of at most ``limit`` calls from ``start_key`` (a resumable job's
    stored cursor) and DynamoDB's key to resume from (None at the end of the table)."""
    results = CallModel.scan(limit=None, page_size=limit, last_evaluated_key=start_key)
    raw = next(results.page_iter)
    return [from_image(item) for item in raw.get("Items", [])], results.page_iter.last_evaluated_key


def one_page(
    part: str,
    start_ms: int,
    end_ms: int,
    *,
    limit: int,
    start_key: dict[str, Any] | None,
    ctx: RequestContext = SYSTEM,
) -> tuple[list[CallRecord], dict[str, Any] | None]:
    """Exactly one Query request (PynamoDB's iterator would fetch further pages by itself) of a
    month (``YYYY-MM``: whole calls) or a caller (``+E.164``: keys only, see ``batch_get``),
    newest first, within [start_ms, end_ms]; and DynamoDB's key to resume from."""
    between = CallModel.started_at.between(start_ms, end_ms)
    page: dict[str, Any] = {"scan_index_forward": False, "page_size": limit, "last_evaluated_key": start_key}
    if part.startswith("+"):  # each index named at its call: the IAM policy test reads which one is queried
        results = CallModel.caller_index.query(part, between, **page)
    else:
        results = CallModel.month_index.query(part, between, **page)
    raw = next(results.page_iter)
    return [from_image(item) for item in raw.get("Items", [])], results.page_iter.last_evaluated_key


def earlier_of_caller(caller: str, before_ms: int, *, limit: int, ctx: RequestContext = SYSTEM) -> list[CallRecord]:
    """Keys (sid, caller, start) of the caller's ``limit`` calls started before ``before_ms``,
    newest first. One Query."""
    found = CallModel.caller_index.query(
        caller, CallModel.started_at < before_ms, scan_index_forward=False, limit=limit, page_size=limit
    )
    return [_record(k) for k in found]
