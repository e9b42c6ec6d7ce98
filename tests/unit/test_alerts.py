"""Alerts and summaries, end to end: a missed call through the voice webhook, its callbacks and
the event pump becomes an email that moto's SES recorded, a Slack message and a Telegram message
to local stub receivers; the limit turns a flood into a digest; quiet hours hold alerts; the
daily summary agrees with the report API; secrets stay in SSM.

The tests of this area that need no database, network or server; the ones that need
the database are in ``tests/integration/test_alerts.py``.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from chalicelib.integrations.alerts import dispatch, messages
from tests.support.env import BASE_URL


def test_quiet_hours_cross_midnight_in_the_recipients_zone() -> None:
    data = {"quiet_hours": {"start": "22:00", "end": "07:00"}, "timezone": "Europe/Berlin"}
    at = lambda h, m: int(datetime(2026, 1, 10, h, m, tzinfo=UTC).timestamp() * 1000)  # noqa: E731  CET = UTC+1
    assert dispatch.in_quiet_hours(data, at(21, 0))  # 22:00 in Berlin
    assert dispatch.in_quiet_hours(data, at(5, 59))  # 06:59
    assert not dispatch.in_quiet_hours(data, at(6, 0))  # 07:00
    assert not dispatch.in_quiet_hours(data, at(20, 59))
    day = {"quiet_hours": {"start": "12:00", "end": "13:00"}, "timezone": "UTC"}
    assert dispatch.in_quiet_hours(day, at(12, 30)) and not dispatch.in_quiet_hours(day, at(13, 0))
    assert not dispatch.in_quiet_hours({"quiet_hours": None}, at(3, 0))


class _TelegramHTML(HTMLParser):
    """What Telegram's HTML mode needs of a message: known tags, balanced, no broken entity."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("b", "a"):
            self.problems.append(f"unknown tag <{tag}>")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.problems.append(f"unbalanced </{tag}>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        self.text.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.text.append(html.unescape(f"&#{name};"))


def telegram_problems(text: str) -> list[str]:
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    broken = re.findall(r"&(?!(?:amp|lt|gt|quot|#\d+|#x[0-9a-fA-F]+);)[^;\s]{0,8}", text)
    return parser.problems + [f"unclosed <{t}>" for t in parser.open] + [f"broken entity {b!r}" for b in broken]


@pytest.mark.parametrize(
    ("title", "lines"),
    [
        ("T", ["&" * 5000]),  # escaped, the 4,096th character falls inside an &amp;
        ("<b>" * 2000, ["after the title"]),  # escaped, the title alone crosses the limit: </b> would be cut
        ("45 alerts", [f"Missed call: +1415555{i:04d} — Radio & TV — {BASE_URL}/x?a=1&b=2" for i in range(200)]),
    ],
    ids=["entity", "tag", "digest"],
)
def test_a_long_telegram_message_is_cut_as_text_and_stays_valid_html(title: str, lines: list[str]) -> None:
    # Given an alert whose escaped text is far longer than Telegram's 4,096 characters, with a link
    alert = {"title": title, "lines": lines, "link": f"{BASE_URL}/dashboard/calls/CA1?a=1&b=2", "link_text": "Open"}
    # When it becomes a Telegram message
    text = messages.as_telegram(alert, "-100123")["text"]
    # Then it fits (in UTF-16 units, as Telegram counts) and is well-formed HTML: tags closed, entities whole
    assert len(text.encode("utf-16-le")) // 2 <= 4096
    assert telegram_problems(text) == []
    # And what was cut is the text, with the link kept
    parser = _TelegramHTML()
    parser.feed(text)
    shown = "".join(parser.text)
    assert shown.startswith(title[:10]) and "…" in shown
    assert f'<a href="{html.escape(alert["link"], quote=True)}">Open</a>' in text
