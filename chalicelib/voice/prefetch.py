"""What the voice webhook reads before it answers, in as few round trips as the keys allow.

One BatchGetItem keyed by the request (``store.voice_reads``): the called number, the caller's
first-touch items, the blocklist when this process's copy is stale, and the number's line when
this process has seen the number before (``routing.known_line``). For a pool number the lease
history's query runs beside it, on a worker thread, so a pool call's reads are still one round
trip. A channel call is then two DynamoDB requests in all with its write, a pool call three.
"""

from __future__ import annotations

import contextvars
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from chalicelib import attribution, routing
from chalicelib.store import leases, voice_reads
from chalicelib.store.leases import LeaseStart
from chalicelib.store.voice_reads import VoiceReads
from chalicelib.voice import blocklist

_workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="voice-read")


@dataclass(frozen=True)
class Prefetched:
    reads: VoiceReads
    blocked_callers: tuple[str, ...]  # the blocklist, as read now or as cached
    recent: list[LeaseStart] | None  # a pool number's newest lease starts (``None``: not queried)
    asked: tuple[str | None, str | None]  # the channel and pool ids the batch asked for


def read(caller: str | None, called: str | None) -> Prefetched:
    """The voice webhook's reads: one BatchGetItem, and a pool number's lease query beside it."""
    channel_id, pool_id = routing.known_line(called) if called else (None, None)
    cached = blocklist.cached()
    history: Future[list[LeaseStart]] | None = None
    if pool_id and called:
        # Copied context: the worker's requests keep the voice path's short timeouts.
        ctx = contextvars.copy_context()
        history = _workers.submit(ctx.run, leases.latest_starts, called, limit=2)  # type: ignore[arg-type]
    try:
        reads = voice_reads.read(
            called,
            channel_id=channel_id,
            pool_id=pool_id,
            first_touch_of=attribution.first_touch_candidates(caller),
            blocklist=cached is None and bool(caller),
        )
    except BaseException:
        if history is not None:
            history.cancel() or history.exception()  # wait for it (bounded by the same timeouts)
        raise
    recent = history.result() if history is not None else None
    if reads.blocked_callers is not None:
        blocklist.remember(reads.blocked_callers)
    return Prefetched(reads, reads.blocked_callers or cached or (), recent, (channel_id, pool_id))
