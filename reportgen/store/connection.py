"""The store's connection: which sources it reads, how keys are named, transactions, failures.

:class:`Connected` is what every table family's reads and writes stand on (see
:mod:`.facade`): the guarded connection, the sources chosen, the SQL that filters rows by
source and key, and the write transaction.  A failure of the disk or folder becomes one
line (:class:`StoreError`) instead of a traceback.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Self

from ..core.storeserver import StoreServer
from ..errors import StoreError
from .dialect import Dialect, dialect_of
from .packed import PACKED_NAME, Unpacker

DB_NAME = "reportgen.sqlite3"

#: The source of ``[gateway]`` (and of every row a store held before it knew sources).
DEFAULT_SOURCE = "default"
#: A key as reports name it: bare on the default source, ``SOURCE:NAME`` on every other one,
#: so that one key name on two sources is two keys (and a store of one ``[gateway]`` reads
#: exactly as it did before sources existed: same names, same fingerprints).
KEY_SQL = "(CASE WHEN source = 'default' THEN token_name ELSE source || ':' || token_name END)"


def qualified_key(source: str, name: str) -> str:
    """The key name reports show for ``name`` on ``source`` (see :data:`KEY_SQL`)."""
    return name if source == DEFAULT_SOURCE else f"{source}:{name}"


class Connected:
    """A store folder's open database and the sources read from it."""

    def __init__(
        self, directory: Path, conn: sqlite3.Connection, *, server: StoreServer | None = None
    ) -> None:
        self.directory = directory
        #: The PostgreSQL store's database and schema (None: the SQLite store in ``directory``).
        self.server = server
        #: How messages name the store: its folder, or the DSN (and schema) of a PostgreSQL store.
        self.name = str(directory) if server is None else str(server)
        # A closed snapshot whose rows are packed beside it attaches them when first read (.packed).
        packed = directory / PACKED_NAME
        self._unpacker = Unpacker(packed) if server is None and packed.is_file() else None
        self._conn: sqlite3.Connection = (
            Guarded(conn, directory / DB_NAME, self._unpacker) if server is None else conn  # type: ignore[assignment]
        )
        self._dialect: Dialect = dialect_of(conn)
        # Row digests are computed from the content at read time, never read from a column.
        self._dialect.prepare(conn)
        # A snapshot closed before schema 5 has no source column: all its rows are the default source's.
        self._multi = "source" in self._dialect.columns(conn, "logs")
        self._sources: tuple[str, ...] | None = None
        self._key = KEY_SQL if self._multi else "token_name"
        self._names: dict[str, str] = {}  # key and model names read, one object each

    def use_sources(self, names: Sequence[str] | None) -> None:
        """Read only the rows and facts of these sources (None: every source in the store)."""
        self._sources = None if names is None else tuple(names)

    @property
    def sources(self) -> tuple[str, ...] | None:
        return self._sources

    def _src(self, column: str = "source") -> tuple[str, list[Any]]:
        """`` AND source IN (...)`` for the chosen sources ("" when every source is read)."""
        if self._sources is None:
            return "", []
        if not self._multi:
            return ("", []) if DEFAULT_SOURCE in self._sources else (" AND FALSE", [])
        return f" AND {column} IN ({','.join('?' * len(self._sources))})", list(self._sources)

    def _filter(self, token_names: Sequence[str] | None) -> tuple[str, list[Any]]:
        """The source filter and, if given, the key filter, to append to a WHERE on logs."""
        where, args = self._src()
        if token_names is None:
            return where, args
        if not token_names:
            return where + " AND FALSE", args
        return f"{where} AND {self._key} IN ({','.join('?' * len(token_names))})", [*args, *token_names]

    def begin(self) -> None:
        """Start the read transaction every later read of this reader sees."""
        self._conn.execute(self._dialect.begin_read)
        self._conn.execute("SELECT COUNT(*) FROM meta").fetchone()  # the snapshot starts at the first read

    def expect_rows_seal(self, seal: str | None) -> None:
        """Refuse this snapshot's packed rows, when a read needs them, unless they give ``seal``
        (the one its close recorded)."""
        if self._unpacker is not None:
            self._unpacker.seal = seal

    @property
    def packed(self) -> bool:
        """Whether this is a closed snapshot whose rows are packed beside it."""
        return self._unpacker is not None

    def close(self) -> None:
        self._conn.close()
        if self._unpacker is not None:
            self._unpacker.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def has_table(self, name: str) -> bool:
        return self._dialect.has_table(self._conn, name)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        """One write transaction (``BEGIN IMMEDIATE``), rolled back if the block fails."""
        cur = self._conn.cursor()
        cur.execute(self._dialect.begin_write)
        try:
            yield cur
        except BaseException:
            with contextlib.suppress(sqlite3.Error, StoreError):  # a failed COMMIT already rolled back
                cur.execute("ROLLBACK")
            raise
        else:
            try:
                cur.execute("COMMIT")
            except StoreError:
                with contextlib.suppress(sqlite3.Error, StoreError):
                    cur.execute("ROLLBACK")
                raise


#: SQLite's primary result codes that mean the disk or the folder, not the program, failed.
_IO_CODES = {
    3: "permission denied",  # SQLITE_PERM
    5: "the store is busy",  # SQLITE_BUSY
    8: "the store is read-only here",  # SQLITE_READONLY
    10: "a disk I/O error",  # SQLITE_IOERR
    13: "the disk is full",  # SQLITE_FULL
    14: "the file cannot be opened",  # SQLITE_CANTOPEN
}


#: SQLite's result codes that mean the file in the store's place is damaged or not a database.
_DAMAGE_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB


def damaged(db: Path, what: str) -> StoreError:
    """The one line for a damaged store file: what is wrong, and the ways back."""
    backups = sorted(db.parent.glob(f"{db.name}.schema*.bak")) if db.parent.is_dir() else []
    restore = f"restore {backups[-1].name} (the copy a migration left) or" if backups else "restore"
    return StoreError(
        f"{db}: {what}: the store is damaged; run `reportgen store check` to see what is wrong, "
        f"{restore} your own backup of {db.name}, or move {db.parent} aside and run `reportgen sync` "
        "again (the gateway still has the logs)"
    )


def _io_error(exc: sqlite3.Error, db: Path) -> StoreError | None:
    """A one-line :class:`StoreError` for a failure of the disk or folder or a damaged file
    (None: a bug, keep it)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in _DAMAGE_CODES:
        return damaged(db, str(exc))
    what = None if code is None else _IO_CODES.get(code & 0xFF)
    if what is None:
        return None
    return StoreError(
        f"{db}: {what} ({exc}); nothing half-written was kept: every window saved before is intact"
    )


def store_error(exc: sqlite3.Error, db: Path, doing: str) -> StoreError:
    """Any SQLite failure while opening ``db`` as one line (damage with its ways back)."""
    return _io_error(exc, db) or StoreError(f"{db}: cannot {doing} the store ({exc})")


class Guarded:
    """A connection (or cursor) whose disk and folder failures become one-line :class:`StoreError`s."""

    def __init__(self, raw: Any, db: Path, unpacker: Unpacker | None = None) -> None:
        self._raw = raw
        self._db = db
        self._unpacker = unpacker

    def _run(self, method: str, sql: str, args: Any) -> Any:
        try:
            if self._unpacker is not None:
                self._unpacker.before(
                    self._raw if isinstance(self._raw, sqlite3.Connection) else self._raw.connection, sql
                )
            return getattr(self._raw, method)(sql, args)
        except sqlite3.Error as exc:
            raise _io_error(exc, self._db) or exc from None

    def execute(self, sql: str, args: Any = ()) -> Any:
        result = self._run("execute", sql, args)
        return self if isinstance(self._raw, sqlite3.Cursor) else result

    def executemany(self, sql: str, args: Any) -> Any:
        result = self._run("executemany", sql, args)
        return self if isinstance(self._raw, sqlite3.Cursor) else result

    def cursor(self) -> Guarded:
        return Guarded(self._raw.cursor(), self._db, self._unpacker)

    # Rows are read lazily: a damaged page is found while fetching, not only on execute.
    def fetchone(self) -> Any:
        return self._call(self._raw.fetchone)

    def fetchall(self) -> Any:
        return self._call(self._raw.fetchall)

    def fetchmany(self, size: int = 1) -> Any:
        return self._call(self._raw.fetchmany, size)

    def __iter__(self) -> Iterator[Any]:
        while True:
            batch = self._call(self._raw.fetchmany, 256)
            if not batch:
                return
            yield from batch

    def _call(self, method: Any, *args: Any) -> Any:
        try:
            return method(*args)
        except sqlite3.Error as exc:
            raise _io_error(exc, self._db) or exc from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def connect_ro(db: Path) -> sqlite3.Connection:
    """``db`` opened read-only (as immutable when SQLite cannot share its memory beside it)."""
    uri = db.resolve().as_uri()
    if db.stat().st_size == 0:
        raise damaged(db, "the file is empty (truncated)")
    try:
        conn = sqlite3.connect(uri + "?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        # A WAL database in a folder we cannot write (a read-only copy): SQLite cannot make
        # its shared-memory file there, and no writer can exist, so read it as immutable.
        try:
            conn = sqlite3.connect(
                uri + "?immutable=1", uri=True, isolation_level=None, check_same_thread=False
            )
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.Error as exc:
            raise store_error(exc, db, "read") from None
    except sqlite3.Error as exc:  # not a database, or a damaged one
        raise store_error(exc, db, "read") from None
