"""Exchange rates: the CNY rate a report uses (:class:`Exchange`), dated official rates, further currencies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from .money import convert


@dataclass(frozen=True, slots=True)
class Exchange:
    """The CNY-per-USD rate a report uses, where it came from and as of when.

    ``applies_to`` names the ``[report.rates]`` entry (``"2026-04"``) when the rate is the
    dated official rate set for the period, else None.
    """

    rate: Decimal | None
    source: str
    as_of: datetime | None = None
    applies_to: str | None = None


@dataclass(frozen=True, slots=True)
class DatedRate:
    """An official CNY-per-USD rate for a period, from ``[report.rates."2026-04"]``.

    ``period`` is the entry's label (a month, quarter or year); ``as_of`` the rate's date
    (e.g. the month-end central parity); ``source`` where finance takes it from.
    """

    period: str
    cny_per_usd: Decimal
    source: str
    as_of: date


@dataclass(frozen=True, slots=True)
class Conversion:
    """A further currency set in ``[report.currencies.CODE]``: ``rate`` units per 1 USD."""

    code: str
    rate: Decimal
    source: str
    as_of: date

    def convert(self, amount_usd: Decimal) -> Decimal:
        """``amount_usd`` in this currency, exact (quantize only when presenting)."""
        return convert(amount_usd, self.rate)
