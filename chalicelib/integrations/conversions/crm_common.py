"""What the CRM platforms (Bitrix24, HubSpot) share: the responsible user per channel or pool, a
``Retry-After`` read, answers cut and phones masked for the delivery log.

Pure standard library, no I/O: the clients call it, and the results-back side
(``chalicelib.integrations.crm``) reads the same settings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

ANSWER_CHARS = 1000
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PHONE = re.compile(r"\+\d{6,15}")


def parse_users(raw: object, *, numeric: bool) -> dict[str, str]:
    """``"ch_abc=5, po_xyz=7"`` (or a JSON object) -> {channel or pool id: CRM user id}; ``ValueError`` in words."""
    if raw in (None, ""):
        return {}
    pairs: list[tuple[str, str]]
    if isinstance(raw, Mapping):
        pairs = [(str(k), str(v)) for k, v in raw.items()]
    elif isinstance(raw, str):
        pairs = []
        for part in raw.replace("\n", ",").split(","):
            if not part.strip():
                continue
            key, eq, value = part.partition("=")
            if not eq:
                raise ValueError(f"'users' must be pairs like ch_abc=5, separated by commas; {part.strip()!r} is not")
            pairs.append((key.strip(), value.strip()))
    else:
        raise ValueError("'users' must be pairs like ch_abc=5, separated by commas")
    out: dict[str, str] = {}
    for key, value in pairs:
        if not _ID.fullmatch(key):
            raise ValueError(f"'users': {key[:40]!r} is not a channel or pool id")
        if not (value.isdigit() if numeric else _ID.fullmatch(value)):
            raise ValueError(f"'users': the user for {key} must be {'a number' if numeric else 'an id'}")
        out[key] = value
    if len(out) > 200:
        raise ValueError("'users' takes at most 200 channels and pools")
    return out


def users_text(users: Mapping[str, str]) -> str:
    """The mapping as the owner types it (``ch_abc=5, po_xyz=7``): how it is stored and shown."""
    return ", ".join(f"{k}={v}" for k, v in sorted(users.items()))


def stage_list(raw: object) -> list[str]:
    """A stored ``won_stages`` / ``lost_stages`` (``WON, C1:WON``) as a list."""
    items = raw.split(",") if isinstance(raw, str) else list(raw) if isinstance(raw, (list, tuple)) else []
    return [str(x).strip() for x in items if str(x).strip()]


def stage_ids(raw: object, name: str, pattern: re.Pattern[str], example: str) -> list[str]:
    """The owner's stage (or status) ids, sorted and unique; ``ValueError`` naming one that is not like ``example``."""
    out = sorted(set(stage_list(raw)))
    for s in out:
        if not pattern.fullmatch(s):
            raise ValueError(f"'{name}': {s[:40]!r} is not {example}")
    return out


def responsible(settings: Mapping[str, object], channel_id: str | None, pool_id: str | None) -> str | None:
    """The CRM user for a call: its channel's or pool's, else the destination's default (None: the CRM's own)."""
    try:
        users = parse_users(settings.get("users"), numeric=False)
    except ValueError:
        users = {}
    for key in (channel_id, pool_id):
        if key and key in users:
            return str(users[key])
    default = settings.get("user_id")
    return str(default) if default not in (None, "") else None


def retry_after_ms(headers: Mapping[str, str], now_ms: int, default_seconds: int = 60) -> int:
    """When to try again: the answer's ``Retry-After`` (seconds), capped at a day, else ``default_seconds``."""
    raw = (headers.get("retry-after") or "").strip()
    seconds = int(raw) if raw.isdigit() else default_seconds
    return now_ms + max(1, min(seconds, 86_400)) * 1000


def masked(text: str) -> str:
    """Phone numbers cut to their last four digits (the delivery log never shows a whole number)."""
    return _PHONE.sub(lambda m: "+…" + m.group(0)[-4:], text)


def shown(body: bytes) -> str:
    return masked(body[:ANSWER_CHARS].decode("utf-8", "replace"))


def loads(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError:
        return None


def dumps(value: Any) -> str:
    return masked(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


class Deal:
    """A deal as a CRM reported it: its stage, amount (text, as the CRM wrote it), when it changed, and its
    contacts' phone numbers (as the CRM keeps them; the results side normalises them to E.164)."""

    __slots__ = ("amount", "changed_at_ms", "id", "kind", "phones", "stage")

    def __init__(
        self,
        id: str,
        stage: str,
        amount: str | None,
        changed_at_ms: int,
        phones: tuple[str, ...],
        kind: str = "deal",  # "lead": a Bitrix24 lead by its status (``won_lead_statuses``), its id ``lead-<ID>``
    ) -> None:
        self.id, self.stage, self.amount, self.changed_at_ms, self.phones = id, stage, amount, changed_at_ms, phones
        self.kind = kind

    def __repr__(self) -> str:
        return f"Deal({self.id!r}, {self.stage!r}, {self.amount!r}, {self.changed_at_ms})"
