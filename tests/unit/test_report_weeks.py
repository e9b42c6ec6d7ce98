"""How a report's range is read (issue 25): whole weeks by their Monday, the edge days one by one,
every day of the range in exactly one of them; weeks counted before weeks existed read as days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from chalicelib.core import clock
from chalicelib.reports import figures


def test_a_day_belongs_to_the_week_of_its_monday() -> None:
    assert clock.week_of("2026-09-28") == "2026-09-28"  # a Monday
    assert clock.week_of("2026-10-04") == "2026-09-28"  # the Sunday after
    assert clock.week_of("2026-10-05") == "2026-10-05"
    assert clock.week_of("2027-01-01") == "2026-12-28"  # across a year's end


def test_a_range_is_its_whole_weeks_and_its_edge_days() -> None:
    weeks, days = clock.weeks_and_days("2026-06-24", "2026-09-21")  # the benchmark's 90 days
    assert (len(weeks), weeks[0], weeks[-1]) == (12, "2026-06-29", "2026-09-14")
    assert days == ["2026-06-24", "2026-06-25", "2026-06-26", "2026-06-27", "2026-06-28", "2026-09-21"]
    assert clock.weeks_and_days("2026-09-28", "2026-10-03") == ([], [f"2026-{d}" for d in _days("09-28", 6)])
    assert clock.weeks_and_days("2026-09-28", "2026-10-04") == (["2026-09-28"], [])


@pytest.mark.parametrize("offset", range(7))
@pytest.mark.parametrize("length", [1, 6, 7, 8, 13, 14, 15, 30, 90, 366])
def test_every_day_of_a_range_is_read_exactly_once(offset: int, length: int) -> None:
    first = date(2026, 9, 28) + timedelta(days=offset)
    last = first + timedelta(days=length - 1)
    weeks, days = clock.weeks_and_days(first.isoformat(), last.isoformat())
    covered = [(date.fromisoformat(w) + timedelta(days=i)).isoformat() for w in weeks for i in range(7)] + days
    wanted = [(first + timedelta(days=i)).isoformat() for i in range(length)]
    assert sorted(covered) == wanted  # no day twice, none missing
    assert all(date.fromisoformat(w).weekday() == 0 for w in weeks)
    assert len(days) <= 12  # at most six days at each edge


def test_weeks_before_the_first_whole_one_are_read_as_days() -> None:
    weeks, days = figures._periods("2026-09-21", "2026-10-11", "2026-09-28", by_day=False)
    assert weeks == ["2026-09-28", "2026-10-05"] and days == [f"2026-09-{d}" for d in range(21, 28)]
    assert figures._periods("2026-09-21", "2026-10-11", None, by_day=False) == (
        [],
        figures._days("2026-09-21", "2026-10-11"),
    )
    assert figures._periods("2026-09-21", "2026-10-11", "0000-01-03", by_day=True)[0] == []  # per day: days


def _days(first: str, n: int) -> list[str]:
    start = date.fromisoformat("2026-" + first)
    return [(start + timedelta(days=i)).isoformat()[5:] for i in range(n)]


def test_a_weeks_packed_callers_are_its_days_callers_and_entries_come_off_alike() -> None:
    from chalicelib.store import aggregates as stored

    days = [[f"k1.{c:020x}:{d}{c:09d}" for c in range(d, d + 40, 3)] for d in range(7)]  # callers repeat
    week = [e for day in days for e in day]
    packed = stored.pack(stored.record(e) for e in week)
    assert len(packed) == stored.RECORD * len(set(week))
    union = frozenset().union(*(stored.caller_keys(stored.pack(stored.record(e) for e in day)) for day in days))
    assert stored.caller_keys(packed) == union  # a caller on several days of the week counts once
    # An entry taken out after the seal leaves the week as it leaves its day; one added joins both
    gone, late = days[2][0], "k1.ffff:late000001"
    assert stored.fold(packed, [late], [gone]) == stored.unpack(packed) - {stored.record(gone)} | {stored.record(late)}
    left = stored.caller_keys(packed, [late], [gone])
    assert stored.record(gone)[: stored.CALLER] not in left and stored.record(late)[: stored.CALLER] in left
