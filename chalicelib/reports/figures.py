"""Reports read from the aggregates: figures per source over a range, and per day.

A report costs requests per source and day range, never per call: it reads the items it can name
(BatchGetItem: whole weeks and edge days, ``_buckets_by_source``), never a Query of the counters
table, whose size grows with calls. Days are the business's days.
"""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from chalicelib import attribution, business
from chalicelib.core import clock
from chalicelib.core.errors import BadRequest
from chalicelib.reports import aggregates
from chalicelib.reports.aggregates import NUMBERS
from chalicelib.reports.spend import date as parse_date
from chalicelib.reports.spend import source as parse_source
from chalicelib.store import aggregates as stored
from chalicelib.store import keys, lines

MODELS = ("last_touch", "first_touch")
MAX_RANGE_DAYS = 366

# The spend days are read beside the buckets (neither needs the other): a report's reads are then
# as long as the longer of the two, not their sum (a worker thread carrying the request's context).
_workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="report-read")


def _beside(sources: list[str], start: str, end: str) -> Any:
    """``_spend_by_source`` started on a worker thread, with this request's context (its timeouts)."""
    ctx = contextvars.copy_context()
    return _workers.submit(ctx.run, _spend_by_source, sources, start, end)


def _range(query: dict[str, str]) -> tuple[str, str]:
    today = aggregates.day(clock.now_ms())
    end = parse_date(query["to"], "to") if query.get("to") else today
    default_start = (datetime.strptime(end, "%Y-%m-%d") - timedelta(days=29)).strftime("%Y-%m-%d")
    start = parse_date(query["from"], "from") if query.get("from") else default_start
    if start > end:
        raise BadRequest("'from' is after 'to'")
    span = (datetime.strptime(end, "%Y-%m-%d") - datetime.strptime(start, "%Y-%m-%d")).days + 1
    if span > MAX_RANGE_DAYS:
        raise BadRequest(f"the range is {span} days; at most {MAX_RANGE_DAYS}")
    return start, end


def _options(query: dict[str, str]) -> tuple[str, str, str, bool]:
    unknown = sorted(set(query) - {"from", "to", "model", "include_spam", "source"})
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(unknown)}")
    model = query.get("model") or "last_touch"
    if model not in MODELS:
        raise BadRequest(f"'model' must be one of: {', '.join(MODELS)}")
    spam = query.get("include_spam", "false")
    if spam not in ("true", "false"):
        raise BadRequest("'include_spam' must be true or false")
    start, end = _range(query)
    return start, end, model.split("_")[0], spam == "true"


def _periods(start: str, end: str, weeks_from: str | None, *, by_day: bool) -> tuple[list[str], list[str]]:
    """What a range is read as: the Mondays of its whole weeks (those from ``weeks_from`` on, whose
    week buckets hold every call) and its other days; every day when ``by_day``. Pure."""
    if by_day or weeks_from is None:
        return [], _days(start, end)
    weeks, days = clock.weeks_and_days(start, end)
    older = [w for w in weeks if w < weeks_from]  # counted before weeks were: read as their days
    for monday in older:
        days.extend(_days(monday, _shift(monday, 6)))
    return [w for w in weeks if w >= weeks_from], sorted(days)


def _days(start: str, end: str) -> list[str]:
    out, cur = [], start
    while cur <= end:
        out.append(cur)
        cur = _shift(cur, 1)
    return out


def _shift(day: str, days: int) -> str:
    return (datetime.strptime(day, "%Y-%m-%d") + timedelta(days=days)).strftime("%Y-%m-%d")


def _buckets_by_source(
    model: str, sources: list[str], start: str, end: str, spam: bool, weeks_from: str | None, *, by_day: bool = False
) -> dict[str, dict[str, dict[str, Any]]]:
    """Source -> period (a day, or a whole week's Monday) -> summed numbers and its buckets' caller
    keys (``keys``: the values, for ``store.aggregates.key_set``).

    Read by key, never by query (``store.aggregates.read``): the whole weeks' buckets and the edge
    days', spam and not, of every source in one BatchGetItem per 100 keys. So a 90-day report reads
    about 13 items per source and model, whatever the calls in them, and its requests follow its
    range and sources only. Each call is in one day and that day's week, so no call counts twice,
    and caller keys are unioned by whoever counts them: a caller counts once over the range."""
    weeks, days = _periods(start, end, weeks_from, by_day=by_day)
    wanted: dict[Any, str] = {}
    for source in sources:
        for flag in (False, True):
            for monday in weeks:
                wanted[keys.split_bucket(keys.week_bucket(model, source, monday, spam=flag))] = source
            for d in days:
                wanted[keys.split_bucket(keys.aggregate_bucket(model, source, d, spam=flag))] = source
    got = stored.read(wanted)
    over = {(wanted[k], b.day) for k, b in got.items() if b.overflow}
    if over:  # weeks past their cap (``aggregates.WEEK_CAP``) lack calls: their days instead, one more batch
        got = {k: b for k, b in got.items() if not (k.pk.startswith(keys.WEEKS) and (wanted[k], b.day) in over)}
        more: dict[Any, str] = {}
        for source, monday in sorted(over):
            for flag in (False, True):
                for d in _days(monday, _shift(monday, 6)):
                    more[keys.split_bucket(keys.aggregate_bucket(model, source, d, spam=flag))] = source
        wanted.update(more)
        got.update(stored.read(more))
    out: dict[str, dict[str, dict[str, Any]]] = {source: {} for source in sources}
    for key, bucket in sorted(got.items()):
        acc = out[wanted[key]].setdefault(bucket.day, _empty())
        if bucket.spam:  # counted apart (``spam``) whether or not the figures include it
            acc["spam"] += bucket.numbers["calls"]
            if not spam:
                continue
        for name in NUMBERS:
            acc[name] += bucket.numbers[name]
        acc["keys"].append(bucket.keys)  # no set per bucket: one per row, built from all its values at once
    return out


def _spend(source: str, start: str, end: str) -> dict[str, Decimal]:
    """Day -> amount spent on one source (one query: the dashboard's overview)."""
    return stored.spend(source, start, end)


def _sources() -> list[str]:
    return stored.sources()


def _spend_by_source(sources: list[str], start: str, end: str) -> dict[str, dict[str, Decimal]]:
    """Source -> day -> amount spent, by key (one BatchGetItem per 100 source days)."""
    got = stored.spend_days((source, d) for source in sources for d in _days(start, end))
    out: dict[str, dict[str, Decimal]] = {source: {} for source in sources}
    for (source, d), amount in sorted(got.items()):
        out[source][d] = amount
    return out


def _sources_and_weeks() -> tuple[list[str], str | None]:
    return stored.report_sources()


def _labels() -> dict[str, str]:
    return lines.channel_names()


def _row(
    acc: dict[str, Any],
    spend: Decimal,
    counted: tuple[str, ...] = business.DEFAULT_CONVERSIONS,
    paid: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A row's figures. Pure. A voicemail is a call nobody answered: it has its own column and
    counts in the missed rate. Cost per call is spend over the calls of sources with spend
    (``paid``: those calls; by default the row's own) and ``None`` (unknown, never 0) without spend."""
    calls, first = int(acc["calls"]), int(acc["first_time"])
    paid = acc if paid is None else paid
    answered = int(acc["answered"])
    revenue = acc["revenue"]

    def ratio(a: Decimal | int, b: Decimal | int, places: str = "0.01") -> float | None:
        return float((Decimal(a) / Decimal(b)).quantize(Decimal(places))) if b else None

    return {
        "calls": calls,
        "answered": answered,
        "missed": int(acc["missed"]),
        "voicemail": int(acc["voicemail"]),
        "missed_rate": ratio(int(acc["missed"]) + int(acc["voicemail"]), calls, "0.0001"),
        "unique_callers": len(acc["callers"]),
        "first_time_callers": first,
        "avg_talk_time": ratio(int(acc["talk_time"]), answered, "0.1"),
        "avg_time_to_answer": ratio(int(acc["answer_time"]), int(acc["answer_timed"]), "0.1"),
        "spend": float(spend),
        "cost_per_call": ratio(spend, int(paid["calls"])) if spend else None,
        "cost_per_first_time_caller": ratio(spend, int(paid["first_time"])) if spend else None,
        "leads": int(acc["leads"]),
        "sales": int(acc["sales"]),
        "conversions": business.conversions(acc, counted),
        "revenue": float(revenue),
        "roi": ratio(revenue - spend, spend, "0.0001"),
        "texts": int(acc["texts"]),
        "spam": int(acc.get("spam", 0)),
    }


def _empty() -> dict[str, Any]:
    return {k: Decimal(0) for k in NUMBERS} | {"callers": set(), "keys": [], "spam": Decimal(0)}


def _merge(into: dict[str, Any], acc: dict[str, Any], *, callers: bool = True) -> None:
    """Add ``acc``'s numbers to ``into`` and gather its caller key values (``keys``); with ``callers``,
    union its caller set too (rows already counted; otherwise ``key_set`` of the gathered keys)."""
    for key in NUMBERS:
        into[key] += acc[key]
    if callers:
        into["callers"] |= acc["callers"]
    into["keys"] += acc.get("keys", ())
    into["spam"] = into.get("spam", 0) + acc.get("spam", 0)


def channels_report(query: dict[str, str]) -> dict[str, Any]:
    """Per source over the range: the figures of ``_row``, plus the totals."""
    start, end, model, spam = _options(query)
    labels = _labels()
    counted = business.profile().conversions
    rows, total, total_spend, paid = [], _empty(), Decimal(0), _empty()
    sources, weeks_from = _sources_and_weeks()
    spending = _beside(sources, start, end)
    per_source = _buckets_by_source(model, sources, start, end, spam, weeks_from)
    spent = spending.result()
    for source in sources:
        acc = _empty()
        periods = list(per_source[source].values())
        for period_acc in periods:
            _merge(acc, period_acc, callers=False)
        acc["callers"] = stored.key_set(acc["keys"])  # one set: a caller counts once
        spend = sum(spent[source].values(), Decimal(0))
        if not acc["calls"] and not acc["texts"] and not spend:  # a source with only texts has a row
            continue
        _merge(total, acc)
        total_spend += spend
        if spend:
            _merge(paid, acc)
        name = attribution.source_name(source, labels.get(source))
        rows.append({"source": source, "label": name, **_row(acc, spend, counted)})
    rows.sort(key=lambda r: (-r["calls"], r["source"]))
    return {
        "from": start,
        "to": end,
        "model": f"{model}_touch",
        "include_spam": spam,
        "rows": rows,
        "total": _row(total, total_spend, counted, paid),
    }


def daily_report(query: dict[str, str]) -> dict[str, Any]:
    """The same figures per day, for one source (``source=``) or all."""
    start, end, model, spam = _options(query)
    sources = [parse_source(query["source"])] if query.get("source") else _sources_and_weeks()[0]
    counted = business.profile().conversions
    per_day: dict[str, dict[str, Any]] = {}
    spend_day: dict[str, Decimal] = {}
    spending = _beside(sources, start, end)
    per_source = _buckets_by_source(model, sources, start, end, spam, None, by_day=True)
    spent = spending.result()
    for source in sources:
        for day, acc in per_source[source].items():
            _merge(per_day.setdefault(day, _empty()), acc, callers=False)
        for day, amount in spent[source].items():
            spend_day[day] = spend_day.get(day, Decimal(0)) + amount
    for acc in per_day.values():
        acc["callers"] = stored.key_set(acc["keys"])  # a caller of two sources on one day counts once
    days = []
    cur = datetime.strptime(start, "%Y-%m-%d")
    while (d := cur.strftime("%Y-%m-%d")) <= end:
        days.append({"date": d, **_row(per_day.get(d, _empty()), spend_day.get(d, Decimal(0)), counted)})
        cur += timedelta(days=1)
    return {"from": start, "to": end, "model": f"{model}_touch", "source": query.get("source"), "days": days}


BREAKDOWN_BY = tuple(aggregates.DIMENSIONS)


def breakdown_report(query: dict[str, str]) -> dict[str, Any]:
    """One web source's figures per campaign, keyword, ad or landing page (``by``) over the range:
    one Query of that source's dimension buckets, so it costs the same at any number of calls.
    Rows are the values the days kept (at most ``DIMENSION_CAP`` a day; more count as "(other)"),
    calls without the value as "(not set)". Spend is entered per source, so the rows have none."""
    q = dict(query)
    source = parse_source(q.pop("source", "") or "")
    by = q.pop("by", "") or ""
    if by not in BREAKDOWN_BY:
        raise BadRequest(f"'by' must be one of: {', '.join(BREAKDOWN_BY)}")
    if not source.startswith("web:"):
        raise BadRequest("'source' must be a web source (web:...): a channel's calls have no campaigns")
    start, end, model, spam = _options(q)
    counted = business.profile().conversions
    values: dict[str, dict[str, Any]] = {}
    total = _empty()
    for b in stored.dimension_buckets(model, by, source, start, end):
        if b.spam and not spam:
            continue
        acc = values.setdefault(b.value, _empty())
        for key in NUMBERS:
            acc[key] += b.numbers[key]
            total[key] += b.numbers[key]
        callers = {c.split(":", 1)[0] for c in b.callers}
        acc["callers"] |= callers
        total["callers"] |= callers
    last = (aggregates.OTHER, aggregates.NOT_SET)
    rows = [{"value": v, **_row(acc, Decimal(0), counted)} for v, acc in values.items()]
    rows.sort(key=lambda r: (r["value"] in last, -r["calls"], r["value"]))
    return {
        "from": start,
        "to": end,
        "model": f"{model}_touch",
        "include_spam": spam,
        "source": source,
        "label": attribution.source_name(source),
        "by": by,
        "rows": rows,
        "total": _row(total, Decimal(0), counted),
    }


def menu_report(query: dict[str, str]) -> dict[str, Any]:
    """Calls per line and menu option chosen over a range of days (spam left out): one query.

    Kept as the numbers page's calls are (one small item per line, option and day), not as a
    breakdown dimension: those are a web source's visit values, capped per day; a menu belongs
    to a line (a printed number as much as a website) and has at most nine options."""
    unknown = sorted(set(query) - {"from", "to"})
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(unknown)}")
    start, end = _range(query)
    return {"from": start, "to": end, "rows": menu_rows(stored.menu_option_calls(start, end))}


def menu_rows(found: dict[tuple[str, str], dict[str, int]]) -> list[dict[str, Any]]:
    """The menu report's rows from its counts, each line named and each option labelled as the
    line's menu labels it now (``None``: the option is no longer on the menu, or the line is
    gone). The lines are read only when there is a row: a business without a menu pays the one
    query, no more."""
    if not found:
        return []
    menus = lines.line_menus()
    rows = []
    for (line, option), counts in sorted(found.items()):
        name, labels = menus.get(line, (line, {}))
        rows.append({"line": line, "line_name": name, "option": option, "label": labels.get(option) or None, **counts})
    return rows
