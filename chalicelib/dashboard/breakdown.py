"""The overview's drill-down: one web source's figures per campaign, keyword, ad or landing page.

The same report as ``GET /v1/reports/breakdown`` (``reports/figures.breakdown_report``: one Query
of the source's dimension buckets), over the overview's range and model; each row links to the
call log filtered the same way, whose calls are the row's.
"""

from __future__ import annotations

from typing import Any

from chalicelib import business
from chalicelib.core import clock
from chalicelib.core.errors import BadRequest
from chalicelib.dashboard import overview
from chalicelib.reports import aggregates, figures

BY_LABELS = {"campaign": "Campaign", "keyword": "Keyword", "ad": "Ad (utm_content)", "landing_page": "Landing page"}
COLUMNS = (
    ("calls", "Calls", "count"),
    ("answered", "Answered", "count"),
    ("missed", "Missed", "count"),
    ("voicemail", "Voicemail", "count"),
    ("missed_rate", "Missed rate", "rate"),
    ("first_time_callers", "First-time", "count"),
    ("conversions", "Conversions", "count"),
    ("revenue", "Revenue", "money"),
)


def page(query: dict[str, str]) -> dict[str, Any]:
    """The drill-down page for a query (``source``, ``by``, and the overview's ``range``/``from``/``to``/``model``)."""
    unknown = sorted(set(query) - {"source", "by", "range", "from", "to", "model"})
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(unknown)}")
    rng = overview.parse_range(query, aggregates.day(clock.now_ms()))
    model = overview.parse_model(query)
    by = query.get("by") or "campaign"
    report = figures.breakdown_report(
        {"source": query.get("source", ""), "by": by, "from": rng.start, "to": rng.end, "model": model}
    )
    currency = business.profile().currency
    for r in report["rows"]:
        r["cells"] = [
            {"key": k, "value": r[k], "display": overview.display(kind, r[k], currency)} for k, _, kind in COLUMNS
        ]
    return {"report": report, "range": rng, "model": model, "by": by, "by_labels": BY_LABELS, "columns": COLUMNS}
