"""The one money policy: exact amounts, conversion, and how amounts are rounded for print.

Quota is the system of record (``int``); an amount is ``Decimal(quota) / quota_per_unit``
in USD, exact; a further currency is that amount times its rate, exact.  Rounding happens
only when an amount is presented, always **half-up** (0.125 → 0.13), to cents in
documents and the terminal and to six places in JSON; a share prints half-up to a tenth
of a percent (0.1225 → 12.3%).  The functions here are the only formatters of money and
shares: exporters, the terminal and the notes print through them.  Each printed line is its own
amount rounded; a printed total is the exact total rounded; when the printed lines do
not add up to the printed total, the difference is printed as an explicit rounding line
(:func:`printed_lines`) — never hidden by nudging one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

#: The rounding of every presented amount.
ROUNDING = ROUND_HALF_UP
CENT = Decimal("0.01")
#: Places of a money string in JSON (``summary --json``, manifests).
MICRO = Decimal("0.000001")
#: Places of a share (0..1, e.g. a success rate or a budget used) in JSON.
SHARE_PLACES = Decimal("0.0001")
DEFAULT_QUOTA_PER_UNIT = Decimal(500000)


def usd(quota: int, quota_per_unit: Decimal) -> Decimal:
    """``quota`` in USD, exact."""
    return Decimal(quota) / quota_per_unit


def convert(amount_usd: Decimal, rate: Decimal) -> Decimal:
    """``amount_usd`` at ``rate`` units per USD, exact."""
    return amount_usd * rate


def cents(value: Decimal) -> Decimal:
    """``value`` rounded half-up to whole cents."""
    return value.quantize(CENT, rounding=ROUNDING)


def money_text(value: Decimal, *, grouping: bool = True) -> str:
    """An amount as printed in documents and the terminal: ``1,234.57`` (half-up to cents).

    An amount that rounds to nothing prints ``0.00``, never ``-0.00``.
    """
    rounded = cents(value)
    if not rounded:
        rounded = abs(rounded)
    return f"{rounded:,}" if grouping else str(rounded)


def cents_text(value_cents: int) -> str:
    """An amount held as whole cents, printed as :func:`money_text` prints it (``123456`` → ``1,234.56``)."""
    return money_text(Decimal(value_cents).scaleb(-2))


def percent_text(share: Decimal, places: int = 1) -> str:
    """A share as printed: ``0.1225`` → ``12.3%`` (half-up to ``places`` decimals of a percent)."""
    return f"{(share * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUNDING):f}%"


def fixed(value: Decimal | None, places: Decimal = MICRO) -> str | None:
    """An amount as a fixed-point JSON string (``"12.345600"``); money is never a float."""
    if value is None:
        return None
    return str(value.quantize(places, rounding=ROUNDING))


def plain_decimal(value: Decimal) -> str:
    """A Decimal as a plain decimal string, never in exponent notation, without trailing zeros."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True, slots=True)
class Printed:
    """Amounts as printed: each line and the total in cents, and the rounding line between them."""

    lines: tuple[Decimal, ...]
    total: Decimal
    rounding: Decimal

    @property
    def has_rounding(self) -> bool:
        return self.rounding != 0


def printed_lines(amounts: Sequence[Decimal], total: Decimal) -> Printed:
    """Each of ``amounts`` and ``total`` rounded on its own; ``rounding`` makes the lines add up.

    ``sum(lines) + rounding == total`` holds exactly, and every line prints the same string
    wherever the same amount is printed (a member's own statement, the team's, the terminal).
    """
    lines = tuple(cents(a) for a in amounts)
    printed_total = cents(total)
    return Printed(lines, printed_total, printed_total - sum(lines, Decimal(0)))
