"""The one set of formatters (reportgen.core.money): money, cents and shares, half-up."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reportgen.core.money import cents_text, fixed, money_text, percent_text


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
