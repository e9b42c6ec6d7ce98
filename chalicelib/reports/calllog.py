"""The calls log: calls newest first over a date range with filters and cursors, and its CSV export.

Calls are listed from the month index (one partition per month), newest first; a cursor
carries the month and DynamoDB's last key, checked before it goes back to DynamoDB.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import re
from typing import Any

from chalicelib import attribution, calls
from chalicelib.core import clock
from chalicelib.core.errors import BadRequest
from chalicelib.store.models import CallModel

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


def _cursor_decode(cursor: str) -> tuple[str, dict[str, Any]]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"=" * (-len(cursor) % 4)))
        month, key = data["m"], data["k"]
        if not isinstance(month, str) or not isinstance(key, dict):
            raise ValueError
        if key and not _valid_call_key(key, month):
            raise ValueError
        return month, key
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        raise BadRequest("'cursor' is not one this API gave out") from None


def _valid_call_key(key: dict[str, Any], month: str) -> bool:
    """A cursor goes back to DynamoDB as ExclusiveStartKey: only a well-formed key may."""
    if set(key) != {"call_sid", "month", "started_at"}:
        return False
    sid, m, started = key["call_sid"], key["month"], key["started_at"]
    return (
        sid == {"S": sid.get("S")}
        and isinstance(sid.get("S"), str)
        and 0 < len(sid["S"]) <= 64
        and m == {"S": month}
        and started == {"N": started.get("N")}
        and isinstance(started.get("N"), str)
        and started["N"].isdigit()
    )


def _cursor_encode(month: str, key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps({"m": month, "k": key}).encode()).decode().rstrip("=")


def list_calls(query: dict[str, str], *, max_page: int = MAX_PAGE) -> dict[str, Any]:
    """Calls newest first within [from, to], filtered by channel or pool and answered/missed."""
    unknown = sorted(set(query) - {"from", "to", "limit", "cursor", "channel_id", "pool_id", "answered", "format"})
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(unknown)}")
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
    filt = None
    if query.get("channel_id"):
        filt = CallModel.channel_id == query["channel_id"]
    if query.get("pool_id"):
        cond = CallModel.pool_id == query["pool_id"]
        filt = cond if filt is None else filt & cond
    if answered_q:
        cond = CallModel.answered == True if answered_q == "true" else CallModel.answered != True  # noqa: E712
        filt = cond if filt is None else filt & cond

    months = clock.months_desc(start, end)
    last_key: dict[str, Any] | None = None
    if query.get("cursor"):
        month, key = _cursor_decode(query["cursor"])
        if month not in months:
            raise BadRequest("'cursor' does not belong to this date range")
        months = months[months.index(month) :]
        last_key = key or None

    items: list[dict[str, Any]] = []
    for month in months:
        results = CallModel.month_index.query(
            month,
            CallModel.started_at.between(start, end),
            filter_condition=filt,
            scan_index_forward=False,
            limit=limit - len(items),
            last_evaluated_key=last_key,
        )
        for c in results:
            items.append(calls.to_dict(c))
        last_key = results.last_evaluated_key
        if len(items) >= limit:
            next_cursor = _cursor_encode(month, last_key) if last_key else _next_month_cursor(months, month)
            return {"calls": items, "next_cursor": next_cursor}
        last_key = None
    return {"calls": items, "next_cursor": None}


def _next_month_cursor(months: list[str], month: str) -> str | None:
    """A cursor for the start of the month after ``month`` (older), if the range has one."""
    i = months.index(month)
    return _cursor_encode(months[i + 1], {}) if i + 1 < len(months) else None


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


def calls_csv(query: dict[str, str]) -> tuple[str, str | None]:
    """The calls page as CSV (up to 5,000 rows; the next page's cursor is returned separately)."""
    page = list_calls({k: val for k, val in query.items() if k != "format"}, max_page=CSV_MAX_PAGE)
    return write_csv(page["calls"]), page["next_cursor"]


def write_csv(rows: list[dict[str, Any]]) -> str:
    """Calls as the API shows them (``calls.to_dict``) as CSV text: the export's columns, every
    cell through ``csv_cell``. The dashboard's export of its filtered log writes with this too.

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
