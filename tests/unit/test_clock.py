"""Time buckets: pure functions of epoch milliseconds (no database, no clock)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from chalicelib.core import clock


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def test_hour_day_and_month_keys_are_utc():
    # Given a time late on the last day of a month
    t = ms("2026-09-30T23:59:59.999")
    # When it is put in buckets
    # Then each bucket is the UTC one it falls in
    assert (clock.hour_key(t), clock.day_key(t), clock.month_key(t)) == ("2026-09-30T23", "2026-09-30", "2026-09")
    assert clock.hour_key(t + 1) == "2026-10-01T00" and clock.month_key(t + 1) == "2026-10"


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-01-15T10:00", "2026-01-20T00:00", ["2026-01"]),
        ("2026-11-15T10:00", "2027-02-03T00:00", ["2026-11", "2026-12", "2027-01", "2027-02"]),
        ("2026-01-31T23:00", "2026-03-01T00:00", ["2026-01", "2026-02", "2026-03"]),
        ("2026-03-02T00:00", "2026-02-27T00:00", []),
    ],
)
def test_months_spans_every_month_of_a_range_oldest_first(start, end, expected):
    # Given a range of times
    # When the months it spans are listed
    # Then each month from the start's to the end's is there once, in order
    assert clock.months(ms(start), ms(end)) == expected


def test_a_range_ending_on_the_first_before_the_starts_hour_keeps_its_last_month():
    # Given the sweep's 48 hours, ending early on the 1st, started later in the day than it ends
    start, end = ms("2026-01-30T03:10"), ms("2026-02-01T02:50")
    # When the months it spans are listed
    months = clock.months(start, end)
    # Then February is there (the copies this replaced stepped from the start's time of day and lost it)
    assert months == ["2026-01", "2026-02"]


def test_months_desc_is_newest_first_and_never_empty():
    # Given a range over a year end, and one whose start is past its end
    # When the call log lists its months
    # Then they are newest first, and a reversed range still has the end's month
    assert clock.months_desc(ms("2026-11-20T00:00"), ms("2027-01-02T00:00")) == ["2027-01", "2026-12", "2026-11"]
    assert clock.months_desc(ms("2027-03-01T00:00"), ms("2027-01-02T00:00")) == ["2027-01"]


def test_a_local_day_is_the_businesss_day():
    # Given a time that is still the evening before in Los Angeles
    t = ms("2026-09-21T03:00")
    # When its day is read in UTC and in the business's zone
    # Then the local day is the day before, and the minute is the local one
    assert clock.day_key(t) == "2026-09-21"
    assert clock.local_day(t, "America/Los_Angeles") == "2026-09-20"
    assert clock.local_minute(t, "America/Los_Angeles") == "2026-09-20 20:00"


def test_midnight_is_the_first_millisecond_of_a_local_day():
    # Given a day, as a date or as text, in a zone with summer time
    # When its midnight is asked for
    # Then it is that zone's midnight, and the same either way
    assert clock.midnight_ms("2026-07-01", "Europe/Paris") == ms("2026-06-30T22:00")
    assert clock.midnight_ms(date(2026, 7, 1), "Europe/Paris") == ms("2026-06-30T22:00")
    assert clock.midnight_ms("2026-12-01", "UTC") == ms("2026-12-01T00:00")
