"""Migration 5: several sources in one store, and the wallet's tables."""

from __future__ import annotations

import sqlite3

from .base import columns, script

# Schema 5: several sources (gateways, accounts) in one store, and the wallet: balance
# snapshots read at sync time and the gateway's own top-up / redemption records.  Coverage
# and keys are keyed per source.
_SOURCES = """
CREATE TABLE IF NOT EXISTS sources (
    name TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    bound_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS balances (
    source TEXT NOT NULL,
    read_at INTEGER NOT NULL,
    quota INTEGER NOT NULL,
    used_quota INTEGER,
    request_count INTEGER,
    origin TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS wallet_records (
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    ref TEXT NOT NULL,
    at INTEGER NOT NULL,
    quota INTEGER NOT NULL,
    money TEXT,
    detail TEXT NOT NULL,
    PRIMARY KEY (source, kind, ref)
)
"""
_REKEYED = {
    "coverage": """CREATE TABLE coverage (
    start_ts INTEGER NOT NULL,
    end_ts INTEGER NOT NULL,
    source TEXT NOT NULL DEFAULT 'default',
    PRIMARY KEY (source, start_ts)
)""",
    "keys": """CREATE TABLE keys (
    id INTEGER NOT NULL,
    name TEXT NOT NULL,
    status INTEGER NOT NULL,
    used_quota INTEGER NOT NULL,
    remain_quota INTEGER NOT NULL,
    unlimited_quota INTEGER NOT NULL,
    grp TEXT NOT NULL,
    created_time INTEGER NOT NULL,
    accessed_time INTEGER NOT NULL,
    expired_time INTEGER NOT NULL,
    seen_at INTEGER NOT NULL,
    source TEXT NOT NULL DEFAULT 'default',
    PRIMARY KEY (source, id)
)""",
}
_REKEYED_COLUMNS = {
    "coverage": "start_ts, end_ts",
    "keys": "id, name, status, used_quota, remain_quota, unlimited_quota, grp, created_time, accessed_time, "
    "expired_time, seen_at",
}


def to_5(conn: sqlite3.Connection) -> None:
    """Several sources: every row, range and fact carries its source; the store's one account
    becomes the source named ``default``.  Coverage and keys are re-keyed per source."""
    for table in ("logs", "windows", "status_snapshots", "syncs"):
        if "source" not in columns(conn, table):
            conn.execute(f"ALTER TABLE {table} ADD COLUMN source TEXT NOT NULL DEFAULT 'default'")
    for table, ddl in _REKEYED.items():
        if "source" in columns(conn, table):
            continue
        conn.execute(f"ALTER TABLE {table} RENAME TO {table}_schema4")
        conn.execute(ddl)
        kept = _REKEYED_COLUMNS[table]
        conn.execute(f"INSERT INTO {table} ({kept}) SELECT {kept} FROM {table}_schema4")
        conn.execute(f"DROP TABLE {table}_schema4")
    script(conn, _SOURCES)
    account = conn.execute("SELECT value FROM meta WHERE key = 'account'").fetchone()
    if account is not None:
        bound = conn.execute("SELECT COALESCE(MIN(started_at), 0) FROM syncs").fetchone()[0]
        conn.execute("INSERT OR IGNORE INTO sources VALUES ('default', ?, ?)", (account[0], bound))
