"""Read-only connections to PostgreSQL (psycopg 3), MySQL/MariaDB (MySQL Connector/Python's
C extension, else PyMySQL) and SQLite (stdlib).

Each :class:`Connection` hides its driver's dialect: identifier quoting, placeholders,
how to list a table's columns, and how to open a read-only snapshot.  Every driver
exception leaves here as one :class:`DatabaseSourceError` line naming the DSN without
its password.
"""

from __future__ import annotations

import contextlib
import importlib
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from ..config import Secret
from ..errors import DatabaseSourceError
from .dsn import DRIVER_PACKAGES, EXTRAS, Dsn

CONNECT_TIMEOUT = 10  # seconds: a wrong host fails fast instead of hanging the sync
SQLITE_BUSY_TIMEOUT = 5.0  # seconds to wait for a writer's lock on a SQLite file
#: MySQL/MariaDB drivers by the name a DSN gives them (``mysql+NAME://``, SQLAlchemy's names),
#: fastest first: Oracle's MySQL Connector/Python reads rows ~3x faster through its C
#: extension than PyMySQL, which is pure Python (its own pure-Python mode is slower still,
#: so without the C extension PyMySQL is used).
MYSQL_DRIVERS = ("mysqlconnector", "pymysql")


class Connection:
    """One read-only connection; subclasses speak one dialect."""

    dialect = ""
    placeholder = "%s"
    #: The driver's name (``mysqlconnector`` or ``pymysql`` for MySQL; else the dialect's one).
    driver = ""

    def __init__(self, dsn: Dsn, raw: Any, secret: str = "") -> None:
        self.dsn = dsn
        self._raw = raw
        self._secret = secret
        self.queries = 0

    # -- dialect ----------------------------------------------------------------------------
    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def nulls_first(self, column: str) -> str:
        """``column`` in an ``ORDER BY``, NULLs first (MySQL and SQLite sort them first already)."""
        return column

    def marks(self, count: int) -> str:
        """``count`` parameter placeholders for an ``IN (...)`` list."""
        return ", ".join([self.placeholder] * count)

    def columns(self, table: str) -> dict[str, str] | None:
        """Column name -> lower-case declared type, or None when there is no such table or view."""
        raise NotImplementedError

    def can_select(self, table: str) -> bool:
        return True

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """One read-only, repeatable-read transaction: every query inside sees the same data."""
        raise NotImplementedError
        yield  # pragma: no cover

    # -- running ---------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.queries += 1
        return self._execute(sql, params, fetch=True)

    def run(self, sql: str) -> None:
        """A statement that returns no rows (a session or transaction setting)."""
        self._execute(sql, (), fetch=False)

    def _execute(self, sql: str, params: Sequence[Any], fetch: bool) -> list[tuple[Any, ...]]:
        with self.errors():
            # psycopg's binary protocol decodes ~25 % faster than text (the same Python values)
            cur = self._raw.cursor(binary=True) if self.dialect == "postgresql" else self._raw.cursor()
            try:
                # The MySQL drivers %-format the SQL only when given parameters: none means a literal query.
                cur.execute(sql, tuple(params)) if params or self.dialect == "sqlite" else cur.execute(sql)
                return list(cur.fetchall()) if fetch else []
            finally:
                cur.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._raw.close()

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """Turn the driver's exceptions into one line naming the DSN (the password scrubbed)."""
        try:
            yield
        except DatabaseSourceError:
            raise
        except Exception as exc:
            if not _is_driver_error(exc):
                raise  # a bug: keep the traceback
            raise DatabaseSourceError(f"{self.dsn.shown}: {describe(exc, self._secret)}") from None


def connect(dsn: Dsn, password: Secret | None) -> Connection:
    """Open a read-only connection to ``dsn``; a missing driver names the extra that installs it."""
    secret = password.reveal() if password is not None else ""
    if dsn.dialect == "sqlite":
        return _SqliteConnection.open(dsn)
    try:
        if dsn.dialect == "postgresql":
            if dsn.driver not in ("", "psycopg"):
                raise DatabaseSourceError(
                    f"{dsn.shown}: unknown PostgreSQL driver {dsn.driver!r} (use postgresql:// or postgresql+psycopg://)"
                )
            return _PostgresConnection.open(_import(dsn, "psycopg", "psycopg 3"), dsn, secret)
        name, driver = _mysql_driver(dsn)
        return _MysqlConnection.open(driver, name, dsn, secret)
    except DatabaseSourceError:
        raise
    except Exception as exc:
        if not _is_driver_error(exc):
            raise
        raise DatabaseSourceError(f"{dsn.shown}: cannot connect: {describe(exc, secret)}") from None


def _import(dsn: Dsn, module: str, name: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise DatabaseSourceError(
            f"{dsn.shown}: reading {dsn.dialect} needs the {name} driver: {_install(dsn.dialect)}"
        ) from None


def _install(dialect: str) -> str:
    """How to install a dialect's driver: its packages, or reportgen's extra from a checkout."""
    return f"pip install {DRIVER_PACKAGES[dialect]} (reportgen's [{EXTRAS[dialect]}] extra)"


def _mysql_driver(dsn: Dsn) -> tuple[str, Any]:
    """The driver ``mysql+NAME://`` names, or the fastest one installed: ``(name, module)``."""
    if dsn.driver and dsn.driver not in MYSQL_DRIVERS:
        raise DatabaseSourceError(
            f"{dsn.shown}: unknown MySQL driver {dsn.driver!r} (use mysql://, or mysql+"
            f"{' or mysql+'.join(MYSQL_DRIVERS)}://)"
        )
    if dsn.driver in ("", "mysqlconnector"):
        try:
            # this import fails when the C extension does not load
            importlib.import_module("mysql.connector.connection_cext")
            return "mysqlconnector", importlib.import_module("mysql.connector")
        except ImportError:
            if dsn.driver:
                raise DatabaseSourceError(
                    f"{dsn.shown}: mysql+mysqlconnector needs MySQL Connector/Python with its C extension: "
                    f"{_install('mysql')}"
                ) from None
    return "pymysql", _import(dsn, "pymysql", "PyMySQL")


def describe(exc: BaseException, secret: str = "") -> str:
    """A driver exception as one short line, never containing ``secret``."""
    args: tuple[Any, ...] = exc.args
    if len(args) >= 2 and isinstance(args[0], int) and isinstance(args[1], str):
        text = f"{args[1]} (error {args[0]})"  # PyMySQL: (code, message)
    elif isinstance(getattr(exc, "errno", None), int) and isinstance(getattr(exc, "msg", None), str):
        text = f"{exc.msg} (error {exc.errno})"  # type: ignore[attr-defined]  # MySQL Connector/Python, alike
    else:
        text = str(exc) or type(exc).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # libpq appends hints on further lines ("Is the server running ...?"): keep the first two.
    text = " ".join(lines[:2])
    if secret:
        text = text.replace(secret, "***")
    return text[:400]


def _is_driver_error(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.Error | OSError):
        return True
    module = type(exc).__module__ or ""
    return module.startswith(("psycopg", "pymysql", "mysql.connector", "_mysql_connector"))


class _PostgresConnection(Connection):
    driver = "psycopg"
    dialect = "postgresql"

    def nulls_first(self, column: str) -> str:
        return f"{column} NULLS FIRST"

    @classmethod
    def open(cls, psycopg: Any, dsn: Dsn, secret: str) -> _PostgresConnection:
        kwargs: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT, "application_name": "reportgen"}
        if secret:
            kwargs["password"] = secret
        # libpq knows postgresql:// (and postgres://), not SQLAlchemy's postgresql+psycopg://
        raw = psycopg.connect("postgresql://" + dsn.url.split("://", 1)[1], **kwargs)
        # Every transaction psycopg opens is READ ONLY, REPEATABLE READ: one snapshot per window.
        raw.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        raw.read_only = True
        return cls(dsn, raw, secret)

    def columns(self, table: str) -> dict[str, str] | None:
        # pg_attribute, not information_schema: the latter hides columns the user may not read,
        # which would turn "permission denied" into a misleading "no such table".
        with self.snapshot():
            rows = self.query(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                (self.quote(table),),
            )
        return {name: kind.lower() for name, kind in rows} or None

    def can_select(self, table: str) -> bool:
        with self.snapshot():
            return bool(
                self.query("SELECT has_table_privilege(to_regclass(%s), 'SELECT')", (self.quote(table),))[0][
                    0
                ]
            )

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        with self.errors():
            try:
                yield
            finally:
                # Nothing was written: ending the read-only transaction either way is the same.
                self._raw.rollback()


class _MysqlConnection(Connection):
    dialect = "mysql"

    @classmethod
    def open(cls, driver: Any, name: str, dsn: Dsn, secret: str) -> _MysqlConnection:
        kwargs: dict[str, Any] = {
            "host": dsn.host or "localhost",
            "port": dsn.port or 3306,
            "user": dsn.user or None,
            "password": secret,
            "database": dsn.database or None,
            "charset": dsn.params.get("charset", "utf8mb4"),
            "autocommit": True,
        }
        if name == "mysqlconnector":
            kwargs.update(connection_timeout=CONNECT_TIMEOUT, use_pure=False)
        else:
            kwargs.update(connect_timeout=CONNECT_TIMEOUT)
        if dsn.params.get("unix_socket"):
            kwargs["unix_socket"] = dsn.params["unix_socket"]
        raw = driver.connect(**kwargs)
        conn = cls(dsn, raw, secret)
        conn.driver = name
        conn.run("SET SESSION TRANSACTION READ ONLY")
        return conn

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def columns(self, table: str) -> dict[str, str] | None:
        # SHOW COLUMNS reports "SELECT command denied" itself; information_schema would hide it.
        try:
            rows = self.query(f"SHOW COLUMNS FROM {self.quote(table)}")
        except DatabaseSourceError as exc:
            if "(error 1146)" in str(exc):  # ER_NO_SUCH_TABLE
                return None
            raise
        return {_text(r[0]): _text(r[1]).lower() for r in rows}

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        self.run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        self.run("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        try:
            yield
        finally:
            with self.errors():
                self._raw.rollback()


def _text(value: Any) -> str:
    """A name from ``SHOW COLUMNS`` (MySQL Connector/Python may give bytes)."""
    return value.decode("utf-8") if isinstance(value, bytes | bytearray) else str(value)


class _SqliteConnection(Connection):
    driver = "sqlite3"
    dialect = "sqlite"
    placeholder = "?"

    @classmethod
    def open(cls, dsn: Dsn) -> _SqliteConnection:
        assert dsn.path is not None
        if not dsn.path.is_file():
            raise DatabaseSourceError(f"{dsn.shown}: no such database file {dsn.path}")
        uri = dsn.path.resolve().as_uri() + "?mode=ro"
        try:
            raw = sqlite3.connect(uri, uri=True, timeout=SQLITE_BUSY_TIMEOUT, isolation_level=None)
            raw.execute("PRAGMA query_only = 1")
        except sqlite3.Error as exc:
            raise DatabaseSourceError(f"{dsn.shown}: cannot open: {describe(exc)}") from None
        return cls(dsn, raw)

    def columns(self, table: str) -> dict[str, str] | None:
        rows = self.query(f"PRAGMA table_info({self.quote(table)})")
        return {str(r[1]): str(r[2]).lower() for r in rows} or None

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        with self.errors():
            # BEGIN IMMEDIATE would need a write lock; a deferred read transaction holds one
            # snapshot (WAL) or the shared lock (rollback journal) from its first read on.
            self._raw.execute("BEGIN")
            try:
                yield
            finally:
                self._raw.execute("ROLLBACK")
