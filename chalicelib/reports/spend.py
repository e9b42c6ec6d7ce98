"""Ad spend per source and day: entered one at a time or imported as CSV, set against calls in reports."""

from __future__ import annotations

import calendar
import csv
import io
import re
from datetime import date as Date
from datetime import datetime
from decimal import Decimal
from typing import Any

from chalicelib import channels
from chalicelib.core import clock
from chalicelib.core import validation as v
from chalicelib.core.context import SYSTEM, RequestContext, log_change
from chalicelib.core.errors import BadRequest
from chalicelib.reports import aggregates as report_days
from chalicelib.store import aggregates as stored
from chalicelib.store.ops import dynamo_number

MAX_CSV_BYTES = 1024 * 1024


def source(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 80:
        raise BadRequest("'source' must be a channel id (ch_...) or a web source like web:google")
    source = value.strip()
    if not (source.startswith("ch_") or source.startswith("web:")):
        raise BadRequest(f"'source' {source!r} must be a channel id (ch_...) or a web source like web:google")
    return source.lower() if source.startswith("web:") else source


MIN_YEAR, MAX_YEAR = 1970, 9998  # day arithmetic on ranges stays within what datetime holds


def date(value: Any, name: str = "date") -> str:
    try:
        if not isinstance(value, str):
            raise ValueError
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise BadRequest(f"'{name}' must be a date like 2026-11-01") from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise BadRequest(f"'{name}' must be a date between {MIN_YEAR} and {MAX_YEAR}, like 2026-11-01")
    return day.strftime("%Y-%m-%d")


def put_spend(body: dict[str, Any], *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """``PUT /v1/spend``: one source's spend on one day (replaces what was there)."""
    log_change(ctx, "spend.put")
    v.reject_unknown(body, {"source", "date", "amount"})
    entry: dict[str, Any] = {
        "source": source(body.get("source")),
        "date": date(body.get("date")),
        "amount": v.money(body.get("amount"), "amount"),
    }
    _save_spend([entry])
    return {**entry, "amount": float(entry["amount"])}


_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")  # 01.11.2026: day first, as everywhere dots are used
_SLASHED = re.compile(r"(\d{1,2})[/-](\d{1,2})[/-](\d{4})")  # 11/01/2026: month or day first (see day_order)
_NAMED = ("%b %d %Y", "%B %d %Y", "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%d-%b-%Y")
DATE_WORDS = "a date like 2026-11-01 (or 01.11.2026, Nov 1 2026)"


def day_order(values: list[str]) -> str | None:
    """How a file writes ``a/b/yyyy`` dates: ``"mdy"`` when some ``b`` is over 12, ``"dmy"`` when some
    ``a`` is; ``None`` when no date says (each one whose day and month differ is then refused)."""
    firsts = seconds = False
    for value in values:
        m = _SLASHED.fullmatch(value.strip())
        if m:
            firsts |= int(m.group(1)) > 12
            seconds |= int(m.group(2)) > 12
    if firsts and seconds:
        return "mixed"
    return "dmy" if firsts else "mdy" if seconds else None


def loose_date(value: Any, name: str = "date", *, order: str | None = None) -> str:
    """A day as people write it in a spreadsheet: ISO, ``01.11.2026``, ``Nov 1, 2026``, and
    ``11/01/2026`` when the file's other dates say which comes first (``day_order``)."""
    text = re.sub(r"\s+", " ", value.strip()) if isinstance(value, str) else ""
    parts: tuple[int, int, int] | None = None
    if m := _ISO.fullmatch(text):
        parts = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
    elif m := _DOTTED.fullmatch(text):
        parts = (int(m.group(3)), int(m.group(2)), int(m.group(1)))
    elif m := _SLASHED.fullmatch(text):
        a, b, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if order == "mixed":
            raise BadRequest(
                f"'{name}' {text!r}: the file writes some dates day first and some month first; use 2026-11-01"
            )
        if order is None and a != b and a <= 12 and b <= 12:
            raise BadRequest(f"'{name}' {text!r} could be {a}/{b} or {b}/{a}: write it like 2026-11-01")
        parts = (year, b, a) if order == "dmy" else (year, a, b)
    else:
        for form in _NAMED:
            try:
                d = datetime.strptime(text.replace(".", ""), form)
            except ValueError:
                continue
            parts = (d.year, d.month, d.day)
            break
    if parts is None:
        raise BadRequest(f"'{name}' must be {DATE_WORDS}")
    try:
        return date(Date(*parts).isoformat(), name)
    except ValueError:
        raise BadRequest(f"'{name}' {text!r} is not a day of the calendar") from None


def source_names() -> dict[str, str]:
    """What a person may call a source in a spreadsheet -> the source: each channel's name, each
    web source without ``web:`` (lower-cased). Two channels of one name map to ``""`` (refused)."""
    out: dict[str, str] = {}
    for known in stored.sources():
        if known.startswith("web:"):
            out.setdefault(known[4:].lower(), known)
    for ch in channels.list_all():
        name = str(ch["name"]).strip().lower()
        prior = out.get(name)
        out[name] = "" if prior == "" or (prior or "").startswith("ch_") else ch["id"]
    return out


def named_source(value: Any, names: dict[str, str]) -> str:
    """A source by its id (``ch_…``, ``web:…``) or by the name ``source_names`` knows it by."""
    text = value.strip() if isinstance(value, str) else ""
    if text.startswith(("ch_", "web:")):
        return source(text)
    found = names.get(text.lower())
    if found == "":
        raise BadRequest(f"'source' {text!r}: two channels have that name; use the channel's id (ch_…)")
    if not found:
        raise BadRequest(
            f"'source' {text[:80]!r} is not a channel's name, a channel id (ch_...) or a web source like web:google"
        )
    return found


def preview_import(raw: bytes | str | None) -> dict[str, Any]:
    """CSV ``date,source,amount`` (header required) read row by row without saving: each row as
    understood, or what is wrong with it. Sources by id or name, dates and amounts as people
    write them (``loose_date``, ``validation.money``)."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else (raw or "")
    if len(text) > MAX_CSV_BYTES:
        raise BadRequest(f"the CSV is larger than {MAX_CSV_BYTES} bytes; split it")
    text = text.removeprefix("\ufeff")  # the mark Excel puts before a UTF-8 CSV
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))  # newline="": csv reads \r, \n and \r\n itself
    except csv.Error as exc:  # e.g. a quoted field left open at the end
        raise BadRequest(f"the CSV cannot be read: {exc}") from None
    if not rows or [h.strip().lower() for h in rows[0]] != ["date", "source", "amount"]:
        raise BadRequest("the CSV's first line must be the header: date,source,amount")
    order = day_order([row[0] for row in rows[1:] if row])
    names: dict[str, str] | None = None
    out: list[dict[str, Any]] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        entry: dict[str, Any] = {"line": line, "cells": row[:3], "error": None}
        try:
            if len(row) != 3:
                raise BadRequest(f"expected 3 fields, found {len(row)}")
            if names is None and not row[1].strip().startswith(("ch_", "web:")):
                names = source_names()  # read once, and only for a file that names sources
            entry.update(
                source=named_source(row[1], names or {}),
                date=loose_date(row[0], order=order),
                amount=v.money(row[2], "amount"),
            )
        except BadRequest as exc:
            entry["error"] = exc.message
        out.append(entry)
    return {"rows": out, "errors": sum(1 for e in out if e["error"])}


def import_spend(raw: bytes | str | None, *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """CSV ``date,source,amount`` (header required): all rows or none, errors by line (``preview_import``)."""
    log_change(ctx, "spend.import")
    rows = preview_import(raw)["rows"]
    errors = [f"line {e['line']}: {e['error']}" for e in rows if e["error"]]
    if errors:
        raise BadRequest("nothing was imported: " + "; ".join(errors[:20]), details={"errors": errors[:200]})
    if not rows:
        raise BadRequest("the CSV has no rows")
    _save_spend(rows)
    return {"imported": len(rows)}


# --- a month at a time (the dashboard's grid) ------------------------------------------------------


def month(value: Any, name: str = "month") -> str:
    """``YYYY-MM``, or a 400."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value.strip()):
        raise BadRequest(f"'{name}' must be a month like 2026-11")
    return value.strip()


def recent_months(count: int = 6, *, until: str | None = None) -> list[str]:
    """``count`` months ending with ``until`` (default: this month in the report time zone), oldest first."""
    last = month(until) if until else report_days.day(clock.now_ms())[:7]
    year, mon = int(last[:4]), int(last[5:])
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{mon:02d}")
        year, mon = (year, mon - 1) if mon > 1 else (year - 1, 12)
    return out[::-1]


def month_days(amount: Decimal, which: str) -> list[tuple[str, Decimal]]:
    """A month's spend spread over its days to the cent (the first days take the odd cents), so a
    report over any range counts its share. Pure."""
    year, mon = int(which[:4]), int(which[5:])
    days = calendar.monthrange(year, mon)[1]
    cents = int((amount * 100).to_integral_value())
    base, extra = divmod(cents, days)
    return [(f"{which}-{d:02d}", Decimal(base + (1 if d <= extra else 0)) / 100) for d in range(1, days + 1)]


def _month_entries(body: dict[str, Any]) -> list[dict[str, Any]]:
    v.reject_unknown(body, {"source", "month", "amount"})
    which = month(body.get("month"))
    where = source(body.get("source"))
    amount = v.money(body.get("amount"), "amount")
    return [{"source": where, "date": d, "amount": a} for d, a in month_days(amount, which)]


def put_months(bodies: list[dict[str, Any]], *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """Sources' spend for whole months (``{"source", "month", "amount"}`` each, replacing the
    month's days: ``month_days``): all or none, the errors by position in ``details``."""
    log_change(ctx, "spend.put_months")
    entries: list[dict[str, Any]] = []
    errors: dict[int, str] = {}
    for i, body in enumerate(bodies):
        try:
            entries += _month_entries(body)
        except BadRequest as exc:
            errors[i] = exc.message
    if errors:
        first = min(errors)
        raise BadRequest(f"nothing was saved: {errors[first]}", details={"errors": errors})
    if entries:
        _save_spend(entries)
    return {"saved": len(bodies)}


def grid(months: list[str], *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """The month-by-source grid: every channel and web source (rows), ``months`` (columns), each
    month's total. Three DynamoDB requests: the channels, the sources, the totals."""
    rows = [{"source": c["id"], "label": c["name"]} for c in channels.list_all(ctx=ctx)]
    seen = {r["source"] for r in rows}
    for known in stored.sources(ctx=ctx):
        if known.startswith("web:") and known not in seen:
            rows.append({"source": known, "label": known[4:]})
    totals = stored.month_spend([r["source"] for r in rows], months, ctx=ctx) if rows else {}
    for r in rows:
        r["months"] = {m: totals.get((r["source"], m)) for m in months}
    return {"months": months, "rows": rows}


def _save_spend(entries: list[dict[str, Any]]) -> None:
    stored.save_spend((e["source"], e["date"], dynamo_number(e["amount"])) for e in entries)
