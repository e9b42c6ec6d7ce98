"""Sealed report days (chalicelib/reports/seal.py): the job packs closed days' caller sets, resuming
from its cursor; reports answer the same before and after, also for calls that land on a sealed
day later, an erased caller (who leaves the packed values at once) and a change of time zone."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.reports import rebuild, seal
from chalicelib.store import aggregates as stored
from chalicelib.store import keys
from chalicelib.store.models import CounterModel
from tests.integration.test_reports import DAY, Business, at, report
from tests.support.database import pump
from tests.support.env import body

RANGE = {"from": "2026-10-01", "to": "2026-10-05"}
ANN, BOB, CAT, DAN = "+14155550001", "+14155550002", "+14155550003", "+14155550004"


@pytest.fixture
def biz(api: Any) -> Business:
    from chalicelib.core import clock

    fake = clock.FakeClock(at("2026-10-01T12:00:00"))
    clock.set_source(fake)
    return Business(api, fake)


def figures(api: Any) -> tuple[Any, ...]:
    """Every report figure over the range, per source and per day, both models."""
    out = []
    for model in ("last_touch", "first_touch"):
        out.append(report(api, **RANGE, model=model))
        q = "&".join(f"{k}={v}" for k, v in {**RANGE, "model": model}.items())
        out.append(body(api.call("GET", "/v1/reports/daily?" + q)))
    return tuple(out)


def day_items() -> list[Any]:
    return [i for i in CounterModel.scan() if i.pk.startswith("AGG#") and i.pk.count("#") >= 2 and "|" not in i.pk]


def keys_in_step(items: list[Any]) -> bool:
    """Every sealed bucket holds its distinct callers' keys beside its records, and they agree."""
    sealed = [i for i in items if i.sealed]
    return bool(sealed) and all(
        i.keyed == 1 and (i.packed_keys or b"") == stored.key_blob(stored.unpack(i.packed)) for i in sealed
    )


def batch_reads(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The attributes each BatchGetItem of the counters table asks for, from now on."""
    asked: list[list[str]] = []
    real = CounterModel.batch_get

    def spy(items: Any, **kw: Any) -> Any:
        asked.append(list(kw.get("attributes_to_get") or []))
        return real(items, **kw)

    monkeypatch.setattr(CounterModel, "batch_get", spy)
    return asked


def test_sealed_days_answer_as_before_and_take_later_changes(api: Any, biz: Business) -> None:
    # Given calls over three days: Ann on each (radio, then Google twice), Bob and Cat on the second
    ann = [biz.call("Radio FM 101", ANN)]
    biz.fake.advance(DAY)
    ann.append(biz.call("Google Ads", ANN))
    biz.call("Google Ads", BOB, result="missed")
    biz.call("Google Ads", CAT)
    biz.fake.advance(DAY)
    ann.append(biz.call("Google Ads", ANN))
    pump().drain()
    before = figures(api)
    assert before[0]["total"]["unique_callers"] == 3

    # When the days are over and the job seals them a page at a time, resuming from its cursor
    biz.fake.advance(DAY)
    seal.PAGE, page = 1, seal.PAGE
    try:
        runs, state = 0, seal.run(budget=0)
        while state.get("todo"):
            assert state["cursor"] is None or seal.CURSOR.decode(state["cursor"])[0].startswith("AGG#")
            state, runs = seal.run(budget=0), runs + 1
    finally:
        seal.PAGE = page
    assert runs >= 4 and state["through"] == "2026-10-03" and state["sealed"] == 7  # 3 last-touch days, 4 first-touch
    # Then every day bucket holds its callers as one packed value, nothing live, and reports match
    items = day_items()
    assert items and all(i.packed and not i.callers and not i.callers_del for i in items)
    assert keys_in_step(items)  # and beside them its distinct callers' keys, each once
    assert figures(api) == before
    assert seal.run()["through"] == "2026-10-03"  # nothing left: one read

    # When a call lands on a sealed day later (Dan, on the second day) it counts at once
    biz.fake.advance(-2 * DAY)
    dan = biz.call("Google Ads", DAN)
    pump().drain()
    biz.fake.advance(2 * DAY)
    after_dan = report(api, **RANGE)["total"]
    assert (after_dan["calls"], after_dan["unique_callers"]) == (6, 4)

    # And when Ann is erased her records leave the packed values at once (her calls stay counted)
    ann_records = {stored.record(stored.caller_entry(ANN, sid)) for sid in ann}
    erased = api.call("DELETE", "/v1/callers/%2B" + ANN.lstrip("+"))
    assert erased.status_code == 200 and body(erased)["erased_calls"] == 3
    pump().drain()
    total = report(api, **RANGE)["total"]
    assert (total["calls"], total["unique_callers"]) == (6, 3)
    held = set().union(*(stored.unpack(i.packed) for i in day_items()))
    assert held and not held & ann_records
    assert keys_in_step(day_items())  # her key left the keys too (re-sealed with the records)
    ann_key = stored.record(stored.caller_entry(ANN, ann[0]))[:8]
    assert not any(ann_key in stored.unpack(i.packed_keys or b"") for i in day_items())
    # (Dan's late call is still live on its sealed day until the next seal folds it in)
    assert any(i.callers for i in day_items())
    seal.reset()
    seal.run_all()
    assert not any(i.callers or i.callers_del for i in day_items())
    assert report(api, **RANGE)["total"] == total
    assert stored.record(stored.caller_entry(DAN, dan)) in held


def test_a_change_of_time_zone_moves_calls_out_of_sealed_days(api: Any, biz: Business) -> None:
    # Given calls at 02:00 UTC on two days (the evening before in Los Angeles), sealed
    biz.fake.advance(-10 * 3600)
    biz.call("Google Ads", ANN)
    biz.call("Google Ads", BOB)
    biz.fake.advance(DAY)
    biz.call("Google Ads", ANN)
    pump().drain()
    biz.fake.advance(3 * DAY)
    seal.run_all()
    daily = "/v1/reports/daily?from=2026-09-30&to=2026-10-02"

    def per_day() -> list[tuple[int, int]]:
        return [(d["calls"], d["unique_callers"]) for d in body(api.call("GET", daily))["days"]]

    assert per_day() == [(0, 0), (2, 2), (1, 1)]
    # When the owner moves the business to Los Angeles and the schedule runs the rebuild
    assert api.call("PUT", "/v1/settings/timezone", {"timezone": "America/Los_Angeles"}).status_code == 202
    rebuild.scheduled()
    biz.fake.advance(3600)
    rebuild.scheduled()
    assert body(api.call("GET", "/v1/settings/rebuild"))["state"] == "done"
    # Then the calls left their sealed UTC days (live take-outs) and the next seal folds them in
    assert per_day() == [(2, 2), (1, 1), (0, 0)]
    assert seal.run_all()["through"] == "2026-10-03"  # the rebuild asked for every day again
    assert not any(i.callers or i.callers_del for i in day_items())
    assert keys_in_step(day_items())
    assert per_day() == [(2, 2), (1, 1), (0, 0)]
    assert report(api, **{"from": "2026-09-30", "to": "2026-10-02"})["total"]["unique_callers"] == 2
    assert keys.REPORT_SEAL.pk.startswith("SEAL#")


def test_reports_read_the_keys_only_and_days_sealed_by_older_code_exactly(
    api: Any, biz: Business, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Ann twice and Bob on one day, Cat the next, sealed
    ann = [biz.call("Google Ads", ANN), biz.call("Google Ads", ANN)]
    bob = biz.call("Google Ads", BOB)
    biz.fake.advance(DAY)
    biz.call("Radio FM 101", CAT)
    pump().drain()
    biz.fake.advance(3 * DAY)
    seal.run_all()
    before = figures(api)
    assert before[0]["total"]["unique_callers"] == 3
    # Then a report reads each bucket's keys, never its per-call records: one batch
    asked = batch_reads(monkeypatch)
    assert report(api, **RANGE) == before[0]
    buckets = [a for a in asked if "calls" in a]
    assert len(buckets) == 1 and "packed_keys" in buckets[0] and "packed" not in buckets[0]

    # When entries are taken out of a sealed day and not yet folded in (as a rebuild leaves them):
    # one of Ann's two calls and Bob's only call
    day = keys.Key(f"AGG#last#{biz.lines['Google Ads'][0]}", "2026-10-01")
    gone = {stored.caller_entry(ANN, ann[0]), stored.caller_entry(BOB, bob)}
    CounterModel(*day).update(actions=[CounterModel.callers_del.add(gone)])
    # Then that bucket is read with its records: Bob leaves, Ann (one call left) stays
    asked.clear()
    assert report(api, **RANGE)["total"]["unique_callers"] == 2
    assert [a for a in asked if "packed" in a]
    CounterModel(*day).update(actions=[CounterModel.callers_del.delete(gone)])
    assert report(api, **RANGE) == before[0]

    # Given the days as code before the keys sealed them: records only
    for item in day_items():
        item.update(actions=[CounterModel.packed_keys.remove(), CounterModel.keyed.remove()])
    assert not any(i.packed_keys or i.keyed for i in day_items())
    # Then reports answer exactly as before, reading those buckets' records in one more batch
    asked.clear()
    assert figures(api) == before
    assert any("packed" in a for a in asked)
    asked.clear()
    assert report(api, **RANGE) == before[0]
    assert len([a for a in asked if "calls" in a or "packed" in a]) == 2

    # When such a day is sealed again (an erasure's re-seal, a late call's seal) it gains its keys
    first, *rest = day_items()
    assert stored.seal(keys.Key(first.pk, first.sk))
    assert keys_in_step([CounterModel.get(first.pk, first.sk)])
    # And the seal job's first round after the upgrade (its state from older code: no ``keyed``)
    # goes over every day from the first, and the others gain theirs too
    state = stored.seal_state()
    assert state.pop("keyed") == 1 and state["through"] == "2026-10-04"
    stored.save_seal_state(state)
    assert seal.run_all()["sealed"] == len(rest) >= 3
    assert keys_in_step(day_items())
    assert seal.run()["sealed"] == len(rest)  # then the job is done: nothing read again
    assert not any(stored.seal(keys.Key(i.pk, i.sk)) for i in day_items())  # then nothing to write
    asked.clear()
    assert figures(api) == before
    assert not any("packed" in a for a in asked)
