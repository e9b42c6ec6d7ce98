"""What an alert says: which alerts a call change makes, and the words for each channel. Pure.

An alert is a small dict (its title, lines, link, the call's caller and source) kept as it
is in a digest, so a digest says exactly what the alerts it replaces would have said.
"""

from __future__ import annotations

import html
from typing import Any

from chalicelib import attribution, business, spam
from chalicelib.core import clock

TITLES = {
    "missed_call": "Missed call",
    "voicemail": "Voicemail left",
    "first_time_caller": "First-time caller",
    "sale": "Call marked a sale",
    "screens_refused": "Screened calls not taken",
    "pool_exhausted": "Number pool exhausted",
    "webhook_disabled": "Webhook endpoint disabled",
    "events_stuck": "Call events need attention",
}


def kinds_of(event_type: str, call: dict[str, Any], changes: dict[str, Any]) -> list[str]:
    """The call alerts one event makes (spam and blocked calls make none: ``spam.kept_out``).

    A call's end says missed or voicemail and first-time caller; a later change says a voicemail
    that arrived after the call ended, or that the call became a sale (outcome, or a ``sale`` tag).
    """
    if spam.kept_out(call):
        return []
    out: list[str] = []
    if event_type == "call.completed":
        if call.get("result") == "missed":
            out.append("missed_call")
        if call.get("result") == "voicemail":
            out.append("voicemail")
        if call.get("first_time"):
            out.append("first_time_caller")
        if _sale(call):
            out.append("sale")
        if (call.get("screen") or {}).get("alert"):
            out.append("screens_refused")
    elif event_type == "call.updated":
        if "voicemail" in changes and call.get("voicemail") and not changes["voicemail"]:
            out.append("voicemail")
        was = {"outcome": changes.get("outcome", call.get("outcome")), "tags": changes.get("tags", call.get("tags"))}
        if ("outcome" in changes or "tags" in changes) and _sale(call) and not _sale(was):
            out.append("sale")
    return out


def _sale(call: dict[str, Any]) -> bool:
    return call.get("outcome") == "sale" or "sale" in {str(t).lower() for t in call.get("tags") or []}


def wanted(events: list[str], kinds: list[str], event_type: str) -> list[str]:
    """The kinds a recipient gets: a voicemail at the call's end is a missed call too."""
    out = [k for k in kinds if k in events]
    if event_type == "call.completed" and "voicemail" in kinds and "missed_call" in events and "missed_call" not in out:
        out.insert(0, "missed_call")
    return out


def source_label(call: dict[str, Any]) -> str:
    """The call's source by its one name (``attribution.call_source_name``), as the dashboard shows it."""
    return attribution.call_source_name(call.get("attribution"), call.get("kind"), call.get("channel_name"))


def call_link(base_url: str, call_sid: str) -> str:
    """The call's page in the dashboard (its recording: ``#recording``)."""
    return f"{base_url}/dashboard/calls/{call_sid}"


def in_words(ms: int, zone: str) -> str:
    """A time as a person reads it in their zone: ``Monday 7 December, 2:17 pm (America/New_York)``. Pure."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    local = datetime.fromtimestamp(ms / 1000, tz=ZoneInfo(zone))
    hour = local.hour % 12 or 12
    return f"{local:%A} {local.day} {local:%B}, {hour}:{local:%M} {'am' if local.hour < 12 else 'pm'} ({zone})"


def call_alert(
    kinds: list[str], call: dict[str, Any], base_url: str, at_ms: int, *, zone: str = "UTC", country: str = "US"
) -> dict[str, Any]:
    """A call's alert: who, from where, by which source, when (in words, in the recipient's ``zone``),
    and links to the call's page and to call the caller back (``tel:``)."""
    number = call.get("caller")
    caller = business.phone(number, country) if number else "a withheld number"
    who = "first-time caller" if call.get("first_time") else "repeat caller"
    link = call_link(base_url, str(call.get("sid")))
    title = " · ".join(TITLES[k] for k in kinds) + f": {caller}"
    lines = [
        f"Caller: {caller} ({who})",
        f"Source: {source_label(call)}",
    ]
    if call.get("caller_city") or call.get("caller_state"):
        lines.append("From: " + business.place(call.get("caller_city"), call.get("caller_state")))
    if call.get("started_at"):
        lines.append(f"At: {in_words(clock.parse_iso(str(call['started_at'])), zone)}")
    if "screens_refused" in kinds:
        n = (call.get("screen") or {}).get("refused_in_row")
        lines.append(
            f"{n} screened calls in a row on this line were answered without a key press:"
            " a phone's own voicemail may be answering before anyone can (shorten its ring time)."
        )
    alert: dict[str, Any] = {
        "kinds": kinds,
        "title": title,
        "lines": lines,
        "link": link,
        "link_text": "Open the call",
        "call_sid": call.get("sid"),
        "caller": caller,
        "source": source_label(call),
        "at": at_ms,
    }
    if "voicemail" in kinds or call.get("voicemail"):
        alert["listen"] = link + "#recording"
    if business.tel(number):
        alert["call_back"] = business.tel(number)
        alert["call_back_text"] = f"Call {caller} back"
    return alert


def condition_alert(kind: str, text: str, lines: list[str], link: str | None, at_ms: int) -> dict[str, Any]:
    return {"kinds": [kind], "title": f"{TITLES[kind]}: {text}", "lines": lines, "link": link, "at": at_ms}


def digest(alerts: list[dict[str, Any]], why: str) -> dict[str, Any]:
    """Many alerts as one: the count, then one line each (the call's link included)."""
    lines = [why]
    for a in alerts:
        line = a["title"]
        if a.get("source"):
            line += f" — {a['source']}"
        if a.get("link"):
            line += f" — {a['link']}"
        lines.append(line)
    n = len(alerts)
    return {"kinds": ["digest"], "title": f"{n} alert{'s' if n != 1 else ''} while you were away", "lines": lines}


# --- per channel ---------------------------------------------------------------------------------


def as_text(alert: dict[str, Any]) -> str:
    parts = [alert["title"], "", *alert["lines"]]
    if alert.get("link"):
        parts += ["", f"{alert.get('link_text', 'Open')}: {alert['link']}"]
    if alert.get("listen"):
        parts.append(f"Listen: {alert['listen']}")
    if alert.get("call_back"):
        parts.append(f"{alert['call_back_text']}: {alert['call_back']}")
    return "\n".join(parts)


SMS_MAX = 640  # four segments at most: an alert is a nudge to open the dashboard, not the report


def as_sms(alert: dict[str, Any]) -> str:
    """A short text: the title, the lines, the link (no voicemail or call-back links: the link has
    them); cut at ``SMS_MAX`` characters with the link kept."""
    link = f"\n{alert['link']}" if alert.get("link") else ""
    text = "\n".join([alert["title"], *alert["lines"]])
    room = SMS_MAX - len(link)
    if len(text) > room:
        text = text[: max(0, room - 1)].rstrip() + "…"
    return text + link


def as_html(alert: dict[str, Any]) -> str:
    """A small email body: inline styles, one table, no scripts (what mail clients render)."""
    rows = "".join(
        f'<tr><td style="padding:4px 0;font:14px Arial,sans-serif;color:#222">{html.escape(line)}</td></tr>'
        for line in alert["lines"]
    )
    links = ""
    buttons = (
        ("call_back", alert.get("call_back_text", "Call back")),
        ("link", alert.get("link_text", "Open")),
        ("listen", "Listen to the voicemail"),
    )
    for key, label in buttons:
        if alert.get(key):
            links += (
                f'<a href="{html.escape(alert[key], quote=True)}" style="display:inline-block;margin:8px 8px 0 0;'
                "padding:8px 14px;background:#1a56db;color:#ffffff;text-decoration:none;border-radius:4px;"
                f'font:bold 14px Arial,sans-serif">{html.escape(label)}</a>'
            )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(alert['title'])}</title></head>"
        '<body style="margin:0;padding:16px;background:#ffffff">'
        '<table role="presentation" cellpadding="0" cellspacing="0" style="max-width:560px">'
        '<tr><td style="padding:0 0 8px;font:bold 18px Arial,sans-serif;color:#111">'
        f"{html.escape(alert['title'])}</td></tr>"
        f"{rows}<tr><td>{links}</td></tr></table></body></html>"
    )


def as_slack(alert: dict[str, Any]) -> dict[str, Any]:
    """An incoming webhook's message: ``text`` (notifications) and one mrkdwn section."""

    def esc(s: str) -> str:  # Slack's three control characters
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    body = "\n".join(esc(line) for line in alert["lines"])
    if alert.get("link"):
        body += f"\n<{alert['link']}|{alert.get('link_text', 'Open')}>"
    if alert.get("listen"):
        body += f"  ·  <{alert['listen']}|Listen>"
    return {
        "text": esc(alert["title"]),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{esc(alert['title'])}*\n{body}"}}],
    }


TELEGRAM_LIMIT = 4096  # sendMessage's limit on a message's text
ELLIPSIS = "…"


def _units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (a character outside the BMP is two)."""
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, room: int) -> str:
    """``text`` cut (before escaping) so that its escaped form fits in ``room``, marked with "…"."""
    if _units(html.escape(text)) <= room:
        return text
    room -= _units(ELLIPSIS)
    if room < 0:
        return ""
    used = 0
    for end, ch in enumerate(text):
        used += _units(html.escape(ch))  # escaping is per character: the sum is the escaped length
        if used > room:
            return text[:end] + ELLIPSIS
    return text  # not reached: the whole text did not fit


def as_telegram(alert: dict[str, Any], chat_id: str) -> dict[str, Any]:
    """A Bot API ``sendMessage`` body in Telegram's HTML mode, at most ``TELEGRAM_LIMIT`` long.

    The plain text (title, then lines) is cut before it is escaped and marked up, so a cut never
    falls inside an entity or a tag; the links after it are kept whole. The length counted is the
    raw text sent, in UTF-16 units, so it fits whatever Telegram counts (it counts after parsing
    entities, which is shorter).
    """
    tail = ""
    if alert.get("link"):
        tail += (
            f'\n<a href="{html.escape(alert["link"], quote=True)}">{html.escape(alert.get("link_text", "Open"))}</a>'
        )
    if alert.get("listen"):
        tail += f' · <a href="{html.escape(alert["listen"], quote=True)}">Listen</a>'
    if _units(tail) > TELEGRAM_LIMIT // 2:  # links built from an absurd base URL: the text matters more
        tail = ""
    room = TELEGRAM_LIMIT - _units("<b></b>\n") - _units(tail)
    title = _fit(alert["title"], room)
    room -= _units(html.escape(title))
    body = _fit("\n".join(alert["lines"]), room)
    text = f"<b>{html.escape(title)}</b>\n{html.escape(body)}{tail}"
    return {"chat_id": chat_id, "text": text, "parse_mode": "HTML", "disable_web_page_preview": True}
