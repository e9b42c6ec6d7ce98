"""The dashboard's call log: calls newest first with filters, a page at a time, and its CSV.

**Cost, and why a filtered page may come back short.** Calls are read from the month index
(one partition per UTC month, newest first), as the API's log does. A page spends at most
``REQUESTS_PER_PAGE`` (3) DynamoDB queries:

* Unfiltered, each query asks for exactly what the page still lacks, so the first page is one
  query (two when the range crosses into a month with fewer calls than a page) and never more
  than three (``bench/dashboard.py``).
* Filtered (source, answered, outcome, first-time, tag), each query reads up to ``CHUNK``
  calls of the range and the filters are applied here (``matches``, pure). When three queries
  have not found a page of matching calls, the page comes back **short, with a cursor** that
  goes on from the last call read ("Older calls"); it never keeps reading until the page is
  full. A rare filter over a long range therefore costs the reader some clicks, never an
  unbounded request. We chose this over sparse indexes per filter: each would be a GSI to
  keep (infra, IAM, a write on the voice path's item), for filters that are cheap to apply
  to calls already read in order.
* The caller filter uses the calls table's existing caller index (the caller's calls by
  time, keys only) and reads those calls by key: two requests for a page, exact however many
  calls the range holds.

The cursor names the partition and the last call read, and is checked (shape and partition)
before it goes back to DynamoDB as ``ExclusiveStartKey``. Dates are the business's days
(``REPORT_TIMEZONE``). The CSV is the API's (``reports/calllog.py``: the same columns and the
same escaping of cells a spreadsheet would run as formulas), over every matching call in the
range up to ``CSV_MAX_ROWS``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib import attribution, business, calls, spam
from chalicelib.core import clock
from chalicelib.core.errors import BadRequest
from chalicelib.core.settings import get_settings
from chalicelib.core.validation import loose_e164
from chalicelib.reports import aggregates, figures
from chalicelib.reports import calllog as api_log
from chalicelib.reports.outcomes import OUTCOMES
from chalicelib.store import calls as store
from chalicelib.store import lines
from chalicelib.store.cache import TTLCache
from chalicelib.store.calls import CallRecord
from chalicelib.store.cursor import CursorCodec

PAGE_SIZE = 50
REQUESTS_PER_PAGE = 3
CHUNK = 200  # calls one filtered query reads (DynamoDB's 1 MB page may cut it shorter)
CSV_MAX_ROWS = 5000
MAX_DAYS = 366
# "text": texts to the tracking numbers; "outbound": call-backs made from the dashboard, listed only
# when asked for (they are not calls anybody made to the business)
RESULTS = ("answered", "missed", "voicemail", "blocked", "text", "outbound")
TEXT_SHOWN = 160  # characters of a text the log shows (its page has it all)
MENU_FILTER = "menu_option"  # the key the caller chose at the line's menu: applied as the API applies it
FILTERS = (
    "from",
    "to",
    "source",
    "result",
    "outcome",
    "first_time",
    "tag",
    "caller",
    "said",
    *aggregates.DIMENSIONS,
    MENU_FILTER,
)
_E164 = re.compile(r"\+[1-9]\d{6,14}")


@dataclass(frozen=True)
class Filters:
    """What the log is narrowed to; every field optional."""

    start_ms: int
    end_ms: int
    start: str
    end: str
    source: str | None = None  # ch_..., pool:<id>, or a report source (web:google)
    result: str | None = None
    outcome: str | None = None  # lead, sale, spam, none, or "unset"
    first_time: bool | None = None
    tag: str | None = None
    caller: str | None = None
    said: str | None = None  # words said in the call (its transcript)
    dims: tuple[tuple[str, str], ...] = ()  # campaign, keyword, ad, landing page (as the breakdown shows), menu option

    @property
    def in_python(self) -> bool:
        """Whether calls must be checked here (the caller filter has its own index)."""
        values = (self.source, self.result, self.outcome, self.first_time, self.tag, self.said)
        return bool(self.dims) or any(v is not None for v in values)

    def query(self) -> dict[str, str]:
        """The filters as a query string's fields (for links: paging, the CSV)."""
        out = {"from": self.start, "to": self.end, **dict(self.dims)}
        for key in ("source", "result", "outcome", "tag", "caller", "said"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.first_time is not None:
            out["first_time"] = "yes" if self.first_time else "no"
        return out


def _date(value: str, name: str) -> str:
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise BadRequest(f"'{name}' must be a date like 2026-11-01") from None
    if not 1970 <= day.year <= 9998:
        raise BadRequest(f"'{name}' must be a date between 1970 and 9998")
    return day.strftime("%Y-%m-%d")


def parse_filters(query: dict[str, str], today: str, zone: str | None = None) -> Filters:
    """The filters a query string asks for; a clear 400 for anything else. Pure but for the business's
    time zone (``zone`` when given)."""
    unknown = sorted(set(query) - {*FILTERS, "cursor"})
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(unknown)}")
    q = {k: v.strip() for k, v in query.items() if isinstance(v, str) and v.strip()}
    end = _date(q["to"], "to") if "to" in q else today
    start = (
        _date(q["from"], "from")
        if "from" in q
        else (datetime.strptime(end, "%Y-%m-%d") - timedelta(days=29)).strftime("%Y-%m-%d")
    )
    if start > end:
        raise BadRequest("'from' is after 'to'")
    if (datetime.strptime(end, "%Y-%m-%d") - datetime.strptime(start, "%Y-%m-%d")).days + 1 > MAX_DAYS:
        raise BadRequest(f"the range is longer than {MAX_DAYS} days")
    end_day = (datetime.strptime(end, "%Y-%m-%d") + timedelta(days=1)).strftime("%Y-%m-%d")
    source = q.get("source")
    if source is not None and (len(source) > 80 or not source.startswith(("ch_", "pool:", "web:"))):
        raise BadRequest("'source' must be a channel (ch_...), a pool (pool:...) or a web source (web:...)")
    result = q.get("result")
    if result is not None and result not in RESULTS:
        raise BadRequest(f"'result' must be one of: {', '.join(RESULTS)}")
    outcome = q.get("outcome")
    if outcome is not None and outcome not in (*OUTCOMES, "unset"):
        raise BadRequest(f"'outcome' must be one of: {', '.join((*OUTCOMES, 'unset'))}")
    first = q.get("first_time")
    if first is not None and first not in ("yes", "no"):
        raise BadRequest("'first_time' must be yes or no")
    tag = q.get("tag")
    if tag is not None and len(tag) > 40:
        raise BadRequest("'tag' is at most 40 characters")
    said = q.get("said")
    if said is not None and (len(said) > 60 or not transcript_words(said)):
        raise BadRequest("'said' must be words of at most 60 characters")
    caller = q.get("caller")
    if caller is not None:
        caller = loose_e164(caller) if len(caller) <= 32 else None
        if not caller or not _E164.fullmatch(caller):
            raise BadRequest("'caller' must be a phone number, like +14155550123")
    zone = zone or business.timezone()
    return Filters(
        start_ms=clock.midnight_ms(start, zone),
        end_ms=clock.midnight_ms(end_day, zone) - 1,
        start=start,
        end=end,
        source=source,
        result=result,
        outcome=outcome,
        first_time=None if first is None else first == "yes",
        tag=tag,
        caller=caller,
        said=said,
        dims=tuple(
            api_log.attribution_filters({k: q[k] for k in (*aggregates.DIMENSIONS, MENU_FILTER) if k in q}).items()
        ),
    )


def source_of(c: CallRecord) -> str:
    """The report source a call counts under (last touch), as the aggregates file it."""
    return attribution.source_key(c.attribution, c.kind)


def matches(c: CallRecord, f: Filters) -> bool:
    """Whether a call passes the filters (the date range is the query's). Pure."""
    if f.source is not None:
        if f.source.startswith("pool:"):
            if c.pool_id != f.source[5:]:
                return False
        elif f.source.startswith("ch_"):
            if c.channel_id != f.source:
                return False
        elif source_of(c) != f.source:
            return False
    if f.result is not None and calls.result_of(c) != f.result:
        return False
    if f.result is None and c.medium == calls.OUTBOUND:
        return False
    if f.outcome is not None and (c.outcome or "unset") != f.outcome:
        return False
    if f.first_time is not None and bool(c.first_time) != f.first_time:
        return False
    if f.tag is not None and f.tag not in (c.tags or set()):
        return False
    if f.dims and not api_log.matches(c, dict(f.dims)):
        return False
    if f.said is not None and not said_in(c, f.said):
        return False
    return f.caller is None or c.caller == f.caller


def transcript_words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


def said_in(c: CallRecord, words: str) -> bool:
    """Whether every word was said in the call (its transcript's words, kept on its summary). Pure."""
    heard = set(str((c.transcript or {}).get("vocab") or "").split())
    return bool(heard) and all(w in heard for w in transcript_words(words))


# --- cursors -----------------------------------------------------------------------------------


# The log's cursors (``p``: a month or a caller), refused unless they name one of the query's parts.
CURSOR = CursorCodec("p", "'cursor' is not one this page gave out for these filters", store.valid_start_key)


# --- pages -------------------------------------------------------------------------------------


@dataclass
class Page:
    calls: list[CallRecord] = field(default_factory=list)
    cursor: str | None = None
    requests: int = 0
    short: bool = False  # fewer than a page came back although older calls remain


def _parts(f: Filters) -> list[str]:
    if f.caller:
        return [f.caller]
    return store.months_desc(f.start_ms, f.end_ms)


def page(f: Filters, cursor: str | None = None, *, size: int = PAGE_SIZE) -> Page:
    """One page of the log, newest first, in at most ``REQUESTS_PER_PAGE`` requests (module doc)."""
    parts = _parts(f)
    start_key: dict[str, Any] | None = None
    if cursor:
        part, key = CURSOR.decode(cursor, parts)
        parts = parts[parts.index(part) :]
        start_key = key or None
    if f.caller:
        return _caller_page(f, parts[0], start_key, size)
    out = Page()
    for i, part in enumerate(parts):
        older = i + 1 < len(parts)
        while out.requests < REQUESTS_PER_PAGE:
            want = size - len(out.calls)
            limit = CHUNK if f.in_python else want
            items, start_key = store.one_page(part, f.start_ms, f.end_ms, limit=limit, start_key=start_key)
            out.requests += 1
            for n, c in enumerate(items):
                if matches(c, f):
                    out.calls.append(c)
                    if len(out.calls) == size:
                        last = n + 1 == len(items) and not start_key and not older
                        out.cursor = None if last else CURSOR.encode(part, store.start_key_of(c, part))
                        return out
            if not start_key:
                break
        if start_key:  # the budget ran out inside this month
            out.cursor, out.short = CURSOR.encode(part, start_key), True
            return out
        if older and out.requests >= REQUESTS_PER_PAGE:
            out.cursor, out.short = CURSOR.encode(parts[i + 1], {}), True
            return out
    return out


def _caller_page(f: Filters, caller: str, start_key: dict[str, Any] | None, size: int) -> Page:
    """A caller's calls: their keys from the caller index, then the calls themselves by key."""
    out = Page()
    keys_only, last = store.one_page(caller, f.start_ms, f.end_ms, limit=size, start_key=start_key)
    out.requests += 1
    sids = [k.call_sid for k in keys_only]
    if sids:
        found = store.batch_get(sids)
        out.requests += (len(sids) + 99) // 100
        out.calls = [found[s] for s in sids if s in found and matches(found[s], f)]
    if last:
        out.cursor = CURSOR.encode(caller, last)
        out.short = len(out.calls) < size
    return out


def today() -> str:
    """The business's date now (``REPORT_TIMEZONE``): the default range ends on it."""
    return aggregates.day(clock.now_ms())


def log(query: dict[str, str]) -> dict[str, Any]:
    """The log page for a query string: the filters, a page of calls as rows, the next cursor."""
    f = parse_filters(query, today())
    p = page(f, query.get("cursor") or None)
    biz = business.profile()
    return {"filters": f, "rows": [row(c, biz) for c in p.calls], "cursor": p.cursor, "short": p.short}


def row(c: CallRecord, biz: business.Business | None = None) -> dict[str, Any]:
    """What the log shows of a call: the caller as the business writes numbers (with a ``tel:``
    link), the source by its one name, amounts in the business's currency."""
    biz = biz or business.defaults()
    attr = c.attribution or {}
    src = attr.get("source") or {}
    return {
        "sid": c.call_sid,
        "started_at": int(c.started_at) if c.started_at is not None else None,
        "when": local_time(int(c.started_at)) if c.started_at is not None else "",
        "caller": c.caller,
        "caller_display": business.phone(c.caller, biz.country),
        "tel": business.tel(c.caller),
        "caller_place": business.place(c.caller_city, c.caller_state),
        "source": source_label(c),
        "source_detail": source_detail(c),
        "campaign": src.get("utm_campaign"),
        "result": calls.result_of(c) or "ringing",
        "talk_time": int(c.talk_time) if c.talk_time is not None and c.answered else None,
        "first_time": c.first_time,
        "outcome": c.outcome,
        "revenue": float(c.revenue) if c.revenue is not None else None,
        "revenue_display": business.money(c.revenue, biz.currency) if c.revenue else "",
        "tags": sorted(c.tags or []),
        "spam_reasons": spam.likely_reasons(c.spam),
        "recorded": bool(c.recording_sid),
        "menu_option": c.menu_option,
        "answered_by": business.phone(c.answered_phone, biz.country) if c.answered_phone and c.answered else "",
        # A text to a tracking number (chalicelib/texts.py): its words, cut for the row.
        "text": _cut(c.body or "", TEXT_SHOWN) if c.medium == "text" else None,
        "media_count": int(c.media_count or 0),
    }


def _cut(words: str, most: int) -> str:
    return words if len(words) <= most else words[: most - 1].rstrip() + "…"


def source_label(c: CallRecord) -> str:
    """A call's source in words, the same as its report row's (``attribution.source_name``)."""
    return attribution.call_source_name(c.attribution, c.kind, c.channel_name)


def source_detail(c: CallRecord) -> str:
    """What a website call adds to its source's name: medium, channel group, the pool."""
    return attribution.source_detail(c.attribution, c.channel_name if c.kind in ("pool", "overflow") else None)


def local_time(ms: int) -> str:
    """A time in the business's zone, as a person reads it (``2026-11-30 14:05``)."""
    return clock.local_minute(ms, business.timezone())


def export_csv(query: dict[str, str]) -> tuple[str, bool]:
    """Every matching call in the range as the API's CSV, up to ``CSV_MAX_ROWS``; and whether
    it was cut there. Pages are read one after another, each within the per-page budget."""
    q = {k: v for k, v in query.items() if k != "cursor"}
    f = parse_filters(q, today())
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        p = page(f, cursor, size=api_log.MAX_PAGE)
        rows += [calls.to_dict(c) for c in p.calls]
        cursor = p.cursor
        if not cursor or len(rows) >= CSV_MAX_ROWS:
            break
    biz = business.profile()
    rows = rows[:CSV_MAX_ROWS]
    text, written = api_log.write_people_csv(
        rows,
        zone=biz.timezone,
        country=biz.country,
        currency=biz.currency,
        base_url=get_settings().public_base_url.rstrip("/"),
    )
    return text, written < len(rows) or (bool(cursor) and len(rows) >= CSV_MAX_ROWS)


# --- the filter form's choices -----------------------------------------------------------------

_CHOICES: TTLCache[list[tuple[str, str]]] = TTLCache(60)


def source_choices() -> list[tuple[str, str]]:
    """(value, label) for the source filter: channels, pools and web sources. Names change
    rarely, so each process keeps them a minute rather than reading three tables per page."""
    return _CHOICES.get_or_load("sources", _load_choices)


def _load_choices() -> list[tuple[str, str]]:
    channels = sorted((name, cid) for cid, name in lines.channel_names().items())
    pools = sorted((name, pid) for pid, name in lines.pool_names().items())
    web = [s for s in figures._sources() if s.startswith("web:")]
    return (
        [(cid, f"Channel: {name}") for name, cid in channels]
        + [(f"pool:{pid}", f"Website pool: {name}") for name, pid in pools]
        + [(s, f"Web source: {attribution.source_name(s)}") for s in web]
    )


def clear_cache() -> None:
    _CHOICES.clear()
