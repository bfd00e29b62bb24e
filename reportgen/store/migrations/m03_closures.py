"""Migration 3: closures keep every revision; closures, amendments and reconciliations are part of the schema."""

from __future__ import annotations

import sqlite3

from ...errors import StoreError
from .base import columns, script

# Schema 3: closures keep every revision (primary key label + revision) and the tables
# that schema 2 created lazily, on first use, are part of the schema.  (``fingerprint_scheme``
# is schema 4's: migration 4 adds it to a schema-3 table that lacks it.)
_CLOSURES = """
CREATE TABLE IF NOT EXISTS closures (
    label TEXT NOT NULL,
    revision INTEGER NOT NULL,
    start_ts INTEGER NOT NULL,
    end_ts INTEGER NOT NULL,
    timezone TEXT NOT NULL,
    closed_at INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    rows INTEGER NOT NULL,
    status TEXT,
    exchange_rate TEXT,
    exchange_source TEXT NOT NULL,
    exchange_as_of INTEGER,
    members TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    projects TEXT,
    conversions TEXT,
    fingerprint_scheme INTEGER NOT NULL DEFAULT 2,
    PRIMARY KEY (label, revision)
);
CREATE TABLE IF NOT EXISTS amendments (
    id INTEGER PRIMARY KEY,
    label TEXT NOT NULL,
    revision INTEGER NOT NULL,
    detected_at INTEGER NOT NULL,
    sync_id INTEGER,
    rows_then INTEGER NOT NULL,
    rows_now INTEGER NOT NULL,
    rows_added INTEGER NOT NULL,
    rows_removed INTEGER NOT NULL,
    consumed_delta INTEGER NOT NULL,
    refunded_delta INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    applied_at INTEGER
);
CREATE TABLE IF NOT EXISTS reconciliations (
    start_ts INTEGER NOT NULL,
    end_ts INTEGER NOT NULL,
    label TEXT NOT NULL,
    checked_at INTEGER NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (start_ts, end_ts)
)
"""

_CLOSURE_COLUMNS = (
    "label, revision, start_ts, end_ts, timezone, closed_at, fingerprint, rows, status, exchange_rate, "
    "exchange_source, exchange_as_of, members, snapshot, projects, conversions"
)


def to_3(conn: sqlite3.Connection) -> None:
    old = columns(conn, "closures")
    if old and "revision" in old and old.index("revision") != 1:  # schema 2's layout: label alone is the key
        conn.execute("ALTER TABLE closures RENAME TO closures_schema2")
        script(conn, _CLOSURES)
        conversions = "conversions" if "conversions" in old else "NULL"
        projects = "projects" if "projects" in old else "NULL"
        conn.execute(
            f"INSERT INTO closures ({_CLOSURE_COLUMNS}) SELECT label, revision, start_ts, end_ts, timezone, "
            "closed_at, fingerprint, rows, status, exchange_rate, exchange_source, exchange_as_of, members, "
            f"snapshot, {projects}, {conversions} FROM closures_schema2"
        )
        conn.execute("DROP TABLE closures_schema2")
    recon = columns(conn, "reconciliations")
    if recon and recon[:2] != ["start_ts", "end_ts"]:  # pragma: no cover - schema 2 used this layout too
        raise StoreError("reconciliations table of an unknown layout")
    script(conn, _CLOSURES)
