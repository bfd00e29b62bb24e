"""Migration 2: a new store's first tables, as schema 2 created them (schema 1 was never released)."""

from __future__ import annotations

import sqlite3

from .base import script

# Schema 2: rows (with a digest stored at sync time) and their raw JSON, coverage, windows,
# gateway facts and sync runs.  Closures, amendments and reconciliations came lazily, on
# first use (migration 3 makes them part of the schema).
_SCHEMA2 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS logs (
    id INTEGER PRIMARY KEY,
    created_at INTEGER NOT NULL,
    type INTEGER NOT NULL,
    token_name TEXT NOT NULL,
    model_name TEXT NOT NULL,
    quota INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    use_time_ms INTEGER,
    is_stream INTEGER NOT NULL,
    request_id TEXT,
    client TEXT,
    http_status INTEGER,
    billing_source TEXT,
    token_id INTEGER,
    grp TEXT NOT NULL,
    username TEXT NOT NULL,
    channel INTEGER,
    has_price INTEGER NOT NULL,
    digest BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS logs_created_at ON logs (created_at);
CREATE TABLE IF NOT EXISTS log_raw (id INTEGER PRIMARY KEY, raw TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS coverage (
    start_ts INTEGER PRIMARY KEY,
    end_ts INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS windows (
    start_ts INTEGER NOT NULL,
    end_ts INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    pages INTEGER NOT NULL,
    fetched_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS status_snapshots (
    read_at INTEGER NOT NULL,
    quota_per_unit TEXT NOT NULL,
    usd_exchange_rate TEXT,
    quota_display_type TEXT,
    version TEXT
);
CREATE TABLE IF NOT EXISTS keys (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    status INTEGER NOT NULL,
    used_quota INTEGER NOT NULL,
    remain_quota INTEGER NOT NULL,
    unlimited_quota INTEGER NOT NULL,
    grp TEXT NOT NULL,
    created_time INTEGER NOT NULL,
    accessed_time INTEGER NOT NULL,
    expired_time INTEGER NOT NULL,
    seen_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS syncs (
    id INTEGER PRIMARY KEY,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    state TEXT NOT NULL,
    flavor TEXT,
    target_start INTEGER,
    target_end INTEGER,
    windows INTEGER NOT NULL DEFAULT 0,
    rows INTEGER NOT NULL DEFAULT 0,
    pages INTEGER NOT NULL DEFAULT 0,
    message TEXT
)
"""


def to_2(conn: sqlite3.Connection) -> None:
    """A new store: the tables of schema 2."""
    script(conn, _SCHEMA2)
