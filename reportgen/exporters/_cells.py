"""Making untrusted gateway text safe for documents, and the report views every exporter shares."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from ..models import Line, LogType, Report, Stats

# C0 controls and DEL: XML forbids most of them, and none belongs in a name.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# OWASP CSV injection: a cell starting with one of these may be evaluated as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
CENT = Decimal("0.01")


#: The columns of a detail row, in order, as label keys (CSV; XLSX member sheets omit "member").
DETAIL_COLUMNS = (
    "time",
    "member",
    "key",
    "model",
    "type",
    "prompt_tokens",
    "completion_tokens",
    "quota",
    "cost_usd",
    "latency_s",
    "client",
    "request_id",
    "http_status",
)


#: The figures of a Stats line, in order, as label keys (summary tables in CSV and XLSX).
STATS_COLUMNS = (
    "requests",
    "errors",
    "prompt_tokens",
    "completion_tokens",
    "consumed_quota",
    "refunded_quota",
    "net_quota",
    "cost_usd",
    "cost_cny",
)


def clean_text(value: object) -> str:
    """A gateway string with control characters removed (None becomes "")."""
    if value is None:
        return ""
    return _CONTROL_RE.sub("", str(value))


def csv_text(value: object) -> str:
    """A text field made inert for spreadsheets opening a CSV (OWASP: prefix with ')."""
    if value is None:
        return ""
    text = value if type(value) is str else str(value)
    if not (text.isascii() and text.isprintable()):  # the common case needs no regex
        text = _CONTROL_RE.sub("", text)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def plain_decimal(value: Decimal) -> str:
    """A Decimal as a plain decimal string, never in exponent notation."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class QuotientText:
    """``plain_decimal(Decimal(n) / divisor)`` for many ``n``, without Decimal arithmetic per call.

    When the divisor divides a power of ten (500,000 divides 10**6), ``n / divisor`` is
    ``n * (10**k // divisor)`` shifted k places: exact integer arithmetic, several times
    faster than a Decimal division and format per detail row.  Any other divisor falls
    back to Decimal.
    """

    def __init__(self, divisor: Decimal) -> None:
        self.divisor = divisor
        self.places: int | None = None
        self.factor = 0
        if divisor > 0 and divisor == divisor.to_integral_value():
            d = int(divisor)
            for places in range(31):
                if 10**places % d == 0:
                    self.places, self.factor = places, 10**places // d
                    break

    def __call__(self, n: int) -> str:
        if self.places is None:
            return plain_decimal(Decimal(n) / self.divisor)
        scaled = abs(n) * self.factor
        whole, frac = divmod(scaled, 10**self.places) if self.places else (scaled, 0)
        digits = f"{frac:0{self.places}d}".rstrip("0") if frac else ""
        text = f"{whole}.{digits}" if digits else str(whole)
        return "-" + text if n < 0 and scaled else text


def row_cost(quota: int, quota_per_unit: Decimal) -> Decimal:
    return Decimal(quota) / quota_per_unit


def row_type_label(record_type: int) -> str:
    """The label key of a detail row's type."""
    return "refund" if record_type == LogType.REFUND else "consumption"


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def members(report: Report) -> tuple[Line, ...]:
    """The member lines the documents show (one member when the report is filtered)."""
    if report.member_filter is None:
        return report.members
    return tuple(line for line in report.members if line.name == report.member_filter)


def member_models(report: Report) -> tuple[Line, ...]:
    if report.member_filter is None:
        return report.member_models
    return tuple(line for line in report.member_models if line.name == report.member_filter)


def totals(report: Report) -> Stats:
    """The report's totals, or the filtered member's figures."""
    if report.member_filter is not None:
        for line in report.members:
            if line.name == report.member_filter:
                return line.stats
    return report.totals


def hamilton(amounts: list[Decimal], total_cents: int) -> list[int]:
    """Round ``amounts`` to whole cents so that they add up exactly to ``total_cents``.

    Largest-remainder (Hamilton) method: every amount is first rounded down; the cents
    still missing go, one each, to the amounts with the largest remainders (ties to the
    earlier amount).  Each result is within a cent of its exact amount whenever
    ``total_cents`` is the correctly rounded sum.
    """
    if not amounts:
        return []
    scaled = [a * 100 for a in amounts]
    floors = [int(s.to_integral_value(rounding="ROUND_FLOOR")) for s in scaled]
    missing = total_cents - sum(floors)
    each, extra = divmod(missing, len(amounts))
    order = sorted(range(len(amounts)), key=lambda i: (-(scaled[i] - floors[i]), i))
    result = [f + each for f in floors]
    for i in order[:extra]:
        result[i] += 1
    return result
