"""The audit log's entries in the counters table: one partition per month (``keys.audit_month``),
newest first by their sort key, each kept until its ``expires_at`` (``AUDIT_RETENTION_DAYS``).

Written only by ``chalicelib.audit`` (every ``log_change``); no route writes, edits or deletes one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.core import clock
from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.store import keys
from chalicelib.store.models import CounterModel


@dataclass(frozen=True)
class AuditEntry:
    at_ms: int
    action: str  # "channels.update", "users.signin_failed", ...
    actor: str  # a key id (key:...), an email, "system"; never a secret
    actor_kind: str
    source: str | None  # the request's address (API Gateway's sourceIp)
    key_name: str | None
    details: dict[str, Any]  # the ids the change names
    id: str = ""


def _month(ms: int) -> str:
    return clock.month_key(ms)


def add(entry: AuditEntry, expires_at: datetime, *, ctx: RequestContext = SYSTEM) -> str:
    """Store one entry; its id. One PutItem (a new sort key: never overwrites another)."""
    sk = f"{entry.at_ms:013d}#{secrets.token_hex(4)}"
    data = {
        "action": entry.action,
        "actor": entry.actor,
        "actor_kind": entry.actor_kind,
        "source": entry.source,
        "key_name": entry.key_name,
        "details": entry.details,
    }
    CounterModel(keys.audit_month(_month(entry.at_ms)), sk, data=data, expires_at=expires_at).save(
        condition=CounterModel.pk.does_not_exist()
    )
    return f"{_month(entry.at_ms)}|{sk}"


def month_page(
    month: str, *, before: str | None, after_ms: int, limit: int, ctx: RequestContext = SYSTEM
) -> list[AuditEntry]:
    """Up to ``limit`` entries of ``month``, newest first, older than sort key ``before`` (if
    given) and not older than ``after_ms``. One Query."""
    condition: Any = CounterModel.sk >= f"{after_ms:013d}"
    if before:
        condition = CounterModel.sk.between(f"{after_ms:013d}", before)  # ``before`` itself is skipped below
    out = []
    for item in CounterModel.query(
        keys.audit_month(month), condition, scan_index_forward=False, limit=limit + 1, consistent_read=True
    ):
        if item.sk == before:
            continue
        d = dict(item.data or {})
        out.append(
            AuditEntry(
                at_ms=int(item.sk.split("#", 1)[0]),
                action=str(d.get("action", "")),
                actor=str(d.get("actor", "")),
                actor_kind=str(d.get("actor_kind", "")),
                source=d.get("source"),
                key_name=d.get("key_name"),
                details=dict(d.get("details") or {}),
                id=f"{month}|{item.sk}",
            )
        )
        if len(out) == limit:
            break
    return out
