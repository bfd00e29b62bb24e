"""What the migrations share: running a script, a table's columns, the store's tables and snapshots."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..dialect import dialect_of


def script(conn: sqlite3.Connection, sql: str) -> None:
    """Run several statements without ``executescript``, which would commit an open transaction."""
    for statement in sql.split(";\n"):  # statements end a line; a trigger's inner ";" does not
        if statement.strip():
            conn.execute(statement)


def columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return dialect_of(conn).columns(conn, table)


def tables(conn: sqlite3.Connection) -> set[str]:
    return set(dialect_of(conn).tables(conn))


def snapshot_db(conn: sqlite3.Connection, snapshot: str) -> Path:
    """The database of the closed snapshot named ``snapshot`` of the store open on ``conn``."""
    db = Path(next(r[2] for r in conn.execute("PRAGMA database_list") if r[1] == "main"))
    return db.parent / "closed" / snapshot / db.name
