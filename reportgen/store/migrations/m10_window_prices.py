"""Migration 10: each window priced by the ``/api/status`` that held when it was synced."""

from __future__ import annotations

import sqlite3

from .base import columns, script

# Schema 10: the status (quota per unit, exchange rate) each window of each source is priced
# by, replaced with the window; an amendment may record a closed period re-priced.
_SCHEMA10 = """
CREATE TABLE IF NOT EXISTS window_prices (
    source TEXT NOT NULL,
    start_ts INTEGER NOT NULL,
    end_ts INTEGER NOT NULL,
    read_at INTEGER NOT NULL,
    quota_per_unit TEXT NOT NULL,
    usd_exchange_rate TEXT,
    quota_display_type TEXT,
    version TEXT,
    PRIMARY KEY (source, start_ts)
)
"""


def to_10(conn: sqlite3.Connection) -> None:
    """Window prices; what the store held so far is priced as it was shown until now: each source's
    covered ranges at its newest status."""
    script(conn, _SCHEMA10)
    for name in ("quota_per_unit", "usd_exchange_rate"):
        if name not in columns(conn, "amendments"):
            conn.execute(f"ALTER TABLE amendments ADD COLUMN {name} TEXT")
    conn.execute(
        "INSERT OR IGNORE INTO window_prices SELECT c.source, c.start_ts, c.end_ts, s.read_at, s.quota_per_unit, "
        "s.usd_exchange_rate, s.quota_display_type, s.version FROM coverage c JOIN status_snapshots s "
        "ON s.rowid = (SELECT rowid FROM status_snapshots t WHERE t.source = c.source "
        "ORDER BY read_at DESC, rowid DESC LIMIT 1)"
    )
