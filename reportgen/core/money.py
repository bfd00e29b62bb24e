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

A converted amount (CNY, or a ``[report.currencies]`` currency) is the exact USD times
the rate, rounded once.  So that it can be recomputed from the page, it is printed with
the USD and the rate it came from (:func:`convert_for_print`): printed USD × printed rate,
rounded half-up to the cent, equals the printed amount, or a printed conversion
difference (折算差额) makes up the cent or two that the USD's own rounding moved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

#: The rounding of every presented amount.
ROUNDING = ROUND_HALF_UP
CENT = Decimal("0.01")
#: Places of a money string in JSON (``summary --json``, manifests).
MICRO = Decimal("0.000001")
#: Places of a share (0..1, e.g. a success rate or a budget used) in JSON.
SHARE_PLACES = Decimal("0.0001")
DEFAULT_QUOTA_PER_UNIT = Decimal(500000)
#: A rate prints with at least this many decimals (7.1000, not 7.1) ...
RATE_MIN_PLACES = 4
#: ... and at most this many (a longer rate prints rounded half-up; the conversion
#: difference then covers what the shorter rate moves).
RATE_MAX_PLACES = 6


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


def printed_rate(rate: Decimal) -> Decimal:
    """``rate`` as printed: its own decimals, at least 4 and at most 6 (half-up)."""
    exponent = rate.as_tuple().exponent
    places = min(max(-exponent if isinstance(exponent, int) else 0, RATE_MIN_PLACES), RATE_MAX_PLACES)
    return rate.quantize(Decimal(1).scaleb(-places), rounding=ROUNDING)


def rate_text(rate: Decimal) -> str:
    """A rate as printed: ``7.1053``, ``7.1000`` (never ``7.1``), ``6.123457``; no grouping."""
    return f"{printed_rate(rate):f}"


class PrintedConversion(NamedTuple):
    """A conversion as printed: ``usd`` × ``rate`` (rounded half-up to the cent) + ``difference`` = ``amount``.

    ``usd`` and ``amount`` are in cents, ``rate`` as :func:`rate_text` prints it; ``amount``
    is the exact USD times the exact rate, rounded once, so it is the same figure whatever
    the USD's own rounding did.  ``difference`` (the 折算差额 line) is 0 when the printed
    figures multiply out.
    """

    usd: Decimal
    rate: Decimal
    amount: Decimal
    difference: Decimal

    @property
    def product(self) -> Decimal:
        """Printed USD × printed rate, rounded half-up to the cent (what a reviewer recomputes)."""
        return cents(self.usd * self.rate)

    @property
    def has_difference(self) -> bool:
        return self.difference != 0


def convert_for_print(usd_exact: Decimal, rate: Decimal) -> PrintedConversion:
    """``usd_exact`` at ``rate``, as the page prints it: ``(usd, rate, amount, difference)``.

    ``amount`` = cents(usd_exact × rate); ``difference`` = amount − cents(usd × rate)
    with the printed ``usd`` and ``rate``.  Unpacks as the tuple
    ``usd_printed, rate_printed, amount_printed, difference``.
    """
    usd_printed = cents(usd_exact)
    rate_printed = printed_rate(rate)
    amount = cents(convert(usd_exact, rate))
    return PrintedConversion(usd_printed, rate_printed, amount, amount - cents(usd_printed * rate_printed))


def convert_parts_for_print(
    parts: Sequence[tuple[Decimal, Decimal]],
) -> tuple[tuple[PrintedConversion, ...], Printed]:
    """Several USD amounts each at its own rate (sources at different rates), as printed.

    Returns each part's :class:`PrintedConversion` and the converted amounts footed
    (:func:`printed_lines`): the parts' amounts plus the rounding line equal the printed
    total, which is the exact sum of the exact conversions rounded once.
    """
    conversions = tuple(convert_for_print(u, r) for u, r in parts)
    total = sum((convert(u, r) for u, r in parts), Decimal(0))
    return conversions, printed_lines([convert(u, r) for u, r in parts], total)
