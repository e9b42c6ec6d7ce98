"""Ad spend per source and day: entered one at a time or imported as CSV, set against calls in reports."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from chalicelib.core import validation as v
from chalicelib.core.context import SYSTEM, RequestContext, log_change
from chalicelib.core.errors import BadRequest
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


def import_spend(raw: bytes | str | None, *, ctx: RequestContext = SYSTEM) -> dict[str, Any]:
    """CSV ``date,source,amount`` (header required): all rows or none, errors by line."""
    log_change(ctx, "spend.import")
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else (raw or "")
    if len(text) > MAX_CSV_BYTES:
        raise BadRequest(f"the CSV is larger than {MAX_CSV_BYTES} bytes; split it")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))  # newline="": csv reads \r, \n and \r\n itself
    except csv.Error as exc:  # e.g. a quoted field left open at the end
        raise BadRequest(f"the CSV cannot be read: {exc}") from None
    if not rows or [h.strip().lower() for h in rows[0]] != ["date", "source", "amount"]:
        raise BadRequest("the CSV's first line must be the header: date,source,amount")
    entries, errors = [], []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            if len(row) != 3:
                raise BadRequest(f"expected 3 fields, found {len(row)}")
            entries.append(
                {"source": source(row[1]), "date": date(row[0].strip()), "amount": v.money(row[2].strip(), "amount")}
            )
        except BadRequest as exc:
            errors.append(f"line {line}: {exc.message}")
    if errors:
        raise BadRequest("nothing was imported: " + "; ".join(errors[:20]), details={"errors": errors[:200]})
    if not entries:
        raise BadRequest("the CSV has no rows")
    _save_spend(entries)
    return {"imported": len(entries)}


def _save_spend(entries: list[dict[str, Any]]) -> None:
    stored.save_spend((e["source"], e["date"], dynamo_number(e["amount"])) for e in entries)
