"""What spam scoring keeps about a caller: their cached Lookup (line type), under their keyed hash
for one cache period. An export shows it; an erasure deletes it (under every key of the ring)."""

from __future__ import annotations

from typing import Any

from chalicelib.core import callerkeys, clock
from chalicelib.core.context import RequestContext
from chalicelib.store import spam as spam_store
from chalicelib.store.ops import expires_after


def export(phone: str, ctx: RequestContext) -> dict[str, Any]:
    now = expires_after(clock.now_ms(), 0)
    for hashed in callerkeys.caller_hashes(phone):
        found = spam_store.cached_lookup(hashed, now, ctx=ctx)
        if found is not None:
            return {"spam_lookup": found}
    return {}


def erase(phone: str, ctx: RequestContext) -> int:
    return spam_store.forget_lookups(callerkeys.caller_hashes(phone), ctx=ctx)
