"""The dashboard's pages: the overview, the call log and a call's story, their data and their HTML.

The data layer is tested without a browser: pure parts (ranges, changes, filters) directly,
the reads against the embedded DynamoDB with calls made through the signed Twilio webhooks and
the event pump, as in tests/integration/test_reports.py. The pages are rendered through Chalice's test
client with a signed-in session (tests/e2e/test_dashboard_flow.py drives them in Chromium).

The tests of this area that need no database, network or server; the ones that need
the database are in ``tests/integration/test_dashboard_pages.py``.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.errors import BadRequest
from chalicelib.dashboard import logpage, overview, story
from chalicelib.store.models import CallModel

ROOT = Path(__file__).resolve().parents[2]


def test_presets_end_today_and_compare_with_the_period_just_before():
    r = overview.parse_range({"range": "7d"}, "2026-10-10")
    assert (r.start, r.end, r.prev_start, r.prev_end, r.days) == (
        "2026-10-04",
        "2026-10-10",
        "2026-09-27",
        "2026-10-03",
        7,
    )
    t = overview.parse_range({"range": "today"}, "2026-10-10")
    assert (t.start, t.end, t.prev_start, t.prev_end) == ("2026-10-10", "2026-10-10", "2026-10-09", "2026-10-09")
    assert overview.parse_range({}, "2026-10-10").days == 30
    c = overview.parse_range({"range": "custom", "from": "2026-02-27", "to": "2026-03-02"}, "2026-10-10")
    assert (c.days, c.prev_start, c.prev_end) == (4, "2026-02-23", "2026-02-26")


@pytest.mark.parametrize(
    "query",
    [
        {"range": "week"},
        {"range": "custom", "from": "2026-10-05", "to": "2026-10-01"},
        {"range": "custom", "from": "2024-01-01", "to": "2026-10-01"},
        {"range": "custom", "from": "yesterday"},
        {"range": "custom", "from": "0001-01-01", "to": "0001-01-02"},
    ],
)
def test_a_bad_range_is_a_clear_400(query):
    with pytest.raises(BadRequest):
        overview.parse_range(query, "2026-10-10")


def test_changes_are_said_in_words_and_rates_move_in_points():
    assert overview.change("calls", 12, 8) == {"direction": "up", "text": "up 50%", "better": True}
    assert overview.change("missed", 12, 8)["better"] is False  # more missed calls is worse
    assert overview.change("missed_rate", 0.25, 0.2)["text"] == "up 5.0 points"
    assert overview.change("calls", 3, 0)["text"] == "up from none"
    assert overview.change("calls", 3, 3)["direction"] == "same"
    assert overview.change("roi", None, 1.0)["direction"] == "none"


def test_summarize_splits_the_periods_and_stacks_the_days_by_source():
    rng = overview.parse_range({"range": "7d"}, "2026-10-10")

    def nums(**kw: int) -> dict[str, Any]:
        acc = {k: Decimal(0) for k in overview.NUMBERS} | {"callers": set()}
        acc.update({k: Decimal(v) for k, v in kw.items()})
        return acc

    per_source = {
        "ch_a": {"2026-10-09": nums(calls=3, answered=2, missed=1, talk_time=100, revenue=500)},
        "web:google": {"2026-10-10": nums(calls=1, voicemail=1), "2026-10-01": nums(calls=2, answered=2)},
    }
    spend = {"ch_a": {"2026-10-09": Decimal(100), "2026-10-02": Decimal(40)}}
    out = overview.summarize(rng, per_source, spend, {"ch_a": "Radio"})
    total = {t["key"]: t for t in out["totals"]}
    assert total["calls"]["value"] == 4 and total["calls"]["previous"] == 2
    # Cost per call spreads the radio spend over the radio's 3 calls only, not the unpaid web call.
    assert total["revenue"]["value"] == 500 and total["cost_per_call"]["value"] == 33.33
    assert total["roi"]["value"] == 4.0 and total["roi"]["previous"] == -1.0
    assert [r["label"] for r in out["rows"]] == ["Radio", "Google"]
    google = out["rows"][1]
    assert google["cost_per_call"] is None and google["voicemail"] == 1 and google["missed_rate"] == 1.0
    assert total["missed_rate"]["value"] == 0.5  # one missed and one voicemail of four calls
    chart = out["chart"]
    assert chart["dates"][-2:] == ["2026-10-09", "2026-10-10"]
    assert [s["label"] for s in chart["sources"]] == ["Radio", "Google"]
    assert chart["sources"][0]["calls"][-2:] == [3, 0] and chart["sources"][1]["calls"][-2:] == [0, 1]
    assert chart["answered"][-2:] == [2, 0] and chart["missed"][-2:] == [1, 0] and chart["voicemail"][-1] == 1


def test_log_filters_are_checked():
    f = logpage.parse_filters(
        {"result": "missed", "first_time": "yes", "caller": "(415) 555-0111"}, "2026-10-10", "UTC"
    )
    assert f.caller == "+14155550111" and f.first_time is True and f.start == "2026-09-11"
    for bad in (
        {"result": "maybe"},
        {"outcome": "won"},
        {"first_time": "1"},
        {"caller": "not a phone"},
        {"source": "google"},
        {"from": "2026-13-01"},
        {"colour": "red"},
        {"tag": "x" * 41},
    ):
        with pytest.raises(BadRequest):
            logpage.parse_filters(bad, "2026-10-10", "UTC")


def test_a_forged_cursor_is_refused_before_it_reaches_dynamodb():
    f = logpage.parse_filters({}, "2026-10-10", "UTC")
    good = logpage.CURSOR.encode(
        "2026-10", {"call_sid": {"S": "CA1"}, "month": {"S": "2026-10"}, "started_at": {"N": "1"}}
    )
    assert logpage.CURSOR.decode(good, ["2026-10", "2026-09"])[0] == "2026-10"
    forged = [
        "not base64 at all!",
        logpage.CURSOR.encode(
            "2026-10", {"call_sid": {"S": "CA1"}, "month": {"S": "2026-09"}, "started_at": {"N": "1"}}
        ),
        logpage.CURSOR.encode("2026-10", {"call_sid": {"N": "1"}, "month": {"S": "2026-10"}, "started_at": {"N": "1"}}),
        logpage.CURSOR.encode("2019-01", {}),
        logpage.CURSOR.encode(
            "2026-10", {"call_sid": {"S": "CA1"}, "month": {"S": "2026-10"}, "started_at": {"N": "1e9"}}
        ),
    ]
    for cursor in forged:
        with pytest.raises(BadRequest):
            logpage.page(f, cursor)


def test_the_story_of_a_website_call_shows_its_visit():
    attr = {
        "confidence": "late",
        "pool_id": "pl_1",
        "channel_group": "paid search",
        "source": {
            "utm_source": "google",
            "utm_medium": "cpc",
            "utm_campaign": "boilers-winter",
            "utm_term": "boiler repair",
            "landing_page": "https://example.com/boilers?utm_source=google",
            "referrer": "https://www.google.com/",
            "gclid": "Cj0KCQ",
            "device": "mobile",
        },
    }
    c = CallModel("CA1", started_at=1_790_000_000_000, caller="+14155550100", kind="pool", attribution=attr)
    c.status_rank, c.answered, c.talk_time, c.first_time = 4, True, 61, True
    d = story.details(c)
    assert (d["source"], d["campaign"], d["keyword"], d["medium"]) == (
        "Google",
        "boilers-winter",
        "boiler repair",
        "cpc",
    )
    assert d["landing_page"].startswith("https://example.com/boilers") and d["referrer"] == "https://www.google.com/"
    assert d["click_ids"] == {"gclid": "Cj0KCQ"} and d["device"] == "mobile"
    assert d["confidence_words"].startswith("medium") and d["result"] == "answered" and d["talk_time"] == 61


def test_the_outcome_form_becomes_the_apis_body():
    assert story.outcome_body(
        {"outcome": "sale", "revenue": "1,250.50", "note": " ok ", "tags": "a, b,,", "csrf": "x"}
    ) == {
        "outcome": "sale",
        "revenue": "1,250.50",
        "note": " ok ",
        "tags": ["a", "b"],
    }
    for bad in ({"outcome": "won"}, {"outcome": "sale", "extra": "1"}, {"outcome": "lead", "tags": ",".join("x" * 21)}):
        with pytest.raises(BadRequest):
            story.outcome_body(bad)


@pytest.mark.parametrize(
    ("vendored", "npm"),
    [
        ("uPlot.iife.min.js", "dist/uPlot.iife.min.js"),
        ("uPlot.min.css", "dist/uPlot.min.css"),
        ("uPlot.LICENSE", "LICENSE"),
    ],
)
def test_the_vendored_uplot_is_the_npm_packages_bytes(vendored, npm):
    import json

    package = ROOT / "node_modules" / "uplot"
    pinned = json.loads((ROOT / "package.json").read_text())
    deps = {**pinned.get("dependencies", {}), **pinned.get("devDependencies", {})}
    assert json.loads((package / "package.json").read_text())["version"] == deps["uplot"]
    assert (ROOT / "chalicelib/dashboard/static/vendor" / vendored).read_bytes() == (package / npm).read_bytes(), (
        "run `make dashboard-vendor` and commit the copy"
    )


def test_the_story_page_plays_with_the_one_recording_player():
    # The call page loads the player the expiring-URL browser test exercises: one file, no copy.
    from tests.e2e.test_recording_player import PLAYER

    assert PLAYER == ROOT / "chalicelib/dashboard/static/player.js"
    assert "asset('player.js')" in (ROOT / "chalicelib/dashboard/templates/call.html").read_text()


def test_source_colours_follow_the_source_not_its_rank():
    rng = overview.parse_range({"range": "today"}, "2026-10-10")

    def nums(calls: int) -> dict[str, Any]:
        return {k: Decimal(0) for k in overview.NUMBERS} | {"callers": set(), "calls": Decimal(calls)}

    first = overview.summarize(rng, {"web:google": {"2026-10-10": nums(5)}, "ch_r": {"2026-10-10": nums(1)}}, {}, {})
    second = overview.summarize(rng, {"web:google": {"2026-10-10": nums(1)}, "ch_r": {"2026-10-10": nums(5)}}, {}, {})
    colours = [{s["source"]: s["colour"] for s in out["chart"]["sources"]} for out in (first, second)]
    assert [s["source"] for s in first["chart"]["sources"]] != [s["source"] for s in second["chart"]["sources"]]
    assert colours[0] == colours[1] and colours[0]["web:google"] != colours[0]["ch_r"]


def test_money_is_shown_in_the_business_currency_and_a_sale_is_a_conversion():
    rng = overview.parse_range({"range": "today"}, "2026-10-10")
    acc = {k: Decimal(0) for k in overview.NUMBERS} | {"callers": set()}
    acc.update(calls=Decimal(2), answered=Decimal(2), sales=Decimal(1), leads=Decimal(1), revenue=Decimal(1250))
    out = overview.summarize(rng, {"ch_a": {"2026-10-10": acc}}, {}, {"ch_a": "Radio"}, currency="EUR")
    total = {t["key"]: t for t in out["totals"]}
    assert total["revenue"]["display"] == "€1,250.00"
    assert total["conversions"]["value"] == 2
    assert total["cost_per_call"]["display"] == "\u2013"  # no spend: unknown, not 0.00
    only_sales = overview.summarize(rng, {"ch_a": {"2026-10-10": acc}}, {}, {}, counted=("sale",))
    assert {t["key"]: t for t in only_sales["totals"]}["conversions"]["value"] == 1
