"""The one set of formatters (reportgen.core.money): money, cents and shares, half-up."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reportgen.core.money import (
    cents,
    cents_text,
    convert_for_print,
    convert_parts_for_print,
    fixed,
    money_text,
    percent_text,
    rate_text,
)


@pytest.mark.parametrize(
    ("share", "printed"),
    [
        (Decimal("0.1225"), "12.3%"),  # half-even would print 12.2%
        (Decimal("0.1235"), "12.4%"),
        (Decimal("0"), "0.0%"),
        (Decimal("1.5"), "150.0%"),
        (Decimal("0.00049"), "0.0%"),
        (Decimal("0.0005"), "0.1%"),
    ],
)
def test_a_share_prints_half_up_to_a_tenth_of_a_percent(share: Decimal, printed: str) -> None:
    assert percent_text(share) == printed


@pytest.mark.parametrize("value_cents", [0, 5, -5, 100, 123456, -123456789, 10**15])
def test_cents_print_as_their_amount_prints(value_cents: int) -> None:
    assert cents_text(value_cents) == money_text(Decimal(value_cents) / 100)


def test_an_amount_that_rounds_to_nothing_is_never_minus_zero() -> None:
    assert money_text(Decimal("-0.004")) == "0.00" and money_text(Decimal("-0.005")) == "-0.01"
    assert (
        money_text(Decimal("1234.565")) == "1,234.57"
        and money_text(Decimal("-1234.565"), grouping=False) == "-1234.57"
    )


def test_json_shares_round_half_up_too() -> None:
    assert fixed(Decimal("0.12345"), Decimal("0.0001")) == "0.1235"


@pytest.mark.parametrize(
    ("rate", "printed"),
    [
        (Decimal("7.1"), "7.1000"),
        (Decimal("7.1053"), "7.1053"),
        (Decimal("7"), "7.0000"),
        (Decimal("6.12345"), "6.12345"),
        (Decimal("7.12345678"), "7.123457"),
        (Decimal("0.13825"), "0.13825"),
    ],
)
def test_a_rate_prints_with_four_to_six_decimals(rate: Decimal, printed: str) -> None:
    assert rate_text(rate) == printed


def test_the_issues_team_statement_converts_with_a_printed_difference() -> None:
    # issue 22: 49.53 × 7.1053 = 351.93, but the CNY of the exact 49.532892 is 351.95
    usd_printed, rate_printed, cny, difference = convert_for_print(Decimal("49.532892"), Decimal("7.1053"))
    assert (usd_printed, rate_printed, cny, difference) == (
        Decimal("49.53"),
        Decimal("7.1053"),
        Decimal("351.95"),
        Decimal("0.02"),
    )
    assert cents(usd_printed * rate_printed) + difference == cny


@given(
    st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=6, allow_nan=False),
    st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1000"), places=8, allow_nan=False),
)
def test_printed_usd_times_printed_rate_plus_difference_is_the_printed_amount(
    usd_exact: Decimal, rate: Decimal
) -> None:
    c = convert_for_print(usd_exact, rate)
    assert c.usd == cents(usd_exact) and c.amount == cents(usd_exact * rate)
    assert c.product + c.difference == c.amount
    assert rate_text(rate) == f"{c.rate:f}"
    assert c.has_difference == (c.product != c.amount)


def test_parts_at_their_own_rates_foot_to_the_total() -> None:
    parts = [(Decimal("10.005"), Decimal("7.1053")), (Decimal("3.333333"), Decimal("7.2"))]
    conversions, footed = convert_parts_for_print(parts)
    assert [c.amount for c in conversions] == list(footed.lines)
    assert sum(footed.lines) + footed.rounding == footed.total == cents(sum(u * r for u, r in parts))
