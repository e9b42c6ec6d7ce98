"""The setup pages' data: tracking numbers, channels, website pools, and the first-run checklist.

Every change goes through the domain the management API uses (``channels``, ``pools``, ``numbers``)
with the API's body, so a page and ``/v1/...`` refuse the same input with the same message; a form
here only turns what people type into that body. Reads stay within three DynamoDB requests a page:
the channels and pools (names, phones) are kept a minute per process, as the call log's filter
keeps them, and forgotten at once when this process changes one.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode, urlsplit

from chalicelib import business, channels, numbers, pools
from chalicelib.core import clock
from chalicelib.core import validation as v
from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.core.errors import BadRequest, UpstreamError
from chalicelib.core.settings import get_settings
from chalicelib.dashboard import callflow, logpage
from chalicelib.store import aggregates, lines
from chalicelib.store.cache import TTLCache
from chalicelib.store.lines import Number

LINES_SECONDS = 60
_LINES: TTLCache[dict[str, dict[str, Any]]] = TTLCache(LINES_SECONDS)
CALLS_DAYS = 30
MAX_POOL_ADD = 10
TEST_QUERY = {"utm_source": "calltracking-test", "utm_medium": "test", "utm_campaign": "install-check"}


# --- the lines (channels and pools), kept a minute ------------------------------------------------


def line_directory() -> dict[str, dict[str, Any]]:
    """Every channel and pool by id: kind, name, forward-to phone (two scans, kept a minute)."""
    return _LINES.get_or_load("lines", _load_lines)


def _load_lines() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for ch in lines.list_channels():
        out[ch.channel_id] = {"kind": "channel", "id": ch.channel_id, "name": ch.name, "forward_to": ch.forward_to}
    for p in lines.list_pools():
        out[p.pool_id] = {"kind": "pool", "id": p.pool_id, "name": p.name, "forward_to": p.forward_to}
    return out


def forget_lines() -> None:
    """A channel or pool changed here: read them again (the call log's filter too)."""
    _LINES.clear()
    logpage.clear_cache()


def line_choices() -> list[tuple[str, str]]:
    """(value, label) of every line a number can be bought for."""
    found = sorted(line_directory().values(), key=lambda d: (d["kind"], d["name"].lower()))
    return [(d["id"], ("Channel: " if d["kind"] == "channel" else "Website pool: ") + d["name"]) for d in found]


def phone(number: str | None) -> str:
    """A stored phone as people write it (the form takes it back as typed)."""
    return v.typed(number)


def line_path(line_id: str) -> str:
    return f"/dashboard/{'channels' if line_id.startswith('ch_') else 'pools'}/{line_id}"


# --- numbers ---------------------------------------------------------------------------------------


def twilio_state(n: Number, line: dict[str, Any] | None) -> tuple[str, str]:
    """(``here``/``elsewhere``/``released``, words) for where the number's webhooks point: each number
    remembers the base URL and phone it was last pointed at (``numbers.repoint``), so this needs no
    request to the provider."""
    if n.status != "active":
        return "released", "Released: given back to the carrier"
    base = get_settings().public_base_url
    if n.hooks_base != base:
        return "elsewhere", f"Points at {n.hooks_base or 'another address'}: `calltracking deploy` re-points it"
    if line is not None and n.hooks_to != line["forward_to"]:
        return "elsewhere", "Its fallback still names an old phone: save the line's forward-to again"
    return "here", "Points at this deployment"


def provider_states() -> dict[str, tuple[str, str]]:
    """Where each owned number's voice URL points at the provider now, by SID: one request to the
    provider (no DynamoDB), for the numbers page's "Check at Twilio"."""
    from chalicelib.core.telephony import TelephonyError, get_provider  # this check only

    base = get_settings().public_base_url
    try:
        urls = get_provider().voice_urls()
    except TelephonyError as exc:
        raise UpstreamError(f"the telephony provider could not list your numbers: {exc}") from None
    out: dict[str, tuple[str, str]] = {}
    for sid, voice_url in urls.items():
        if voice_url.startswith(base + "/twilio/voice"):
            out[sid] = ("here", "Twilio sends its calls here (checked just now)")
        else:
            where = urlsplit(voice_url).netloc or "nowhere"
            out[sid] = (
                "elsewhere",
                f"Twilio sends its calls to {where} (checked just now): `calltracking deploy --repoint-all`",
            )
    return out


def number_rows(
    q: str = "", *, show_released: bool = False, at_provider: dict[str, tuple[str, str]] | None = None
) -> list[dict[str, Any]]:
    """Every tracking number with its line, forward-to, calls in the last 30 days and state at the
    provider (as each number remembers it, or ``at_provider``: as the provider said just now);
    ``q`` keeps those whose number, line or forward-to contains it (digits or words)."""
    directory = line_directory()
    end, tz = clock.now_ms(), business.timezone()
    start = end - (CALLS_DAYS - 1) * 86_400_000
    counts = aggregates.number_calls(clock.local_day(start, tz), clock.local_day(end, tz))  # one query, all numbers
    rows = []
    for n in lines.list_numbers():
        if n.status != "active" and not show_released:
            continue
        line = directory.get(n.channel_id or n.pool_id or "")
        state, state_text = twilio_state(n, line)
        if at_provider is not None and n.status == "active":
            state, state_text = at_provider.get(
                n.provider_sid, ("elsewhere", "Not in your Twilio account (checked just now): released there?")
            )
        row = {
            "number": n.number,
            "display": v.display(n.number),
            "kind": n.kind,
            "line": line,
            "line_path": line_path(line["id"]) if line else None,
            "forward_to": v.display(line["forward_to"]) if line else "",
            "calls": counts.get(n.number, 0),
            "state": state,
            "state_text": state_text,
            "status": n.status,
        }
        if _matches(row, q):
            rows.append(row)
    return sorted(
        rows, key=lambda r: (r["status"] != "active", r["line"]["name"].lower() if r["line"] else "", r["number"])
    )


def _matches(row: dict[str, Any], q: str) -> bool:
    q = (q or "").strip().lower()
    if not q:
        return True
    digits = re.sub(r"\D", "", q)
    if digits and (digits in row["number"] or digits in re.sub(r"\D", "", row["forward_to"])):
        return True
    words = " ".join([row["display"], row["line"]["name"] if row["line"] else "", row["kind"]]).lower()
    return q in words


def search_available(form: dict[str, str]) -> list[dict[str, Any]]:
    """The provider's numbers for the search form (empty fields left out, as the API takes them)."""
    body = {k: form[k].strip() for k in ("country", "area_code", "contains") if form.get(k, "").strip()}
    return numbers.available(body)


def buy(form: dict[str, str], *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """Buy the chosen number (or the first the search offers) for the chosen channel or pool."""
    line = form.get("line", "").strip()
    if not line:
        raise BadRequest("'channel_id' or 'pool_id': choose the channel or website pool the number is for")
    body: dict[str, Any] = {"channel_id" if line.startswith("ch_") else "pool_id": line}
    if form.get("number", "").strip():
        body["number"] = form["number"].strip()
    else:
        body.update({k: form[k].strip() for k in ("country", "area_code", "contains") if form.get(k, "").strip()})
    return numbers.provision(body, ctx=ctx)


def release_info(number: str) -> dict[str, Any]:
    """The number and what releasing it does, for the confirmation page."""
    n = numbers.load(number)
    line = line_directory().get(n.channel_id or n.pool_id or "")
    return {"number": n.number, "display": v.display(n.number), "status": n.status, "line": line}


# --- channels ------------------------------------------------------------------------------------


def line_body(form: dict[str, str], fields: tuple[str, ...]) -> dict[str, Any]:
    """The API body of a channel's or pool's main form: the fields given, as typed (the domain parses)."""
    body: dict[str, Any] = {}
    for key in fields:
        if key in form:
            body[key] = form[key]
    return body


def channel_rows() -> list[dict[str, Any]]:
    """Every channel with its active numbers (two scans)."""
    by_line: dict[str, list[str]] = {}
    for n in lines.active_numbers():
        by_line.setdefault(n.channel_id or n.pool_id or "", []).append(v.display(n.number))
    return [
        {**c, "forward_display": v.display(c["forward_to"]), "numbers": sorted(by_line.get(c["id"], []))}
        for c in channels.list_all()
    ]


def channel_page(channel_id: str) -> dict[str, Any]:
    """A channel, its numbers, its call-handling form's values and what a caller hears (two reads)."""
    ch = channels.get(channel_id)
    mine = [v.display(n.number) for n in lines.numbers_of(channel_id=channel_id) if n.status == "active"]
    return {"line": ch, "kind": "channel", "line_numbers": mine, "preview": callflow.preview("channel", ch)}


# --- pools -----------------------------------------------------------------------------------------


def pool_body(form: dict[str, str]) -> dict[str, Any]:
    """A pool's form as the API's body: origins one a line (or separated by commas), the hold time in minutes."""
    body = line_body(form, ("name", "forward_to", "original_number"))
    if "allowed_origins" in form:
        body["allowed_origins"] = [o.strip() for o in re.split(r"[\s,]+", form["allowed_origins"]) if o.strip()]
    if form.get("hold_minutes", "").strip():
        raw = form["hold_minutes"].strip()
        if not raw.isdigit():
            raise BadRequest("'hold_seconds': the hold time must be a whole number of minutes")
        body["hold_seconds"] = int(raw) * 60
    return body


def pool_rows() -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    for n in lines.active_numbers():
        if n.pool_id and n.kind == "pool":
            counts[n.pool_id] = counts.get(n.pool_id, 0) + 1
    return [
        {**p, "size": counts.get(p["id"], 0), "original_display": v.display(p["original_number"])}
        for p in pools.list_all()
    ]


def origin_hint() -> str:
    """An example origin for the pool form: the local stack's own (its test page is the site there)."""
    s = get_settings()
    return s.public_base_url.rstrip("/") if s.local else "https://www.example.com"


def script_tag(site_key: str) -> str:
    """The one tag a site adds to every page."""
    base = get_settings().public_base_url.rstrip("/")
    return f'<script async src="{base}/ct.js" data-site="{site_key}"></script>'


def site_url(pool: dict[str, Any]) -> str:
    origins = pool.get("allowed_origins") or []
    if not origins:
        return ""
    return str(origins[0]) + ("/demo/site" if get_settings().local and _is_stack(origins[0]) else "/")


def _is_stack(origin: str) -> bool:
    """Whether ``origin`` is this local stack itself (its test page is then the site to check)."""
    return urlsplit(get_settings().public_base_url).netloc == urlsplit(origin).netloc


def test_link(url: str) -> str:
    """The site's page with test utm tags: the visitor gets a pool number, so the owner sees the swap."""
    if not url:
        return ""
    return url + ("&" if "?" in url else "?") + urlencode(TEST_QUERY)


def pool_page(pool_id: str) -> dict[str, Any]:
    """A pool with its size and leases now (two reads), its tag, test link and call handling."""
    p = pools.status(pool_id)
    url = site_url(p)
    return {
        "line": p,
        "kind": "pool",
        "tag": script_tag(p["site_key"]),
        "site_url": url,
        "test_link": test_link(url),
        "preview": callflow.preview("pool", p),
        "line_numbers": [],
    }


VISIT_MINUTES = 3  # a visit's own length, before the hold time starts: the sizing advice's assumption
MAX_VISITORS = 100_000


def size_advice(raw_visitors: str, hold_seconds: int, size: int) -> dict[str, Any]:
    """The pool size the sizing model (Erlang B, ``reports.sizing``) suggests for the visitors the owner
    expects in the busiest hour, and the share it would leave untracked at the pool's size now. Pure:
    no request (the observed advice is ``GET /v1/pools/{id}/sizing``, one query per number)."""
    from chalicelib.reports import sizing  # this advice only

    raw = raw_visitors.replace(",", "").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_VISITORS:
        raise BadRequest(f"'visitors' must be a whole number of visitors from 1 to {MAX_VISITORS:,}")
    visitors = int(raw)
    load = visitors * (VISIT_MINUTES + hold_seconds / 60) / 60  # erlangs: arrivals per hour x hours held
    suggested = sizing.recommend(load, sizing.DEFAULT_TARGET)
    return {
        "visitors": visitors,
        "suggested": suggested,
        "target_percent": sizing.DEFAULT_TARGET * 100,
        "overflow_now_percent": round(sizing.erlang_b(load, size) * 100, 1),
        "size": size,
        "to_add": max(0, suggested - size),
    }


def add_pool_numbers(pool_id: str, form: dict[str, str], *, ctx: RequestContext = SYSTEM) -> list[dict[str, Any]]:
    """Buy ``count`` numbers for a pool, one purchase each, as ``POST /v1/numbers`` does."""
    raw = form.get("count", "").strip() or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_POOL_ADD:
        raise BadRequest(f"'count' must be a whole number from 1 to {MAX_POOL_ADD}")
    body = {"pool_id": pool_id, **{k: form[k].strip() for k in ("area_code",) if form.get(k, "").strip()}}
    return [numbers.provision(dict(body), ctx=ctx) for _ in range(int(raw))]


# --- the first-run checklist ---------------------------------------------------------------------


def checklist() -> dict[str, Any]:
    """The four first steps, each ticked by what is stored (three reads): a channel with a number,
    the site script (a pool number leased by a visitor), an alert recipient, a call."""
    from chalicelib.store import alerts as alert_store  # the checklist only: the setup pages do not need it

    found = lines.list_numbers()
    channel_number = any(n.status == "active" and n.kind == "channel" for n in found)
    leased = any(n.kind == "pool" and (n.lease_started_at or n.lease_ended_at) for n in found)
    recipients = bool(alert_store.list_recipients())
    call = bool(aggregates.sources())  # a completed call was counted (spend alone also lists a source)
    steps = [
        {"done": channel_number, "title": "Make a channel and buy its number", "path": "/dashboard/channels"},
        {"done": leased, "title": "Put the site script on your website", "path": "/dashboard/pools"},
        {"done": recipients, "title": "Add someone to alert about missed calls", "path": "/dashboard/alerts"},
        {"done": call, "title": "Call your tracking number once", "path": "/dashboard/numbers"},
    ]
    return {"steps": steps, "done": sum(s["done"] for s in steps), "all_done": all(s["done"] for s in steps)}
