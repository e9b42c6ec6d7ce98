"""The dashboard's overview: totals with their change, calls per day by source, a row per source.

Everything is read from the report aggregates (``chalicelib/reports/aggregates.py`` keeps them
per source and day as calls change), never from the calls: one read of the source list, one
read of the channels' names, and per source one query of its day buckets and one of its spend,
each covering the previous period and this one at once, one query of the call-back list and
one of the menu report (the lines' names too, when a menu had calls in the range).
So the page costs ``4 + 2 * sources`` DynamoDB requests (and the business profile's GetItem once a
minute) whether the range holds ten calls or a hundred thousand (``bench/dashboard.py``).
The buckets are read without their caller sets (a projection: the overview shows no unique-caller
count), which keeps the answer small; DynamoDB still reads whole items, so a source's query only
needs a second 1 MB page once its day buckets over both periods pass 1 MB: roughly 200 distinct
callers a day, every day, on one source for a 90-day overview (each caller entry is ~25 bytes).

Dates are the business's days (``REPORT_TIMEZONE``): "today" and "last 7 days" end on the
local date, as the aggregates' buckets do.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from chalicelib import attribution, business, callbacks
from chalicelib.core import clock
from chalicelib.core.errors import BadRequest
from chalicelib.reports import aggregates, figures
from chalicelib.reports.aggregates import NUMBERS
from chalicelib.reports.spend import date as parse_date
from chalicelib.store import aggregates as stored
from chalicelib.store import calls as calls_store

PRESETS = {"today": 1, "7d": 7, "30d": 30, "90d": 90}
PRESET_LABELS = {"today": "Today", "7d": "7 days", "30d": "30 days", "90d": "90 days", "custom": "Custom"}
DEFAULT_PRESET = "30d"
MAX_DAYS = figures.MAX_RANGE_DAYS
MODELS = {"last_touch": "last", "first_touch": "first"}
# The bucket fields the overview needs: everything but the caller sets.

# The totals in the order the page shows them: key, label, kind (how it is shown and compared).
TOTALS = (
    ("calls", "Calls", "count"),
    ("answered", "Answered", "count"),
    ("missed", "Missed", "count"),
    ("voicemail", "Voicemail", "count"),
    ("missed_rate", "Missed rate", "rate"),
    ("first_time_callers", "First-time callers", "count"),
    ("avg_talk_time", "Average talk time", "seconds"),
    ("conversions", "Conversions", "count"),
    ("revenue", "Revenue", "money"),
    ("cost_per_call", "Cost per call", "money"),
    ("roi", "ROI", "rate"),
)
# Where a rise is bad news (the arrow's text says "worse", not only its colour).
LOWER_IS_BETTER = {"missed", "voicemail", "missed_rate", "cost_per_call"}
# Source colours: picked by the source's own key (a hash), never by its rank, so a source keeps its
# colour whatever the range. Colour-blind-safe-ish hues with 3:1 contrast on white.
PALETTE = (
    "#0b5cad",  # blue
    "#e07b00",  # orange
    "#2d7a46",  # green
    "#8e44ad",  # purple
    "#00838f",  # teal
    "#6d4c41",  # brown
    "#ad1457",  # magenta
    "#827717",  # olive
    "#37474f",  # slate
    "#5c6bc0",  # indigo
)


@dataclass(frozen=True)
class Range:
    """A range of local days and the one of equal length just before it."""

    preset: str
    start: str
    end: str
    prev_start: str
    prev_end: str

    @property
    def days(self) -> int:
        return (_d(self.end) - _d(self.start)).days + 1

    def dates(self) -> list[str]:
        first = _d(self.start)
        return [(first + timedelta(days=i)).isoformat() for i in range(self.days)]


def _d(text: str) -> date:
    return datetime.strptime(text, "%Y-%m-%d").date()


def parse_range(query: dict[str, str], today: str) -> Range:
    """The range a query asks for: a preset (``range=today|7d|30d|90d``) or ``range=custom``
    with ``from`` and ``to`` local dates. Pure: ``today`` is the business's date now."""
    preset = query.get("range") or (DEFAULT_PRESET if not (query.get("from") or query.get("to")) else "custom")
    if preset in PRESETS:
        end = _d(today)
        start = end - timedelta(days=PRESETS[preset] - 1)
    elif preset == "custom":
        end = _d(parse_date(query["to"], "to")) if query.get("to") else _d(today)
        start = _d(parse_date(query["from"], "from")) if query.get("from") else end - timedelta(days=29)
        if start > end:
            raise BadRequest("'from' is after 'to'")
        if (end - start).days + 1 > MAX_DAYS:
            raise BadRequest(f"the range is longer than {MAX_DAYS} days")
    else:
        raise BadRequest(f"'range' must be one of: {', '.join([*PRESETS, 'custom'])}")
    length = (end - start).days + 1
    prev_end = start - timedelta(days=1)
    prev_start = prev_end - timedelta(days=length - 1)
    if prev_start.year < 1970:
        raise BadRequest("the range starts too early")
    return Range(preset, start.isoformat(), end.isoformat(), prev_start.isoformat(), prev_end.isoformat())


def parse_model(query: dict[str, str]) -> str:
    model = query.get("model") or "last_touch"
    if model not in MODELS:
        raise BadRequest(f"'model' must be one of: {', '.join(MODELS)}")
    return model


def change(key: str, current: float | None, previous: float | None) -> dict[str, Any]:
    """How a figure moved against the previous period, in words as well as a direction. Pure.

    Counts and money change by a percentage of the previous value; rates (missed rate, ROI)
    by percentage points, since a percentage of a percentage misleads. ``better`` is None when
    the figure did not move or cannot be compared.
    """
    if current is None or previous is None:
        return {"direction": "none", "text": "no earlier figure to compare", "better": None}
    kind = dict((k, kind) for k, _, kind in TOTALS).get(key, "count")
    diff = current - previous
    if abs(diff) < 1e-9:
        return {"direction": "same", "text": "no change", "better": None}
    direction = "up" if diff > 0 else "down"
    if kind == "rate":
        amount = f"{abs(diff) * 100:.1f} points"
    elif previous == 0:
        amount = "from none"
    else:
        amount = f"{abs(diff) / abs(previous) * 100:.0f}%"
    better = (diff < 0) if key in LOWER_IS_BETTER else (diff > 0)
    return {"direction": direction, "text": f"{direction} {amount}", "better": better}


def source_colours(sources: list[str] | set[str]) -> dict[str, str]:
    """Each source's colour in charts, from its own key (a hash picks its slot), so it is the same in
    every range whatever its rank. Two sources whose hashes meet take the next free slot, in the
    order of their keys (the list of every source the business has, not the range's). Pure."""
    out: dict[str, str] = {}
    used: set[int] = set()
    for source in sorted(sources):
        slot = hashlib.sha256(source.encode()).digest()[0] % len(PALETTE)
        while slot in used and len(used) < len(PALETTE):
            slot = (slot + 1) % len(PALETTE)
        used.add(slot)
        out[source] = PALETTE[slot]
    return out


def display(kind: str, value: float | int | None, currency: str = "USD") -> str:
    """A figure as the page shows it, money with the business's currency. Pure."""
    if value is None:
        return "\u2013"  # an en dash: no figure
    if kind == "count":
        return f"{int(value):,}"
    if kind == "money":
        return business.money(value, currency)
    if kind == "rate":
        return f"{value * 100:.1f}%"
    seconds = round(float(value))
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


# The per-source table's columns: key, label, kind.
COLUMNS = (
    ("calls", "Calls", "count"),
    ("answered", "Answered", "count"),
    ("missed", "Missed", "count"),
    ("voicemail", "Voicemail", "count"),
    ("missed_rate", "Missed rate", "rate"),
    ("first_time_callers", "First-time", "count"),
    ("avg_talk_time", "Avg talk", "seconds"),
    ("conversions", "Conversions", "count"),
    ("revenue", "Revenue", "money"),
    ("spend", "Spend", "money"),
    ("cost_per_call", "Cost per call", "money"),
    ("roi", "ROI", "rate"),
)


def read_buckets(model: str, source: str, start: str, end: str) -> dict[str, dict[str, Any]]:
    """Day -> summed numbers for one source (one query, spam left out, caller sets not read)."""
    days: dict[str, dict[str, Any]] = {}
    for bucket in stored.buckets(model, source, start, end, callers=False):
        if bucket.spam:
            continue
        acc = days.setdefault(bucket.day, figures._empty())
        for key in NUMBERS:
            acc[key] += bucket.numbers[key]
    return days


def summarize(
    rng: Range,
    per_source: dict[str, dict[str, dict[str, Any]]],
    spend: dict[str, dict[str, Decimal]],
    labels: dict[str, str],
    *,
    counted: tuple[str, ...] = business.DEFAULT_CONVERSIONS,
    currency: str = "USD",
) -> dict[str, Any]:
    """Totals, their change, the chart's days and the per-source rows from what was read. Pure.

    ``per_source``: source -> day -> numbers (both periods); ``spend``: source -> day -> amount;
    ``labels``: channel id -> name. Cost per call, per source and overall, is spend over the calls
    of the sources that had spend in the period (billboard calls do not dilute search spend).
    """
    cur, prev = figures._empty(), figures._empty()
    paid, paid_prev = figures._empty(), figures._empty()
    cur_spend, prev_spend = Decimal(0), Decimal(0)
    rows: list[dict[str, Any]] = []
    dates = rng.dates()
    series: dict[str, dict[str, list[int]]] = {}
    answered = [0] * len(dates)
    missed = [0] * len(dates)
    other = [0] * len(dates)  # voicemail: its own part of the bar (and missed in the missed rate)
    index = {d: i for i, d in enumerate(dates)}
    colours = source_colours(set(per_source) | set(spend))
    for source in sorted(set(per_source) | set(spend)):
        days = per_source.get(source, {})
        acc, acc_prev = figures._empty(), figures._empty()
        for day, nums in days.items():
            if rng.start <= day <= rng.end:
                figures._merge(acc, nums)
                i = index[day]
                s = series.setdefault(source, {"calls": [0] * len(dates)})
                s["calls"][i] += int(nums["calls"])
                answered[i] += int(nums["answered"])
                missed[i] += int(nums["missed"])
                other[i] += int(nums["calls"]) - int(nums["answered"]) - int(nums["missed"])
            elif rng.prev_start <= day <= rng.prev_end:
                figures._merge(acc_prev, nums)
        money = spend.get(source, {})
        s_cur = sum((v for d, v in money.items() if rng.start <= d <= rng.end), Decimal(0))
        s_prev = sum((v for d, v in money.items() if rng.prev_start <= d <= rng.prev_end), Decimal(0))
        figures._merge(cur, acc)
        figures._merge(prev, acc_prev)
        cur_spend += s_cur
        prev_spend += s_prev
        if s_cur:
            figures._merge(paid, acc)
        if s_prev:
            figures._merge(paid_prev, acc_prev)
        if acc["calls"] or s_cur:
            label = attribution.source_name(source, labels.get(source))
            rows.append(
                {"source": source, "label": label, "colour": colours[source], **figures._row(acc, s_cur, counted)}
            )
    rows.sort(key=lambda r: (-r["calls"], r["label"].lower()))
    total = figures._row(cur, cur_spend, counted, paid)
    total_prev = figures._row(prev, prev_spend, counted, paid_prev)
    totals = []
    for key, label, kind in TOTALS:
        totals.append(
            {
                "key": key,
                "label": label,
                "kind": kind,
                "value": total[key],
                "previous": total_prev[key],
                "change": change(key, total[key], total_prev[key]),
                "display": display(kind, total[key], currency),
                "previous_display": display(kind, total_prev[key], currency),
            }
        )
    order = [r["source"] for r in rows if r["source"] in series]
    chart = {
        "dates": dates,
        "sources": [
            {
                "source": s,
                "label": attribution.source_name(s, labels.get(s)),
                "colour": colours[s],
                **series[s],
            }
            for s in order
        ],
        "answered": answered,
        "missed": missed,
        "voicemail": other,
    }
    for r in rows:
        r["cells"] = [{"key": k, "value": r[k], "display": display(kind, r[k], currency)} for k, _, kind in COLUMNS]
    return {"totals": totals, "total": total, "previous": total_prev, "rows": rows, "chart": chart}


def hourly_chart(chart: dict[str, Any], hours: dict[str, dict[int, dict[str, int]]]) -> dict[str, Any]:
    """The chart of a one-day range by local hour: 24 bars labelled ``0:00`` to ``23:00``, the
    sources in the day chart's order (and colours), from the day's hour buckets. Pure."""
    labels = [f"{h}:00" for h in range(24)]

    def series(per_hour: dict[int, dict[str, int]], key: str) -> list[int]:
        return [int(per_hour.get(h, {}).get(key, 0)) for h in range(24)]

    every: dict[int, dict[str, int]] = {}
    for per_hour in hours.values():
        for h, nums in per_hour.items():
            acc = every.setdefault(h, {})
            for k, v in nums.items():
                acc[k] = acc.get(k, 0) + v
    sources = [{**s, "calls": series(hours.get(s["source"], {}), "calls")} for s in chart["sources"]]
    return {
        "hourly": True,
        "dates": labels,
        "sources": [s for s in sources if sum(s["calls"])],
        "answered": series(every, "answered"),
        "missed": series(every, "missed"),
        "voicemail": series(every, "voicemail"),
    }


def overview(query: dict[str, str]) -> dict[str, Any]:
    """The overview for a query string (``range``, ``from``, ``to``, ``model``)."""
    query = dict(query)
    calling = _calling(query.pop("calling", None))
    unknown = sorted(set(query) - {"range", "from", "to", "model"})
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(unknown)}")
    today = aggregates.day(clock.now_ms())
    rng = parse_range(query, today)
    model = parse_model(query)
    sources = figures._sources()
    labels = figures._labels() if any(s.startswith("ch_") for s in sources) else {}
    biz = business.profile()
    per_source: dict[str, dict[str, dict[str, Any]]] = {}
    spend: dict[str, dict[str, Decimal]] = {}
    for source in sources:
        per_source[source] = read_buckets(MODELS[model], source, rng.prev_start, rng.end)
        spend[source] = figures._spend(source, rng.prev_start, rng.end)
    out = summarize(rng, per_source, spend, labels, counted=biz.conversions, currency=biz.currency)
    if rng.days == 1:  # "Today" (or any one day) by hour: one more query, whatever the calls
        out["chart"] = hourly_chart(out["chart"], stored.hours(MODELS[model], rng.end))
    waiting = callbacks.call_back_list()  # one Query: the list is kept by its subscriber
    # The menu report (GET /v1/reports/menu) for lines with a menu: one Query (the lines' names too
    # when there is a row)
    menu = figures.menu_rows(stored.menu_option_calls(rng.start, rng.end))
    return {
        **out,
        "range": rng,
        "model": model,
        "today": today,
        "has_sources": bool(sources),
        "presets": PRESET_LABELS,
        "columns": COLUMNS,
        "call_back": [call_back_row(w, biz) for w in waiting],
        "calling": _calling_row(calling, biz) if calling else None,
        "menu": menu,
    }


def _calling(sid: str | None) -> str | None:
    """The call a call back was just started for from the list (``?calling=CA...``), checked."""
    if sid is None:
        return None
    if not (sid.startswith("CA") and 3 <= len(sid) <= 64 and sid.isalnum()):
        raise BadRequest("'calling' must be a call's id (CA...)")
    return sid


def _calling_row(sid: str, biz: business.Business) -> dict[str, Any] | None:
    """Who is being called back, and whose phone rings first (the call-back's own record: two
    reads), for the list's notice."""
    c = calls_store.get(sid)
    if c is None:
        return None
    made = calls_store.get(c.callback_sid) if c.callback_sid else None
    return {
        "caller_display": business.phone(c.caller, biz.country),
        "phone_display": business.phone(made.forwarded_to if made else None, biz.country),
    }


def call_back_row(w: callbacks.ToCallBack, biz: business.Business) -> dict[str, Any]:
    """A caller waiting for a call back as the overview lists them. Pure but for settings."""
    return {
        "caller": w.caller,
        "caller_display": business.phone(w.caller, biz.country),
        "tel": business.tel(w.caller),
        "sid": w.call_sid,
        "when": clock.local_minute(w.at_ms, biz.timezone),
        "missed_calls": w.missed_calls,
        "source": w.source_name,
        "voicemail": w.voicemail,
    }
