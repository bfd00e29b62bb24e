"""Cells every document writes: untrusted gateway text made safe, local times, exact quotients.

The columns themselves are registered (:mod:`reportgen.core.columns`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from decimal import Decimal

from ..core.money import plain_decimal
from ..core.records import LogType
from ..core.text import UNSAFE_RE, clean_text, shorten

__all__ = [
    "CONTROL_RE",
    "FORMULA_START",
    "LocalTimes",
    "QuotientText",
    "clean_text",
    "csv_text",
    "plain_decimal",
    "row_type_label",
    "shorten",
]

# C0 controls and DEL: XML forbids most of them, and none belongs in a name.
CONTROL_RE = UNSAFE_RE  # controls (C0, DEL, C1) and bidi overrides: see reportgen.core.text
# OWASP CSV injection: a cell starting with one of these may be evaluated as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def csv_text(value: object) -> str:
    """A text field made inert for spreadsheets opening a CSV (OWASP: prefix with ')."""
    if value is None:
        return ""
    text = value if type(value) is str else str(value)
    if not (text.isascii() and text.isprintable()):  # the common case needs no regex
        text = CONTROL_RE.sub("", text)
    if text.startswith(FORMULA_START):
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
