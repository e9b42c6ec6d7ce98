"""The spend page: a month-by-source grid to type ad spend into, and a CSV upload read with a
preview (each row as understood, or what is wrong with it) before anything is saved.

Everyone sees the grid; only admins change it (the API's ``/v1/spend`` needs a write key,
which viewers' sessions are not). A month typed into the grid is spread over its days to the
cent (``reports.spend.month_days``), so a report over part of a month counts its share.
Amounts, dates and source names are read by ``reports.spend`` and ``validation.money``, the
API's own functions: ``1,250`` is refused here with the words ``/v1/spend`` uses.
"""

from __future__ import annotations

from typing import Any

from chalice import Response
from chalice.app import Request

from chalicelib.core.errors import BadRequest
from chalicelib.dashboard import web
from chalicelib.reports import spend

MONTHS = 6
CELL = "m|"  # a grid cell's field: m|<source>|<YYYY-MM>; its value when the page was drawn: w|...
WAS = "w|"


def money_text(value: Any) -> str:
    """An amount as the grid shows it in its input: ``1250.5`` -> ``1250.50``; none -> ``""``."""
    return "" if value is None else f"{float(value):.2f}"


def changed_cells(form: dict[str, str]) -> list[tuple[str, str, str]]:
    """(source, month, typed) for each grid cell whose text differs from what the page showed.
    An emptied cell is 0 (its month's spend removed). Pure."""
    out = []
    for key, typed in form.items():
        if not key.startswith(CELL):
            continue
        _, where, which = ([*key.split("|", 2), "", ""])[:3]
        was = form.get(WAS + key[len(CELL) :], "")
        if typed.strip() != was.strip():
            out.append((where, which, typed.strip() or "0"))
    return out


def render(
    request: Request,
    viewer: web.Viewer,
    *,
    status: int = 200,
    typed: dict[str, str] | None = None,
    cell_errors: dict[str, str] | None = None,
    **context: Any,
) -> Response:
    """The grid (three reads: channels, sources, the months' totals) and the upload form."""
    q = web.query_params(request)
    try:
        months = spend.recent_months(MONTHS, until=q.get("until") or None)
    except BadRequest:
        months = spend.recent_months(MONTHS)
    data = spend.grid(months, ctx=viewer.context)
    for row in data["rows"]:
        row["cells"] = [
            {
                "month": m,
                "key": f"{row['source']}|{m}",
                "shown": money_text(row["months"][m]),
            }
            for m in months
        ]
    earlier = spend.recent_months(2, until=months[0])[0]
    after = _next(months[-1], MONTHS) if months[-1] < spend.recent_months(1)[0] else None
    return web.render(
        request,
        "spend.html",
        viewer=viewer,
        status=status,
        grid=data,
        typed=typed or {},
        cell_errors=cell_errors or {},
        earlier=earlier,
        after=after,
        **context,
    )


def _next(which: str, count: int) -> str:
    year, mon = int(which[:4]), int(which[5:]) + count
    year, mon = year + (mon - 1) // 12, (mon - 1) % 12 + 1
    last = spend.recent_months(1)[0]
    return min(f"{year:04d}-{mon:02d}", last)


def page(request: Request) -> Response:
    viewer = web.require(request)
    return render(request, viewer)


def save_grid(request: Request) -> Response:
    viewer = web.require(request, role="admin")
    form = web.check_csrf(request, viewer)
    cells = changed_cells(form)
    bodies = [{"source": where, "month": which, "amount": typed} for where, which, typed in cells]
    try:
        spend.put_months(bodies, ctx=viewer.context)
    except BadRequest as exc:
        found = exc.details.get("errors") or {}
        errors = {f"{cells[i][0]}|{cells[i][1]}": message for i, message in found.items()}
        typed = {f"{w}|{m}": t for w, m, t in cells}
        return render(request, viewer, status=400, typed=typed, cell_errors=errors, error=exc.message)
    saved = f"Saved {len(cells)} month{'s' if len(cells) != 1 else ''}." if cells else "Nothing changed."
    return render(request, viewer, notice=saved)


def upload(request: Request) -> Response:
    """``action=preview``: the rows as read, nothing saved; ``action=save``: all rows or none."""
    viewer = web.require(request, role="admin")
    form = web.check_csrf(request, viewer)
    text = form.get("csv") or ""
    try:
        preview = spend.preview_import(text)
    except BadRequest as exc:  # not a CSV of date,source,amount at all
        return render(request, viewer, status=400, csv_text=text, csv_error=exc.message)
    if form.get("action") != "save" or preview["errors"]:
        status = 400 if preview["errors"] else 200
        return render(request, viewer, status=status, csv_text=text, preview=preview)
    try:
        done = spend.import_spend(text, ctx=viewer.context)
    except BadRequest as exc:  # the channels changed between preview and save
        return render(request, viewer, status=400, csv_text=text, csv_error=exc.message)
    return render(request, viewer, status=201, notice=f"Imported {done['imported']} rows of spend.")
