"""Website visits: a session's source (utm tags, referrer, landing page, click and client ids) and its page views.

A session is created with its first lease and kept as long as the lease history that
points at it (``LEASE_HISTORY_DAYS``); page views are bounded (``MAX_PAGES``).
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from chalicelib.core.settings import get_settings
from chalicelib.store import leases
from chalicelib.store.leases import Session
from chalicelib.store.ops import expires_after

MAX_PAGES = 50  # page views kept per session


def existing(pool_id: str, req: dict[str, Any]) -> Session | None:
    """The session the request names, if it is this visitor's in this pool."""
    if not req["session_id"]:
        return None
    session = leases.get_session(req["session_id"])
    if session is None:
        return None
    if session.pool_id != pool_id or session.visitor_id != req["visitor_id"]:
        return None  # not this visitor's: start their own
    return session


def source_of(req: dict[str, Any]) -> dict[str, Any]:
    """The visit's source as stored on the session and copied to its calls."""
    src: dict[str, Any] = {
        "landing_page": req["page_url"],
        "referrer": req["referrer"],
        **{f"utm_{k}": val for k, val in req["utm"].items()},
        **req["click_ids"],
        **{f"{k}_client_id": val for k, val in req["client_ids"].items() if k != "ga_session"},
        "ga_session_id": req["client_ids"].get("ga_session"),  # a session id, not a client id
        "user_agent": req["user_agent"],
    }
    src["device"] = _device(req["user_agent"])
    return {k: val for k, val in src.items() if val}


def _device(user_agent: str | None) -> str | None:
    if not user_agent:
        return None
    ua = user_agent.lower()
    if "ipad" in ua or "tablet" in ua:
        return "tablet"
    if "mobi" in ua or "android" in ua or "iphone" in ua:
        return "mobile"
    return "desktop"


def touch(session: Session, now: int) -> Session:
    """Seen now; kept as long as the lease history that may point at it."""
    return replace(session, last_seen_at=now, expires_at=expires_after(now, get_settings().lease_history_days))


def new(pool_id: str, req: dict[str, Any], now: int) -> Session:
    """A new visit (not saved: the allocator saves it in the same transaction as its lease)."""
    session = Session(
        "s_" + secrets.token_urlsafe(16),
        pool_id=pool_id,
        visitor_id=req["visitor_id"],
        source=source_of(req),
        pages=(),
        created_at=now,
        last_seen_at=now,
    )
    return add_page(session, req, now)


def _page(req: dict[str, Any], now: int) -> dict[str, Any]:
    return {"url": req["page_url"], "at": now}


def add_page(session: Session, req: dict[str, Any], now: int) -> Session:
    """The session with this page view added, while it has fewer than MAX_PAGES (not saved)."""
    if req["page_url"] and len(session.pages) < MAX_PAGES:
        return replace(session, pages=(*session.pages, _page(req, now)))
    return session


def record_page(session_id: str, req: dict[str, Any], now: int) -> None:
    """Append a page view to a held session (bounded: past MAX_PAGES views only ``last_seen_at`` moves)."""
    leases.record_page(session_id, _page(req, now), now, max_pages=MAX_PAGES)
