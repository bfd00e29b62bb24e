"""new-api's ClickHouse log database (``LOG_SQL_DSN=clickhouse://…``) as a read-only connection.

Two transports, one dialect: ``clickhouse://`` (and new-api's ``tcp://``) speak ClickHouse's
native protocol through clickhouse-driver, which talks to servers as old as 18.16;
``http://`` and ``https://`` speak its HTTP interface through ``requests`` (tab-separated
rows, streamed), which every server version has.  clickhouse-connect, the other maintained
driver, reads ``system.settings`` columns that 18.16 lacks and cannot connect to it.

ClickHouse has no transactions: a query sees the table's parts as they were when it
started.  Rows are never read as a whole window in one sorted query (18.16 sorts a whole
``ORDER BY`` before its ``LIMIT``): :func:`log_pages` walks the table's sort key
``(created_at, request_id)`` in keyset pages inside a time slice that adapts to the rows'
density, so each query reads a bounded range of the primary index.  new-api writes ``id``
as 0 there, so rows are told apart by their content: an exact copy of a row under the same
key (an insert retried after a timeout) is a duplicate, counted and stored once.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any

from ..errors import DatabaseSourceError
from .drivers import CONNECT_TIMEOUT, Connection, describe
from .dsn import DRIVER_PACKAGES, EXTRAS, Dsn

#: Seconds a query may run on the server (``max_execution_time``): a page, a slice, a month's GROUP BY.
MAX_EXECUTION_SECONDS = 600
#: The first time slice a window is paged in (seconds); it halves or doubles with the rows' density.
FIRST_SLICE = 3600
_NATIVE_PORT, _HTTP_PORT, _HTTPS_PORT = 9000, 8123, 8443
_UNESCAPE = {
    "b": "\b",
    "f": "\f",
    "r": "\r",
    "n": "\n",
    "t": "\t",
    "0": "\0",
    "'": "'",
    "\\": "\\",
    "N": "\\N",
}
_ESCAPED = re.compile(r"\\(.)", re.S)


def literal(value: Any) -> str:
    """``value`` as a ClickHouse SQL literal (parameters are inlined: neither transport binds them)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


class ClickhouseConnection(Connection):
    """A read-only ClickHouse session: every query runs with ``readonly`` and ``max_execution_time``
    unless the user's profile is read-only already (which then forbids sending any setting)."""

    dialect = "clickhouse"
    placeholder = "%s"

    def __init__(self, dsn: Dsn, raw: Any, secret: str = "") -> None:
        super().__init__(dsn, raw, secret)
        self.settings: dict[str, Any] = {"readonly": 2, "max_execution_time": MAX_EXECUTION_SECONDS}

    def quote(self, name: str) -> str:
        return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"

    def nulls_first(self, column: str) -> str:
        return f"{column} NULLS FIRST"

    def columns(self, table: str) -> dict[str, str] | None:
        rows = self.query(
            "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = %s",
            (table,),
        )
        return {str(name): str(kind).lower() for name, kind in rows} or None

    def table_definition(self, table: str) -> str:
        """The table's ``CREATE TABLE`` statement as the server keeps it ("" when there is none)."""
        rows = self.query(
            "SELECT create_table_query FROM system.tables WHERE database = currentDatabase() AND name = %s",
            (table,),
        )
        return str(rows[0][0]) if rows else ""

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        # No transactions: each query reads the parts that exist when it starts.  A window's
        # keyset pages each start where the last ended, so rows inserted meanwhile are read
        # once or not at all, never twice (the look-back finds them later).
        with self.errors():
            yield

    def _settle_readonly(self) -> None:
        """Send no settings when the user's profile is read-only (``readonly=1`` forbids changing any)."""
        self.settings = {}
        level = self.query("SELECT value FROM system.settings WHERE name = 'readonly'")
        if level and str(level[0][0]) in ("0", "2"):
            self.settings = {"readonly": 2, "max_execution_time": MAX_EXECUTION_SECONDS}

    def _execute(self, sql: str, params: Sequence[Any], fetch: bool) -> list[tuple[Any, ...]]:
        if params:
            sql = sql % tuple(literal(p) for p in params)
        with self.errors():
            return self._run(sql)

    def _run(self, sql: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        try:
            yield
        except DatabaseSourceError:
            raise
        except Exception as exc:
            module = type(exc).__module__ or ""
            if not (
                isinstance(exc, OSError) or module.startswith(("clickhouse_driver", "requests", "urllib3"))
            ):
                raise  # a bug: keep the traceback
            raise DatabaseSourceError(f"{self.dsn.shown}: {_short(describe(exc, self._secret))}") from None


class _NativeConnection(ClickhouseConnection):
    driver = "clickhouse-driver"

    @classmethod
    def open(cls, dsn: Dsn, secret: str) -> _NativeConnection:
        try:
            from clickhouse_driver import Client
        except ImportError:
            raise DatabaseSourceError(
                f"{dsn.shown}: reading ClickHouse over clickhouse:// needs clickhouse-driver: "
                f"pip install {DRIVER_PACKAGES['clickhouse']} (reportgen's [{EXTRAS['clickhouse']}] extra)"
            ) from None
        secure = dsn.params.get("secure", "").lower() in ("1", "true", "yes")
        raw = Client(
            host=dsn.host or "localhost",
            port=dsn.port or _NATIVE_PORT,
            user=dsn.user or "default",
            password=secret,
            database=dsn.database or "default",
            secure=secure,
            connect_timeout=CONNECT_TIMEOUT,
            send_receive_timeout=MAX_EXECUTION_SECONDS + 30,
            client_name="reportgen",
        )
        conn = cls(dsn, raw, secret)
        with conn.errors():
            conn._settle_readonly()
        return conn

    def _run(self, sql: str) -> list[tuple[Any, ...]]:
        return list(self._raw.execute(sql, settings=self.settings or None))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._raw.disconnect()


class _HttpConnection(ClickhouseConnection):
    driver = "http"

    @classmethod
    def open(cls, dsn: Dsn, secret: str) -> _HttpConnection:
        import requests

        scheme = "https" if dsn.driver == "https" else "http"
        port = dsn.port or (_HTTPS_PORT if scheme == "https" else _HTTP_PORT)
        session = requests.Session()
        session.headers["X-ClickHouse-User"] = dsn.user or "default"
        if secret:
            session.headers["X-ClickHouse-Key"] = secret
        conn = cls(dsn, session, secret)
        conn.url = f"{scheme}://{dsn.host or 'localhost'}:{port}/"
        conn.database = dsn.database or "default"
        with conn.errors():
            conn._settle_readonly()
        return conn

    url = ""
    database = "default"

    def _run(self, sql: str) -> list[tuple[Any, ...]]:
        return list(self._stream(sql))

    def _stream(self, sql: str) -> Iterator[tuple[Any, ...]]:
        # wait_end_of_query: an error is an HTTP status, never text after rows already sent.
        params = {"database": self.database, "wait_end_of_query": 1, **self.settings}
        with self._raw.post(
            self.url,
            params=params,
            data=(sql + "\nFORMAT TabSeparatedWithNamesAndTypes").encode("utf-8"),
            stream=True,
            timeout=(CONNECT_TIMEOUT, MAX_EXECUTION_SECONDS + 30),
        ) as response:
            if response.status_code != 200:
                raise DatabaseSourceError(f"{self.dsn.shown}: {_short(response.text, self._secret)}")
            lines = response.iter_lines(chunk_size=1 << 16, decode_unicode=False)
            next(lines, None)  # the column names
            types = next(lines, b"").decode("utf-8").split("\t")
            convert = [_converter(t) for t in types]
            for line in lines:
                fields = line.decode("utf-8").split("\t")
                yield tuple(f(v) for f, v in zip(convert, fields, strict=True))


def open_clickhouse(dsn: Dsn, secret: str) -> ClickhouseConnection:
    """A read-only connection over the DSN's transport (native for ``clickhouse://``/``tcp://``, else HTTP)."""
    try:
        if dsn.driver in ("http", "https"):
            return _HttpConnection.open(dsn, secret)
        return _NativeConnection.open(dsn, secret)
    except DatabaseSourceError:
        raise
    except Exception as exc:
        module = type(exc).__module__ or ""
        if not (isinstance(exc, OSError) or module.startswith(("clickhouse_driver", "requests", "urllib3"))):
            raise
        raise DatabaseSourceError(f"{dsn.shown}: cannot connect: {_short(describe(exc, secret))}") from None


def _short(text: str, secret: str = "") -> str:
    """A server message's first line, without the stack trace ClickHouse appends."""
    if secret:
        text = text.replace(secret, "***")
    text = " ".join(line.strip() for line in text.splitlines() if line.strip())
    text = text.split(" Stack trace:", 1)[0].split(", e.what() = ", 1)[0]
    return text[:400]


def _unescape(value: str) -> str:
    return _ESCAPED.sub(lambda m: _UNESCAPE.get(m.group(1), m.group(1)), value) if "\\" in value else value


def _converter(kind: str) -> Callable[[str], Any]:
    """How a TabSeparated value of ClickHouse type ``kind`` becomes the Python value the native driver gives."""
    nullable = kind.startswith("Nullable(")
    inner = kind[9:-1] if nullable else kind
    base: Callable[[str], Any]
    if inner.startswith(("Int", "UInt")):
        base = int
    elif inner.startswith("Float"):
        base = float
    else:
        base = _unescape
    if not nullable:
        return base
    return lambda v: None if v == "\\N" else base(v)


# ----------------------------------------------------------------------------- reading logs
def log_pages(
    conn: ClickhouseConnection,
    select: str,
    at: tuple[int, int],
    window: tuple[int, int],
    page_rows: int,
    on_page: Callable[[], None] = lambda: None,
) -> Generator[list[tuple[Any, ...]], None, None]:
    """The rows of ``window`` (inclusive seconds) in pages, oldest first, each row once (never doubled
    nor skipped at a page's edge).

    ``select`` is ``SELECT … FROM logs WHERE <the users>``; ``at`` the positions of
    ``created_at`` and ``request_id`` in its columns.  A key's rows are put in the order of
    their values here (a whole copy then follows its row), not by the server: sorting by every
    column there, ``other`` and ``content`` included, cost more than the page's read.  Pages follow the table's
    sort key: the rows after the last ``(created_at, request_id)`` seen, up to a slice end
    that halves when a page fills and doubles when it comes back sparse.  A page stops
    before its last key's rows, so a key's rows always arrive together (retries may share a
    request id, and rows without one share ``""``): the next page starts at that key.
    """
    lo, hi = window
    ts_at, rid_at = at
    span = FIRST_SLICE
    after: str | None = None  # where the next page starts inside its slice (a key, or just past one)
    start = lo
    while start <= hi:
        upper = min(hi, start + span - 1)
        where = f" AND created_at >= {start} AND created_at <= {upper}" + (after or "")
        on_page()
        rows = conn.query(f"{select}{where} ORDER BY created_at, request_id LIMIT {page_rows}")
        if len(rows) < page_rows:  # the slice is done
            if rows:
                yield _ordered(rows, ts_at, rid_at)
            start, after = upper + 1, None
            if len(rows) < page_rows // 4:
                span *= 2
            continue
        ts, rid = rows[-1][ts_at], rows[-1][rid_at]
        cut = len(rows)
        while cut and (rows[cut - 1][ts_at], rows[cut - 1][rid_at]) == (ts, rid):
            cut -= 1
        if cut:
            yield _ordered(rows[:cut], ts_at, rid_at)
            after = f" AND (created_at > {ts} OR request_id >= {literal(rid)})"
        else:  # one key fills the page (rows without a request id in a busy second): all of it at once
            on_page()
            yield _ordered(
                conn.query(
                    f"{select} AND created_at = {ts} AND request_id = {literal(rid)} ORDER BY created_at, request_id"
                ),
                ts_at,
                rid_at,
            )
            after = f" AND (created_at > {ts} OR request_id > {literal(rid)})"
        start = int(ts)
        span = max(1, span // 2)


def _ordered(rows: list[tuple[Any, ...]], ts_at: int, rid_at: int) -> list[tuple[Any, ...]]:
    """``rows`` (ordered by key) with each key's rows in the order of their values."""
    try:
        return sorted(rows, key=lambda row: (row[ts_at], row[rid_at], row))
    except TypeError:  # a NULL beside a value in one column of a key's rows: the server's order
        return rows
