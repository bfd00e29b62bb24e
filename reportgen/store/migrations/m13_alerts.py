"""Migration 13: the alerts ``reportgen watch`` raised and each delivery of them (sent once)."""

from __future__ import annotations

import sqlite3

from .base import script

# An alert is raised once per identity (rule and subject, e.g. ``budget/alpha/80``) and resolved
# once; raised again after that, it is its next episode; each delivery (the alert, its resolution, or a packet, to one recipient) is claimed in
# a transaction before it is sent and marked sent after, so no run sends one twice.
_TABLES = """
CREATE TABLE IF NOT EXISTS alerts (
    identity TEXT NOT NULL,
    episode INTEGER NOT NULL,
    rule TEXT NOT NULL,
    kind TEXT NOT NULL,
    raised_at INTEGER NOT NULL,
    resolved_at INTEGER,
    facts TEXT NOT NULL,
    PRIMARY KEY (identity, episode)
);
CREATE TABLE IF NOT EXISTS deliveries (
    identity TEXT NOT NULL,
    phase TEXT NOT NULL,
    recipient TEXT NOT NULL,
    state TEXT NOT NULL,
    claimed_at INTEGER NOT NULL,
    holder TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    sent_at INTEGER,
    digest TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (identity, phase, recipient)
)
"""


def to_13(conn: sqlite3.Connection) -> None:
    script(conn, _TABLES)
