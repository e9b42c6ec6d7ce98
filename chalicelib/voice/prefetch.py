"""What the voice webhook reads before it answers, in as few round trips as the keys allow.

One BatchGetItem keyed by the request (``store.voice_reads``): the called number, the caller's
first-touch items, the blocklist when this process's copy is stale, and the number's line when
this process has seen the number before (``routing.known_line``). A pool number's item carries
its current lease, source included, so a pool call needs no lease-history read: a channel call
and a pool call are each two DynamoDB requests in all with their write (the history is queried
only for a call older than the number's current lease, or a lease taken before the number item
carried its source: ``attribution.attribute_pool_call``).
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib import attribution, routing
from chalicelib.store import voice_reads
from chalicelib.store.voice_reads import VoiceReads
from chalicelib.voice import blocklist


@dataclass(frozen=True)
class Prefetched:
    reads: VoiceReads
    blocked_callers: tuple[str, ...]  # the blocklist, as read now or as cached
    asked: tuple[str | None, str | None]  # the channel and pool ids the batch asked for


def read(caller: str | None, called: str | None) -> Prefetched:
    """The voice webhook's reads: one BatchGetItem."""
    channel_id, pool_id = routing.known_line(called) if called else (None, None)
    cached = blocklist.cached()
    reads = voice_reads.read(
        called,
        channel_id=channel_id,
        pool_id=pool_id,
        first_touch_of=attribution.first_touch_candidates(caller),
        blocklist=cached is None and bool(caller),
    )
    if reads.blocked_callers is not None:
        blocklist.remember(reads.blocked_callers)
    return Prefetched(reads, reads.blocked_callers or cached or (), (channel_id, pool_id))
