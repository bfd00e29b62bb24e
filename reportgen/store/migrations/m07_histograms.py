"""Migration 7: the latency rollup packed per day × key × model, and the credit rows indexed."""

from __future__ import annotations

import contextlib
import sqlite3

from .. import rollups
from .base import script, snapshot_db, tables

# Schema 7: the latency rollup packed into one row per day × source × key × model, and an
# index of the few credit rows (top-ups, admin and system rows) the wallet bridge reads.
_SCHEMA7 = "CREATE INDEX IF NOT EXISTS logs_credit ON logs (created_at) WHERE type IN (1, 3, 4)"


def to_7(conn: sqlite3.Connection) -> None:
    """Pack the latency rollup (``rollup_latency``: one row per bucket) into ``rollup_histograms``,
    in the live store and every closed snapshot (the same counts, regrouped); index credit rows."""
    script(conn, rollups.TABLES)
    _pack_latency(conn)
    script(conn, _SCHEMA7)
    for (snapshot,) in conn.execute("SELECT snapshot FROM closures").fetchall():
        path = snapshot_db(conn, snapshot)
        if path.is_file():
            with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as snap:
                snap.execute("BEGIN IMMEDIATE")
                script(snap, rollups.TABLES)
                _pack_latency(snap)
                snap.execute("COMMIT")


def _pack_latency(conn: sqlite3.Connection) -> None:
    if "rollup_latency" not in tables(conn):
        return
    days = conn.execute("SELECT DISTINCT day, source FROM rollup_latency ORDER BY 1, 2").fetchall()
    for day, source in days:
        counts = conn.execute(
            "SELECT token_name, model_name, bucket, count FROM rollup_latency WHERE day = ? AND source = ? "
            "ORDER BY 1, 2",
            (day, source),
        ).fetchall()
        rollups.save_histograms(conn, day, source, counts)
    conn.execute("DROP TABLE rollup_latency")
