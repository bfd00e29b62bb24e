"""Rollups: each local day's rows grouped by key × model × type × billing source, kept at sync time.

A month's figures read these (days × keys × models) instead of regrouping every row.  A
day's rollup is always *recomputed from that day's rows* whenever a write touches the
day (a replaced window, a snapshot, a migration), never adjusted by deltas, so it equals
the raw grouping by construction; ``rollup_days`` records which days (start and end, UTC
epoch) are rolled up.  Days are local days of one zone, ``meta.rollup_zone`` (the report
timezone of the last sync; a closed snapshot's is its period's): a report in another
zone, a cut day or a DST edge it does not match is grouped from rows instead, and the
next sync in the new zone rebuilds the rollups.  Per-hour or 15-minute rollups would work
for every zone at once, but on a month spread over 50 keys × 12 models they would hold (estimated) 75–90 %
as many rows as the logs themselves, so they would not make a month O(days).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from ..core.periods import date_range_period, local_days

#: The zone rollups are kept in until a sync sets one (meta ``rollup_zone``).
DEFAULT_ZONE = "UTC"

TABLES = """
CREATE TABLE IF NOT EXISTS rollups (
    day INTEGER NOT NULL,
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
    PRIMARY KEY (day, token_name, model_name, type, sub)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_latency (
    day INTEGER NOT NULL,
    token_name TEXT NOT NULL,
    model_name TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (day, token_name, model_name, bucket)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_days (day INTEGER PRIMARY KEY, end_ts INTEGER NOT NULL)
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
    "IFNULL(SUM(http_status >= 200 AND http_status < 400), 0), SUM(has_price = 0), "
    "SUM(quota = 0 AND prompt_tokens + completion_tokens > 0)"
)
SUB_SQL = "IFNULL(billing_source, '') = 'subscription'"
#: The same figures as stored in ``rollups``.
BUCKET_COLUMNS = (
    "rows, quota, prompt_tokens, completion_tokens, status_known, status_ok, no_price, zero_quota"
)


def zone_of(conn: sqlite3.Connection) -> str:
    row = conn.execute("SELECT value FROM meta WHERE key = 'rollup_zone'").fetchone()
    return DEFAULT_ZONE if row is None else str(row[0])


def zone_days(tz: ZoneInfo, lo: int, hi: int) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of every local day in ``tz`` that touches ``[lo, hi)``."""
    if hi <= lo:
        return
    first = datetime.fromtimestamp(lo, tz).date()
    last = datetime.fromtimestamp(hi - 1, tz).date()
    for _, start, end in local_days(date_range_period(first, last, tz)):
        yield start, end


def roll(conn: sqlite3.Connection, lo: int, hi: int) -> None:
    """Recompute the rollups of every day (of the store's zone) that touches ``[lo, hi)``, from its rows."""
    tz = ZoneInfo(zone_of(conn))
    for start, end in zone_days(tz, lo, hi):
        conn.execute("DELETE FROM rollups WHERE day = ?", (start,))
        conn.execute("DELETE FROM rollup_latency WHERE day = ?", (start,))
        conn.execute(
            f"INSERT INTO rollups (day, token_name, model_name, type, sub, {BUCKET_COLUMNS}) "
            f"SELECT ?, token_name, model_name, type, {SUB_SQL}, {SUMS_SQL} FROM logs "
            "WHERE created_at >= ? AND created_at < ? GROUP BY 2, 3, 4, 5",
            (start, start, end),
        )
        conn.execute(
            "INSERT INTO rollup_latency (day, token_name, model_name, bucket, count) "
            f"SELECT ?, token_name, model_name, {LATENCY_BUCKET_SQL}, COUNT(*) FROM logs "
            "WHERE created_at >= ? AND created_at < ? AND type = 2 AND use_time_ms IS NOT NULL GROUP BY 2, 3, 4",
            (start, start, end),
        )
        conn.execute("INSERT OR REPLACE INTO rollup_days (day, end_ts) VALUES (?, ?)", (start, end))


def rebuild(conn: sqlite3.Connection, zone: str) -> None:
    """Drop every rollup and roll up every day holding rows or coverage again, in ``zone``."""
    ZoneInfo(zone)  # a bad name fails before anything is dropped
    for table in ("rollups", "rollup_latency", "rollup_days"):
        conn.execute(f"DELETE FROM {table}")
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('rollup_zone', ?)", (zone,))
    lo, hi = conn.execute(
        "SELECT MIN(lo), MAX(hi) FROM (SELECT MIN(created_at) AS lo, MAX(created_at) + 1 AS hi FROM logs "
        "UNION ALL SELECT MIN(start_ts), MAX(end_ts) + 1 FROM coverage)"
    ).fetchone()
    if lo is not None:
        roll(conn, int(lo), int(hi))
