"""Why a call came: a static channel, a website session that held the number, or nothing known.

Confidence values: ``static`` (a channel's own number), ``active`` (the call came while a
session held the pool number), ``late`` (after the hold but within the pool's grace
window and before the number was leased again), ``overflow`` (the pool's overflow
number), ``unattributed`` (none of these).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from chalicelib.core import callerkeys
from chalicelib.store import callers, leases
from chalicelib.store.callers import FirstTouchWrite
from chalicelib.store.lines import Number, Pool
from chalicelib.store.ops import expires_after


def for_channel(channel_id: str, channel_name: str) -> dict[str, Any]:
    return {
        "confidence": "static",
        "channel_id": channel_id,
        "channel_name": channel_name,
        "channel_group": None,
        "source": {},
        "session_id": None,
    }


def unattributed(reason: str) -> dict[str, Any]:
    return {"confidence": "unattributed", "reason": reason, "source": {}, "channel_group": None, "session_id": None}


def resolve(
    number: Number | None,
    call_time_ms: int,
    *,
    channel_name: str | None = None,
    pool: Pool | None = None,
) -> dict[str, Any]:
    """The attribution of a call to ``number`` at ``call_time_ms``."""
    if number is None:
        return unattributed("not a tracking number here")
    if number.kind == "channel" and number.channel_id:
        return for_channel(number.channel_id, channel_name or "")
    if number.kind == "overflow":
        return {
            "confidence": "overflow",
            "pool_id": number.pool_id,
            "source": {},
            "channel_group": "pool overflow",
            "session_id": None,
        }
    if number.kind == "pool" and pool is not None:
        return attribute_pool_call(number, pool, call_time_ms)
    return unattributed("number has no channel or pool")


# --- dynamic (pool) attribution -------------------------------------------------------------


def lease_confidence(call_ms: int, lease_end_ms: int, grace_ms: int) -> str | None:
    """How sure a call belongs to the lease that started last before it: ``active`` while the
    lease was held, ``late`` within the grace window after it ended, else ``None``. Pure."""
    if call_ms <= lease_end_ms:
        return "active"
    if call_ms - lease_end_ms <= grace_ms:
        return "late"
    return None


def attribute_pool_call(number: Number, pool: Pool, call_ms: int) -> dict[str, Any]:
    """The session whose lease on ``number`` started last before the call, with a confidence.

    A call during the number's current lease, or after it within the grace window, is attributed
    from the number item alone: it carries the lease's session, start, end and a copy of its
    source (``lease_source``), so the voice webhook reads no lease history. Only a call that began
    before the current lease (a record resolved late), or a number whose lease was taken before
    the item carried the source, queries the history (``_lease_from_history``).
    """
    lease, end = _current_lease(number, call_ms)
    if lease is None:
        lease, end = _lease_from_history(number, call_ms)
    if lease is None or end is None:
        return {**unattributed("no lease on this number before the call"), "pool_id": number.pool_id}
    confidence = lease_confidence(call_ms, end, int(pool.grace_seconds) * 1000)
    if confidence is None:
        return {**unattributed("the last lease ended before the grace window"), "pool_id": number.pool_id}
    # A lease recorded before leases carried their source: the session's.
    source = dict(lease.source) if lease.source is not None else (leases.session_source(lease.session_id) or {})
    return {
        "confidence": confidence,
        "pool_id": number.pool_id,
        "session_id": lease.session_id,
        "lease_started_at": lease.started_at,
        "lease_ended_at": end,
        "source": source,
        "channel_group": channel_group(source),
    }


def _current_lease(number: Number, call_ms: int) -> tuple[leases.LeaseStart | None, int | None]:
    """The number's current lease and its end, from the number item, if the call began during it."""
    started, session = number.lease_started_at, number.lease_session_id
    if started is None or session is None or number.lease_source is None or number.lease_expires_at is None:
        return None, None
    if call_ms < int(started):
        return None, None
    lease = leases.LeaseStart(number.number, int(started), session, number.pool_id or "", source=number.lease_source)
    return lease, int(number.lease_expires_at)


def _lease_from_history(number: Number, call_ms: int) -> tuple[leases.LeaseStart | None, int | None]:
    """The lease the call began in, from the lease history: one query of the newest two starts
    (the newest one's end is on the number item, an older one's on the lease that followed it),
    two more when both started after the call."""
    recent = leases.latest_starts(number.number, limit=2)
    for i, item in enumerate(recent):
        if item.started_at <= call_ms:
            if i > 0:
                return item, recent[i - 1].prev_ended_at
            current = number.lease_session_id == item.session_id and number.lease_expires_at is not None
            return item, int(number.lease_expires_at) if current and number.lease_expires_at is not None else None
    if not recent:
        return None, None
    older = leases.start_at_or_before(number.number, call_ms)
    if older is None:
        return None, None
    nxt = leases.start_after(number.number, call_ms)
    return older, nxt.prev_ended_at if nxt is not None else None


# --- channel groups -------------------------------------------------------------------------
# The rules, in order (the README repeats them):
#  1. utm_medium email / e-mail / newsletter                                  -> email
#  2. a paid marker (utm_medium cpc, ppc, paid*, sem, or a gclid, gbraid, wbraid, msclkid, yclid,
#     dclid click id): a social source or referrer -> paid social, else        -> paid search
#  3. utm_medium display, banner, cpm, affiliate(s), or any other utm_medium   -> other
#  4. utm_medium social / social-network / sm, a social referrer, or fbclid    -> social
#  5. a search engine referrer                                                 -> organic search
#  6. utm_medium referral, or any other referrer from another site             -> referral
#  7. no referrer and no utm                                                   -> direct

SEARCH_ENGINES = (
    "google.",
    "bing.",
    "yahoo.",
    "yandex.",
    "duckduckgo.",
    "baidu.",
    "ecosia.",
    "search.brave.",
    "naver.",
)
SOCIAL_SITES = (
    "facebook.",
    "fb.com",
    "instagram.",
    "t.co",
    "twitter.",
    "x.com",
    "linkedin.",
    "lnkd.in",
    "pinterest.",
    "reddit.",
    "tiktok.",
    "youtube.",
    "vk.com",
    "ok.ru",
    "snapchat.",
    "threads.net",
)
SOCIAL_SOURCES = (
    "facebook",
    "fb",
    "instagram",
    "ig",
    "twitter",
    "x",
    "linkedin",
    "pinterest",
    "reddit",
    "tiktok",
    "youtube",
    "vk",
    "meta",
    "snapchat",
    "threads",
)
PAID_MEDIUMS = (
    "cpc",
    "ppc",
    "sem",
    "paidsearch",
    "paid-search",
    "paid_search",
    "paid",
    "paid-social",
    "paid_social",
    "paidsocial",
    "cpa",
)
EMAIL_MEDIUMS = ("email", "e-mail", "e_mail", "newsletter")
SOCIAL_MEDIUMS = ("social", "social-network", "social_network", "social-media", "social_media", "sm", "organic-social")


def _host(url: str | None) -> str:
    if not url:
        return ""
    return (urlsplit(url).hostname or "").lower()


def _matches(host: str, sites: tuple[str, ...]) -> bool:
    labels = host.split(".")
    for site in sites:
        if site.endswith("."):
            if any(label + "." == site for label in labels[:-1]):
                return True
        elif host == site or host.endswith("." + site):
            return True
    return False


def channel_group(source: dict[str, Any]) -> str:
    """The channel group of a visit's source, by the rules above."""
    medium = str(source.get("utm_medium") or "").strip().lower()
    utm_source = str(source.get("utm_source") or "").strip().lower()
    referrer = _host(source.get("referrer"))
    landing = _host(source.get("landing_page"))
    external_ref = bool(referrer) and referrer != landing
    social = utm_source in SOCIAL_SOURCES or (external_ref and _matches(referrer, SOCIAL_SITES))
    if medium in EMAIL_MEDIUMS:
        return "email"
    if (
        medium in PAID_MEDIUMS
        or medium.startswith("paid")
        or any(source.get(k) for k in ("gclid", "gbraid", "wbraid", "msclkid", "yclid", "dclid"))
    ):
        return "paid social" if social or "social" in medium else "paid search"
    if medium and medium not in SOCIAL_MEDIUMS and medium not in ("organic", "referral"):
        return "other"
    if medium in SOCIAL_MEDIUMS or social or source.get("fbclid"):
        return "social"
    if (external_ref and _matches(referrer, SEARCH_ENGINES)) or medium == "organic":
        return "organic search"
    if medium == "referral" or external_ref:
        return "referral"
    return "direct"


# --- sources, first and last touch ----------------------------------------------------------


def source_key(attr: dict[str, Any] | None, kind: str | None = None) -> str:
    """The report row a call belongs to: a channel id, or ``web:<utm source or channel group>``.

    Spend is entered against the same keys (``PUT /v1/spend``).
    """
    attr = attr or {}
    confidence = attr.get("confidence")
    if confidence == "static" and attr.get("channel_id"):
        return str(attr["channel_id"])
    if confidence == "overflow":
        return "web:pool overflow"
    if confidence in ("active", "late"):
        source = attr.get("source") or {}
        name = str(source.get("utm_source") or attr.get("channel_group") or "direct").strip().lower()
        return "web:" + name[:60]
    if attr.get("pool_id"):
        return "web:unattributed"
    return "blocked" if kind == "blocked" else "unknown"


# How a report source reads to people: the same words in the log, the call page, the overview,
# emails, webhooks and the CSV. Well-known utm sources get their usual spelling; anything else is
# shown as it was tagged, with a capital first letter.
KNOWN_SOURCES = {
    "google": "Google",
    "adwords": "Google",
    "bing": "Bing",
    "microsoft": "Microsoft Ads",
    "yahoo": "Yahoo",
    "yandex": "Yandex",
    "duckduckgo": "DuckDuckGo",
    "facebook": "Facebook",
    "fb": "Facebook",
    "meta": "Meta",
    "instagram": "Instagram",
    "ig": "Instagram",
    "linkedin": "LinkedIn",
    "youtube": "YouTube",
    "tiktok": "TikTok",
    "twitter": "X (Twitter)",
    "x": "X (Twitter)",
    "pinterest": "Pinterest",
    "reddit": "Reddit",
    "vk": "VK",
    "yelp": "Yelp",
    "newsletter": "Newsletter",
    "email": "Email",
}
GROUP_NAMES = {
    "paid search": "Paid search",
    "paid social": "Paid social",
    "organic search": "Organic search",
    "social": "Social",
    "email": "Email",
    "referral": "Referral",
    "direct": "Direct visit",
    "other": "Other website visit",
    "pool overflow": "Website (no free number)",
    "unattributed": "Website (source unknown)",
}
OTHER_NAMES = {"unknown": "Unknown number", "blocked": "Blocked caller"}


def source_name(key: str, channel_name: str | None = None) -> str:
    """A report source's name for people (``web:google`` -> ``Google``; a channel: its name). Pure."""
    if not key.startswith("web:"):
        return channel_name or OTHER_NAMES.get(key, key)
    raw = key.removeprefix("web:")
    if raw in KNOWN_SOURCES:
        return KNOWN_SOURCES[raw]
    if raw in GROUP_NAMES:
        return GROUP_NAMES[raw]
    return raw[:1].upper() + raw[1:]


def source_detail(attr: dict[str, Any] | None, pool_name: str | None = None) -> str:
    """What a website call adds to its source's name: medium, channel group and pool (``cpc · paid
    search · via pool Website``); empty for a static channel's call. Pure."""
    attr = attr or {}
    if attr.get("confidence") == "static":
        return ""
    src = attr.get("source") or {}
    parts = [str(src.get("utm_medium") or "").strip(), str(attr.get("channel_group") or "")]
    if pool_name:
        parts.append(f"via pool {pool_name}")
    return " · ".join(p for p in parts if p)


def call_source_name(attr: dict[str, Any] | None, kind: str | None, channel_name: str | None) -> str:
    """A call's source name, the same as its report row's (a pool call is named by its web source,
    never by the pool: the pool is a detail). Pure."""
    key = source_key(attr, kind)
    return source_name(key, channel_name if key.startswith("ch_") else None)


def touch(attr: dict[str, Any] | None, call_sid: str, started_ms: int) -> dict[str, Any]:
    """What a first-touch record keeps of a call's attribution (the call itself has its time)."""
    attr = attr or {}
    source = attr.get("source") or {}
    out = {
        "call_sid": call_sid,
        "source_key": source_key(attr),
        "channel_group": attr.get("channel_group"),
        "channel_name": attr.get("channel_name"),
        "utm_source": source.get("utm_source"),
        "utm_campaign": source.get("utm_campaign"),
        "utm_term": source.get("utm_term"),
        "utm_content": source.get("utm_content"),
        "landing_page": source.get("landing_page"),
    }
    return {k: v for k, v in out.items() if v is not None}


def first_touch(caller: str | None, call_sid: str, started_ms: int, attr: dict[str, Any], keep_days: int) -> Any:
    """Record ``caller``'s first call if this is it; returns that first call's touch.

    One conditional update on the caller's item (``if_not_exists``), so a retried webhook
    for the same call is still the first, and a later call gets the earlier one's source.
    Anonymous or withheld numbers have no history: every such call is its own first touch.
    """
    mine = touch(attr, call_sid, started_ms)
    if not caller or not caller.startswith("+"):
        return mine
    current, *older = callerkeys.caller_hashes(caller)
    _, kept = callers.first_touch_of([*older, caller])  # under an older key, or the number (older code)
    return callers.record_first_touch(current, kept or mine, expires_after(started_ms, keep_days)) or kept or mine


def first_touch_candidates(caller: str | None) -> list[str]:
    """What a caller's first touch may be kept under, newest first: their hash under each key of
    the ring, then the number itself (older code); none for a caller without a number."""
    if not caller or not caller.startswith("+"):
        return []
    return [*callerkeys.caller_hashes(caller), caller]


def first_touch_read(
    caller: str | None,
    call_sid: str,
    started_ms: int,
    attr: dict[str, Any],
    keep_days: int,
    *,
    found: dict[str, dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], FirstTouchWrite | None]:
    """``first_touch`` in two steps, so the call's own write can decide whether it happens:
    the caller's first call's touch as read now (this call's if there is none), and the write
    recording this call, valid while what was read holds (the first touch, once set, never
    changes; its absence may, when another call of the same new caller lands first).
    ``found``: the items under ``first_touch_candidates`` as already read (the voice webhook's
    batch); without it they are read here."""
    mine = touch(attr, call_sid, started_ms)
    if not caller or not caller.startswith("+"):
        return mine, None
    # Keyed by the caller's hash under the newest key; one read (a BatchGetItem once there is more
    # than one candidate) also finds a first touch kept under an older key or, by older code, under
    # the number itself, and the write then keeps that first touch under the newest key.
    candidates = first_touch_candidates(caller)
    hashes = candidates[:-1]
    if found is None:
        found_under, first = callers.first_touch_of(candidates)
    else:
        found_under = next((c for c in candidates if c in found), None)
        first = found[found_under] if found_under is not None else None
    expires = expires_after(started_ms, keep_days)
    write = callers.first_touch_write(hashes[0], first or mine, expires, read=found_under == hashes[0])
    return (first or mine), write
