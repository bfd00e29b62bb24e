"""Coverage: the time ranges of each source that the store holds completely, and what its windows left out."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from ..core.findings import WindowFinding
from .connection import DEFAULT_SOURCE, Connected


class CoverageReads(Connected):
    """The completed, merged time ranges of the sources read."""

    def coverage(self) -> list[tuple[int, int]]:
        """Completed, merged time ranges ``(start, end)``, both inclusive, in order.

        With several sources read, a range counts only when every one of them holds it.
        """
        if not self._multi:
            wanted = self._sources is None or DEFAULT_SOURCE in self._sources
            if not wanted:
                return []
            rows = self._conn.execute("SELECT start_ts, end_ts FROM coverage ORDER BY 1")
            return [(int(s), int(e)) for s, e in rows]
        names = self._sources
        if names is None:
            names = tuple(r[0] for r in self._conn.execute("SELECT DISTINCT source FROM coverage ORDER BY 1"))
        out: list[tuple[int, int]] | None = None
        for name in names:
            ranges = [
                (int(s), int(e))
                for s, e in self._conn.execute(
                    "SELECT start_ts, end_ts FROM coverage WHERE source = ? ORDER BY 1", (name,)
                )
            ]
            out = ranges if out is None else _intersect(out, ranges)
        return out or []

    def source_coverage(self, source: str) -> list[tuple[int, int]]:
        """The merged inclusive ranges one source holds."""
        if not self._multi:
            return self.coverage() if source == DEFAULT_SOURCE else []
        return [
            (int(a), int(b))
            for a, b in self._conn.execute(
                "SELECT start_ts, end_ts FROM coverage WHERE source = ? ORDER BY 1", (source,)
            )
        ]

    def window_findings(self, start_ts: int, end_ts: int) -> list[WindowFinding]:
        """The findings of the sources' windows that touch ``[start_ts, end_ts)``: rows served
        but not kept as rows (see :mod:`reportgen.core.findings`), oldest window first."""
        if not self.has_table("window_findings"):  # a snapshot closed before schema 9
            return []
        where, args = self._src()
        rows = self._conn.execute(
            "SELECT start_ts, end_ts, reason, rows, quota, example FROM window_findings "
            f"WHERE start_ts < ? AND end_ts >= ?{where} ORDER BY start_ts, source, reason",
            (end_ts, start_ts, *args),
        )
        return [WindowFinding(int(a), int(b), str(r), int(n), int(q), str(e)) for a, b, r, n, q, e in rows]


def add_coverage(cur: sqlite3.Cursor, start: int, end: int, source: str) -> None:
    """Record ``[start, end]`` of ``source`` as complete, merged with the ranges it touches."""
    near = "source = ? AND start_ts <= ? AND end_ts >= ?"
    rows = cur.execute(
        f"SELECT start_ts, end_ts FROM coverage WHERE {near}", (source, end + 1, start - 1)
    ).fetchall()
    lo = min([start, *(r[0] for r in rows)])
    hi = max([end, *(r[1] for r in rows)])
    cur.execute(f"DELETE FROM coverage WHERE {near}", (source, end + 1, start - 1))
    cur.execute("INSERT INTO coverage (start_ts, end_ts, source) VALUES (?, ?, ?)", (lo, hi, source))


def uncovered(covered: Sequence[tuple[int, int]], start: int, end: int) -> list[tuple[int, int]]:
    """The parts of ``[start, end]`` that the merged, ordered ``covered`` ranges miss (all inclusive)."""
    gaps: list[tuple[int, int]] = []
    cursor = start
    for lo, hi in covered:
        if hi < cursor or lo > end:
            continue
        if lo > cursor:
            gaps.append((cursor, lo - 1))
        cursor = max(cursor, hi + 1)
        if cursor > end:
            break
    if cursor <= end:
        gaps.append((cursor, end))
    return gaps


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The common part of two ordered lists of merged inclusive ranges."""
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out
