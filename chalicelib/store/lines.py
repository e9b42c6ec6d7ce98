"""Tracking numbers, channels and pools: every read and write of their items, as typed records.

The domain (``chalicelib/numbers.py``, ``channels.py``, ``pools.py``, ``sites.py``,
``routing.py``) decides; this module is the only one that knows how these items are stored:
their queries, the conditions that keep a number or a line from being created twice, the
release of a number, a pool by its site key and a pool's hourly "no number was free" counters.

Records are frozen dataclasses whose fields are the stored attributes under the same names, so
a record read here is the item as it was read; a change is a new record (``dataclasses.replace``)
saved again, with the same one write as before.

Functions the management API calls take ``ctx`` (who asks). Today every caller reads and writes
the one account, so the context is only passed on (the audit log and a later tenancy read it);
the voice path and the lease endpoint read as ``SYSTEM``, since the number or site key they are
given already names the line.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from pynamodb.exceptions import PutError

from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.store import keys
from chalicelib.store.models import ChannelModel, CounterModel, NumberModel, PoolModel
from chalicelib.store.ops import condition_failed, expires_after, get_or_404


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None


# --- records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Channel:
    """A static tracking channel (``ChannelModel``)."""

    channel_id: str
    name: str
    forward_to: str
    record: bool
    disclosure: str | None
    flow: dict[str, Any] | None
    created_at: int
    updated_at: int


@dataclass(frozen=True)
class Pool:
    """A dynamic number pool for one website (``PoolModel``)."""

    pool_id: str
    site_key: str
    name: str
    allowed_origins: list[str]
    original_number: str
    hold_seconds: int
    grace_seconds: int
    exhaustion_policy: str
    overflow_number: str | None
    forward_to: str
    record: bool
    disclosure: str | None
    flow: dict[str, Any] | None
    created_at: int
    updated_at: int


@dataclass(frozen=True)
class Number:
    """A tracking number and, for pool numbers, its current lease (``NumberModel``; times in epoch ms)."""

    number: str
    provider: str
    provider_sid: str
    status: str
    kind: str
    channel_id: str | None = None
    pool_id: str | None = None
    friendly_name: str | None = None
    created_at: int = 0
    released_at: int | None = None
    hooks_to: str | None = None
    hooks_base: str | None = None
    lease_session_id: str | None = None
    lease_started_at: int | None = None
    lease_expires_at: int | None = None
    lease_ended_at: int | None = None
    lease_address: str | None = None
    lease_source: dict[str, Any] | None = None  # the current lease's source (``None``: leased before it was kept here)


def channel_record(m: ChannelModel) -> Channel:
    return Channel(
        channel_id=m.channel_id,
        name=m.name,
        forward_to=m.forward_to,
        record=bool(m.record),
        disclosure=m.disclosure,
        flow=m.flow,
        created_at=int(m.created_at),
        updated_at=int(m.updated_at),
    )


def pool_record(m: PoolModel) -> Pool:
    return Pool(
        pool_id=m.pool_id,
        site_key=m.site_key,
        name=m.name,
        allowed_origins=[str(o) for o in m.allowed_origins or []],
        original_number=m.original_number,
        hold_seconds=int(m.hold_seconds),
        grace_seconds=int(m.grace_seconds),
        exhaustion_policy=m.exhaustion_policy,
        overflow_number=m.overflow_number,
        forward_to=m.forward_to,
        record=bool(m.record),
        disclosure=m.disclosure,
        flow=m.flow,
        created_at=int(m.created_at),
        updated_at=int(m.updated_at),
    )


_NUMBER_TIMES = {"created_at", "released_at", "lease_started_at", "lease_expires_at", "lease_ended_at"}


def number_record(m: NumberModel) -> Number:
    values = {f.name: getattr(m, f.name) for f in fields(Number)}
    for name in _NUMBER_TIMES:
        values[name] = _int(values[name])
    values["created_at"] = values["created_at"] or 0
    return Number(**values)


def _attrs(record: Any, hash_key: str) -> dict[str, Any]:
    """A record's attributes other than its hash key, as a model's constructor takes them."""
    return {f.name: getattr(record, f.name) for f in fields(record) if f.name != hash_key}


# --- channels ----------------------------------------------------------------------------------


def get_channel(channel_id: str, *, ctx: RequestContext = SYSTEM) -> Channel:
    """The channel, or a 404."""
    return channel_record(get_or_404(ChannelModel, channel_id, "channel with id"))


def find_channel(channel_id: str) -> Channel | None:
    """The channel, or ``None`` when it is gone (the voice path: never an error)."""
    try:
        return channel_record(ChannelModel.get(channel_id))
    except ChannelModel.DoesNotExist:
        return None


def list_channels(*, ctx: RequestContext = SYSTEM) -> list[Channel]:
    return [channel_record(c) for c in ChannelModel.scan()]


def channel_names(*, ctx: RequestContext = SYSTEM) -> dict[str, str]:
    """Every channel's name by id (one scan of those two attributes only)."""
    return {c.channel_id: c.name for c in ChannelModel.scan(attributes_to_get=["channel_id", "name"])}


def create_channel(channel: Channel, *, ctx: RequestContext = SYSTEM) -> None:
    """Save a new channel (its id must be new)."""
    ChannelModel(channel.channel_id, **_attrs(channel, "channel_id")).save(
        condition=ChannelModel.channel_id.does_not_exist()
    )


def save_channel(channel: Channel, *, ctx: RequestContext = SYSTEM) -> None:
    """Save a changed channel, whole (it must still exist)."""
    ChannelModel(channel.channel_id, **_attrs(channel, "channel_id")).save(condition=ChannelModel.channel_id.exists())


def delete_channel(channel_id: str, *, ctx: RequestContext = SYSTEM) -> None:
    """The channel and its own counters (round-robin turn, screening streak)."""
    ChannelModel(channel_id).delete()
    _delete_line_counters(("channel",), channel_id)


# --- pools ---------------------------------------------------------------------------------------


def get_pool(pool_id: str, *, ctx: RequestContext = SYSTEM) -> Pool:
    """The pool, or a 404."""
    return pool_record(get_or_404(PoolModel, pool_id, "pool with id"))


def find_pool(pool_id: str) -> Pool | None:
    """The pool, or ``None`` when it is gone (the voice path: never an error)."""
    try:
        return pool_record(PoolModel.get(pool_id))
    except PoolModel.DoesNotExist:
        return None


def list_pools(*, ctx: RequestContext = SYSTEM) -> list[Pool]:
    return [pool_record(p) for p in PoolModel.scan()]


def line_menus(*, ctx: RequestContext = SYSTEM) -> dict[str, tuple[str, dict[str, str]]]:
    """Every line's name and its menu's labels by key (``{}`` without a menu), keyed as the menu
    report keys lines (a channel id, ``pool:<id>``): one scan of the channels and one of the
    pools, of their id, name and flow only."""
    out: dict[str, tuple[str, dict[str, str]]] = {}
    for c in ChannelModel.scan(attributes_to_get=["channel_id", "name", "flow"]):
        out[c.channel_id] = (c.name, _menu_labels(c.flow))
    for p in PoolModel.scan(attributes_to_get=["pool_id", "name", "flow"]):
        out[f"pool:{p.pool_id}"] = (p.name, _menu_labels(p.flow))
    return out


def _menu_labels(flow: dict[str, Any] | None) -> dict[str, str]:
    menu = (flow or {}).get("menu") or {}
    return {str(o.get("key")): str(o.get("label") or "") for o in menu.get("options") or [] if isinstance(o, dict)}


def pool_names(*, ctx: RequestContext = SYSTEM) -> dict[str, str]:
    """Every pool's name by id (one scan of those two attributes only)."""
    return {p.pool_id: p.name for p in PoolModel.scan(attributes_to_get=["pool_id", "name"])}


def pool_by_site_key(site_key: str) -> Pool | None:
    """The pool a public site key names (one query of the site-key index), or ``None``."""
    found = next(iter(PoolModel.site_key_index.query(site_key, limit=1)), None)
    return pool_record(found) if found is not None else None


def create_pool(pool: Pool, *, ctx: RequestContext = SYSTEM) -> None:
    """Save a new pool (its id must be new)."""
    PoolModel(pool.pool_id, **_attrs(pool, "pool_id")).save(condition=PoolModel.pool_id.does_not_exist())


def save_pool(pool: Pool, *, ctx: RequestContext = SYSTEM) -> None:
    """Save a changed pool, whole (it must still exist)."""
    PoolModel(pool.pool_id, **_attrs(pool, "pool_id")).save(condition=PoolModel.pool_id.exists())


def delete_pool(pool_id: str, *, ctx: RequestContext = SYSTEM) -> None:
    """The pool and its own counters (its overflow number's calls count under ``overflow``)."""
    PoolModel(pool_id).delete()
    _delete_line_counters(("pool", "overflow"), pool_id)


def set_overflow_number(pool_id: str, number: str, now_ms: int) -> None:
    """The pool names its overflow number (after it was bought)."""
    PoolModel(pool_id).update(actions=[PoolModel.overflow_number.set(number), PoolModel.updated_at.set(now_ms)])


def clear_overflow_number(pool_id: str, now_ms: int, *, back_to_original: bool) -> None:
    """The pool no longer names an overflow number (it was released); with ``back_to_original``
    its exhaustion policy goes back to showing the original number."""
    actions: list[Any] = [PoolModel.overflow_number.remove(), PoolModel.updated_at.set(now_ms)]
    if back_to_original:
        actions.append(PoolModel.exhaustion_policy.set("original"))
    PoolModel(pool_id).update(actions=actions)


# --- a pool's exhaustion counters -------------------------------------------------------------


@dataclass(frozen=True)
class ExhaustedHour:
    """One hour's "no number was free" count of a pool: refusals and the refused visitors' buckets."""

    hour: str  # ``YYYY-MM-DDTHH`` in UTC
    refused: int
    buckets: frozenset[str]


def count_exhaustion(pool_id: str, hour: str, now_ms: int, *, keep_days: float, bucket: str | None = None) -> None:
    """One more refusal in ``hour`` (and the refused visitor's ``bucket``), kept ``keep_days``: one write."""
    actions: list[Any] = [
        CounterModel.total.add(1),
        CounterModel.expires_at.set(expires_after(now_ms, keep_days)),
    ]
    if bucket:
        actions.append(CounterModel.keys.add({bucket}))
    CounterModel(keys.pool_exhausted(pool_id), hour).update(actions=actions)


def exhausted_hours(pool_id: str, *, after: str | None = None, since: str | None = None) -> list[ExhaustedHour]:
    """The pool's hourly exhaustion counts, oldest first (one query): only the hours after
    ``after``, or from ``since`` on, when given."""
    pk = keys.pool_exhausted(pool_id)
    if after is not None:
        items = CounterModel.query(pk, CounterModel.sk > after)
    elif since is not None:
        items = CounterModel.query(pk, CounterModel.sk >= since)
    else:
        items = CounterModel.query(pk)
    return [ExhaustedHour(i.sk, int(i.total or 0), frozenset(i.keys or ())) for i in items]


# --- a line's ring-group turn and screening streak -----------------------------------------------


def next_turn(kind: str, target_id: str) -> int:
    """The round-robin turn of a line's next call (0, 1, 2, ...): one atomic ADD."""
    item = CounterModel(keys.line_counter(kind, target_id), "turn")
    item.update(actions=[CounterModel.total.add(1)])
    return int(item.total or 1) - 1


LINE_COUNTERS = ("turn", "screen_streak")


def _delete_line_counters(kinds: tuple[str, ...], target_id: str) -> None:
    """A deleted line's turn and streak items (one BatchWriteItem; absent ones are no error)."""
    with CounterModel.batch_write() as batch:
        for kind in kinds:
            for sk in LINE_COUNTERS:
                batch.delete(CounterModel(keys.line_counter(kind, target_id), sk))


def screen_streak(kind: str, target_id: str, *, refused: bool, entry: str) -> int:
    """The line's refused screens in a row after this one (``refused``: one more; else back to 0).

    ``entry`` names the screened answer (call and step): Twilio sending its result again finds it
    last and changes nothing (one read then), so a repeat never counts twice."""
    item = CounterModel(keys.line_counter(kind, target_id), "screen_streak")
    actions: list[Any] = [
        CounterModel.total.add(1) if refused else CounterModel.total.set(0),
        CounterModel.data.set({"last": entry}),
    ]
    try:
        item.update(
            actions=actions, condition=CounterModel.data.does_not_exist() | (CounterModel.data != {"last": entry})
        )
    except Exception as exc:
        if not condition_failed(exc):
            raise
        item.refresh(consistent_read=True)
    return int(item.total or 0)


# --- numbers -----------------------------------------------------------------------------------


def find_number(number: str) -> Number | None:
    """The number's item, or ``None`` when it was never a tracking number here."""
    try:
        return number_record(NumberModel.get(number))
    except NumberModel.DoesNotExist:
        return None


def list_numbers(*, ctx: RequestContext = SYSTEM) -> list[Number]:
    """Every number, released ones included (one scan)."""
    return [number_record(n) for n in NumberModel.scan()]


def active_numbers(*, ctx: RequestContext = SYSTEM) -> list[Number]:
    """Every active number (one scan, filtered by the table)."""
    return [number_record(n) for n in NumberModel.scan(NumberModel.status == "active")]


def numbers_of(
    *, channel_id: str | None = None, pool_id: str | None = None, ctx: RequestContext = SYSTEM
) -> list[Number]:
    """Every number of a channel, or else of a pool (its overflow number too): one filtered scan."""
    cond = NumberModel.channel_id == channel_id if channel_id else NumberModel.pool_id == pool_id
    return [number_record(n) for n in NumberModel.scan(cond)]


def pool_numbers(pool_id: str) -> list[Number]:
    """A pool's numbers from its index (least recently released first; its overflow number too)."""
    return [number_record(n) for n in NumberModel.pool_index.query(pool_id)]


def create_number(number: Number, *, ctx: RequestContext = SYSTEM) -> bool:
    """Save a bought number; ``False`` when it is an active tracking number here already (a
    released one is bought again over its old item)."""
    item = NumberModel(number.number, **_attrs(number, "number"))
    try:
        item.save(condition=NumberModel.number.does_not_exist() | (NumberModel.status == "released"))
    except PutError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def set_hooks_to(number: str, forward_to: str) -> None:
    """The number's webhook URLs now carry the line's phone ``forward_to``."""
    NumberModel(number).update(actions=[NumberModel.hooks_to.set(forward_to)])


def set_hooks_base(number: str, base: str) -> None:
    """The number's webhook URLs now point at the deployment's base URL ``base``."""
    NumberModel(number).update(actions=[NumberModel.hooks_base.set(base)])


def mark_released(number: str, now_ms: int, *, ctx: RequestContext = SYSTEM) -> Number:
    """The number went back to the carrier: released, its lease fields removed, so it leaves the
    pool index and is never offered again. Returns the item as written (one update)."""
    item = NumberModel(number)
    item.update(
        actions=[
            NumberModel.status.set("released"),
            NumberModel.released_at.set(now_ms),
            NumberModel.lease_session_id.remove(),
            NumberModel.lease_expires_at.remove(),
            NumberModel.lease_ended_at.remove(),  # leaves the pool index: never offered again
            NumberModel.lease_source.remove(),
        ]
    )
    return number_record(item)
