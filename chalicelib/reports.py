"""Reports from maintained aggregates, and the spend they are set against.

Each finished call adds a small vector (calls, answered, missed, voicemail, first-time,
talk time, time to answer, leads, sales, revenue, and its caller) to two day buckets:
``AGG#last#<source>`` (its own source: last touch) and ``AGG#first#<source>`` (the source
of the caller's first call: first touch). Spam (an outcome of ``spam``, or a blocked
caller) goes to a ``<day>#spam`` bucket that reports leave out unless asked.

Exactly once: the call item keeps what it last added (``agg``) and a version. When the
call changes, the difference between what it should add now and what it added is applied
in one transaction with the new ``agg``, conditional on the version; a replayed or
concurrent callback fails the condition, re-reads the call and finds nothing left to do.
So a report costs requests per source and day range, never per call.

Days are UTC days.
"""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import attribution, clock
from chalicelib import validation as v
from chalicelib.errors import BadRequest, dynamodb_code
from chalicelib.models import CallModel, ChannelModel, CounterModel
from chalicelib.numbers import transaction_connection
from chalicelib.observability import logger

NUMBERS = (
    "calls",
    "answered",
    "missed",
    "voicemail",
    "first_time",
    "talk_time",
    "answer_time",
    "answer_timed",
    "leads",
    "sales",
    "revenue",
)
MODELS = ("last_touch", "first_touch")
OUTCOMES = ("lead", "sale", "spam", "none")
MAX_RANGE_DAYS = 366
SOURCES = ("AGG#sources", "all")
MAX_CSV_BYTES = 1024 * 1024
MAX_TAGS = 20


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def _is_final(c: CallModel) -> bool:
    return bool(c.blocked) or (c.status_rank is not None and int(c.status_rank) >= 4)


def contribution(c: CallModel) -> dict[str, dict[str, Any]]:
    """What the call adds to the aggregates now: bucket key -> numbers and its caller entry."""
    if not _is_final(c) or c.started_at is None:
        return {}
    from chalicelib.calls import result_of

    result = result_of(c)
    spam = bool(c.blocked) or c.outcome == "spam"
    talk = int(c.talk_time or 0) if result == "answered" else 0
    answer_time = 0
    if result == "answered" and c.duration is not None:
        answer_time = max(0, int(c.duration) - talk)
    vec: dict[str, Any] = {
        "calls": 1,
        "answered": int(result == "answered"),
        "missed": int(result == "missed"),
        "voicemail": int(result == "voicemail"),
        "first_time": int(bool(c.first_time)),
        "talk_time": talk,
        "answer_time": answer_time,
        "answer_timed": int(result == "answered" and c.duration is not None),
        "leads": int(c.outcome == "lead"),
        "sales": int(c.outcome == "sale"),
        "revenue": str(Decimal(str(c.revenue or 0))),
    }
    vec = {k: val for k, val in vec.items() if val not in (0, "0")}
    if c.caller:
        vec["caller"] = hashlib.sha256(c.caller.encode()).hexdigest()[:12] + ":" + c.call_sid[-10:]
    suffix = "#spam" if spam else ""
    day = _day(int(c.started_at))
    last = attribution.source_key(c.attribution, c.kind)
    first = (c.first_touch or {}).get("source_key") or last
    return {f"AGG#last#{last}|{day}{suffix}": vec, f"AGG#first#{first}|{day}{suffix}": vec}


def sync(c: CallModel, *, attempts: int = 3) -> None:
    """Bring the aggregates in line with the call (a no-op when nothing changed)."""
    for _ in range(attempts):
        new = contribution(c)
        old: dict[str, dict[str, Any]] = dict(c.agg or {})
        if new == old:
            return
        version = int(c.agg_version or 0)
        try:
            _apply(c.call_sid, old, new, version)
            return
        except TransactWriteError as exc:
            if dynamodb_code(exc) != "TransactionCanceledException":
                raise
        c = CallModel.get(c.call_sid, consistent_read=True)  # somebody else moved it: look again
    logger.warning("aggregates not synced after retries; the next change of the call will", call_sid=c.call_sid)


def _apply(call_sid: str, old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]], version: int) -> None:
    deltas: dict[str, dict[str, Any]] = {}
    for sign, side in ((-1, old), (1, new)):
        for bucket, vec in side.items():
            d = deltas.setdefault(bucket, {"add": {}, "callers_add": set(), "callers_del": set()})
            for key in NUMBERS:
                if key in vec:
                    d["add"][key] = d["add"].get(key, Decimal(0)) + sign * Decimal(str(vec[key]))
            if "caller" in vec:
                d["callers_add" if sign > 0 else "callers_del"].add(vec["caller"])
    sources = {b.split("#", 2)[2].rsplit("|", 1)[0] for b in new}
    condition = CallModel.agg_version == version if version else CallModel.agg_version.does_not_exist()
    with TransactWrite(connection=transaction_connection()) as tx:
        tx.update(
            CallModel(call_sid),
            actions=[CallModel.agg.set(new), CallModel.agg_version.set(version + 1)],
            condition=condition,
        )
        for bucket, d in deltas.items():
            actions: list[Any] = []
            for key, amount in d["add"].items():
                if amount:
                    actions.append(getattr(CounterModel, key).add(_num(amount)))
            both = d["callers_add"] & d["callers_del"]
            if d["callers_add"] - both:
                actions.append(CounterModel.callers.add(d["callers_add"] - both))
            if d["callers_del"] - both:
                actions.append(CounterModel.callers.delete(d["callers_del"] - both))
            if actions:
                pk, sk = bucket.split("|", 1)
                tx.update(CounterModel(pk, sk), actions=actions)
        if sources:
            tx.update(CounterModel(*SOURCES), actions=[CounterModel.keys.add(sources)])


# --- outcomes ---------------------------------------------------------------------------


def set_outcome(call_sid: str, body: dict[str, Any]) -> CallModel:
    """``PATCH /v1/calls/{sid}``: outcome, revenue, note, tags; the aggregates follow."""
    v.reject_unknown(body, {"outcome", "revenue", "note", "tags"})
    if not body:
        raise BadRequest("nothing to change; send one or more of: note, outcome, revenue, tags")
    actions: list[Any] = [CallModel.updated_at.set(clock.now_ms())]
    if "outcome" in body:
        if body["outcome"] not in OUTCOMES:
            raise BadRequest(f"'outcome' must be one of: {', '.join(OUTCOMES)}")
        actions.append(CallModel.outcome.set(body["outcome"]))
    if "revenue" in body:
        actions.append(CallModel.revenue.set(_num(_money(body["revenue"], "revenue"))))
    if "note" in body:
        note = v.string(body, "note", max_len=2000)
        actions.append(CallModel.note.set(note) if note else CallModel.note.remove())
    if "tags" in body:
        tags = body["tags"]
        if not isinstance(tags, list) or len(tags) > MAX_TAGS:
            raise BadRequest(f"'tags' must be a list of at most {MAX_TAGS} short strings")
        if not all(isinstance(t, str) and 0 < len(t.strip()) <= 40 for t in tags):
            raise BadRequest("each tag must be text of 1 to 40 characters")
        clean = {t.strip() for t in tags}
        actions.append(CallModel.tags.set(clean) if clean else CallModel.tags.remove())
    from chalicelib.calls import load

    item = load(call_sid)
    item.update(actions=actions, condition=CallModel.call_sid.exists())
    sync(item)
    return item


def _num(amount: Decimal) -> int | float:
    """PynamoDB writes numbers with json.dumps: whole amounts as int, cents as a short float
    (``125.5`` is sent as the decimal string "125.5", so DynamoDB still adds exactly)."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _money(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise BadRequest(f"'{name}' must be a number like 125.50")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise BadRequest(f"'{name}' must be a number like 125.50") from None
    if not amount.is_finite() or amount < 0:
        raise BadRequest(f"'{name}' must not be negative")
    if amount > Decimal("1e9") or amount != amount.quantize(Decimal("0.01")):
        raise BadRequest(f"'{name}' must be at most 1,000,000,000 with at most two decimals")
    return amount


# --- spend ------------------------------------------------------------------------------


def _source(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 80:
        raise BadRequest("'source' must be a channel id (ch_...) or a web source like web:google")
    source = value.strip()
    if not (source.startswith("ch_") or source.startswith("web:")):
        raise BadRequest(f"'source' {source!r} must be a channel id (ch_...) or a web source like web:google")
    return source.lower() if source.startswith("web:") else source


MIN_YEAR, MAX_YEAR = 1970, 9998  # day arithmetic on ranges stays within what datetime holds


def _date(value: Any, name: str = "date") -> str:
    try:
        if not isinstance(value, str):
            raise ValueError
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise BadRequest(f"'{name}' must be a date like 2026-11-01") from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise BadRequest(f"'{name}' must be a date between {MIN_YEAR} and {MAX_YEAR}, like 2026-11-01")
    return day.strftime("%Y-%m-%d")


def put_spend(body: dict[str, Any]) -> dict[str, Any]:
    """``PUT /v1/spend``: one source's spend on one day (replaces what was there)."""
    v.reject_unknown(body, {"source", "date", "amount"})
    entry: dict[str, Any] = {
        "source": _source(body.get("source")),
        "date": _date(body.get("date")),
        "amount": _money(body.get("amount"), "amount"),
    }
    _save_spend([entry])
    return {**entry, "amount": float(entry["amount"])}


def import_spend(raw: bytes | str | None) -> dict[str, Any]:
    """CSV ``date,source,amount`` (header required): all rows or none, errors by line."""
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
                {"source": _source(row[1]), "date": _date(row[0].strip()), "amount": _money(row[2].strip(), "amount")}
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
    with CounterModel.batch_write() as batch:
        for e in entries:
            batch.save(CounterModel(f"SPEND#{e['source']}", e["date"], total=_num(e["amount"])))
    # A source with spend and no calls yet is still a row (its cost per call is unknown, not zero).
    CounterModel(*SOURCES).update(actions=[CounterModel.keys.add({e["source"] for e in entries})])


# --- reports ----------------------------------------------------------------------------


def _range(query: dict[str, str]) -> tuple[str, str]:
    today = _day(clock.now_ms())
    end = _date(query["to"], "to") if query.get("to") else today
    default_start = (datetime.strptime(end, "%Y-%m-%d") - timedelta(days=29)).strftime("%Y-%m-%d")
    start = _date(query["from"], "from") if query.get("from") else default_start
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


def _buckets(model: str, source: str, start: str, end: str, spam: bool) -> dict[str, dict[str, Any]]:
    """Day -> summed numbers and caller set, for one source (one query)."""
    days: dict[str, dict[str, Any]] = {}
    for item in CounterModel.query(f"AGG#{model}#{source}", CounterModel.sk.between(start, end + "~")):
        day, _, tag = item.sk.partition("#")
        if tag == "spam" and not spam:
            continue
        acc = days.setdefault(day, _empty())
        for key in NUMBERS:
            acc[key] += Decimal(str(getattr(item, key) or 0))
        acc["callers"] |= {c.split(":", 1)[0] for c in (item.callers or set())}
    return days


def _spend(source: str, start: str, end: str) -> dict[str, Decimal]:
    return {
        i.sk: Decimal(str(i.total)) for i in CounterModel.query(f"SPEND#{source}", CounterModel.sk.between(start, end))
    }


def _sources() -> list[str]:
    try:
        return sorted(CounterModel.get(*SOURCES).keys or set())
    except CounterModel.DoesNotExist:
        return []


def _labels() -> dict[str, str]:
    return {c.channel_id: c.name for c in ChannelModel.scan(attributes_to_get=["channel_id", "name"])}


def _row(acc: dict[str, Any], spend: Decimal) -> dict[str, Any]:
    calls, first = int(acc["calls"]), int(acc["first_time"])
    answered = int(acc["answered"])
    revenue = acc["revenue"]

    def ratio(a: Decimal | int, b: Decimal | int, places: str = "0.01") -> float | None:
        return float((Decimal(a) / Decimal(b)).quantize(Decimal(places))) if b else None

    return {
        "calls": calls,
        "answered": answered,
        "missed": int(acc["missed"]),
        "voicemail": int(acc["voicemail"]),
        "missed_rate": ratio(int(acc["missed"]), calls, "0.0001"),
        "unique_callers": len(acc["callers"]),
        "first_time_callers": first,
        "avg_talk_time": ratio(int(acc["talk_time"]), answered, "0.1"),
        "avg_time_to_answer": ratio(int(acc["answer_time"]), int(acc["answer_timed"]), "0.1"),
        "spend": float(spend),
        "cost_per_call": ratio(spend, calls),
        "cost_per_first_time_caller": ratio(spend, first),
        "leads": int(acc["leads"]),
        "sales": int(acc["sales"]),
        "revenue": float(revenue),
        "roi": ratio(revenue - spend, spend, "0.0001"),
    }


def _empty() -> dict[str, Any]:
    return {k: Decimal(0) for k in NUMBERS} | {"callers": set()}


def _merge(into: dict[str, Any], acc: dict[str, Any]) -> None:
    for key in NUMBERS:
        into[key] += acc[key]
    into["callers"] |= acc["callers"]


def channels_report(query: dict[str, str]) -> dict[str, Any]:
    """Per source over the range: the figures of ``_row``, plus the totals."""
    start, end, model, spam = _options(query)
    labels = _labels()
    rows, total, total_spend = [], _empty(), Decimal(0)
    for source in _sources():
        acc = _empty()
        for day_acc in _buckets(model, source, start, end, spam).values():
            _merge(acc, day_acc)
        spend = sum(_spend(source, start, end).values(), Decimal(0))
        if not acc["calls"] and not spend:
            continue
        _merge(total, acc)
        total_spend += spend
        rows.append({"source": source, "label": labels.get(source, source.removeprefix("web:")), **_row(acc, spend)})
    rows.sort(key=lambda r: (-r["calls"], r["source"]))
    return {
        "from": start,
        "to": end,
        "model": f"{model}_touch",
        "include_spam": spam,
        "rows": rows,
        "total": _row(total, total_spend),
    }


def daily_report(query: dict[str, str]) -> dict[str, Any]:
    """The same figures per day, for one source (``source=``) or all."""
    start, end, model, spam = _options(query)
    sources = [_source(query["source"])] if query.get("source") else _sources()
    per_day: dict[str, dict[str, Any]] = {}
    spend_day: dict[str, Decimal] = {}
    for source in sources:
        for day, acc in _buckets(model, source, start, end, spam).items():
            _merge(per_day.setdefault(day, _empty()), acc)
        for day, amount in _spend(source, start, end).items():
            spend_day[day] = spend_day.get(day, Decimal(0)) + amount
    days = []
    cur = datetime.strptime(start, "%Y-%m-%d")
    while (d := cur.strftime("%Y-%m-%d")) <= end:
        days.append({"date": d, **_row(per_day.get(d, _empty()), spend_day.get(d, Decimal(0)))})
        cur += timedelta(days=1)
    return {"from": start, "to": end, "model": f"{model}_touch", "source": query.get("source"), "days": days}
