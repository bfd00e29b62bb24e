"""Migration 9: what each window's rows were that the store did not keep as rows."""

from __future__ import annotations

import sqlite3

from .base import script

# Schema 9: per window, the rows the source served but the store did not keep as rows, by
# reason (outside the window, an unreadable time, a repeat), replaced with the window.  A
# window with rows outside the window or of an unreadable time is stored without coverage.
_SCHEMA9 = """
CREATE TABLE IF NOT EXISTS window_findings (
    source TEXT NOT NULL,
    start_ts INTEGER NOT NULL,
    end_ts INTEGER NOT NULL,
    reason TEXT NOT NULL,
    rows INTEGER NOT NULL,
    quota INTEGER NOT NULL,
    example TEXT NOT NULL,
    found_at INTEGER NOT NULL,
    PRIMARY KEY (source, start_ts, reason)
)
"""


def to_9(conn: sqlite3.Connection) -> None:
    script(conn, _SCHEMA9)
