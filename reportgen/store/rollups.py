"""Rollups: each source's local days grouped by key × model × type × billing source, kept at sync time.

A month's figures read these (days × sources × keys × models) instead of regrouping every
row.  A source's day is always *recomputed from that source's rows of the day* whenever a
write of that source touches the day (a replaced window, a snapshot, a migration), never
adjusted by deltas, so it equals the raw grouping by construction (the latency cells of a
day a window holds whole are counted from those very rows as they are written:
:class:`LatencyCounts`); ``rollup_days`` records which days (start and end, UTC epoch) of
which source are rolled up.  Rollups keep the source and the bare key name, so a read
names keys and filters sources exactly as it does on rows (``SOURCE:NAME`` for keys of
sources other than ``default``).  Days are local days of one zone, ``meta.rollup_zone``
(the report timezone of the last sync; a closed snapshot's is its period's): a report in
another zone, a cut day or a DST edge it does not match is grouped from rows instead, and
the next sync in the new zone rebuilds the rollups.
Per-hour or 15-minute rollups would work for every zone at once, but on a month spread over
50 keys × 12 models they would hold (estimated) 75–90 % as many rows as the logs
themselves, so they would not make a month O(days).
"""

from __future__ import annotations

import bisect
import itertools
import json
import operator
import sqlite3
import struct
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from ..core.aggregate import latency_bucket
from ..core.periods import zone_days
from .connection import DEFAULT_SOURCE
from .dialect import dialect_of, flag, upsert
from .facts import FactReads
from .pricerollup import roll_prices

#: The zone rollups are kept in until a sync sets one (meta ``rollup_zone``).
DEFAULT_ZONE = "UTC"

TABLES = """
CREATE TABLE IF NOT EXISTS rollups (
    day INTEGER NOT NULL,
    source TEXT NOT NULL,
    token_name TEXT NOT NULL,
    model_name TEXT NOT NULL,
    type INTEGER NOT NULL,
    sub INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    quota INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    status_known INTEGER NOT NULL,
    status_ok INTEGER NOT NULL,
    no_price INTEGER NOT NULL,
    zero_quota INTEGER NOT NULL,
    PRIMARY KEY (day, source, token_name, model_name, type, sub)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_histograms (
    day INTEGER NOT NULL,
    source TEXT NOT NULL,
    token_name TEXT NOT NULL,
    model_name TEXT NOT NULL,
    dense BLOB NOT NULL,
    tail TEXT,
    PRIMARY KEY (day, source, token_name, model_name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_days (
    day INTEGER NOT NULL,
    source TEXT NOT NULL,
    end_ts INTEGER NOT NULL,
    PRIMARY KEY (day, source)
) WITHOUT ROWID
"""

# The same rounding as reportgen.core.aggregate.latency_bucket, done close to the data.
LATENCY_BUCKET_SQL = (
    "CASE WHEN use_time_ms < 1000 THEN use_time_ms / 10 * 10 "
    "WHEN use_time_ms < 10000 THEN use_time_ms / 100 * 100 "
    "WHEN use_time_ms < 60000 THEN use_time_ms / 1000 * 1000 "
    "ELSE use_time_ms / 10000 * 10000 END"
)
#: The figures of a Bucket, in its order, summed over rows (``logs`` columns).
SUMS_SQL = (
    "COUNT(*), SUM(quota), SUM(prompt_tokens), SUM(completion_tokens), COUNT(http_status), "
    f"SUM({flag('http_status >= 200 AND http_status < 400')}), SUM({flag('has_price = 0')}), "
    f"SUM({flag('quota = 0 AND prompt_tokens + completion_tokens > 0')})"
)
SUB_SQL = flag("COALESCE(billing_source, '') = 'subscription'")
#: The same figures as stored in ``rollups``.
BUCKET_COLUMNS = (
    "rows, quota, prompt_tokens, completion_tokens, status_known, status_ok, no_price, zero_quota"
)


# -- latency histograms, one packed row per day × source × key × model (schema 7) ---------------
#
# The latency buckets of ``LATENCY_BUCKET_SQL`` from 0 to 1 hour have 594 positions: 10 ms
# steps under 1 s (0-99), 100 ms under 10 s (100-189), 1 s under 60 s (190-239), 10 s under
# 1 h (240-593).  A histogram's ``dense`` column holds its counts there as little-endian
# 64-bit integers, zlib-compressed; ``tail`` the other buckets (1 h and more, or negative)
# as JSON ``{"bucket_ms": count}`` (NULL when none).  Read as one Python int, the dense part
# of several histograms sums with one integer addition each: no field can carry into the
# next (a count never reaches 2**64).
_STEPS = ((0, 1000, 10, 0), (1000, 10000, 100, 100), (10000, 60000, 1000, 190), (60000, 3600000, 10000, 240))


def _position(bucket_ms: int) -> int | None:
    for lo, hi, step, first in _STEPS:
        if lo <= bucket_ms < hi:
            return first + (bucket_ms - lo) // step
    return None


_BUCKET_AT = [
    lo + (i - first) * step for lo, hi, step, first in _STEPS for i in range(first, first + (hi - lo) // step)
]


#: The position of every bucket of the dense part (the buckets SQL writes hit it exactly).
_POSITION = {bucket_ms: at for at, bucket_ms in enumerate(_BUCKET_AT)}


def pack(counts: Iterable[tuple[int, int]]) -> tuple[bytes, str | None]:
    """``(dense, tail)`` of a histogram given as ``(bucket_ms, count)`` pairs."""
    histogram = _Histogram()
    for bucket_ms, count in counts:
        histogram.add(bucket_ms, count)
    return histogram.packed()


class _Histogram:
    """Counts by bucket while they are added: a cell per dense position, a dict for the tail."""

    __slots__ = ("cells", "tail", "top")

    def __init__(self) -> None:
        self.cells = [0] * len(_BUCKET_AT)
        self.top = -1
        self.tail: dict[int, int] = {}

    def add(self, bucket_ms: int, count: int) -> None:
        at = _POSITION.get(bucket_ms)
        if at is None:
            at = _position(bucket_ms)
        if at is None:
            self.tail[bucket_ms] = self.tail.get(bucket_ms, 0) + count
        else:
            self.cells[at] += count
            if at > self.top:
                self.top = at

    def packed(self) -> tuple[bytes, str | None]:
        size = self.top + 1
        text = json.dumps({str(b): n for b, n in sorted(self.tail.items())}) if self.tail else None
        return _compress(struct.pack(f"<{size}Q", *self.cells[:size])), text


def _compress(data: bytes) -> bytes:
    """zlib with a 512-byte window and the smallest state: a histogram is at most 4.7 KB, and
    ``zlib.compress``'s default state costs ~60 µs to set up for each of a month's ~20k
    histograms (this, ~13 µs, compresses as well); ``zlib.decompress`` reads either."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 9, 1)
    return packer.compress(data) + packer.flush()


def dense_value(dense: bytes) -> int:
    """A packed histogram's dense part as one int (sums of these are the summed histogram)."""
    return int.from_bytes(zlib.decompress(dense), "little")


def add_tail(into: dict[int, int], tail: str | None) -> None:
    if tail:
        for bucket_ms, count in json.loads(tail).items():
            into[int(bucket_ms)] = into.get(int(bucket_ms), 0) + count


def unpack(value: int, tail: dict[int, int]) -> dict[int, int]:
    """``{bucket_ms: count}`` of a summed dense value and its summed tail."""
    size = (value.bit_length() + 63) // 64
    counts = struct.unpack(f"<{size}Q", value.to_bytes(size * 8, "little"))
    out = {_BUCKET_AT[at]: n for at, n in enumerate(counts) if n}
    for bucket_ms, n in tail.items():
        out[bucket_ms] = out.get(bucket_ms, 0) + n
    return out


def zone_of(conn: sqlite3.Connection) -> str:
    row = conn.execute("SELECT value FROM meta WHERE key = 'rollup_zone'").fetchone()
    return DEFAULT_ZONE if row is None else str(row[0])


def _has_source(conn: sqlite3.Connection, table: str) -> bool:
    """Whether ``table`` has a ``source`` column (a snapshot closed before sources existed has none)."""
    return "source" in dialect_of(conn).columns(conn, table)


#: The cells of a day's latency histograms: ``(key, model, bucket_ms) -> rows``.
Cells = Counter[tuple[str, str, int]]


def _has_prices(conn: sqlite3.Connection) -> bool:
    """Whether the store keeps the price rollup (schema 12; the migrations before it roll up without)."""
    return dialect_of(conn).has_table(conn, "rollup_prices")


def roll(
    conn: sqlite3.Connection,
    lo: int,
    hi: int,
    source: str = DEFAULT_SOURCE,
    counted: Mapping[int, Cells] | None = None,
) -> None:
    """Recompute ``source``'s rollups of every day (of the store's zone) that touches ``[lo, hi)``, from its rows.

    ``counted`` gives the latency cells of days already counted from all of their rows as
    they were written (:class:`LatencyCounts`), so those are not read back.
    """
    tz = ZoneInfo(zone_of(conn))
    if _has_source(conn, "logs"):
        where, args = " AND source = ?", [source]
    else:  # every row is the default source's
        where, args = ("", []) if source == DEFAULT_SOURCE else (" AND FALSE", [])
    prices = _has_prices(conn)
    for start, end in zone_days(tz, lo, hi):
        conn.execute("DELETE FROM rollups WHERE day = ? AND source = ?", (start, source))
        conn.execute("DELETE FROM rollup_histograms WHERE day = ? AND source = ?", (start, source))
        conn.execute(
            f"INSERT INTO rollups (day, source, token_name, model_name, type, sub, {BUCKET_COLUMNS}) "
            f"SELECT ?, ?, token_name, model_name, type, {SUB_SQL}, {SUMS_SQL} FROM logs "
            f"WHERE created_at >= ? AND created_at < ?{where} GROUP BY 3, 4, 5, 6",
            (start, source, start, end, *args),
        )
        cells = None if counted is None else counted.get(start)
        if cells is None:
            counts: Iterable[tuple[str, str, int, int]] = conn.execute(
                f"SELECT token_name, model_name, {LATENCY_BUCKET_SQL}, COUNT(*) FROM logs "
                f"WHERE created_at >= ? AND created_at < ? AND type = 2 AND use_time_ms IS NOT NULL{where} "
                "GROUP BY 1, 2, 3",
                (start, end, *args),
            ).fetchall()
        else:
            counts = ((key, model, bucket_ms, n) for (key, model, bucket_ms), n in cells.items())
        save_histograms(conn, start, source, counts)
        if prices:
            roll_prices(conn, start, end, source, where, args)
        conn.execute(
            upsert("rollup_days", ("day", "source", "end_ts"), ("day", "source")), (start, source, end)
        )


class LatencyCounts:
    """The latency cells of the rows a window writes, for each local day (of the store's zone)
    the window holds whole.

    A window replaces all of its source's rows in its range, so the rows it writes into a day
    it holds whole are all of that source's rows of the day: their cells are what
    :func:`roll` would group from the day's rows (``LATENCY_BUCKET_SQL`` is
    :func:`~reportgen.core.aggregate.latency_bucket`), counted as they pass at C speed
    (``Counter`` over the columns) instead of read back (~40 ms a day of 32k rows).
    """

    def __init__(self, conn: sqlite3.Connection, start: int, end: int) -> None:
        """For the window ``[start, end]`` (inclusive) of a store."""
        tz = ZoneInfo(zone_of(conn))
        self._days = [(a, b) for a, b in zone_days(tz, start, end + 1) if start <= a and b <= end + 1]
        #: Each whole day's cells, by the day's start.
        self.days: dict[int, Cells] = {a: Counter() for a, _ in self._days}
        self._buckets: dict[int, int] = {}

    def add(
        self,
        stamps: Sequence[int],
        types: Sequence[int],
        keys: Sequence[str],
        models: Sequence[str],
        use_ms: Sequence[int | None],
    ) -> None:
        """Count rows written (columns, ordered by time)."""
        if not stamps:
            return
        n = len(stamps)
        for day, end in self._days:
            if end <= stamps[0] or day > stamps[-1]:
                continue
            i, j = bisect.bisect_left(stamps, day), bisect.bisect_left(stamps, end)
            if (i, j) == (0, n):
                self._count(self.days[day], types, keys, models, use_ms)
            elif i < j:
                self._count(self.days[day], types[i:j], keys[i:j], models[i:j], use_ms[i:j])

    def _count(self, cells: Cells, types: Sequence[int], keys: Sequence[str], models: Sequence[str],
               use_ms: Sequence[Any]) -> None:  # fmt: skip
        buckets = self._buckets
        if len(buckets) > 100_000:  # latencies in ms from float seconds: keep the memo bounded
            buckets.clear()
        for ms in set(use_ms).difference(buckets):
            if ms is not None:
                buckets[ms] = latency_bucket(ms)
        counted = map(
            operator.and_, map(operator.eq, types, itertools.repeat(2)), map(operator.is_not, use_ms, itertools.repeat(None))
        )  # fmt: skip
        bucket_of: Callable[[Any], Any] = buckets.get  # None where the row is not counted
        cells.update(itertools.compress(zip(keys, models, map(bucket_of, use_ms), strict=True), counted))


def rebuild(conn: sqlite3.Connection, zone: str) -> None:
    """Drop every rollup and roll up, source by source, every day holding its rows or coverage again, in ``zone``."""
    ZoneInfo(zone)  # a bad name fails before anything is dropped
    for table in (
        "rollups",
        "rollup_histograms",
        "rollup_days",
        *(("rollup_prices",) if _has_prices(conn) else ()),
    ):
        conn.execute(f"DELETE FROM {table}")
    conn.execute(upsert("meta", ("key", "value"), ("key",)), ("rollup_zone", zone))
    spans: dict[str, tuple[int, int]] = {}
    logs = "source" if _has_source(conn, "logs") else f"'{DEFAULT_SOURCE}'"
    coverage = "source" if _has_source(conn, "coverage") else f"'{DEFAULT_SOURCE}'"
    for source, lo, hi in conn.execute(
        f"SELECT {logs}, MIN(created_at), MAX(created_at) + 1 FROM logs GROUP BY 1 "
        f"UNION ALL SELECT {coverage}, MIN(start_ts), MAX(end_ts) + 1 FROM coverage GROUP BY 1"
    ).fetchall():
        if lo is None:
            continue
        old = spans.get(str(source))
        spans[str(source)] = (
            (int(lo), int(hi)) if old is None else (min(old[0], int(lo)), max(old[1], int(hi)))
        )
    for source, (lo, hi) in sorted(spans.items()):
        roll(conn, lo, hi, source)


def roll_prices_again(conn: sqlite3.Connection) -> None:
    """Recompute the price rollup of every rolled-up day, from its rows (migration 12)."""
    has_source = _has_source(conn, "logs")
    for day, source, end in conn.execute("SELECT day, source, end_ts FROM rollup_days").fetchall():
        if has_source:
            where, args = " AND source = ?", [source]
        else:
            where, args = ("", []) if source == DEFAULT_SOURCE else (" AND FALSE", [])
        roll_prices(conn, int(day), int(end), str(source), where, args)


def save_histograms(
    conn: sqlite3.Connection, day: int, source: str, counts: Iterable[tuple[str, str, int, int]]
) -> None:
    """Write one day's histograms from ``(key, model, bucket_ms, count)`` cells, in any order."""
    histograms: dict[tuple[str, str], _Histogram] = {}
    get = histograms.get
    for key, model, bucket_ms, count in counts:  # one pass: a month has ~450k such cells
        histogram = get((key, model))
        if histogram is None:
            histogram = histograms[(key, model)] = _Histogram()
        histogram.add(bucket_ms, count)
    conn.executemany(
        "INSERT INTO rollup_histograms (day, source, token_name, model_name, dense, tail) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (day, source, key, model, *h.packed())
            for (key, model), h in sorted(histograms.items(), key=_first)
        ],
    )


_first = operator.itemgetter(0)


class RollupWrites(FactReads):
    """Choosing the zone whose local days are rolled up."""

    def set_rollup_zone(self, zone: str) -> bool:
        """Keep rollups per local day of ``zone`` (the report timezone); rebuild them when it changed.

        Returns True when they were rebuilt (every stored row regrouped once).
        """
        if self.get_meta("rollup_zone") == zone:
            return False
        with self._transaction():
            rebuild(self._conn, zone)
        return True
