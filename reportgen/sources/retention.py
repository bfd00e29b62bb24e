"""How long a log table keeps rows (a ClickHouse ``TTL … DELETE``), and the first second still whole.

new-api creates its ClickHouse logs table with ``TTL toDateTime(created_at) + INTERVAL N DAY
DELETE`` when ``LOG_SQL_CLICKHOUSE_TTL_DAYS`` is set; the server deletes expired rows when it
merges parts, so rows older than the TTL may be gone at any moment.  Pure: a definition in,
a retention out; the cut is a local midnight, so a day is either whole or not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..core.periods import zone_days

#: Rows this close to expiring are treated as gone: a sync reading them may outlast them.
MARGIN_SECONDS = 3600
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}
# `TTL toDateTime(created_at) + INTERVAL 90 DAY` as written, `+ toIntervalDay(90)` as newer servers
# echo it; optionally `DELETE`.  Only a TTL on created_at is understood.
_TTL = re.compile(
    r"\bTTL\s+toDateTime\(\s*`?created_at`?\s*\)\s*\+\s*"
    r"(?:INTERVAL\s+(\d+)\s+(SECOND|MINUTE|HOUR|DAY|WEEK|MONTH|QUARTER|YEAR)S?"
    r"|toInterval(Second|Minute|Hour|Day|Week|Month|Quarter|Year)\(\s*(\d+)\s*\))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Retention:
    """A table keeps rows ``count`` ``unit``\\s after their ``created_at``; ``origin`` says who said so."""

    count: int
    unit: str  # second, minute, hour, day, week, month, quarter, year
    origin: str  # "the table's TTL" or "gateway.log_ttl_days"

    @property
    def text(self) -> str:
        return f"{self.count} {self.unit}{'' if self.count == 1 else 's'}"

    def expired_before(self, now: int) -> int:
        """The oldest ``created_at`` (Unix seconds) a row may have and still be kept at ``now``."""
        if self.unit in _UNITS:
            return now - self.count * _UNITS[self.unit]
        return _add_months(now, -self._months)

    @property
    def _months(self) -> int:
        return self.count * {"month": 1, "quarter": 3, "year": 12}[self.unit]

    def expiry(self, created_at: int) -> int:
        """When a row of ``created_at`` may be deleted (the TTL's ``toDateTime(created_at) + INTERVAL``)."""
        if self.unit in _UNITS:
            return created_at + self.count * _UNITS[self.unit]
        return _add_months(created_at, self._months)

    def whole_since(self, now: int, tz: ZoneInfo) -> int:
        """The first local midnight from which every row is still kept (with :data:`MARGIN_SECONDS`)."""
        oldest = self.expired_before(now) + MARGIN_SECONDS
        days = zone_days(tz, oldest, oldest + 1)
        start = days[0][0]
        return start if start >= oldest else days[0][1]


def _add_months(ts: int, months: int) -> int:
    """``ts`` moved by whole calendar months (UTC), the day clamped to the month's last."""
    at = datetime.fromtimestamp(ts, ZoneInfo("UTC"))
    year, month = divmod(at.year * 12 + at.month - 1 + months, 12)
    day = min(at.day, _days_in(year, month + 1))
    return int(at.replace(year=year, month=month + 1, day=day).timestamp())


def _days_in(year: int, month: int) -> int:
    following = datetime(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def table_retention(definition: str) -> Retention | None:
    """The TTL of a ``CREATE TABLE`` statement, or None when it has none on ``created_at``."""
    match = _TTL.search(definition)
    if match is None:
        return None
    count = match.group(1) or match.group(4)
    unit = match.group(2) or match.group(3)
    return Retention(int(count), unit.lower(), "the table's TTL")


def clip(windows: list[tuple[int, int]], cut: int) -> tuple[list[tuple[int, int]], tuple[int, int] | None]:
    """``windows`` without what lies before ``cut``, and the span left out (None: nothing)."""
    kept = [(max(lo, cut), hi) for lo, hi in windows if hi >= cut]
    gone = [(lo, min(hi, cut - 1)) for lo, hi in windows if lo < cut]
    return kept, (min(g[0] for g in gone), max(g[1] for g in gone)) if gone else None
