"""What a sync says of a log table that deletes old rows (a ClickHouse TTL) and of rows it cannot tell apart.

The days the TTL already cut are not read (:func:`reportgen.sources.clip`): the period stays
incomplete from the cut date.  Months whose rows the TTL will start deleting within
:data:`EXPIRY_WARNING_DAYS`, and which are not closed yet, are named with the command that
closes them (a closed month keeps its rows in its snapshot, whatever the gateway deletes).
"""

from __future__ import annotations

from datetime import datetime

from ..config import Config
from ..core.periods import parse_period
from ..sources import Retention
from ..store import Reader, closures

#: Months whose first rows expire within this many days are suggested for closing.
EXPIRY_WARNING_DAYS = 14


def expiring_months(store: Reader, kept: Retention, now: int, config: Config) -> tuple[tuple[str, str], ...]:
    """``(label, advice)`` of each ended, unclosed month the TTL starts deleting within the warning days."""
    tz = config.tz
    cut = kept.whole_since(now, tz)
    soon = kept.whole_since(now + EXPIRY_WARNING_DAYS * 86400, tz)
    closed = {c.period.label for c in closures(store)}
    out = []
    at = datetime.fromtimestamp(cut, tz)
    year, month = at.year, at.month
    while True:
        period = parse_period(f"{year:04d}-{month:02d}", tz)
        if period.start_ts >= soon or period.end_ts > now:
            break
        if period.label not in closed:
            first = max(period.start_ts, cut)
            expires = datetime.fromtimestamp(kept.expiry(first), tz)
            out.append(
                (
                    period.label,
                    f"{period.label} is not closed and the log table deletes its rows from {expires:%Y-%m-%d} on "
                    f"({kept.text}, {kept.origin}): close it before then "
                    f"(reportgen month-end --period {period.label})",
                )
            )
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(out)


def retention_notes(
    described: str, kept: Retention | None, expired: tuple[int, int] | None, copies: int, config: Config
) -> list[str]:
    """The sync's words for the days the TTL cut (not read: incomplete from the cut) and for copies."""
    notes = []
    if kept is not None and expired is not None:
        cut = datetime.fromtimestamp(expired[1] + 1, config.tz)
        notes.append(
            f"{described} deletes rows after {kept.text} ({kept.origin}): rows before "
            f"{cut:%Y-%m-%d %H:%M} {config.timezone} may be gone, so "
            f"{datetime.fromtimestamp(expired[0], config.tz):%Y-%m-%d} .. {cut:%Y-%m-%d} was not read and "
            "stays incomplete; close months before their rows expire (reportgen month-end)"
        )
    if copies:
        notes.append(
            f"{copies:,} row{'s' if copies != 1 else ''} repeat the row before them whole (the same "
            "created_at, request_id and every column): kept, as the log table holds them; it keeps no "
            "row id, so an insert the gateway retried looks like two identical requests"
        )
    return notes
