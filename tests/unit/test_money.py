"""The one amount parser (``validation.money``): what people type, and what reads two ways."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.core.errors import BadRequest
from chalicelib.core.validation import money


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("$1,250.00", "1250.00"),
        ("1 250,00", "1250.00"),
        ("1250", "1250"),
        ("1\u00a0250,00", "1250.00"),  # no-break space, as spreadsheets copy it
        ("1\u2009250", "1250"),  # thin space
        ("1\u202f250,5", "1250.5"),  # narrow no-break space
        ("€80", "80"),
        ("80 EUR", "80"),
        ("USD 1,250.50", "1250.50"),
        ("£1.250,00", "1250.00"),
        ("₽ 1 250", "1250"),
        ("$80 USD", "80"),
        ("12,50", "12.50"),
        ("0.5", "0.5"),
        ("1,250,000", "1250000"),
        ("1.250.000", "1250000"),
        (" 7 ", "7"),
        (12.5, "12.5"),
        (3, "3"),
    ],
)
def test_amounts_as_people_type_them(typed, amount):
    assert money(typed, "amount") == Decimal(amount)


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("1,250", "'amount' '1,250' is ambiguous"),
        ("1.250", "'amount' '1.250' is ambiguous"),
        ("abc", "'amount' must be a number like 125.50"),
        ("-5", "must not be negative"),
        ("$-5", "must not be negative"),
        ("1,25,0", "is not one amount"),
        ("1 25", "is not one amount"),
        ("1.250,000.5", "is not one amount"),
        ("1 250,00.5", "mixes separators"),
        ("0,125", "at most two decimals"),
        ("1e3", "must be a number"),
        ("NaN", "must be a number"),
        ("1000000001", "at most 1,000,000,000"),
        ("", "must be a number"),
        (True, "must be a number"),
    ],
)
def test_text_that_reads_two_ways_or_none_is_refused_with_what_to_write(typed, words):
    with pytest.raises(BadRequest) as err:
        money(typed, "amount")
    assert words in err.value.message
