"""The store on PostgreSQL (``[store] dsn``): its dialect, its connection, its lock.

The store's SQL is shared with SQLite (:mod:`.dialect`); :class:`PgConnection` only changes
how it travels: ``?`` placeholders become psycopg's ``%s``, ``temp.`` names PostgreSQL's
``pg_temp.``, and the DDL a migration runs gets PostgreSQL's types (:func:`ddl`).  Sums of
integers come back as ``int`` (PostgreSQL's ``SUM(bigint)`` is a ``numeric``), so every
figure is the same Python value as on SQLite.  Text columns use the ``"C"`` collation, so
``ORDER BY`` sorts names byte for byte as SQLite does, whatever the server's locale.

The write lock is a session advisory lock held on a connection of its own
(:func:`advisory_lock`): the server releases it when the process dies, so a crashed sync
never leaves a stale lock.  The password comes only from ``REPORTGEN_STORE_PASSWORD``
and no message shows it.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, cast

from ..core.storeserver import StoreServer
from ..errors import StoreError, SyncLockedError
from .dialect import Dialect

#: libpq's "idle in a transaction block" (psycopg.pq.TransactionStatus.INTRANS).
_IN_TRANSACTION = 2
_streams = itertools.count(1)

#: The key of the store's write lock (sync, close, reconcile, packet issue), per database.
LOCK_SQL = "hashtextextended('reportgen-sync:' || current_database(), 0)"


class PostgresDialect(Dialect):
    """PostgreSQL's catalog, transactions and fingerprint SQL (see :mod:`.dialect`)."""

    name = "postgresql"
    begin_write = "BEGIN"
    # One snapshot for every read of a view, and a reader never writes.
    begin_read = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"

    def prepare(self, conn: Any) -> None:
        """Nothing: the fingerprint is built-in SQL on PostgreSQL."""

    def tables(self, conn: Any) -> list[str]:
        return [
            str(r[0])
            for r in conn.execute(
                "SELECT c.relname FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) "
                "AND c.relkind IN ('r', 'p') ORDER BY c.oid"
            )
        ]

    def has_table(self, conn: Any, name: str) -> bool:
        return name in self.tables(conn)

    def columns(self, conn: Any, table: str) -> list[str]:
        return [
            str(r[0])
            for r in conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(?) AND attnum > 0 "
                "AND NOT attisdropped ORDER BY attnum",
                (table,),
            )
        ]

    def spool_ddl(self, conn: Any, columns: str) -> list[str]:
        """The spool's columns typed as in ``logs`` (PostgreSQL types every column), ``seq`` an identity."""
        types = dict(
            conn.execute(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = 'logs'::regclass AND attnum > 0 AND NOT attisdropped"
            ).fetchall()
        )
        typed = ", ".join(f"{c} {types[c]}" for c in (c.strip() for c in columns.split(",")))
        return [
            f"CREATE TEMP TABLE IF NOT EXISTS spool (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            f"{typed}, raw text)"
        ]

    def find(self, text: str, part: str) -> str:
        return f"strpos({text}, {part})"

    def line_sql(self, columns: str, no_real: str) -> str:
        """The canonical line as ``to_json`` of each column (a text's escapes are ``json.dumps``'s
        with ``ensure_ascii=False``; every number is an integer, so ``no_real`` always holds)."""
        parts = [f"COALESCE(to_json({c.strip()})::text, 'null')" for c in columns.split(",")]
        return "('[' || " + " || ',' || ".join(parts) + " || ']')"

    def digest_sql(self, line: str) -> str:
        return f"sha256(convert_to({line}, 'UTF8'))"

    def attach(self, conn: Any, alias: str, where: str) -> None:
        """``alias.`` names the schema ``where`` (a closed snapshot), ``main.`` this store's."""
        live = conn.execute("SELECT current_schema()").fetchone()[0]
        conn.attach({**conn.aliases, "main": live, alias: where})

    def detach(self, conn: Any, alias: str) -> None:
        conn.attach({k: v for k, v in conn.aliases.items() if k != alias})

    def has_schema(self, conn: Any, name: str) -> bool:
        return bool(conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = ?", (name,)).fetchone())

    def copy_rows(self, conn: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bool:
        """``COPY … FROM STDIN`` in the connection's open transaction (~10x an INSERT per row)."""
        with conn.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)
        return True

    def stream(self, conn: Any, sql: str, args: Any) -> Any:
        """Inside a transaction (a reader's view), a server-side cursor: the client holds one batch
        of a 10M-row CSV or fingerprint at a time, not the whole result."""
        return conn.stream(sql, args)

    def fingerprint_sql(self, digests: str) -> str:
        """The digests sorted and hashed on the server: only the 64 hex characters cross the network."""
        return (
            "SELECT encode(sha256(COALESCE(string_agg(d, ''::bytea ORDER BY d), ''::bytea)), 'hex') "
            f"FROM ({digests}) AS digests"
        )

    def integrity(self, conn: Any) -> list[str]:
        """PostgreSQL checks its own pages; a store's tables being there is what is checked here."""
        return [] if self.has_table(conn, "meta") else ["the store's tables are missing"]


POSTGRES = PostgresDialect()


@functools.lru_cache(maxsize=2048)
def translate(sql: str, aliases: tuple[tuple[str, str], ...] = ()) -> str:
    """The store's SQL as psycopg takes it: ``?`` -> ``%s`` and ``%`` -> ``%%`` outside quotes,
    ``temp.`` -> ``pg_temp.``, the ``aliases`` of attached stores (``frozen.`` -> a closed
    snapshot's schema, see :meth:`PgConnection.attach`), and PostgreSQL's types in DDL."""
    out: list[str] = []
    quoted = False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
            out.append(ch)
        elif quoted:
            out.append("%%" if ch == "%" else ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    text = re.sub(r"\btemp\.", "pg_temp.", "".join(out))
    for alias, schema in aliases:
        text = re.sub(rf"\b{alias}\.", f'"{schema}".', text)
    return ddl(text) if re.match(r"\s*(CREATE|ALTER)\b", text, re.IGNORECASE) else text


def ddl(sql: str) -> str:
    """A SQLite ``CREATE``/``ALTER`` of the store as PostgreSQL's (types, keys, collation)."""
    sql = re.sub(r"\bINTEGER PRIMARY KEY\b", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", sql)
    sql = re.sub(r"\bINTEGER\b", "BIGINT", sql)
    sql = re.sub(r"\bBLOB\b", "BYTEA", sql)
    sql = re.sub(r"\bTEXT\b", 'TEXT COLLATE "C"', sql)
    sql = re.sub(r"\)\s*WITHOUT ROWID", ")", sql)
    return re.sub(r"(?m)^(\s*)user\b", r'\1"user"', sql)


class PgCursor:
    """A psycopg cursor that takes the store's SQL (see :func:`translate`); a statement the role
    may not run, or a lost server, is one :class:`StoreError` line."""

    def __init__(self, raw: Any, shown: str, aliases: tuple[tuple[str, str], ...] = ()) -> None:
        self._raw = raw
        self._shown = shown
        self._aliases = aliases

    def execute(self, sql: str, args: Sequence[Any] = ()) -> PgCursor:
        try:
            self._raw.execute(translate(sql, self._aliases), tuple(args))
        except Exception as exc:
            raise _refusal(exc, sql, self._raw, self._shown) or exc from None
        return self

    def executemany(self, sql: str, args: Any) -> PgCursor:
        try:
            self._raw.executemany(translate(sql, self._aliases), args)
        except Exception as exc:
            raise _refusal(exc, sql, self._raw, self._shown) or exc from None
        return self

    def __iter__(self) -> Iterator[Any]:
        return iter(self._raw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


class PgConnection:
    """A psycopg connection (autocommit: the store begins and commits itself) speaking the store's SQL."""

    dialect = POSTGRES

    def __init__(self, raw: Any, shown: str) -> None:
        self._raw = raw
        self.shown = shown
        self._aliases: tuple[tuple[str, str], ...] = ()

    def attach(self, schemas: dict[str, str]) -> None:
        """Name other schemas of the database as SQLite names attached stores (``main.``, ``frozen.``)."""
        self._aliases = tuple(schemas.items()) if set(schemas) - {"main"} else ()

    @property
    def aliases(self) -> dict[str, str]:
        return dict(self._aliases)

    def execute(self, sql: str, args: Sequence[Any] = ()) -> PgCursor:
        return self.cursor().execute(sql, args)

    def executemany(self, sql: str, args: Any) -> PgCursor:
        return self.cursor().executemany(sql, args)

    def cursor(self) -> PgCursor:
        return PgCursor(self._raw.cursor(), self.shown, self._aliases)

    def stream(self, sql: str, args: Sequence[Any]) -> PgCursor:
        """A server-side cursor for ``sql`` inside the open transaction (else an ordinary one)."""
        if self._raw.info.transaction_status != _IN_TRANSACTION:
            return self.execute(sql, args)
        named = self._raw.cursor(name=f"rg_stream_{next(_streams)}")
        named.itersize = 4096
        return PgCursor(named, self.shown, self._aliases).execute(sql, args)

    def copy(self, sql: str) -> Any:
        """``COPY … FROM STDIN`` on the raw connection (bulk rows)."""
        return self._raw.cursor().copy(sql)

    def as_db(self) -> sqlite3.Connection:
        """This connection as the store's modules type their connection: it answers the same
        calls (``execute``, ``executemany``, ``cursor``, ``close``) with the same results."""
        return cast("sqlite3.Connection", self)

    @property
    def raw(self) -> Any:
        return self._raw

    def close(self) -> None:
        self._raw.close()


#: What each kind of statement needs, for the one line that says which privilege a role lacks.
_NEEDS = {
    "INSERT": "INSERT",
    "UPDATE": "UPDATE",
    "DELETE": "DELETE",
    "CREATE": "CREATE on the database (the store's owner creates its tables)",
    "ALTER": "ownership of the tables (the store's owner migrates them)",
    "SELECT": "SELECT",
}


def _refusal(exc: Exception, sql: str, cur: Any, shown: str) -> StoreError | None:
    """The one line for a statement this role may not run or a server that went away (None: a bug)."""
    psycopg = _driver()
    if isinstance(exc, psycopg.errors.InsufficientPrivilege | psycopg.errors.ReadOnlySqlTransaction):
        verb = sql.split(None, 1)[0].upper() if sql.strip() else ""
        target = re.search(r"\b(?:INTO|UPDATE|FROM|TABLE|ON)\s+([\w.]+)", sql, re.IGNORECASE)
        table = (
            f" on {target.group(1)}" if target and verb in ("INSERT", "UPDATE", "DELETE", "SELECT") else ""
        )
        role = _current_user(cur)
        return StoreError(
            f"{shown}: the role {role} lacks {_NEEDS.get(verb, verb)}{table} "
            f"({' '.join(str(exc).split())[:160]}); this command needs a role that may "
            f"{'read' if verb == 'SELECT' else 'write'} the store (see `reportgen store init`)"
        )
    if isinstance(exc, psycopg.OperationalError):
        return StoreError(f"{shown}: the store's server failed ({' '.join(str(exc).split())[:200]})")
    return None


def _current_user(cur: Any) -> str:
    with contextlib.suppress(Exception):
        conn = cur.connection
        if conn.info.transaction_status != 3:  # not in a failed transaction: ask the server
            return str(conn.execute("SELECT current_user").fetchone()[0])
        return str(conn.info.user)
    return "of this connection"


def connect(server: StoreServer, *, purpose: str = "store") -> PgConnection:
    """A connection to the store's database; every failure one line naming the DSN, never the password."""
    psycopg = _driver()
    password = server.password
    try:
        raw = psycopg.connect(
            server.dsn,
            password=password,
            autocommit=True,
            application_name=f"reportgen {purpose} (pid {os.getpid()})"[:63],
            connect_timeout=20,
        )
    except psycopg.Error as exc:
        raise StoreError(f"{server}: cannot connect to the store ({_reason(exc, password)})") from None
    raw.adapters.register_loader("numeric", _integral_numeric(psycopg))
    if server.schema != "public":  # a closed snapshot: its schema alone, so every read works unchanged
        raw.execute(psycopg.sql.SQL("SET search_path TO {}").format(psycopg.sql.Identifier(server.schema)))
    return PgConnection(raw, str(server))


def _driver() -> Any:
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            "[store] dsn names a PostgreSQL store but psycopg is not installed: "
            "pip install 'psycopg[binary]>=3.1' (the postgres extra)"
        ) from None
    return psycopg


def _reason(exc: BaseException, password: str | None) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text.replace(password, "***") if password else text


def _integral_numeric(psycopg: Any) -> Any:
    """A ``numeric`` loader giving ``int`` for whole values (``SUM`` of integers), else ``Decimal``."""
    from psycopg.types.numeric import NumericLoader

    class IntegralNumeric(NumericLoader):
        def load(self, data: Any) -> Any:
            text = bytes(data)
            if b"." in text or b"N" in text or b"n" in text:
                return Decimal(text.decode())
            return int(text)

    return IntegralNumeric


def error_reason(exc: BaseException, server: StoreServer) -> str:
    """A driver failure as one line (the password, if any, masked)."""
    return _reason(exc, server.password)


def is_driver_error(exc: BaseException) -> bool:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - no driver, no PostgreSQL store
        return False
    return isinstance(exc, psycopg.Error)


@contextlib.contextmanager
def advisory_lock(server: StoreServer, holder: str) -> Iterator[None]:
    """Hold the store's write lock for ``holder`` (``sync``, ``close 2026-04``, …) on a connection
    of its own; another holder is refused at once, told which command holds it."""
    conn = connect(server, purpose=holder)
    try:
        got = conn.execute(f"SELECT pg_try_advisory_lock({LOCK_SQL})").fetchone()[0]
        if not got:
            row = conn.execute(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database() "
                "AND a.pid <> pg_backend_pid() LIMIT 1"
            ).fetchone()
            shown = "".join(c for c in (row[0] if row else "") if c.isprintable()).strip()
            raise SyncLockedError(
                f"another reportgen command ({shown or 'reportgen sync, close, reconcile or packet'}) is "
                f"writing {server.dsn}; wait for it to finish"
            )
        yield
    finally:
        conn.close()  # the session ends: the server releases the lock
