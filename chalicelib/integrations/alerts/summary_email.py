"""The daily and weekly summary email: the period's figures from the report functions, in HTML and text.

Totals come from ``chalicelib/reports/figures.py`` (what ``GET /v1/reports/channels``
answers) for the same days, so the email and the API always agree. Days are the report's
days (``REPORT_TIMEZONE``); a recipient's own time zone only decides when the email comes.

"Not yet called back": as ``chalicelib/callbacks.py`` defines it (a later answered call from that
number, or marked called back by hand). The rest are listed, oldest first.
"""

from __future__ import annotations

import html
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib import business, callbacks, calls
from chalicelib.core import clock
from chalicelib.integrations.alerts import messages
from chalicelib.reports import figures
from chalicelib.store import calls as store
from chalicelib.store.calls import CallRecord

TOP_SOURCES = 5
MAX_NOT_CALLED_BACK = 25


def period(kind: str, today: date) -> tuple[date, date, date, date]:
    """(start, end, previous start, previous end): yesterday, or last Monday-to-Sunday week. Pure."""
    if kind == "daily":
        end = today - timedelta(days=1)
        return end, end, end - timedelta(days=1), end - timedelta(days=1)
    end = today - timedelta(days=today.weekday() + 1)  # last Sunday
    start = end - timedelta(days=6)
    return start, end, start - timedelta(days=7), end - timedelta(days=7)


def not_called_back(start_ms: int, end_ms: int, now_ms: int) -> list[dict[str, Any]]:
    """Missed calls (voicemails too) in [start, end) whose caller has not reached us since."""
    by_caller: dict[str, list[CallRecord]] = {}
    for month in clock.months(start_ms, now_ms):
        for c in store.started_between(month, start_ms, now_ms):
            if c.caller:
                by_caller.setdefault(c.caller, []).append(c)
    out = []
    for caller, found in by_caller.items():
        found.sort(key=lambda c: int(c.started_at or 0))
        for i, c in enumerate(found):
            started = int(c.started_at or 0)
            if not start_ms <= started < end_ms or not callbacks.needs_call_back(c):
                continue
            if callbacks.called_back(c, found[i + 1 :]):
                continue
            d = calls.to_dict(c)
            out.append({"caller": caller, "at": d["started_at"], "source": messages.source_label(d), "sid": c.call_sid})
    out.sort(key=lambda r: r["at"] or "")
    return out


def build(kind: str, today: date, now_ms: int) -> dict[str, Any]:
    """The summary's figures for the period before ``today`` (a report day)."""
    start, end, pstart, pend = period(kind, today)
    cur = figures.channels_report({"from": start.isoformat(), "to": end.isoformat()})
    prev = figures.channels_report({"from": pstart.isoformat(), "to": pend.isoformat()})
    prev_first = {r["source"]: r["first_time_callers"] for r in prev["rows"]}
    sources = sorted({r["source"] for r in cur["rows"]} | set(prev_first))
    labels = {r["source"]: r["label"] for r in prev["rows"] + cur["rows"]}
    now_first = {r["source"]: r["first_time_callers"] for r in cur["rows"]}
    first_by_source = sorted(
        (
            {"source": labels[s], "now": now_first.get(s, 0), "before": prev_first.get(s, 0)}
            for s in sources
            if now_first.get(s) or prev_first.get(s)
        ),
        key=lambda r: (-r["now"], r["source"]),
    )
    top = [
        {"source": r["label"], "calls": r["calls"], "answered": r["answered"], "missed": r["missed"]}
        for r in cur["rows"][:TOP_SOURCES]
    ]
    zone = business.timezone()
    missed = not_called_back(clock.midnight_ms(start, zone), clock.midnight_ms(end + timedelta(days=1), zone), now_ms)
    return {
        "kind": kind,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "previous": {"from": pstart.isoformat(), "to": pend.isoformat()},
        "totals": {k: cur["total"][k] for k in ("calls", "answered", "missed", "voicemail", "first_time_callers")},
        "previous_totals": {
            k: prev["total"][k] for k in ("calls", "answered", "missed", "voicemail", "first_time_callers")
        },
        "first_time_by_source": first_by_source,
        "top_sources": top,
        "not_called_back": missed[:MAX_NOT_CALLED_BACK],
        "not_called_back_total": len(missed),
    }


def subject(s: dict[str, Any]) -> str:
    t = s["totals"]
    when = s["from"] if s["from"] == s["to"] else f"{s['from']} to {s['to']}"
    name = "Daily" if s["kind"] == "daily" else "Weekly"
    return f"{name} calls summary, {when}: {t['calls']} calls, {t['missed']} missed"


def _change(now: int, before: int) -> str:
    if now == before:
        return "same"
    return f"{'+' if now > before else '-'}{abs(now - before)}"


def _local(iso: str | None) -> str:
    """A call's time as the business reads it: its report time zone's wall clock."""
    if not iso:
        return ""
    when = datetime.fromtimestamp(clock.parse_iso(iso) / 1000, tz=ZoneInfo(business.timezone()))
    return when.strftime("%Y-%m-%d %H:%M %Z")


def as_text(s: dict[str, Any], base_url: str) -> str:
    t, p = s["totals"], s["previous_totals"]
    lines = [subject(s), ""]
    for key, label in (("calls", "Calls"), ("answered", "Answered"), ("missed", "Missed"), ("voicemail", "Voicemail")):
        lines.append(f"{label + ':':<12}{t[key]:>6}   (before: {p[key]})")
    lines.append(f"{'First-time:':<12}{t['first_time_callers']:>6}   (before: {p['first_time_callers']})")
    lines += ["", "First-time callers by source (this period / the one before):"]
    lines += [f"  {r['source']}: {r['now']} / {r['before']}" for r in s["first_time_by_source"]] or ["  none"]
    lines += ["", "Top sources (calls, answered, missed):"]
    lines += [f"  {r['source']}: {r['calls']}, {r['answered']}, {r['missed']}" for r in s["top_sources"]] or ["  none"]
    lines += ["", f"Missed calls not yet called back ({s['not_called_back_total']}):"]
    lines += [
        f"  {r['caller']}  {_local(r['at'])}  {r['source']}  {messages.call_link(base_url, r['sid'])}"
        for r in s["not_called_back"]
    ] or ["  none: every missed caller has been reached"]
    lines += [
        "",
        "A missed call counts as called back once the same caller had an answered call later,"
        " or it was marked called back.",
    ]
    return "\n".join(lines)


_TD = 'style="padding:6px 10px;border-bottom:1px solid #e5e7eb;font:14px Arial,sans-serif;color:#111"'
_TDN = 'style="padding:6px 10px;border-bottom:1px solid #e5e7eb;font:14px Arial,sans-serif;color:#111;text-align:right"'
_TH = (
    'style="padding:6px 10px;border-bottom:2px solid #9ca3af;font:bold 13px Arial,sans-serif;color:#374151;'
    'text-align:left;background:#f3f4f6"'
)
_H2 = 'style="margin:24px 0 8px;font:bold 16px Arial,sans-serif;color:#111"'
_TABLE = (
    'role="presentation" cellpadding="0" cellspacing="0" style="border-collapse:collapse;width:100%;max-width:640px"'
)


def _table(head: list[str], rows: list[list[str]], numeric_from: int) -> str:
    right = _TH.replace("text-align:left", "text-align:right")
    ths = "".join(f"<th {right if i >= numeric_from else _TH}>{html.escape(h)}</th>" for i, h in enumerate(head))
    trs = "".join(
        "<tr>" + "".join(f"<td {_TDN if i >= numeric_from else _TD}>{cell}</td>" for i, cell in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f"<table {_TABLE}><thead><tr>{ths}</tr></thead><tbody>{trs}</tbody></table>"


def as_html(s: dict[str, Any], base_url: str) -> str:
    """Tables and inline styles only (no scripts, no stylesheets): what Gmail, Outlook and Apple Mail render."""
    e = html.escape
    t, p = s["totals"], s["previous_totals"]
    totals = _table(
        ["", "This period", "Before", "Change"],
        [
            [e(label), str(t[k]), str(p[k]), e(_change(t[k], p[k]))]
            for k, label in (
                ("calls", "Calls"),
                ("answered", "Answered"),
                ("missed", "Missed"),
                ("voicemail", "Voicemail"),
                ("first_time_callers", "First-time callers"),
            )
        ],
        1,
    )
    first = _table(
        ["Source", "This period", "Before", "Change"],
        [
            [e(r["source"]), str(r["now"]), str(r["before"]), e(_change(r["now"], r["before"]))]
            for r in s["first_time_by_source"]
        ]
        or [["none", "0", "0", "same"]],
        1,
    )
    top = _table(
        ["Source", "Calls", "Answered", "Missed"],
        [[e(r["source"]), str(r["calls"]), str(r["answered"]), str(r["missed"])] for r in s["top_sources"]]
        or [["none", "0", "0", "0"]],
        1,
    )
    link_style = 'style="color:#1a56db;text-decoration:underline"'
    missed_rows = [
        [
            e(r["caller"]),
            e(_local(r["at"])),
            e(r["source"]),
            f'<a href="{e(messages.call_link(base_url, r["sid"]), quote=True)}" {link_style}>Open the call</a>',
        ]
        for r in s["not_called_back"]
    ]
    missed = (
        _table(["Caller", "When", "Source", ""], missed_rows, 4)
        if missed_rows
        else '<p style="font:14px Arial,sans-serif;color:#111">None: every missed caller has been reached.</p>'
    )
    more = s["not_called_back_total"] - len(s["not_called_back"])
    if more > 0:
        missed += f'<p style="font:14px Arial,sans-serif;color:#111">and {more} more.</p>'
    name = "Daily" if s["kind"] == "daily" else "Weekly"
    when = s["from"] if s["from"] == s["to"] else f"{s['from']} to {s['to']}"
    p_from, p_to = s["previous"]["from"], s["previous"]["to"]
    before = p_from if p_from == p_to else f"{p_from} to {p_to}"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{e(subject(s))}</title></head>"
        '<body style="margin:0;padding:16px;background:#ffffff"><div role="main">'
        f'<h1 style="margin:0 0 4px;font:bold 20px Arial,sans-serif;color:#111">{name} calls summary</h1>'
        f'<p style="margin:0 0 16px;font:14px Arial,sans-serif;color:#374151">{e(when)}, compared with '
        f"{e(before)}</p>"
        f"{totals}<h2 {_H2}>First-time callers by source</h2>{first}"
        f"<h2 {_H2}>Top sources</h2>{top}"
        f"<h2 {_H2}>Missed calls not yet called back ({s['not_called_back_total']})</h2>{missed}"
        '<p style="margin:16px 0 0;font:12px Arial,sans-serif;color:#4b5563">A missed call counts as called back '
        "once the same caller had an answered call later (only inbound calls are tracked).</p>"
        "</div></body></html>"
    )
