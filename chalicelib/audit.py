"""The audit log: every change an owner, a user or a key makes, with who, when, what and from where.

Each change the domain is asked for already goes through ``core.context.log_change`` (one log
line); ``install`` adds this module's writer to it, so the same call stores an entry
(``store.audit``) kept for ``AUDIT_RETENTION_DAYS``: channels, pools, numbers, outcomes, spend,
blocked callers, webhooks, alert recipients, users, API keys, exports and sign-ins (failed ones
too). What Twilio and websites do (calls, leases) is not an owner's change and is not logged
here; background work appears only when an owner's command runs it (actor ``cli``).

Admins read it (``GET /v1/audit``, admin scope; the dashboard's Audit page); no route writes,
edits or deletes an entry. An entry names ids, never a secret or a caller's number.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from chalicelib.core import clock, context
from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.core.errors import BadRequest
from chalicelib.core.settings import get_settings
from chalicelib.store import audit as stored
from chalicelib.store.ops import expires_after

NOT_AUDITED = {"twilio", "site"}  # calls and leases: the public's, not an owner's changes
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_CURSOR = re.compile(r"\d{4}-\d{2}\|\d{13}#[0-9a-f]{8}")
DAY_MS = 86_400_000


def _write(ctx: RequestContext, action: str, ids: dict[str, Any]) -> None:
    if ctx.kind in NOT_AUDITED or ctx is SYSTEM:
        return
    now = clock.now_ms()
    entry = stored.AuditEntry(
        at_ms=now,
        action=action,
        actor=ctx.actor,
        actor_kind=ctx.kind,
        source=ctx.source,
        key_name=ctx.key_name,
        details={k: v if isinstance(v, (int, bool)) else str(v) for k, v in ids.items()},
    )
    stored.add(entry, expires_after(now, get_settings().audit_retention_days))


def install() -> None:
    """Store every ``log_change`` as an audit entry from now on (the app and the CLI call it once)."""
    context.add_audit_sink(_write)


def _day_ms(value: Any, name: str) -> int:
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise BadRequest(f"'{name}' must be a date like 2026-10-01")
    try:
        return int(datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC).timestamp() * 1000)
    except ValueError:
        raise BadRequest(f"'{name}' must be a real date like 2026-10-01") from None


def entries(q: dict[str, Any], *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """The log's entries, newest first: ``from``/``to`` (UTC dates, default the last 30 days),
    ``limit`` (1-200, default 50), ``cursor`` (the ``next`` of the page before). One Query per
    month looked at."""
    unknown = set(q) - {"from", "to", "limit", "cursor"}
    if unknown:
        raise BadRequest(f"unknown parameter {sorted(unknown)[0]!r}: use from, to, limit, cursor")
    now = clock.now_ms()
    end = _day_ms(q["to"], "to") + DAY_MS - 1 if q.get("to") else now
    start = _day_ms(q["from"], "from") if q.get("from") else end - 30 * DAY_MS
    if start > end:
        raise BadRequest("'from' is after 'to'")
    raw_limit = q.get("limit", "50")
    if not str(raw_limit).isdigit() or not 1 <= int(raw_limit) <= 200:
        raise BadRequest("'limit' must be a whole number from 1 to 200")
    limit = int(raw_limit)
    cursor = q.get("cursor")
    before_month, before_sk = None, None
    if cursor:
        if not isinstance(cursor, str) or not _CURSOR.fullmatch(cursor):
            raise BadRequest("'cursor' is not one this API gave: pass the 'next' of the page before")
        before_month, _, before_sk = cursor.partition("|")
    found: list[stored.AuditEntry] = []
    for month in clock.months_desc(start, end):
        if before_month and month > before_month:
            continue
        before = before_sk if month == before_month else f"{end + 1:013d}"
        found += stored.month_page(month, before=before, after_ms=start, limit=limit - len(found), ctx=ctx)
        if len(found) >= limit:
            break
    return {
        "entries": [_public(e) for e in found],
        "next": found[-1].id if len(found) == limit else None,
    }


def _public(e: stored.AuditEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": datetime.fromtimestamp(e.at_ms / 1000, UTC).isoformat().replace("+00:00", "Z"),
        "action": e.action,
        "actor": e.actor,
        "actor_kind": e.actor_kind,
        "api_key_name": e.key_name,
        "source": e.source,
        "details": e.details,
    }
