"""The voice webhook's reads in one request: a BatchGetItem keyed by what Twilio sent.

Everything the voice webhook reads before it answers comes from items whose keys the request
names: the called number, the caller's first-touch items (their keyed hashes), the blocklist
item when the process's copy is stale, and the number's line (channel or pool) when the process
already knows which line the number belongs to (fixed at provisioning; the number read in the
same batch confirms it). So they are one BatchGetItem across the tables, not one GetItem each
in a row. A pool number's item carries its current lease's source, so a call during a lease
needs no lease history either (``attribution.attribute_pool_call``).

Keys DynamoDB leaves unprocessed (throttling) are asked again, at most ``MAX_TRIES`` requests
in all with a short pause between them (Twilio waits 15 s for the whole answer); still
unprocessed then, ``StorageUnavailable`` is raised and the webhook takes its degraded path.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

from chalicelib.core.errors import StorageUnavailable
from chalicelib.store import connections, keys
from chalicelib.store.lines import Channel, Number, Pool, channel_record, number_record, pool_record
from chalicelib.store.models import ChannelModel, CounterModel, NumberModel, PoolModel

# The tables this module's BatchGetItem reads (sent raw, so the IAM test reads this instead).
BATCHED = (NumberModel, ChannelModel, PoolModel, CounterModel)
MAX_TRIES = 3  # BatchGetItem requests in all while keys come back unprocessed
PAUSE_SECONDS = 0.02  # before the second try; doubled before the third (with jitter)


@dataclass(frozen=True)
class VoiceReads:
    """What one batch found: ``None`` (or empty) for an item that does not exist or was not asked."""

    number: Number | None = None
    channel: Channel | None = None
    pool: Pool | None = None
    first_touch: dict[str, dict[str, Any]] | None = None  # candidate -> the first touch stored under it
    blocked_callers: tuple[str, ...] | None = None  # ``None``: not asked


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def read(
    called: str | None,
    *,
    channel_id: str | None = None,
    pool_id: str | None = None,
    first_touch_of: list[str] | tuple[str, ...] = (),
    blocklist: bool = False,
) -> VoiceReads:
    """The items the voice webhook needs, in one BatchGetItem (``MAX_TRIES`` with unprocessed keys)."""
    wanted: dict[str, list[dict[str, Any]]] = {}

    def want(model: Any, key: dict[str, Any]) -> None:
        if model not in BATCHED:  # the IAM policy grants BatchGetItem on those only
            raise ValueError(f"{model.__name__} is not in BATCHED")
        if key not in wanted.setdefault(model.Meta.table_name, []):
            wanted[model.Meta.table_name].append(key)

    if called:
        want(NumberModel, {"number": _s(called)})
    if channel_id:
        want(ChannelModel, {"channel_id": _s(channel_id)})
    if pool_id:
        want(PoolModel, {"pool_id": _s(pool_id)})
    for candidate in first_touch_of:
        k = keys.caller_first_touch(candidate)
        want(CounterModel, {"pk": _s(k.pk), "sk": _s(k.sk)})
    if blocklist:
        k = keys.blocked_callers()
        want(CounterModel, {"pk": _s(k.pk), "sk": _s(k.sk)})
    if not wanted:
        return VoiceReads(blocked_callers=() if blocklist else None)
    found = _batch({table: {"Keys": ks} for table, ks in wanted.items()})
    return _reads(found, first_touch_of, blocklist)


def _batch(request: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    conn = connections.shared()
    found: dict[str, list[dict[str, Any]]] = {}
    for attempt in range(MAX_TRIES):
        if attempt:
            time.sleep(PAUSE_SECONDS * (2 ** (attempt - 1)) * (0.5 + random.random()))  # jitter
        answer = conn.dispatch("BatchGetItem", {"RequestItems": request})
        for table, items in (answer.get("Responses") or {}).items():
            found.setdefault(table, []).extend(items)
        request = answer.get("UnprocessedKeys") or {}
        if not request:
            return found
    raise StorageUnavailable("DynamoDB left keys of the voice webhook's read unprocessed")


def _reads(found: dict[str, list[dict[str, Any]]], candidates: Any, blocklist: bool) -> VoiceReads:
    def items(model: Any) -> list[dict[str, Any]]:
        return found.get(model.Meta.table_name, [])

    number = next((number_record(NumberModel.from_raw_data(i)) for i in items(NumberModel)), None)
    channel = next((channel_record(ChannelModel.from_raw_data(i)) for i in items(ChannelModel)), None)
    pool = next((pool_record(PoolModel.from_raw_data(i)) for i in items(PoolModel)), None)
    counters = {keys.Key(c.pk, c.sk): c for c in (CounterModel.from_raw_data(i) for i in items(CounterModel))}
    touches: dict[str, dict[str, Any]] = {}
    for candidate in candidates:
        item = counters.get(keys.caller_first_touch(candidate))
        if item is not None and item.data:
            touches[candidate] = dict(item.data)
    blocked = None
    if blocklist:
        item = counters.get(keys.blocked_callers())
        blocked = tuple((item.data or {}).get("callers", [])) if item is not None else ()
    return VoiceReads(number, channel, pool, touches, blocked)
