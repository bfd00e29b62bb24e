"""Periods: :class:`Period` (a span of local time), which parts of one the store holds (:class:`Coverage`)
and where each part's figures come from (:class:`Part`); ``2026-04``, ``2026-Q2``, ``2026`` or a date range parsed
into a :class:`Period`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..errors import UsageError


@dataclass(frozen=True, slots=True)
class Coverage:
    """Which parts of a period the store holds: ``missing`` are ``[start, end)`` UTC epoch ranges."""

    missing: tuple[tuple[int, int], ...] = ()
    synced_any: bool = True

    @property
    def complete(self) -> bool:
        return not self.missing

    def ranges(self, tz: ZoneInfo) -> tuple[str, ...]:
        """Each missing range in local time: ``2026-04-16 – 2026-04-30`` (days inclusive), or with times."""
        out = []
        for start, end in self.missing:
            a = datetime.fromtimestamp(start, tz)
            b = datetime.fromtimestamp(end, tz)
            if a.time() == b.time() == datetime.min.time():
                last = date.fromordinal(b.date().toordinal() - 1)
                out.append(a.date().isoformat() if last == a.date() else f"{a.date()} – {last}")
            else:
                out.append(f"{a:%Y-%m-%d %H:%M} – {b:%Y-%m-%d %H:%M}")
        return tuple(out)


@dataclass(frozen=True, slots=True)
class Part:
    """A part of a report's period and where its figures come from: live rows, or a closed snapshot."""

    start: datetime
    end: datetime
    closed_label: str | None = None
    revision: int | None = None
    closed_at: datetime | None = None

    @property
    def frozen(self) -> bool:
        return self.revision is not None


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open span of local time ``[start, end)`` cut in a named IANA timezone."""

    label: str
    start: datetime
    end: datetime

    @property
    def timezone(self) -> str:
        return str(self.start.tzinfo)

    @property
    def tz(self) -> ZoneInfo:
        assert isinstance(self.start.tzinfo, ZoneInfo)
        return self.start.tzinfo

    @property
    def start_ts(self) -> int:
        return int(self.start.timestamp())

    @property
    def end_ts(self) -> int:
        """Exclusive end as UTC epoch seconds."""
        return int(self.end.timestamp())

    def contains(self, ts: int) -> bool:
        return self.start_ts <= ts < self.end_ts


_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq](\d+)$")
_YEAR = re.compile(r"^(\d{4})$")


def _local(d: date, tz: ZoneInfo) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=tz)


def _add_months(d: date, months: int) -> date:
    index = d.year * 12 + (d.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def parse_period(text: str, tz: ZoneInfo) -> Period:
    """Parse a month (``2026-04``), quarter (``2026-Q2``) or year (``2026``)."""
    text = text.strip()
    if m := _MONTH.match(text):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise UsageError(f"period {text!r}: month must be 01-12")
        first = date(year, month, 1)
        return Period(f"{year:04d}-{month:02d}", _local(first, tz), _local(_add_months(first, 1), tz))
    if m := _QUARTER.match(text):
        year, quarter = int(m[1]), int(m[2])
        if not 1 <= quarter <= 4:
            raise UsageError(f"period {text!r}: a quarter is Q1, Q2, Q3 or Q4")
        first = date(year, 3 * quarter - 2, 1)
        return Period(f"{year:04d}-Q{quarter}", _local(first, tz), _local(_add_months(first, 3), tz))
    if m := _YEAR.match(text):
        year = int(m[1])
        return Period(f"{year:04d}", _local(date(year, 1, 1), tz), _local(date(year + 1, 1, 1), tz))
    raise UsageError(
        f"period {text!r} is not understood: use a month (2026-04), a quarter (2026-Q2) or a year (2026)"
    )


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            raise UsageError(f"date {text!r} does not exist ({exc})") from None
        raise UsageError(f"date {text!r} is not understood: use YYYY-MM-DD") from None


def date_range_period(start: date, end_inclusive: date, tz: ZoneInfo) -> Period:
    """The period from the start of ``start`` to the end of ``end_inclusive`` (both local days)."""
    if end_inclusive < start:
        raise UsageError(f"--to {end_inclusive} is before --from {start}")
    label = f"{start.isoformat()}_{end_inclusive.isoformat()}"
    return Period(label, _local(start, tz), _local(end_inclusive + timedelta(days=1), tz))


def resolve_period(
    tz: ZoneInfo, period: str | None = None, start: str | None = None, end: str | None = None
) -> Period | None:
    """The period named by ``--period`` or ``--from``/``--to``; None when neither is given."""
    if period and (start or end):
        raise UsageError("give either --period or --from/--to, not both")
    if period:
        return parse_period(period, tz)
    if start or end:
        if not (start and end):
            raise UsageError("--from and --to go together")
        return date_range_period(parse_date(start), parse_date(end), tz)
    return None


def previous_month(now: datetime, tz: ZoneInfo) -> Period:
    local = now.astimezone(tz).date().replace(day=1)
    first = _add_months(local, -1)
    return parse_period(f"{first.year:04d}-{first.month:02d}", tz)


def local_days(period: Period) -> list[tuple[date, int, int]]:
    """Each local day of the period as ``(day, start_ts, end_ts)``, end exclusive.

    Days are cut at local midnight, so a DST change gives a 23- or 25-hour day.
    """
    tz = period.tz
    days = []
    d = period.start.date()
    while True:
        start = _local(d, tz)
        if start >= period.end:
            break
        nxt = d + timedelta(days=1)
        end = min(_local(nxt, tz), period.end)
        days.append((d, int(start.timestamp()), int(end.timestamp())))
        d = nxt
    return days


def zone_days(tz: ZoneInfo, lo: int, hi: int) -> list[tuple[int, int]]:
    """``(start, end)`` of every local day in ``tz`` that touches ``[lo, hi)`` (UTC epoch, end exclusive)."""
    if hi <= lo:
        return []
    first = datetime.fromtimestamp(lo, tz).date()
    last = datetime.fromtimestamp(hi - 1, tz).date()
    return [(start, end) for _, start, end in local_days(date_range_period(first, last, tz))]


def period_args(period: Period) -> str:
    """The command-line options that name ``period`` again: ``--period 2026-04`` or ``--from … --to …``.

    Used in every hint that suggests a command, so the hint parses whatever the label is
    (a project's ``alpha_2026-04`` is not a period name).
    """
    name = period_name(period)
    if name is not None:
        return f"--period {name}"
    last = period.end - timedelta(days=1)
    return f"--from {period.start.date().isoformat()} --to {last.date().isoformat()}"


def period_name(period: Period) -> str | None:
    """The month, quarter or year name of ``period`` (what ``close`` takes), or None for other spans."""
    start = period.start.date()
    if period.start != _local(start, period.tz) or start.day != 1:
        return None
    for months, name in (
        (1, f"{start.year:04d}-{start.month:02d}"),
        (3, f"{start.year:04d}-Q{(start.month + 2) // 3}"),
        (12, f"{start.year:04d}"),
    ):
        if period.end == _local(_add_months(start, months), period.tz):
            candidate = parse_period(name, period.tz)
            if (candidate.start, candidate.end) == (period.start, period.end):
                return name
    return None
