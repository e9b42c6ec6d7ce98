"""The calls log: calls newest first over a date range with filters and cursors, and its CSV export.

Calls are listed from the month index (one partition per month), newest first; a cursor
carries the month and DynamoDB's last key, checked before it goes back to DynamoDB.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from chalicelib import attribution, business, calls
from chalicelib.core import clock
from chalicelib.core.context import SYSTEM, RequestContext
from chalicelib.core.errors import BadRequest
from chalicelib.reports import aggregates
from chalicelib.store import calls as store
from chalicelib.store.calls import CallRecord
from chalicelib.store.cursor import CursorCodec

MAX_PAGE = 200
MAX_RANGE_DAYS = 366


# Times outside 1970..9998 would take the month arithmetic past what datetime can hold.
MIN_TIME_MS, MAX_TIME_MS = 0, 253_370_764_800_000  # 1970-01-01, 9999-01-01 (UTC)


def _parse_time(value: str | None, name: str, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        ms = clock.parse_iso(value)
    except ValueError:
        raise BadRequest(
            f"'{name}' must be an ISO 8601 date or time, like 2026-11-01 or 2026-11-01T09:00:00Z"
        ) from None
    if not MIN_TIME_MS <= ms < MAX_TIME_MS:
        raise BadRequest(f"'{name}' must be between 1970 and 9998")
    return ms


def parse_range(query: dict[str, str]) -> tuple[int, int]:
    now = clock.now_ms()
    end = _parse_time(query.get("to"), "to", now)
    start = _parse_time(query.get("from"), "from", end - 30 * 86_400_000)
    if start > end:
        raise BadRequest("'from' is after 'to'")
    if end - start > MAX_RANGE_DAYS * 86_400_000:
        raise BadRequest(f"the range is longer than {MAX_RANGE_DAYS} days")
    return start, end


# The API's cursors (``m``: the month); the dashboard's log has its own message and part name.
CURSOR = CursorCodec("m", "'cursor' is not one this API gave out", store.valid_start_key)


# Filters applied to the calls read (their attribution is one stored document, not a key): the
# report source and a breakdown's values, so a drill-down's figures can be checked against its calls.
ATTRIBUTION_FILTERS = ("source", *aggregates.DIMENSIONS)
FILTER_CHUNK = 200  # calls one filtered read asks for
# What the listing holds: calls (``/v1/calls``' default: its answers stay as they were), the texts
# to tracking numbers (``chalicelib/texts.py``), or both (the dashboard's log).
MEDIUMS = ("call", "text", "outbound", "all")  # outbound: call-backs made from the dashboard


def attribution_filters(query: dict[str, str]) -> dict[str, str]:
    """The source, dimension and menu option filters asked for, checked. Pure."""
    out = {}
    option = query.get("menu_option")
    if option:
        if len(option) != 1 or option not in "123456789":
            raise BadRequest("'menu_option' must be one digit from 1 to 9")
        out["menu_option"] = option
    for key in ATTRIBUTION_FILTERS:
        value = query.get(key)
        if value is None or value == "":
            continue
        if len(value) > 200:
            raise BadRequest(f"'{key}' is longer than 200 characters")
        out[key] = value
    return out


def matches(c: CallRecord, filters: dict[str, str]) -> bool:
    """Whether a call has the source and values asked for, as the breakdown report counts it
    (last touch: the visit's own values; ``(not set)`` for a value the visit did not have). Pure."""
    if not filters:
        return True
    if "menu_option" in filters and c.menu_option != filters["menu_option"]:
        return False
    key = attribution.source_key(c.attribution, c.kind)
    if "source" in filters and key != filters["source"]:
        return False
    visit = (c.attribution or {}).get("source") or {}
    for dim in aggregates.DIMENSIONS:
        if dim in filters and (not key.startswith("web:") or aggregates.dimension_value(dim, visit) != filters[dim]):
            return False
    return True


def list_calls(query: dict[str, str], *, max_page: int = MAX_PAGE, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """Calls newest first within [from, to], filtered by channel or pool, answered/missed, and
    source, campaign, keyword, ad or landing page (``matches``)."""
    allowed = {"from", "to", "limit", "cursor", "channel_id", "pool_id", "answered", "format", "menu_option"}
    allowed |= set(ATTRIBUTION_FILTERS)
    allowed.add("medium")
    unknown = sorted(set(query) - allowed)
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(unknown)}")
    wanted = attribution_filters(query)
    start, end = parse_range(query)
    try:
        limit = int(query.get("limit") or min(50, max_page))
    except ValueError:
        raise BadRequest("'limit' must be a whole number") from None
    if not 1 <= limit <= max_page:
        raise BadRequest(f"'limit' must be between 1 and {max_page}")
    answered_q = query.get("answered")
    if answered_q not in (None, "", "true", "false"):
        raise BadRequest("'answered' must be true or false")
    answered = (answered_q == "true") if answered_q else None
    medium = query.get("medium") or "call"
    if medium not in MEDIUMS:
        raise BadRequest("'medium' must be call, text, outbound or all")

    months = store.months_desc(start, end)
    last_key: dict[str, Any] | None = None
    if query.get("cursor"):
        month, key = CURSOR.decode(query["cursor"])
        if month not in months:
            raise BadRequest("'cursor' does not belong to this date range")
        months = months[months.index(month) :]
        last_key = key or None

    items: list[dict[str, Any]] = []
    for month in months:
        while True:
            want = limit - len(items)
            found, last_key = store.in_month(
                month,
                start,
                end,
                limit=max(want, FILTER_CHUNK) if wanted else want,
                start_key=last_key,
                channel_id=query.get("channel_id") or None,
                pool_id=query.get("pool_id") or None,
                answered=answered,
                medium=None if medium == "all" else medium,
                ctx=ctx,
            )
            for n, c in enumerate(found):
                if not matches(c, wanted):
                    continue
                items.append(calls.to_dict(c))
                if len(items) >= limit:
                    if n + 1 < len(found):  # stopped inside what was read: go on right after this call
                        last_key = store.start_key_of(c, month)
                    next_cursor = CURSOR.encode(month, last_key) if last_key else _next_month_cursor(months, month)
                    return {"calls": items, "next_cursor": next_cursor}
            if not last_key:
                break
        last_key = None
    return {"calls": items, "next_cursor": None}


def list_texts(query: dict[str, str], *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """``GET /v1/texts``: texts to tracking numbers, newest first: the calls' listing (range,
    filters, cursor) of the texts only."""
    if "medium" in query or "answered" in query or "format" in query:
        raise BadRequest(
            "unknown parameter(s): " + ", ".join(k for k in ("medium", "answered", "format") if k in query)
        )
    found = list_calls({**query, "medium": "text"}, ctx=ctx)
    return {"texts": found["calls"], "next_cursor": found["next_cursor"]}


def _next_month_cursor(months: list[str], month: str) -> str | None:
    """A cursor for the start of the month after ``month`` (older), if the range has one."""
    i = months.index(month)
    return CURSOR.encode(months[i + 1], {}) if i + 1 < len(months) else None


CSV_MAX_PAGE = 5000
CSV_COLUMNS = (
    "sid", "started_at", "caller", "called", "caller_city", "caller_state", "caller_country", "kind",
    "channel_id", "channel_name", "pool_id", "forwarded_to", "status", "result", "answered", "dial_status",
    "duration", "talk_time", "voicemail", "blocked", "first_time", "recorded", "recording_sid",
    "recording_url", "recording_duration", "confidence", "source_key", "channel_group", "session_id",
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "referrer", "landing_page",
    "gclid", "fbclid", "msclkid", "yclid", "ga_client_id", "ym_client_id", "device", "first_touch_source",
    "first_touch_call", "outcome", "revenue", "note", "tags", "gbraid", "wbraid", "ga_session_id",
)  # fmt: skip


def calls_csv(query: dict[str, str], *, ctx: RequestContext = SYSTEM) -> tuple[str, str | None]:
    """The calls page as CSV (up to 5,000 rows; the next page's cursor is returned separately)."""
    page = list_calls({k: val for k, val in query.items() if k != "format"}, max_page=CSV_MAX_PAGE, ctx=ctx)
    return write_csv(page["calls"]), page["next_cursor"]


# The dashboard's export puts what a spreadsheet user reads first (names, not ids; yes/no; local
# time; the call's page, which plays its recording in a signed-in browser), then the API's machine
# columns, all of them, in their order.
PEOPLE_COLUMNS = (
    "Time", "Caller", "Caller's place", "Source", "Campaign", "Keyword", "Result", "Talk time (s)",
    "First-time caller", "Outcome", "Revenue", "Tags", "Note", "Call page",
)  # fmt: skip
CSV_MAX_BYTES = 5_500_000  # under Lambda's 6 MB answer, with room for the headers


def people_row(c: dict[str, Any], *, zone: str, country: str, currency: str, base_url: str) -> dict[str, Any]:
    """The readable columns of one call (``calls.to_dict``). Pure but for settings."""
    started = c.get("started_at")
    src = (c.get("attribution") or {}).get("source") or {}
    yes_no = {True: "yes", False: "no"}
    return {
        "Time": clock.local_minute(clock.parse_iso(started), zone) if started else "",
        "Caller": business.phone(c.get("caller"), country),
        "Caller's place": business.place(c.get("caller_city"), c.get("caller_state"), c.get("caller_country")),
        "Source": c.get("source_name"),
        "Campaign": src.get("utm_campaign"),
        "Keyword": src.get("utm_term"),
        "Result": c.get("result"),
        "Talk time (s)": c.get("talk_time") if c.get("answered") else "",
        "First-time caller": yes_no.get(c.get("first_time"), ""),  # type: ignore[arg-type]
        "Outcome": c.get("outcome"),
        "Revenue": business.money(c["revenue"], currency) if c.get("revenue") else "",
        "Tags": ", ".join(c.get("tags") or []),
        "Note": c.get("note"),
        "Call page": f"{base_url}/dashboard/calls/{c.get('sid')}" + ("#recording" if c.get("recording") else ""),
    }


def write_people_csv(
    rows: list[dict[str, Any]], *, zone: str, country: str, currency: str, base_url: str, max_bytes: int = CSV_MAX_BYTES
) -> tuple[str, int]:
    """The dashboard's export: ``PEOPLE_COLUMNS`` then the machine columns, every cell through
    ``csv_cell``; stops before ``max_bytes``. The text and how many calls it holds."""
    head = io.StringIO()
    header = [
        f"Time ({zone})" if k == "Time" else (f"Revenue ({currency})" if k == "Revenue" else k) for k in PEOPLE_COLUMNS
    ]
    csv.writer(head, quoting=csv.QUOTE_ALL).writerow([*header, *CSV_COLUMNS])
    parts, size = [head.getvalue()], len(head.getvalue().encode())
    machine_rows = list(csv.reader(io.StringIO(write_csv(rows), newline="")))[1:]  # the API's cells, escaped
    written = 0
    for c, tail in zip(rows, machine_rows, strict=False):
        line = io.StringIO()
        people = people_row(c, zone=zone, country=country, currency=currency, base_url=base_url)
        csv.writer(line, quoting=csv.QUOTE_ALL).writerow([csv_cell(people[k]) for k in PEOPLE_COLUMNS] + tail)
        size += len(line.getvalue().encode())
        if size > max_bytes:
            break
        parts.append(line.getvalue())
        written += 1
    return "".join(parts), written


def write_csv(rows: list[dict[str, Any]]) -> str:
    """Calls as the API shows them (``calls.to_dict``) as CSV text: the export's columns, every
    cell through ``csv_cell``. The dashboard's export puts readable columns before these (``write_people_csv``).

    Every cell is quoted (``QUOTE_ALL``), not only those holding a comma: a spreadsheet told
    (or guessing) ``;`` or tab as well as ``,`` then still keeps a cell holding ``;`` or a tab
    whole. Quotes are for readability only; ``csv_cell`` alone makes every cell safe, for
    spreadsheets that read the quotes and for those that do not."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", quoting=csv.QUOTE_ALL)
    writer.writeheader()
    for c in rows:
        attr = c.get("attribution") or {}
        src = attr.get("source") or {}
        rec = c.get("recording") or {}
        first = c.get("first_touch") or {}
        row = {
            **c,
            **{k: src.get(k) for k in CSV_COLUMNS if k in src},
            "recording_sid": rec.get("sid"),
            "recording_url": rec.get("url"),
            "recording_duration": rec.get("duration"),
            "confidence": attr.get("confidence"),
            "source_key": attribution.source_key(attr, c.get("kind")),
            "channel_group": attr.get("channel_group"),
            "session_id": attr.get("session_id"),
            "first_touch_source": first.get("source_key"),
            "first_touch_call": first.get("call_sid"),
            "tags": ";".join(c.get("tags") or []),
        }
        writer.writerow({k: csv_cell(row.get(k)) for k in CSV_COLUMNS})
    return out.getvalue()


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection); a
# visitor controls much of what lands here (utm tags, click ids, pages), so every cell is checked.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# ... except a plain number or an E.164 phone number, so that CRMs still import phones as phones.
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Where a spreadsheet may start a cell inside a cell's text: at its start, and after any
# separator some locale splits CSV on (``,`` ``;`` tab) or a line break; the place is unsafe
# when the text there, after spaces and double quotes (which a spreadsheet may drop or read as
# a quoted field's opening), starts a formula.
_UNSAFE_START = re.compile(r'(?:\A|(?<=[,;\t\r\n]))(?=(?:[^\S\t\r\n]|")*[=+\-@\t\r])')


def csv_cell(value: Any) -> str:
    """One cell's text, safe in a spreadsheet of any locale, and text that cannot be UTF-8 (a lone
    surrogate, if any was ever stored) replaced, so one call cannot break the export.

    Our CSV is split on ``,``, but a spreadsheet in a continental locale splits it on ``;``, and
    one may be told tab too; each makes a cell of the text after such a separator *inside* a
    cell (``spring;=1+1;`` gives ``=1+1``), and quoting the cell does not stop it, because that
    cell's opening quote is not where the spreadsheet's field starts. So a ``'`` (what a
    spreadsheet takes as "text follows", and a reader sees as plainly added) goes in front of
    every place that could start a formula: the cell's start and every place after ``,`` ``;``
    tab, CR or LF, when the text there, after any spaces and ``"``, starts with ``=`` ``+``
    ``-`` ``@`` tab or CR (OWASP's list): ``spring;=1+1;`` becomes ``spring;'=1+1;``, and
    ``x; "=1"`` becomes ``x;' "=1"``. Only a whole cell that is a plain number or an E.164 phone
    is left as it is (CRMs import those as numbers); after a separator even ``-5`` is escaped,
    since there the spreadsheet's cell runs on into the next cells' text. Everything else is
    kept, so a cell reads as it was written, with a ``'`` before each formula start.
    """
    if value is None:
        return ""
    text = _LONE_SURROGATE.sub("\ufffd", value if isinstance(value, str) else str(value))
    if _PLAIN_NUMBER.fullmatch(text):
        return text
    return _UNSAFE_START.sub("'", text)
