"""Migration 6: rollups kept at sync time (snapshots too), and the raw JSON compressed."""

from __future__ import annotations

import contextlib
import sqlite3

from .. import raw, rollups
from .base import script, snapshot_db, tables

# Schema 6: rollups (per source) kept at sync time, and the raw JSON compressed per window.
_SCHEMA6 = raw.TABLE + ";\n" + rollups.TABLES


def to_6(conn: sqlite3.Connection) -> None:
    """Rollups for the live store and every closed snapshot; the raw JSON compressed, ``log_raw`` dropped.

    The live store's rollups are kept in the timezone of its latest closed period (else
    UTC) until the next sync sets the report timezone.  A snapshot gets only its rollup
    tables, rolled up (per source; all ``default`` in one closed before schema 5) in its
    period's timezone: its rows and facts stay as they were closed.  A store holding no
    rows yet has nothing to roll up, and no zone is chosen for it.
    """
    script(conn, _SCHEMA6)
    if "log_raw" in tables(conn):
        last = 0
        while batch := conn.execute(
            "SELECT id, raw FROM log_raw WHERE id > ? ORDER BY id LIMIT 20000", (last,)
        ).fetchall():
            raw.keep_raw(conn, [(int(i), str(text)) for i, text in batch])
            last = int(batch[-1][0])
        conn.execute("DROP TABLE log_raw")
    zone = rollups.DEFAULT_ZONE
    for timezone, snapshot in conn.execute(
        "SELECT timezone, snapshot FROM closures ORDER BY closed_at"
    ).fetchall():
        zone = timezone
        path = snapshot_db(conn, snapshot)
        if path.is_file():
            with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as snap:
                snap.execute("BEGIN IMMEDIATE")
                script(snap, rollups.TABLES)
                rollups.rebuild(snap, timezone)
                snap.execute("COMMIT")
    if conn.execute("SELECT 1 FROM logs UNION ALL SELECT 1 FROM coverage LIMIT 1").fetchone():
        rollups.rebuild(conn, zone)
