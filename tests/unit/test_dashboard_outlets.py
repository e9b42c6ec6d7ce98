"""The setup pages' pure parts: forms as the API's bodies, refusals placed beside their fields,
the spend grid's changed cells, a month spread over its days, and the CSV's date forms."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.core.errors import BadRequest
from chalicelib.dashboard import alertspage, formerrors, hookspage, spendpage
from chalicelib.reports import spend


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("'email' must be an email address like owner@example.com", "email"),
        ("'quiet_hours.start' must be a time like 22:00", "quiet_start"),
        ("'count' must be between 1 and 100", "limit_count"),
        ("'callers[0]' is not a phone number: ...", "callers[0]"),
        ("at most 50 alert recipients", ""),
    ],
)
def test_a_refusal_is_placed_beside_the_field_it_names(message, field):
    assert formerrors.field_of(message, alertspage.ALIASES) == field


def test_numbers_typed_in_forms_become_json_numbers_and_anything_else_is_passed_on():
    assert formerrors.as_int(" 12 ") == 12
    assert formerrors.as_int("") is None
    assert formerrors.as_int("twelve") == "twelve"  # the domain refuses it in its own words


def test_the_recipient_form_becomes_the_apis_body():
    form = {
        "name": "Desk",
        "channel": "slack",
        "email": "ignored@example.com",
        "slack_webhook_url": "https://hooks.slack.com/services/T/B/x",
        "summary_hour": "7",
        "timezone": "",
        "quiet_start": "22:00",
        "quiet_end": "07:00",
        "limit_count": "5",
        "limit_minutes": "",
    }
    body = alertspage.recipient_body(form, ["missed_call"], [], creating=True)
    assert body == {
        "name": "Desk",
        "channel": "slack",
        "events": ["missed_call"],
        "summaries": [],
        "slack_webhook_url": "https://hooks.slack.com/services/T/B/x",
        "summary_hour": 7,
        "timezone": None,
        "quiet_hours": {"start": "22:00", "end": "07:00"},
        "limit": {"count": 5},
    }
    # editing: an empty secret keeps the stored one, the channel is not sent, enabled is a checkbox
    edit = alertspage.recipient_body(
        {**form, "slack_webhook_url": "", "quiet_start": "", "quiet_end": ""}, [], [], creating=False
    )
    assert "slack_webhook_url" not in edit and "channel" not in edit
    assert edit["quiet_hours"] is None and edit["enabled"] is False


def test_the_endpoint_form_becomes_the_apis_body():
    form = {"url": "https://x.example/h", "description": "", "channel_id": "ch_1", "pool_id": "", "enabled": "on"}
    assert hookspage.endpoint_body(form, ["call.completed"], creating=False) == {
        "url": "https://x.example/h",
        "events": ["call.completed"],
        "description": "",
        "channel_id": "ch_1",
        "pool_id": "",
        "enabled": True,
    }


def test_only_the_grid_cells_that_changed_are_saved_and_an_emptied_one_is_zero():
    form = {
        "csrf": "x",
        "m|ch_1|2026-10": "1,250.00",
        "w|ch_1|2026-10": "1250.00",  # reformatted, still changed text: saved (the same amount)
        "m|ch_1|2026-11": "80.00",
        "w|ch_1|2026-11": "80.00",  # untouched
        "m|web:google|2026-11": "",
        "w|web:google|2026-11": "15.00",  # emptied
    }
    assert spendpage.changed_cells(form) == [("ch_1", "2026-10", "1,250.00"), ("web:google", "2026-11", "0")]


def test_a_month_is_spread_over_its_days_to_the_cent():
    days = spend.month_days(Decimal("100"), "2026-02")
    assert len(days) == 28 and sum(a for _, a in days) == Decimal("100")
    assert days[0] == ("2026-02-01", Decimal("3.58")) and days[-1] == ("2026-02-28", Decimal("3.57"))
    assert sum(a for _, a in spend.month_days(Decimal("0.01"), "2028-02")) == Decimal("0.01")


@pytest.mark.parametrize(
    ("typed", "order", "day"),
    [
        ("2026-11-01", None, "2026-11-01"),
        ("2026/11/1", None, "2026-11-01"),
        ("01.11.2026", None, "2026-11-01"),
        ("Nov 1 2026", None, "2026-11-01"),
        ("November 1, 2026", None, "2026-11-01"),
        ("1 Nov 2026", None, "2026-11-01"),
        ("11/01/2026", "mdy", "2026-11-01"),
        ("01/11/2026", "dmy", "2026-11-01"),
        ("5/5/2026", None, "2026-05-05"),  # reads the same either way
    ],
)
def test_common_date_forms(typed, order, day):
    assert spend.loose_date(typed, order=order) == day


@pytest.mark.parametrize(
    ("typed", "order", "words"),
    [
        ("11/01/2026", None, "could be 11/1 or 1/11"),
        ("11/01/2026", "mixed", "some dates day first and some month first"),
        ("31.02.2026", None, "not a day of the calendar"),
        ("yesterday", None, "must be a date like 2026-11-01"),
    ],
)
def test_dates_that_read_two_ways_or_none_are_refused(typed, order, words):
    with pytest.raises(BadRequest) as err:
        spend.loose_date(typed, order=order)
    assert words in err.value.message


def test_a_files_other_dates_say_which_comes_first():
    assert spend.day_order(["11/30/2026", "11/01/2026"]) == "mdy"
    assert spend.day_order(["30/11/2026", "01/11/2026"]) == "dmy"
    assert spend.day_order(["01/11/2026", "2026-11-02"]) is None
    assert spend.day_order(["30/11/2026", "11/30/2026"]) == "mixed"
