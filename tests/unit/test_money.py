"""The one amount parser (``chalicelib.core.validation.money``): what people type, and what it refuses."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.core.errors import BadRequest
from chalicelib.core.validation import money


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("1250", "1250"),
        ("$1,250.00", "1250.00"),
        ("1 250,00", "1250.00"),
        ("1\u00a0250,00", "1250.00"),
        ("1.250,00 €", "1250.00"),
        ("EUR 99,90", "99.90"),
        ("£12", "12"),
        ("₽ 1 000 000", "1000000"),
        ("1,250", "1250"),  # a lone separator before three digits groups thousands: money has two decimals
        ("0,99", "0.99"),
        ("12.5", "12.5"),
        (" usd 10 ", "10"),
        (125.5, "125.5"),
        (100, "100"),
    ],
)
def test_money_takes_amounts_as_people_type_them(typed: object, amount: str) -> None:
    assert money(typed, "revenue") == Decimal(amount)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("1,2,3", "ambiguous"),
        ("1.250.5", "ambiguous"),
        ("12,34,567", "ambiguous"),
        ("1.250.00", "ambiguous"),
        ("1,2345", "ambiguous"),
        ("$5 €", "two currencies"),
        ("-5", "negative"),
        ("$-5", "negative"),
        ("abc", "an amount like"),
        ("", "an amount like"),
        ("nan", "an amount like"),
        (1.005, "at most two decimals"),
        ("2,000,000,000", "at most 1,000,000,000"),
        (True, "an amount like"),
        (None, "an amount like"),
    ],
)
def test_money_refuses_what_it_cannot_read_with_a_clear_message(typed: object, says: str) -> None:
    with pytest.raises(BadRequest) as refused:
        money(typed, "revenue")
    assert says in refused.value.message
    assert "'revenue'" in refused.value.message
