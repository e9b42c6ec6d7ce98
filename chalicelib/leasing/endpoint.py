"""The public lease endpoint: a website visitor asks for a number and keeps it while browsing.

Requests come from ``ct.js`` as CORS "simple" posts (JSON sent as ``text/plain``), so no
preflight is needed. The pool's allowed origins are the only ones answered with CORS
headers; others are refused. Each answer says whether the visitor is tracked.

Requests per call (counted in ``bench/leases.py``, issue 25): a new lease is two, one query
for candidates and one transaction (number, session, lease history, the visitor's holder
item and the client address's item with their limits as conditions: ``limits``), nothing
read before it; a refusal returns the item that refused (``ALL_OLD``), which says whether the
visitor holds a number elsewhere (joined, or handed over to their new session) or a budget is
reached. With the site script's hint (``prev_*``: the session and number it kept when it
started a new visit) a returning visitor is two writes (the renewal, the page view), a
hand-over one transaction. An address at its cap of numbers held costs two more (its numbers
looked up, one BatchGetItem, and the transaction again); one over its hourly budget is
remembered per container for the hour (no request). A renewal is one conditional update.
Pool settings come from a short per-process cache.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from chalicelib import sites
from chalicelib.core import clock
from chalicelib.core import privacy as privacy_urls
from chalicelib.core import validation as v
from chalicelib.core.context import RequestContext, for_site
from chalicelib.core.errors import ApiError, BadRequest, Forbidden
from chalicelib.core.observability import logger
from chalicelib.core.settings import get_settings
from chalicelib.leasing import allocator, limits, sessions
from chalicelib.store.leases import Session
from chalicelib.store.lines import Pool

MAX_BODY_BYTES = 8 * 1024
CUT = {"url": 1000, "text": 200, "id": 100}
# Tries of a new lease after a refusal that says what to do next (the visitor's lease elsewhere to
# join or replace, an address at its cap whose ended leases are to be taken out).
LEASE_ATTEMPTS = 4
UTM_KEYS = ("source", "medium", "campaign", "term", "content")
CLICK_ID_KEYS = ("gclid", "gbraid", "wbraid", "yclid", "fbclid", "msclkid")  # gbraid, wbraid: Google's iOS click ids
CLIENT_ID_KEYS = ("ga", "ga_session", "ym")  # ga_session: the GA4 session id, stored as ga_session_id
FIELDS = {
    "site_key",
    "visitor_id",
    "session_id",
    "renew",
    "page_url",
    "referrer",
    "utm",
    "click_ids",
    "client_ids",
    "user_agent",
    "number",
    "prev_session_id",
    "prev_number",
    "prev_use",
}
PREV_USES = ("keep", "move", "ended")  # what the site script asks of the lease it still holds
_VISITOR = re.compile(r"[A-Za-z0-9_-]{8,64}")
_SESSION = re.compile(r"s_[A-Za-z0-9_-]{10,40}")
# Known crawlers, preview fetchers and automation; the script also refuses to lease under webdriver.
_BOT = re.compile(
    r"bot\b|crawl|spider|slurp|headless|phantomjs|puppeteer|playwright|selenium|lighthouse|pagespeed|"
    r"facebookexternalhit|embedly|preview|python-requests|curl/|wget/|httpclient|java/|go-http",
    re.IGNORECASE,
)


class CorsError(ApiError):
    """An error answered with the pool's CORS headers, so the site script can read it."""

    def __init__(self, inner: ApiError, headers: dict[str, str]) -> None:
        super().__init__(inner.message, details=inner.details)
        self.status, self.code, self.headers = inner.status, inner.code, headers


def cors_headers(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin", "Cache-Control": "no-store"}


def is_bot(user_agent: str | None) -> bool:
    return not user_agent or bool(_BOT.search(user_agent))


def _text(value: Any, name: str, limit: int) -> str | None:
    """A string field, cut to ``limit`` characters (stored as data, never rendered)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest(f"'{name}' must be a string")
    return value[:limit]


def _url(value: Any, name: str, keep: Callable[[str], str | None]) -> str | None:
    """An http(s) URL cut down by ``keep`` (privacy: origin + path, see chalicelib/core/privacy.py).

    Cut to length only after ``keep``, so that long dropped parameters cannot push kept ones out.
    """
    text = _text(value, name, MAX_BODY_BYTES)
    if text is None:
        return None
    kept = keep(text)
    if kept is None:
        raise BadRequest(f"'{name}' must be an http(s) URL")
    return kept[: CUT["url"]]


def _group(body: dict[str, Any], name: str, keys: tuple[str, ...]) -> dict[str, str]:
    raw = body.get(name)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise BadRequest(f"'{name}' must be an object with keys {', '.join(keys)}")
    out = {}
    for key in keys:
        value = _text(raw.get(key), f"{name}.{key}", CUT["text"])
        if value:
            out[key] = value
    return out


def parse(body: dict[str, Any]) -> dict[str, Any]:
    v.reject_unknown(body, FIELDS)
    visitor = body.get("visitor_id")
    if not isinstance(visitor, str) or not _VISITOR.fullmatch(visitor):
        raise BadRequest("'visitor_id' must be 8 to 64 letters, digits, '-' or '_'")
    session_id = body.get("session_id")
    if session_id is not None and (not isinstance(session_id, str) or not _SESSION.fullmatch(session_id)):
        raise BadRequest("'session_id' is not one this API gave out")
    renew = body.get("renew", False)
    if not isinstance(renew, bool):
        raise BadRequest("'renew' must be true or false")
    if renew and session_id is None:
        raise BadRequest("a renewal needs the 'session_id' it renews")
    number = body.get("number")
    if number is not None and (not isinstance(number, str) or not re.fullmatch(r"\+[1-9]\d{6,14}", number)):
        raise BadRequest("'number' must be the E.164 number this API leased")
    prev, prev_use = _prev(body)
    page_url = _url(body.get("page_url"), "page_url", privacy_urls.page_url)  # origin + path + tracking parameters
    if page_url is None and not renew:
        raise BadRequest("'page_url' is required")
    return {
        "visitor_id": visitor,
        "session_id": session_id,
        "renew": renew,
        "number": number,
        "prev": prev,
        "prev_use": prev_use,
        "page_url": page_url,
        "referrer": _url(body.get("referrer"), "referrer", privacy_urls.referrer),  # origin + path
        "utm": _group(body, "utm", UTM_KEYS),
        "click_ids": _group(body, "click_ids", CLICK_ID_KEYS),
        "client_ids": _group(body, "client_ids", CLIENT_ID_KEYS),
        "user_agent": _text(body.get("user_agent"), "user_agent", 400),
    }


def _prev(body: dict[str, Any]) -> tuple[limits.Prev | None, str]:
    """The site script's hint: the session it dropped (a new campaign, 30 idle minutes), the
    number that session held and what to do with it. Checked by the lease's own conditions."""
    session_id, number, use = body.get("prev_session_id"), body.get("prev_number"), body.get("prev_use", "keep")
    if session_id is None and number is None:
        return None, "keep"
    if not isinstance(session_id, str) or not _SESSION.fullmatch(session_id):
        raise BadRequest("'prev_session_id' is not one this API gave out")
    if not isinstance(number, str) or not re.fullmatch(r"\+[1-9]\d{6,14}", number):
        raise BadRequest("'prev_number' must be the E.164 number that session held")
    if use not in PREV_USES:
        raise BadRequest(f"'prev_use' must be one of {', '.join(PREV_USES)}")
    return limits.Prev(session_id, number), use


def lease(
    raw: bytes | str | None,
    origin: str | None,
    header_user_agent: str | None,
    client_ip: str | None = None,
    *,
    on_context: Callable[[RequestContext], object] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Answer one lease request: the number to show and the CORS headers to send it with.

    ``client_ip`` is the address API Gateway saw (``requestContext.identity.sourceIp``), never
    a header the client sets; without it (in-process simulations) no address budget applies.

    The lease endpoint's edge: once the site key names a pool, the request's caller is that site
    (``for_site``), handed to ``on_context`` (the route attaches it to its request). A callback
    rather than a third value in the answer, so that the simulations and benchmarks calling
    this in-process keep their two-value answer.
    """
    body = v.json_body(raw, None, max_bytes=MAX_BODY_BYTES)
    site_key = body.get("site_key")
    if not isinstance(site_key, str):
        raise BadRequest("'site_key' must be the data-site value of the script tag")
    pool = sites.by_site_key(site_key)
    if on_context is not None:
        on_context(for_site(pool.site_key))
    allowed = _allowed_origin(pool, origin)
    headers = cors_headers(allowed)
    try:
        req = parse(body)
        if req["user_agent"] is None and header_user_agent:
            req["user_agent"] = header_user_agent[:400]
        return _answer(pool, req, header_user_agent, client_ip), headers
    except ApiError as exc:
        raise CorsError(exc, headers) from None


def _allowed_origin(pool: Pool, origin: str | None) -> str:
    if not origin:
        raise Forbidden("the lease endpoint answers browsers only: the Origin header is missing")
    try:
        normalized = v.origin(origin)
    except ApiError:
        raise Forbidden(f"origin {origin[:100]!r} is not allowed for this site") from None
    if normalized not in (pool.allowed_origins or []):
        raise Forbidden(f"origin {normalized!r} is not allowed for this site")
    return origin


def _untracked(pool: Pool, reason: str) -> dict[str, Any]:
    number = pool.original_number
    if reason == "pool_exhausted" and pool.exhaustion_policy == "overflow" and pool.overflow_number:
        number = pool.overflow_number
    return {
        "tracked": False,
        "reason": reason,
        "number": number,
        "display": v.display(number),
        "original": pool.original_number,
        "session_id": None,
    }


def _tracked(pool: Pool, got: allocator.Lease) -> dict[str, Any]:
    hold = int(pool.hold_seconds)
    return {
        "tracked": True,
        "number": got.number,
        "display": v.display(got.number),
        "original": pool.original_number,
        "session_id": got.session_id,
        "expires_at": clock.iso(got.expires_at),
        "hold_seconds": hold,
        # Renew well before the hold runs out, but not so often that idle tabs cost much.
        "renew_after_seconds": max(15, min(hold // 3, 300)),
    }


def _answer(pool: Pool, req: dict[str, Any], header_ua: str | None, client_ip: str | None) -> dict[str, Any]:
    if is_bot(header_ua) or (req["user_agent"] is not None and is_bot(req["user_agent"])):
        return _untracked(pool, "bot")
    s = get_settings()
    now = clock.now_ms()
    hold_ms = int(pool.hold_seconds) * 1000
    max_ms = s.lease_max_seconds * 1000
    if req["renew"] and req["number"]:
        # The fast path: one conditional write on the number the session says it holds.
        got = allocator.renew(req["number"], req["session_id"], hold_ms, now, max_ms)
        if got is not None:
            return _tracked(pool, got)
    session = sessions.existing(pool.pool_id, req)
    prev: limits.Prev | None = None  # the visitor's lease a new one replaces, once it has ended
    holder: limits.Holder | None = None  # the holder item, when a refused transaction returned it
    if session is not None:
        if session.number:
            tried = req["renew"] and req["number"] == session.number
            got = None if tried else allocator.renew(session.number, session.session_id, hold_ms, now, max_ms)
            if got is not None:
                if not req["renew"]:
                    sessions.record_page(session.session_id, req, now)
                return _tracked(pool, got)
            if allocator.end_if_too_long(session.number, session.session_id, now, max_ms):
                logger.info("lease held for the longest allowed; its number is back in the pool", pool_id=pool.pool_id)
                return _untracked(pool, "session_limit")
            prev = limits.Prev(session.session_id, session.number)
        if session.created_at <= now - max_ms:
            return _untracked(pool, "session_limit")
    elif req["prev"] is not None and not req["renew"]:
        got, prev, holder = _from_hint(pool, req, req["prev"], req["prev_use"], hold_ms, now)
        if got is not None:
            return _tracked(pool, got)
    return _new_lease(pool, req, session, prev, holder, client_ip, now)


def _from_hint(
    pool: Pool, req: dict[str, Any], hint: limits.Prev, use: str, hold_ms: int, now: int
) -> tuple[allocator.Lease | None, limits.Prev | None, limits.Holder | None]:
    """The lease the site script says the visitor still holds (a session it dropped for a new
    campaign or after 30 idle minutes): handed over to a new session (``move``: one
    transaction) or renewed under its own (``keep``: one write, and the page view). Never
    trusted: a hand-over's transaction checks the hint against the holder item and the number,
    a renewal's condition against the number. Returns the lease, else the hint as the lease a
    new one replaces and the holder item if a refusal returned it."""
    s = get_settings()
    if use == "move":
        visitor = limits.visitor_limit(pool.pool_id, req["visitor_id"], hint)
        new = sessions.touch(sessions.new(pool.pool_id, req, now), now)
        try:
            moved = allocator.hand_over(hint, visitor, new, hold_ms, now, s.lease_history_days)
        except allocator.HolderMoved as exc:  # not the visitor's lease (a forged or stale hint), or capped
            return None, None, exc.holder
        if moved is not None:
            return moved, None, None
        return None, hint, None  # its lease has ended: a new one replaces it
    if use == "keep":
        got = allocator.renew(hint.number, hint.session_id, hold_ms, now, s.lease_max_seconds * 1000)
        if got is not None:
            sessions.record_page(got.session_id, req, now)
            return got, None, None
    return None, hint, None


def _new_lease(
    pool: Pool,
    req: dict[str, Any],
    session: Session | None,
    prev: limits.Prev | None,
    holder: limits.Holder | None,
    client_ip: str | None,
    now: int,
) -> dict[str, Any]:
    """A new lease, within the visitor's hourly budget and the client address's limits: the
    candidates query and one transaction, the holder and address items written with their
    limits as conditions and read by nobody first. A refusal returns the item that refused
    (``ALL_OLD``), which says what to do: join the lease the visitor holds, replace the one
    that ended, or refuse (over a budget; the address's hourly budget is then remembered for
    the hour, so a flood costs no request at all)."""
    s = get_settings()
    hold_ms = int(pool.hold_seconds) * 1000
    hour = clock.hour_key(now)
    address = limits.address_item(pool.pool_id, client_ip)
    if address is not None and limits.capped_this_hour(address, hour):
        return _rate_limited(pool, "address")
    fresh = session is None
    if session is None:
        session = sessions.new(pool.pool_id, req, now)
    elif not req["renew"]:
        session = sessions.add_page(session, req, now)
    session = sessions.touch(session, now)
    got = None
    found = None  # candidates a refused try left untried
    for _ in range(LEASE_ATTEMPTS):
        if holder is not None:
            # The holder item as a refused transaction returned it: the visitor's lease elsewhere
            # (handed over to a new visit of theirs or joined), and this hour's count.
            within_budget = holder.leases_in(hour) < s.leases_per_visitor_hour
            new_campaign = limits.campaign(sessions.source_of(req)) != holder.campaign
            hand_over = fresh and within_budget and not req["renew"] and new_campaign
            got, holder = _keep_the_visitors_number(pool, req, session if not fresh else None, holder, hand_over, now)
            if got is not None:
                return _tracked(pool, got)
            if holder is not None and not within_budget:
                return _rate_limited(pool, "visitor")
            prev = (holder.lease() if holder is not None else None) or prev  # it has ended: replace it
            holder = None
        visitor = limits.visitor_limit(pool.pool_id, req["visitor_id"], prev)
        limit = None if address is None else limits.AddressLimit(address, s.leases_held_per_ip, s.leases_per_ip_hour)
        try:
            got = allocator.allocate(pool.pool_id, session, hold_ms, now, s.lease_history_days, visitor, limit, found)
            break
        except allocator.HolderMoved as exc:
            # Another lease of the visitor's may still run (another tab's, a new campaign's), or
            # they are over their budget: the refusal says which.
            holder = exc.holder or limits.read_holder(pool.pool_id, req["visitor_id"])
        except allocator.PreviousHeld:
            # The lease this one was to replace still runs: it is the visitor's, join it.
            assert prev is not None
            got = allocator.renew(prev.number, prev.session_id, hold_ms, now, s.lease_max_seconds * 1000)
            if got is not None:
                if not req["renew"]:
                    sessions.record_page(got.session_id, req, now)
                return _tracked(pool, got)
        except allocator.AddressMoved as exc:
            found = exc.candidates or None
            address = exc.address
            if address.leases_in(hour) >= s.leases_per_ip_hour:
                limits.remember_capped(address, hour)
                return _rate_limited(pool, "address")
            # At its cap of numbers held: look its numbers up; the next try takes out those ended.
            address = limits.check_address(address, s.leases_held_per_ip, now)
            if address.holding() >= s.leases_held_per_ip:
                return _rate_limited(pool, "address_held")
    else:
        return _rate_limited(pool, "visitor")
    if got is None:
        sites.count_exhaustion(pool.pool_id, now, req["visitor_id"])
        logger.info("pool exhausted", pool_id=pool.pool_id)
        return _untracked(pool, "pool_exhausted")
    logger.info("lease started", pool_id=pool.pool_id, number=got.number, session_id=got.session_id)
    return _tracked(pool, got)


def _keep_the_visitors_number(
    pool: Pool,
    req: dict[str, Any],
    session: Session | None,
    holder: limits.Holder,
    hand_over: bool,
    now: int,
) -> tuple[allocator.Lease | None, limits.Holder | None]:
    """The number the visitor holds under another session: handed over to a new session of
    theirs (``hand_over``) or renewed under its own; ``None`` if they hold none any more.
    Returns the holder as last returned."""
    s = get_settings()
    hold_ms = int(pool.hold_seconds) * 1000
    max_ms = s.lease_max_seconds * 1000
    mine = session.session_id if session else None
    held = holder.lease()
    if held is None or not holder.may_hold(now, max_ms) or holder.session_id == mine:
        return None, holder
    if hand_over:
        new = sessions.touch(sessions.new(pool.pool_id, req, now), now)
        visitor = limits.visitor_limit(pool.pool_id, req["visitor_id"])
        try:
            # None: the earlier session no longer holds the number (its lease has ended).
            got = allocator.hand_over(held, visitor, new, hold_ms, now, s.lease_history_days)
            if got is not None:
                return got, holder
        except allocator.HolderMoved as exc:  # another tab moved it: join that one
            moved = exc.holder or limits.read_holder(pool.pool_id, req["visitor_id"])
            return _keep_the_visitors_number(pool, req, session, moved, False, now)
    got = allocator.renew(held.number, held.session_id, hold_ms, now, max_ms)
    if got is not None and not req["renew"]:
        sessions.record_page(got.session_id, req, now)
    return got, holder


def _rate_limited(pool: Pool, who: str) -> dict[str, Any]:
    logger.info("new lease refused: over a budget", pool_id=pool.pool_id, budget=who)
    return _untracked(pool, "rate_limited")
