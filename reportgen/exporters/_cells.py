"""Making untrusted gateway text safe for documents, and the report views every exporter shares."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal

from ..core.money import cents, plain_decimal
from ..core.records import LogType
from ..core.report import Report
from ..core.stats import Line, Stats
from ..core.text import UNSAFE_RE, clean_text, shorten

__all__ = [
    "DETAIL_COLUMNS",
    "STATS_COLUMNS",
    "LocalTimes",
    "QuotientText",
    "banner_lines",
    "cents",
    "claim_cny",
    "clean_text",
    "csv_text",
    "member_models",
    "members",
    "plain_decimal",
    "row_type_label",
    "shorten",
    "source_cny",
    "totals",
]

# C0 controls and DEL: XML forbids most of them, and none belongs in a name.
_CONTROL_RE = UNSAFE_RE  # controls (C0, DEL, C1) and bidi overrides: see reportgen.core.text
# OWASP CSV injection: a cell starting with one of these may be evaluated as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


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


_EPOCH = datetime(1970, 1, 1)


class LocalTimes:
    """Local times of epoch seconds in ``tz``, by the UTC offset cached per UTC hour.

    The same text as ``datetime.fromtimestamp(ts, tz).isoformat()`` at a fraction of the
    cost; an hour in which the offset changes (a DST switch) is converted row by row.
    """

    def __init__(self, tz: tzinfo) -> None:
        self._tz = tz
        self._hours: dict[int, tuple[int, str] | None] = {}
        self._minutes: dict[int, str] = {}
        self._dates: dict[int, str] = {}

    def _hour(self, hour: int) -> tuple[int, str] | None:
        first = datetime.fromtimestamp(hour * 3600, self._tz)
        last = datetime.fromtimestamp(hour * 3600 + 3599, self._tz)
        offset = first.utcoffset()
        if offset is None or offset != last.utcoffset():
            return None
        return int(offset.total_seconds()), first.isoformat()[19:]

    def _offset(self, ts: int) -> tuple[int, str] | None:
        hour = ts // 3600
        try:
            return self._hours[hour]
        except KeyError:
            entry = self._hours[hour] = self._hour(hour)
            return entry

    def iso(self, ts: int) -> str:
        """``datetime.fromtimestamp(ts, tz).isoformat()``."""
        entry = self._offset(ts)
        if entry is None:
            return datetime.fromtimestamp(ts, self._tz).isoformat()
        local = ts + entry[0]
        minute = local // 60
        prefix = self._minutes.get(minute)
        if prefix is None:
            if len(self._minutes) > 1000:  # rows come in time order: recent minutes are enough
                self._minutes.clear()
            day, in_day = divmod(minute, 1440)
            date_text = self._dates.get(day)
            if date_text is None:  # strftime once per day, not once per minute
                date_text = self._dates[day] = (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%dT")
            prefix = self._minutes[minute] = f"{date_text}{in_day // 60:02d}:{in_day % 60:02d}:"
        return f"{prefix}{local % 60:02d}{entry[1]}"

    def naive(self, ts: int) -> datetime:
        """``datetime.fromtimestamp(ts, tz)`` without its tzinfo (what a spreadsheet cell holds)."""
        entry = self._offset(ts)
        if entry is None:
            return datetime.fromtimestamp(ts, self._tz).replace(tzinfo=None)
        return _EPOCH + timedelta(seconds=ts + entry[0])


def row_type_label(record_type: int) -> str:
    """The label key of a detail row's type."""
    return "refund" if record_type == LogType.REFUND else "consumption"


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


def source_cny(report: Report) -> list[tuple[str, Decimal, Decimal]]:
    """``(source, rate, exact CNY)`` of each source's part of the totals, when the sources convert
    at different rates (their sum is the CNY total exactly); empty otherwise or without every rate."""
    if not report.source_rates or any(e.rate is None for _, e in report.source_rates):
        return []
    keys = report.member_keys(report.member_filter) if report.member_filter is not None else None
    usd = {name: Decimal(0) for name, _ in report.source_rates}
    for line in report.keys:
        if keys is None or line.name in keys:
            usd[report.source_of(line.name)] += line.stats.cost_usd
    return [(name, e.rate, usd[name] * e.rate) for name, e in report.source_rates if e.rate is not None]


def banner_lines(report: Report, label: Callable[..., str]) -> list[str]:
    """What every document says above its figures: INCOMPLETE when parts were never synced,
    and which parts are frozen closed snapshots when some are (``label(key, **values)``)."""
    p = report.period
    out = []
    if not report.coverage.complete:
        out.append(label("incomplete", ranges=", ".join(report.coverage.ranges(p.tz))))
    if any(part.frozen for part in report.basis):
        day = "%Y-%m-%d"
        parts = []
        for part in report.basis:
            last = part.end - timedelta(days=1)
            if part.frozen:
                parts.append(
                    label(
                        "basis_frozen",
                        start=part.start.strftime(day),
                        end=last.strftime(day),
                        label=part.closed_label,
                        revision=part.revision,
                    )
                )
            else:
                parts.append(label("basis_live", start=part.start.strftime(day), end=last.strftime(day)))
        out.append(label("basis", parts="; ".join(parts)))
    return out


def claim_cny(report: Report) -> Decimal | None:
    """The CNY amount a claim form is for, rounded half-up to the cent; None without a CNY rate.

    The same figure the statement prints as its CNY total: the exact USD total (a grant's
    charged total) times the rate, rounded once.
    """
    if report.grant is not None:
        lines = report.grant.lines
        if report.grant.project.currency == "CNY":
            return cents(sum((line.cost for line in lines), Decimal(0)))
        usd = sum((line.cost_usd for line in lines), Decimal(0))
        cny = report.cny(usd)
    else:
        cny = report.cny_of(totals(report))  # each source's part at its own rate when they differ
    return None if cny is None else cents(cny)
