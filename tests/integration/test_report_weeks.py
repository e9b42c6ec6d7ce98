"""Week buckets (issue 25): each call adds to its day's week as to its day; a report reads whole weeks
and its edge days by key and answers exactly as day by day; a rebuild adds the weeks of calls counted
before weeks were; erasing a caller re-seals the weeks of their calls."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from chalicelib.reports import aggregates, figures, seal
from chalicelib.store import aggregates as stored
from chalicelib.store import keys
from chalicelib.store.models import CallModel, CounterModel
from tests.integration.test_reports import Business, at, report
from tests.support.database import pump
from tests.support.env import body

ANN, BOB, CAT, DAN = "+14155550001", "+14155550002", "+14155550003", "+14155550004"
RANGE = {"from": "2026-09-23", "to": "2026-10-07"}  # Wed..Sun edge days, the week of 09-28 whole, Mon..Wed
WEEK = "2026-09-28"
WEEK_DAYS = [f"2026-09-{d}" for d in (28, 29, 30)] + [f"2026-10-0{d}" for d in (1, 2, 3, 4)]


@pytest.fixture
def biz(api: Any) -> Business:
    from chalicelib.core import clock

    fake = clock.FakeClock(at("2026-09-24T12:00:00"))  # a Thursday: whole weeks start on 09-28
    clock.set_source(fake)
    return Business(api, fake)


def calls(biz: Business) -> dict[str, list[str]]:
    """Ann on the radio (09-24) and twice on Google; Bob twice, Cat missed, Dan after the week."""
    out: dict[str, list[str]] = {ANN: [], BOB: [], CAT: [], DAN: []}
    out[ANN].append(biz.call("Radio FM 101", ANN))
    pump().drain()  # counted on 09-24: the first call's week may hold calls counted without weeks
    for day, who, result in (
        ("2026-09-28", BOB, "answered"),
        ("2026-09-30", ANN, "answered"),
        ("2026-09-30", CAT, "missed"),
        ("2026-10-04", BOB, "answered"),
        ("2026-10-06", DAN, "answered"),
    ):
        biz.fake.advance(at(day + "T12:00:00") - biz.fake())
        out[who].append(biz.call("Google Ads", who, result=result))
    pump().drain()
    return out


def week_and_days(model: str, source: str) -> tuple[stored.Bucket, list[stored.Bucket]]:
    week = keys.split_bucket(keys.week_bucket(model, source, WEEK, spam=False))
    days = [keys.split_bucket(keys.aggregate_bucket(model, source, d, spam=False)) for d in WEEK_DAYS]
    got = stored.read([week, *days])
    return got[week], [got[d] for d in days if d in got]


def days_only(api: Any, monkeypatch: pytest.MonkeyPatch, **q: str) -> Any:
    """The report as read day by day (no week read whole)."""
    with monkeypatch.context() as m:
        m.setattr(figures, "_sources_and_weeks", lambda: (stored.report_sources()[0], None))
        return report(api, **q)


def test_weeks_take_the_days_adds_are_read_whole_resealed_on_erasure_and_rebuilt(
    api: Any, biz: Business, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = calls(biz)  # one seeded set of calls for every step (the suite's time)
    google = biz.lines["Google Ads"][0]
    # Every call added to its day's week what it added to its day
    for model in ("last", "first"):
        week, days = week_and_days(model, google)
        assert len(days) == 3  # 09-28, 09-30, 10-04
        for name in aggregates.NUMBERS:
            assert week.numbers[name] == sum((d.numbers[name] for d in days), Decimal(0)), name
        assert week.callers == frozenset().union(*(d.callers for d in days))
    week, _ = week_and_days("last", google)
    assert (week.numbers["calls"], week.numbers["answered"], week.numbers["missed"]) == (4, 3, 1)
    assert len(week.callers) == 3  # Bob, Ann, Cat
    assert stored.report_sources()[1] == WEEK  # the first call's week may hold calls counted without weeks

    # A report over partial weeks reads the whole week once and the edge days, and answers as day by day
    read: list[keys.Key] = []
    real = stored.read
    monkeypatch.setattr(stored, "read", lambda wanted: read.extend(wanted) or real(wanted))
    got = [report(api, **RANGE, model=m) for m in ("last_touch", "first_touch")]
    weeks_read = {k.sk for k in read if k.pk.startswith(keys.WEEKS)}
    assert weeks_read == {WEEK, WEEK + "#spam"}
    days_read = {k.sk[:10] for k in read if not k.pk.startswith(keys.WEEKS)}
    assert days_read == {"2026-09-23", "2026-09-24", "2026-09-25", "2026-09-26", "2026-09-27"} | {
        "2026-10-05",
        "2026-10-06",
        "2026-10-07",
    }  # the edge days only, never the whole week's
    assert got == [days_only(api, monkeypatch, **RANGE, model=m) for m in ("last_touch", "first_touch")]
    total = report(api, **RANGE)["total"]
    assert (total["calls"], total["answered"], total["missed"], total["unique_callers"]) == (6, 5, 1, 4)
    monkeypatch.undo()

    # Given the week over and sealed: its callers one packed value, nothing live
    biz.fake.advance(at("2026-10-08T12:00:00") - biz.fake())
    state = seal.run_all()
    assert state["through"] == "2026-10-07" and state["weeks_sealed"] >= 4
    week = CounterModel.get(*keys.split_bucket(keys.week_bucket("last", google, WEEK, spam=False)))
    assert week.packed and not week.callers and not week.callers_del
    ann = {stored.record(stored.caller_entry(ANN, sid)) for sid in made[ANN]}
    assert ann & stored.unpack(week.packed)
    # and beside them the week's distinct callers, once each: Bob (two calls), Ann, Cat
    assert week.keyed == 1 and week.packed_keys == stored.key_blob(stored.unpack(week.packed))
    assert len(week.packed_keys) == 3 * stored.CALLER
    # When Ann is erased, her records leave the week's packed value at once (her calls stay counted)
    assert body(api.call("DELETE", "/v1/callers/%2B" + ANN.lstrip("+")))["erased_calls"] == 2
    pump().drain()
    week = CounterModel.get(*keys.split_bucket(keys.week_bucket("last", google, WEEK, spam=False)))
    assert not ann & stored.unpack(week.packed) and not week.callers and not week.callers_del
    assert len(stored.unpack(week.packed)) == 3  # Bob's two calls and Cat's
    assert week.packed_keys == stored.key_blob(stored.unpack(week.packed))  # Ann's key left too
    assert len(week.packed_keys) == 2 * stored.CALLER
    total = report(api, **RANGE)["total"]
    assert (total["calls"], total["unique_callers"]) == (6, 3)
    assert report(api, **{"from": WEEK, "to": "2026-10-04"})["total"]["unique_callers"] == 2  # Bob, Cat
    before = [report(api, **RANGE, model=m) for m in ("last_touch", "first_touch")]

    # Given calls as code before weeks left them: no week in their contributions, no week items
    forget_weeks()
    # Then reports read day by day and still answer the same
    assert [report(api, **RANGE, model=m) for m in ("last_touch", "first_touch")] == before
    # When the reports are rebuilt, every call joins its week and every week is read whole
    assert aggregates.rebuild() == 6
    assert stored.report_sources()[1] == aggregates.WEEKS_ALWAYS
    week, days = week_and_days("last", google)
    assert week.numbers["calls"] == 4 == sum(d.numbers["calls"] for d in days)
    assert week.callers == frozenset().union(*(d.callers for d in days))
    seal.reset()  # as ``make rebuild-reports`` does: every day and week sealed again, records and keys
    seal.run_all()
    item = CounterModel.get(*keys.split_bucket(keys.week_bucket("last", google, WEEK, spam=False)))
    assert item.keyed == 1 and item.packed_keys == stored.key_blob(stored.unpack(item.packed))
    assert week_and_days("last", google)[0].callers == week.callers
    assert [report(api, **RANGE, model=m) for m in ("last_touch", "first_touch")] == before

    # And past a week's cap the week takes no more calls, says it overflows, and reports read its days
    forget_weeks()
    monkeypatch.setattr(aggregates, "WEEK_CAP", 2)
    assert aggregates.rebuild() == 6
    capped = CounterModel.get(*keys.split_bucket(keys.week_bucket("last", google, WEEK, spam=False)))
    assert (capped.overflow, capped.calls) == (1, 2)
    assert [report(api, **RANGE, model=m) for m in ("last_touch", "first_touch")] == before


def forget_weeks() -> None:
    """The calls and items as code before weeks left them."""
    for call in CallModel.scan():
        agg = {b: v for b, v in (call.agg or {}).items() if not keys.is_week_bucket(b)}
        call.update(actions=[CallModel.agg.set(agg)])
    for item in CounterModel.scan():
        if item.pk.startswith(keys.WEEKS):
            item.delete()
    CounterModel(*keys.REPORT_SOURCES).update(actions=[CounterModel.weeks_from.remove()])
