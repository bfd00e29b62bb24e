"""What differs between the store's database engines, in one small object per engine.

The store's SQL is written once, portable (``COALESCE``, ``CASE WHEN … THEN 1 ELSE 0 END``
flags, ``ON CONFLICT … DO UPDATE`` upserts, ``RETURNING``, ``TRUE``/``FALSE``); what
cannot be is a :class:`Dialect` method: the catalog (which tables and columns exist), the
statement that starts a write transaction, a row's canonical line and digest (the content
fingerprint's SQL), a spool table and the database's own integrity check.  A connection
says its dialect by a ``dialect`` attribute; a plain :mod:`sqlite3` connection (the
migrations get one) is SQLite's (:func:`dialect_of`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from ..core.fingerprint import canonical_row


def upsert(table: str, columns: Sequence[str], key: Sequence[str]) -> str:
    """``INSERT`` of one row into ``table`` that replaces the row of the same ``key`` (portable)."""
    names = ", ".join(columns)
    update = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    return (
        f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT ({', '.join(key)}) DO " + (f"UPDATE SET {update}" if update else "NOTHING")
    )


def flag(condition: str) -> str:
    """``condition`` as the integer 1 or 0 (NULL counts as 0), summable on every engine."""
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


class Dialect:
    """The SQL one database engine needs its own way (see the module's docstring)."""

    name = "sqlite"
    #: Starts the one write transaction (taking the write lock at once on SQLite).
    begin_write = "BEGIN IMMEDIATE"
    #: Starts a reader's transaction: every read after it sees one snapshot.
    begin_read = "BEGIN"

    def prepare(self, conn: Any) -> None:
        """Make ``conn`` ready for the store's reads (the digest functions the fingerprint SQL calls)."""
        conn.create_function("rg_sha256", 1, _sha256, deterministic=True)
        conn.create_function("rg_canonical_row", 18, _canonical_row, deterministic=True)

    def tables(self, conn: Any) -> list[str]:
        """The store's tables, in creation order."""
        return [str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]

    def has_table(self, conn: Any, name: str) -> bool:
        return bool(
            conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
        )

    def columns(self, conn: Any, table: str) -> list[str]:
        """``table``'s columns in order (empty: no such table)."""
        return [str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")]

    def spool_ddl(self, conn: Any, columns: str) -> list[str]:
        """The temporary table ``spool`` a window's rows wait in: ``seq`` (the order received),
        the ``logs`` columns ``columns`` and ``raw``."""
        return [f"CREATE TEMP TABLE IF NOT EXISTS spool (seq INTEGER PRIMARY KEY, {columns}, raw)"]

    def find(self, text: str, part: str) -> str:
        """Where ``part`` first occurs in ``text`` (SQL), from 1; 0 when it does not."""
        return f"instr({text}, {part})"

    def line_sql(self, columns: str, no_real: str) -> str:
        """A row's canonical line (:func:`~reportgen.core.fingerprint.canonical_row`) as SQL over
        ``columns``; ``no_real`` is true when no number column holds a REAL, the one value
        ``json_array`` writes otherwise than Python (such a row's line is Python's)."""
        return f"CASE WHEN {no_real} THEN json_array({columns}) ELSE rg_canonical_row({columns}) END"

    def digest_sql(self, line: str) -> str:
        """The SHA-256 of the canonical line ``line`` (SQL), as a 32-byte blob."""
        return f"rg_sha256(CAST({line} AS BLOB))"

    def attach(self, conn: Any, alias: str, where: str) -> None:
        """Name another store ``alias`` in this connection's SQL (``alias.logs``); ``main.`` is this one."""
        conn.execute(f"ATTACH DATABASE ? AS {alias}", (where,))

    def detach(self, conn: Any, alias: str) -> None:
        conn.execute(f"DETACH DATABASE {alias}")

    def has_schema(self, conn: Any, name: str) -> bool:
        """Whether the database holds a schema ``name`` (SQLite keeps one store per file: never)."""
        return False

    def copy_rows(self, conn: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bool:
        """Write ``rows`` (values of ``columns``) into ``table`` in bulk, if the engine has a bulk
        path; False: it has none (SQLite: the caller inserts them)."""
        return False

    def stream(self, conn: Any, sql: str, args: Any) -> Any:
        """A cursor over a long result, fetched in batches (SQLite steps through it as it is read)."""
        return conn.execute(sql, args)

    def fingerprint_sql(self, digests: str) -> str | None:
        """SQL giving the hex fingerprint of the rows' digests ``digests`` (a query of column ``d``)
        in one row, when the engine computes it itself (None: the digests are hashed in Python)."""
        return None

    def integrity(self, conn: Any) -> list[str]:
        """What the engine's own check finds wrong in the database (empty: nothing)."""
        rows = conn.execute("PRAGMA integrity_check(20)").fetchall()
        return [] if [tuple(r) for r in rows] == [("ok",)] else [str(r[0]) for r in rows]


SQLITE = Dialect()


def dialect_of(conn: Any) -> Dialect:
    """The dialect of a store connection (a plain :mod:`sqlite3` connection is SQLite's)."""
    found = getattr(conn, "dialect", None)
    return found if isinstance(found, Dialect) else SQLITE


def _sha256(line: bytes) -> bytes:
    return hashlib.sha256(line).digest()


def _canonical_row(*values: Any) -> str:
    return canonical_row(values)
