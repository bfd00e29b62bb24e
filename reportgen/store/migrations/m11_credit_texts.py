"""Migration 11: the credit rows' texts kept beside their rows, out of the compressed raw blobs."""

from __future__ import annotations

import contextlib
import sqlite3

from ...core.rawjson import raw_content
from .. import raw
from .base import script, snapshot_db
from .m08_credit_index import CREDIT_TYPES_SQL

# Schema 11: the text of every credit row (log types 1, 3, 4: the amount is only there), keyed
# by the row's id and written with it, so the wallet bridge reads a few short strings instead of
# decompressing a whole raw blob per credit row (issue 27: ~53 ms a top-up row at 1M rows).
_SCHEMA11 = "CREATE TABLE IF NOT EXISTS credit_texts (id INTEGER PRIMARY KEY, content TEXT NOT NULL)"


def to_11(conn: sqlite3.Connection) -> None:
    """The credit texts table, filled from the raw blobs, in the live store and every closed
    snapshot (a table beside the frozen rows: their fingerprint does not change)."""
    script(conn, _SCHEMA11)
    fill(conn)
    for (snapshot,) in conn.execute("SELECT snapshot FROM closures").fetchall():
        path = snapshot_db(conn, snapshot)
        if path.is_file():
            with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as snap:
                snap.execute("BEGIN IMMEDIATE")
                script(snap, _SCHEMA11)
                fill(snap)
                snap.execute("COMMIT")


def fill(conn: sqlite3.Connection) -> None:
    """Each credit row's text from its raw JSON (one blob decompressed per blob, not per row)."""
    ids = [int(r[0]) for r in conn.execute(f"SELECT id FROM logs WHERE {CREDIT_TYPES_SQL} ORDER BY id")]
    lookup = raw.RawLookup(conn)
    conn.executemany(
        "INSERT OR REPLACE INTO credit_texts (id, content) VALUES (?, ?)",
        [(i, raw_content(lookup[i])) for i in ids],
    )
