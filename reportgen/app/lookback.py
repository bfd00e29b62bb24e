"""The windows a sync reads again for rows the gateway logged late.

A gateway logs a row when a request settles, which can be minutes or days after the
``created_at`` it carries (a long video task, a refund, a retried billing); a sync that
has read a window never reads it again by itself.  So a sync without a period (cron's)
reads again the last ``[sync] lookback_days`` before the newest window it holds, and every
closed period that ended within ``closed_horizon_days`` of now: rows found there for a
closed period become an amendment, named by the sync.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from ..config import Config
from ..core.periods import zone_days
from ..store import Store, closures, uncovered

DAY = 86400
#: Each sync of a source with real row ids (the database) compares the ids of the last this
#: many seconds it holds with the source's, and reads that range again when they differ:
#: a row committed up to this long (plus the safety margin) after its ``created_at`` is
#: still caught.  An older late row is found by :func:`look_back_spans`.
LOOKBACK_SECONDS = 3600


_UTC = ZoneInfo("UTC")


def plan_windows(
    start: int, end: int, covered: list[tuple[int, int]], refetch: bool = False, tz: ZoneInfo = _UTC
) -> tuple[list[tuple[int, int]], int]:
    """The inclusive windows to fetch so that ``[start, end]`` is covered, and how many days are skipped.

    Consecutive windows are ``[a, b-1]``, ``[b, c-1]``: inclusive bounds never count a row
    twice.  Windows are cut at the local midnights of ``tz`` and never exceed a local day:
    with the report timezone, which the store rolls up days in, each window's close rolls
    up whole days, each once (cut at UTC midnights, a day of UTC+8 was rolled up twice,
    from its first hours and then whole).  A DST change gives a 23- or 25-hour window.
    """
    if end < start:
        return [], 0
    gaps = [(start, end)] if refetch else uncovered(covered, start, end)
    windows: list[tuple[int, int]] = []
    days: set[int] = set()
    for lo, hi in gaps:
        for day, day_end in zone_days(tz, lo, hi + 1):
            windows.append((max(lo, day), min(hi, day_end - 1)))
            days.add(day)
    skipped = len(zone_days(tz, start, end + 1)) - len(days)
    return windows, max(0, skipped)


def reread_windows(
    store: Store, client: Any, name: str, planned: list[tuple[int, int]], tz: ZoneInfo
) -> list[tuple[int, int]]:
    """The windows to read again because the source now holds other rows there than the store.

    Only a source that knows its rows' real ids (the database: ``window_ids``) is checked,
    over the last :data:`LOOKBACK_SECONDS` the store holds of it: a row committed after
    its window was read (its ``created_at`` older than the commit) shows as an id the
    store lacks.  The range is then replaced atomically like any window.
    """
    window_ids = getattr(client, "window_ids", None)
    covered = store.source_coverage(name)
    if window_ids is None or not covered:
        return []
    end = covered[-1][1]
    start = max(covered[-1][0], end - LOOKBACK_SECONDS + 1)
    if any(lo <= end and hi >= start for lo, hi in planned):  # read again anyway (--refetch)
        return []
    if window_ids(start, end) == store.gateway_ids(start, end, name):
        return []
    return plan_windows(start, end, [], refetch=True, tz=tz)[0]


def late_windows(
    store: Store, config: Config, source: str, now: int, planned: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """The windows of :func:`look_back_spans`, cut like any (a local day at most)."""
    spans = look_back_spans(store, config, source, now, planned)
    return [w for lo, hi in spans for w in plan_windows(lo, hi, [], refetch=True, tz=config.tz)[0]]


def look_back_spans(
    store: Store, config: Config, source: str, now: int, planned: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Inclusive ``[lo, hi]`` spans to read again for ``source``, merged, oldest first, outside
    ``planned`` (what the sync reads anyway)."""
    covered = store.source_coverage(source)
    spans: list[tuple[int, int]] = []
    if covered and config.lookback_days:
        newest = covered[-1][1]
        spans.append((max(covered[-1][0], newest - config.lookback_days * DAY + 1), newest))
    if config.closed_horizon_days:
        horizon = now - config.closed_horizon_days * DAY
        spans += [
            (c.period.start_ts, c.period.end_ts - 1)
            for c in closures(store)
            if c.period.end_ts >= horizon and _held(covered, c.period.start_ts, c.period.end_ts - 1)
        ]
    return [gap for lo, hi in _merged(spans) for gap in uncovered(sorted(planned), lo, hi)]


def _held(covered: list[tuple[int, int]], lo: int, hi: int) -> bool:
    """Whether the store holds any of ``[lo, hi]`` for the source (a closed period of another)."""
    return any(a <= hi and b >= lo for a, b in covered)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(hi, out[-1][1]))
        else:
            out.append((lo, hi))
    return out
