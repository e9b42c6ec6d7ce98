"""Tracking numbers: buying them for channels and pools, listing, releasing.

(The lease allocator for pool numbers lives here too, beside the items it writes.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib import clock
from chalicelib import validation as v
from chalicelib.errors import BadRequest, Conflict, NotFound, UpstreamError, dynamodb_code
from chalicelib.models import LeaseModel, NumberModel, SessionModel
from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from chalicelib.telephony import Webhooks

PROVISION_FIELDS = {"channel_id", "pool_id", "country", "area_code", "contains", "number", "overflow"}


def webhooks() -> Webhooks:
    """This deployment's webhook URLs, from the configured public base URL (never a Host header)."""
    # The telephony package is for the management API: imported here, not on the voice path.
    from chalicelib.telephony import Webhooks

    base = get_settings().public_base_url
    if not base:
        raise Conflict("PUBLIC_BASE_URL is not configured, so Twilio could not reach this deployment")
    return Webhooks(
        voice_url=f"{base}/twilio/voice",
        voice_fallback_url=f"{base}/twilio/fallback",
        status_callback=f"{base}/twilio/call-status",
    )


def to_dict(n: NumberModel) -> dict[str, Any]:
    out: dict[str, Any] = {
        "number": n.number,
        "display": v.display(n.number),
        "status": n.status,
        "kind": n.kind,
        "channel_id": n.channel_id,
        "pool_id": n.pool_id,
        "provider": n.provider,
        "provider_sid": n.provider_sid,
        "created_at": clock.iso(int(n.created_at)),
        "released_at": clock.iso(int(n.released_at)) if n.released_at is not None else None,
    }
    return out


def _target(body: dict[str, Any]) -> tuple[str, str | None, str | None]:
    channel_id = v.string(body, "channel_id", max_len=64)
    pool_id = v.string(body, "pool_id", max_len=64)
    if bool(channel_id) == bool(pool_id):
        raise BadRequest("give exactly one of 'channel_id' or 'pool_id'")
    if channel_id:
        from chalicelib import channels

        channels.load(channel_id)
        return "channel", channel_id, None
    from chalicelib import pools

    pools.load(pool_id or "")
    overflow = v.boolean(body, "overflow", default=False)
    return ("overflow" if overflow else "pool"), None, pool_id


def provision(body: dict[str, Any]) -> dict[str, Any]:
    """Search for a number (or take the one given) and buy it for a channel or a pool."""
    v.reject_unknown(body, PROVISION_FIELDS)
    kind, channel_id, pool_id = _target(body)
    if kind != "overflow" and "overflow" in body and body["overflow"]:
        raise BadRequest("'overflow' applies to pool numbers only")
    country = (v.string(body, "country", max_len=2) or "US").upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise BadRequest("'country' must be a two-letter ISO country code")
    area_code = v.string(body, "area_code", max_len=5)
    if area_code is not None and not re.fullmatch(r"\d{2,5}", area_code):
        raise BadRequest("'area_code' must be 2 to 5 digits")
    contains = v.string(body, "contains", max_len=10)
    if contains is not None and not re.fullmatch(r"[0-9*]{1,10}", contains):
        raise BadRequest("'contains' must be digits (and * as a wildcard)")
    wanted = v.e164(body["number"], "number") if body.get("number") is not None else None

    from chalicelib.telephony import TelephonyError, get_provider

    hooks = webhooks()
    provider = get_provider()
    try:
        if wanted is None:
            found = provider.search(country=country, area_code=area_code, contains=contains, limit=1)
            if not found:
                raise Conflict("no number is available for that country, area code and pattern")
            wanted = found[0].number
        _ensure_free(wanted)
        bought = provider.buy(wanted, hooks)
    except TelephonyError as exc:
        if exc.client_error:
            raise Conflict(f"the telephony provider refused: {exc}") from None
        raise UpstreamError(f"the telephony provider failed: {exc}") from None

    item = NumberModel(
        bought.number,
        provider=provider.name,
        provider_sid=bought.sid,
        status="active",
        kind=kind,
        channel_id=channel_id,
        pool_id=pool_id,
        friendly_name=bought.friendly_name,
        created_at=clock.now_ms(),
        # A never-leased number sorts first among the least recently released.
        lease_ended_at=0 if kind == "pool" else None,
    )
    try:
        item.save(condition=NumberModel.number.does_not_exist() | (NumberModel.status == "released"))
    except PutError as exc:
        if dynamodb_code(exc) == "ConditionalCheckFailedException":
            raise Conflict(f"{bought.number} is already a tracking number here") from None
        raise
    if kind == "overflow":
        from chalicelib import pools

        pools.set_overflow_number(pool_id or "", bought.number)
    return to_dict(item)


def _ensure_free(number: str) -> None:
    try:
        existing = NumberModel.get(number)
    except NumberModel.DoesNotExist:
        return
    if existing.status == "active":
        raise Conflict(f"{number} is already a tracking number here")


def load(number: str) -> NumberModel:
    e164 = v.e164(unquote(number), "number")
    try:
        return NumberModel.get(e164)
    except NumberModel.DoesNotExist:
        raise NotFound(f"{e164} is not a tracking number here") from None


def get(number: str) -> dict[str, Any]:
    return to_dict(load(number))


def list_all(
    *, status: str | None = None, channel_id: str | None = None, pool_id: str | None = None
) -> list[dict[str, Any]]:
    if status not in (None, "active", "released"):
        raise BadRequest("'status' must be 'active' or 'released'")
    out = []
    for n in NumberModel.scan():
        if (
            (status and n.status != status)
            or (channel_id and n.channel_id != channel_id)
            or (pool_id and n.pool_id != pool_id)
        ):
            continue
        out.append(to_dict(n))
    return sorted(out, key=lambda d: d["number"])


def require_none_active(*, channel_id: str | None = None, pool_id: str | None = None) -> None:
    """A 409 naming the active numbers of a channel or pool that is about to be deleted."""
    cond = NumberModel.channel_id == channel_id if channel_id else NumberModel.pool_id == pool_id
    active = [n.number for n in NumberModel.scan(cond) if n.status == "active"]
    if active:
        what = "channel" if channel_id else "pool"
        raise Conflict(f"release the {what}'s numbers first: {', '.join(active)}")


def release(number: str) -> dict[str, Any]:
    """Give the number back to the carrier; its item (and its calls) stay, marked released."""
    item = load(number)
    if item.status == "released":
        return to_dict(item)
    from chalicelib.telephony import TelephonyError, get_provider

    try:
        get_provider().release(item.provider_sid)
    except TelephonyError as exc:
        if not exc.client_error:
            raise UpstreamError(f"the telephony provider failed: {exc}") from None
        # A 404 from the carrier means it is gone already: mark it released here too.
    item.update(
        actions=[
            NumberModel.status.set("released"),
            NumberModel.released_at.set(clock.now_ms()),
            NumberModel.lease_session_id.remove(),
            NumberModel.lease_expires_at.remove(),
            NumberModel.lease_ended_at.remove(),  # leaves the pool index: never offered again
        ]
    )
    if item.kind == "overflow" and item.pool_id:
        from chalicelib import pools

        pools.clear_overflow_number(item.pool_id, item.number)
    return to_dict(item)


# --- the lease allocator --------------------------------------------------------------------
#
# A pool number's lease lives on its item: ``lease_session_id`` holds it until
# ``lease_expires_at``. Taking a number is one conditional write (a transaction that also
# records the session and the lease start), so no two sessions ever hold it at once; the
# pool index only *suggests* candidates, least recently released first. TTL plays no part.

CANDIDATES_PER_QUERY = 5
MAX_ROUNDS = 4


@dataclass(frozen=True)
class Lease:
    number: str
    session_id: str
    started_at: int
    expires_at: int


def _free_condition(pool_id: str, now_ms: int) -> Any:
    return (
        (NumberModel.status == "active")
        & (NumberModel.kind == "pool")
        & (NumberModel.pool_id == pool_id)
        & (NumberModel.lease_expires_at.does_not_exist() | (NumberModel.lease_expires_at <= now_ms))
    )


def _unchanged_since(cand: NumberModel) -> Any:
    if cand.lease_started_at is None:
        return NumberModel.lease_started_at.does_not_exist()
    unchanged = NumberModel.lease_started_at == int(cand.lease_started_at)
    if cand.lease_expires_at is not None:  # a renewal since the read would make prev_ended_at early
        unchanged = unchanged & (NumberModel.lease_expires_at == int(cand.lease_expires_at))
    return unchanged


def candidates(pool_id: str, now_ms: int, *, limit: int = CANDIDATES_PER_QUERY) -> list[NumberModel]:
    """Numbers that look free, least recently released first (an eventually consistent hint)."""
    return list(
        NumberModel.pool_index.query(
            pool_id, NumberModel.lease_ended_at <= now_ms, scan_index_forward=True, limit=limit
        )
    )


def allocate(pool_id: str, session: SessionModel, hold_ms: int, now_ms: int, history_days: int) -> Lease | None:
    """Lease the least recently released free number of the pool to ``session``; ``None`` if none is free.

    The session item is written in the same transaction, so a lease never exists without it.
    """
    expires = now_ms + hold_ms
    tried: set[str] = set()
    for _ in range(MAX_ROUNDS):
        found = [c for c in candidates(pool_id, now_ms) if c.number not in tried and c.status == "active"]
        if not found:
            return None
        for cand in found:
            tried.add(cand.number)
            if _take(cand, pool_id, session, now_ms, expires, history_days):
                return Lease(cand.number, session.session_id, now_ms, expires)
    return None


def _take(cand: NumberModel, pool_id: str, session: SessionModel, now_ms: int, expires: int, history_days: int) -> bool:
    from datetime import datetime

    lease = LeaseModel(
        cand.number,
        now_ms,
        session_id=session.session_id,
        pool_id=pool_id,
        prev_session_id=cand.lease_session_id,
        prev_ended_at=int(cand.lease_expires_at) if cand.lease_expires_at is not None else None,
        source=session.source or {},
        expires_at=datetime.fromtimestamp(now_ms / 1000 + history_days * 86_400, tz=UTC),
    )
    session.number = cand.number
    try:
        with TransactWrite(connection=transaction_connection()) as tx:
            tx.update(
                NumberModel(cand.number),
                actions=[
                    NumberModel.lease_session_id.set(session.session_id),
                    NumberModel.lease_started_at.set(now_ms),
                    NumberModel.lease_expires_at.set(expires),
                    NumberModel.lease_ended_at.set(expires),
                ],
                # Free now, and still in the state the candidate was read in: the lease history's
                # ``prev_*`` fields then describe exactly the lease this one follows.
                condition=_free_condition(pool_id, now_ms) & _unchanged_since(cand),
            )
            tx.save(session)
            tx.save(lease, condition=LeaseModel.number.does_not_exist())
    except TransactWriteError as exc:
        if dynamodb_code(exc) == "TransactionCanceledException":
            return False  # somebody took it first (or it is not free): try the next one
        raise
    return True


def renew(number: str, session_id: str, hold_ms: int, now_ms: int) -> Lease | None:
    """Extend a held lease with a single write; ``None`` if the session no longer holds the number.

    The condition is the proof: only the session that holds the number, before its hold
    ran out, can extend it (session ids are unguessable), so the number may come from the client.
    """
    expires = now_ms + hold_ms
    # Releasing a number removes its lease fields and sessions belong to one pool, so these
    # two clauses also mean "still active, still in this pool".
    condition = (NumberModel.lease_session_id == session_id) & (NumberModel.lease_expires_at > now_ms)
    try:
        NumberModel._get_connection().update_item(
            number,
            actions=[NumberModel.lease_expires_at.set(expires), NumberModel.lease_ended_at.set(expires)],
            condition=condition,
            return_values="NONE",  # nothing to read back: one small write
        )
    except UpdateError as exc:
        if dynamodb_code(exc) == "ConditionalCheckFailedException":
            return None
        raise
    return Lease(number, session_id, now_ms, expires)


_conn: Connection | None = None


def transaction_connection() -> Connection:
    global _conn
    if _conn is None:
        meta: Any = NumberModel.Meta
        _conn = Connection(
            region=meta.region,
            host=meta.host,
            connect_timeout_seconds=meta.connect_timeout_seconds,
            read_timeout_seconds=meta.read_timeout_seconds,
            max_retry_attempts=meta.max_retry_attempts,
        )
    return _conn
