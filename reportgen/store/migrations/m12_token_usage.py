"""Migration 12: each row's token types and pricing inputs, and their day rollup by price."""

from __future__ import annotations

import contextlib
import sqlite3

from ...core.tokens import USAGE_COLUMNS, USAGE_INT_COLUMNS, other_of_raw
from ...core.unitprice import row_usage
from .. import rollups
from ..pricerollup import FIGURES, SIGNATURE
from ..raw import RawLookup
from .base import columns, script, snapshot_db, tables

# The token usage columns added to ``logs`` (see core.tokens.TokenUsage).
_USAGE_DDL = tuple(
    f"ALTER TABLE logs ADD COLUMN {c} {'INTEGER' if c in USAGE_INT_COLUMNS else 'TEXT'}"
    for c in USAGE_COLUMNS
)

# Schema 12: each day's rows grouped by the price they were charged at (see store.pricerollup).
_TABLE = f"""
CREATE TABLE IF NOT EXISTS rollup_prices (
    day INTEGER NOT NULL,
    source TEXT NOT NULL,
    token_name TEXT NOT NULL,
    model_name TEXT NOT NULL,
    type INTEGER NOT NULL,
    sub INTEGER NOT NULL,
    {", ".join(f"{c.strip()} TEXT" for c in SIGNATURE.split(","))},
    {", ".join(f"{c.strip()} INTEGER" for c in FIGURES.split(","))}
);
CREATE INDEX IF NOT EXISTS rollup_prices_day ON rollup_prices (day, source)
"""

_SET = "UPDATE logs SET " + ", ".join(f"{c} = ?" for c in USAGE_COLUMNS) + " WHERE id = ?"


def to_12(conn: sqlite3.Connection) -> None:
    """Token usage columns on ``logs``, read from each stored row's raw JSON, and ``rollup_prices``,
    in the live store and every closed snapshot (its rows' values are read from their own raw JSON)."""
    _migrate(conn)
    if "closures" not in tables(conn):
        return
    for (snapshot,) in conn.execute("SELECT snapshot FROM closures").fetchall():
        path = snapshot_db(conn, snapshot)
        if path.is_file():
            with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as snap:
                snap.execute("BEGIN IMMEDIATE")
                _migrate(snap)
                snap.execute("COMMIT")


def _migrate(conn: sqlite3.Connection) -> None:
    have = set(columns(conn, "logs"))
    for ddl, name in zip(_USAGE_DDL, USAGE_COLUMNS, strict=True):
        if name not in have:
            conn.execute(ddl)
    script(conn, _TABLE)
    raws = RawLookup(conn)
    last = 0
    while batch := conn.execute(
        "SELECT id, prompt_tokens, completion_tokens, quota FROM logs WHERE id > ? ORDER BY id LIMIT 20000",
        (last,),
    ).fetchall():
        updates = []
        for row_id, prompt, completion, quota in batch:
            other, present = other_of_raw(raws[int(row_id)])
            updates.append((*row_usage(other, present, int(prompt), int(completion), int(quota)), row_id))
        conn.executemany(_SET, updates)
        last = int(batch[-1][0])
    if "rollup_days" in tables(conn):
        rollups.roll_prices_again(conn)
