"""The gateway's own log database as a sync source, beside the management API.

A :class:`DatabaseSource` answers the same calls the sync makes of the API client
(``status``, ``keys``, ``iter_log_pages``, ``flavor``, ``requests_made``, ``close``) and
parses each database row as the API path parses the item ``/api/log/self`` would have
returned (:func:`~reportgen.gateway.parse.parse_log_rows`: the same field rules, straight
from the driver's tuples to the store's values): both sources store identical rows.  Each
row's raw JSON keeps the real ``logs.id``, which :meth:`DatabaseSource.window_ids` lets the
sync's look-back compare to find rows committed after their window was read.

Reading is gentle on the gateway: a read-only connection, one repeatable-read snapshot
per window (so a window is one consistent read), keyset pages on ``(created_at, type, id)``
inside a bounded ``created_at`` range, in the order of the gateway's ``idx_created_at_type`` index.
"""

from __future__ import annotations

import functools
import itertools
import json
import operator
import time
from collections.abc import Callable, Generator, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from .. import flavors
from ..config import GatewayConfig, Secret
from ..core.fingerprint import ROW_FIELDS
from ..core.records import DEFAULT_QUOTA_PER_UNIT, GatewayStatus, KeyInfo, RowBatch
from ..core.wallet import Balance, WalletRecord
from ..errors import ConfigError, DatabaseSourceError
from ..gateway.guards import WindowSums, utc
from ..gateway.parse import parse_key, parse_log_rows
from ..hookspecs import FlavorDatabase
from .clickhouse import ClickhouseConnection, log_pages, open_clickhouse
from .drivers import Connection, connect
from .dsn import Dsn, parse_dsn, redact
from .prefetch import prefetched
from .retention import Retention, table_retention
from .schema import LogSchema, detect_log_schema, token_columns

#: Rows per keyset page: large enough that per-query overhead vanishes, small enough to
#: keep memory flat and each query short on the gateway.
PAGE_ROWS = 10_000
#: A batch's columns of quota and token counts: their sums per window are bounded as the API path's.
_AMOUNTS = tuple(ROW_FIELDS.index(f) for f in ("quota", "prompt_tokens", "completion_tokens"))
#: The ``options`` keys new-api and one-api keep the quota unit and exchange rate under.
_OPTIONS = ("QuotaPerUnit", "USDExchangeRate", "general_setting.quota_display_type")


def source_account(gw: GatewayConfig) -> tuple[str, int | None]:
    """Whose logs a store holds, for ``Store.bind_account``: the DSN (no password) or the API URL."""
    if gw.source != "database":
        return gw.base_url, gw.user_id
    who = "" if not gw.usernames else "?usernames=" + ",".join(gw.usernames)
    return redact(gw.dsn) + who, gw.user_id


class DatabaseSource:
    """Reads a gateway's database (a flavour with ``Flavor.database``: new-api, one-api) as if it
    were the management API of one or more users; its tables are named by that flavour."""

    #: The sync reads this source's pages in a second process, which builds its own instance
    #: from the class and the config (``reportgen.app.readahead``).
    read_ahead = True

    def __init__(self, config: GatewayConfig, on_request: Callable[[str], None] | None = None) -> None:
        if config.user_id is None and not config.usernames:
            raise ConfigError(
                "gateway.user_id or gateway.usernames must say whose logs to read: the gateway's "
                "database holds every user's"
            )
        self.config = config
        self._on_request = on_request
        self.dsn = parse_dsn(config.dsn)
        main = parse_dsn(config.main_dsn, setting="gateway.main_dsn") if config.main_dsn else None
        self._logs = _connect(self.dsn, config.db_password)
        self._main = self._logs
        try:
            if main is not None:
                self._main = _connect(main, config.db_password)
            self.schema = self._log_schema()
            self.user_ids = self._user_ids()
        except BaseException:
            self.close()
            raise
        self.pages_fetched = 0

    # -- what the sync calls -----------------------------------------------------------------
    @property
    def flavor(self) -> str:
        """The flavour's name: configured, else told from the logs table's columns."""
        return self.schema.flavor

    @property
    def tables(self) -> FlavorDatabase:
        """Where this flavour's database keeps its logs, keys, options, users and credits."""
        return self.schema.tables

    @property
    def described(self) -> str:
        """What is read, for the sync's summary line: the schema it looks like and the DSN."""
        return f"the {self.schema.looks_like} database {self.dsn.shown}"

    @property
    def driver(self) -> str:
        """The driver reading the logs (MySQL: ``mysqlconnector``, or ``pymysql`` without its C extension)."""
        return self._logs.driver

    @property
    def requests_made(self) -> int:
        """Queries sent to the database(s)."""
        return self._logs.queries + (self._main.queries if self._main is not self._logs else 0)

    def status(self) -> GatewayStatus:
        """The quota unit and exchange rate from ``options`` (defaults where absent)."""
        conn = self._main
        values: dict[str, str] = {}
        columns = conn.columns(self.tables.options)
        if columns is not None and {"key", "value"} <= {c.lower() for c in columns}:
            marks = conn.marks(len(_OPTIONS))
            with conn.snapshot():
                rows = conn.query(
                    f"SELECT {conn.quote('key')}, {conn.quote('value')} FROM {conn.quote(self.tables.options)} "
                    f"WHERE {conn.quote('key')} IN ({marks})",
                    _OPTIONS,
                )
            values = {str(k): str(v) for k, v in rows if v is not None}
        qpu = _decimal(values.get("QuotaPerUnit"))
        rate = _decimal(values.get("USDExchangeRate"))
        if rate is None:
            rate = self.tables.exchange_rate  # the gateway's built-in rate (new-api's 7.3)
        return GatewayStatus(
            quota_per_unit=qpu if qpu is not None and qpu > 0 else DEFAULT_QUOTA_PER_UNIT,
            read_at=int(time.time()),
            usd_exchange_rate=rate,
            quota_display_type=values.get("general_setting.quota_display_type") or None,
            version=f"database: {self.schema.looks_like}",
        )

    def keys(self) -> list[KeyInfo]:
        """The selected users' API keys from ``tokens`` (soft-deleted ones left out, as the API does)."""
        conn = self._main
        columns = conn.columns(self.tables.tokens)
        if columns is None:
            raise DatabaseSourceError(
                f"{conn.dsn.shown}: no tokens table (the API keys); if the logs live in a separate "
                "database (LOG_SQL_DSN), set gateway.main_dsn to the gateway's main database"
            )
        names, soft_delete = token_columns(columns, conn.dsn.shown)
        marks = conn.marks(len(self.user_ids))
        live = f" AND {conn.quote('deleted_at')} IS NULL" if soft_delete else ""
        with conn.snapshot():
            rows = conn.query(
                f"SELECT {', '.join(map(conn.quote, names))} FROM {conn.quote(self.tables.tokens)} "
                f"WHERE {conn.quote('user_id')} IN ({marks}){live} ORDER BY {conn.quote('id')} DESC",
                self.user_ids,
            )
        fields = tuple(n.lower() for n in names)
        return [parse_key(dict(zip(fields, row, strict=True))) for row in rows]

    def iter_log_pages(self, start_ts: int, end_ts: int) -> Iterator[RowBatch]:
        """The rows with ``start_ts <= created_at <= end_ts`` in pages, all from one snapshot."""
        conn, schema = self._logs, self.schema
        q, mark = conn.quote, conn.placeholder
        users = conn.marks(len(self.user_ids))
        select = (
            f"SELECT {', '.join(map(q, schema.columns))} FROM {q(self.tables.logs)} "
            # "+ 0" keeps planners off the user_id index (all of a user's history) and on the
            # created_at one (one bounded window of every user), whatever their statistics say.
            f"WHERE {q('user_id')} + 0 IN ({users}) AND {q('created_at')} >= {mark} AND {q('created_at')} <= {mark}"
        )
        # The order of new-api's and one-api's idx_created_at_type index (and the row id the
        # index entry carries): the server walks the index and stops after a page.  Ordered by
        # (created_at, id) it sorted what remained of the window for every page (MariaDB has no
        # incremental sort): twice the server's CPU.  A NULL type (the gateways never write one)
        # sorts first in every dialect, so the keyset below never skips one.
        order = f" ORDER BY {q('created_at')}, {conn.nulls_first(q('type'))}, {q('id')} LIMIT {PAGE_ROWS}"
        # Keyset: resume after the last (created_at, type, id) seen; the range starts at its created_at.
        after = f" AND ({q('created_at')} > {mark} OR {q('type')} > {mark} OR ({q('type')} = {mark} AND {q('id')} > {mark}))"
        after_untyped = f" AND ({q('created_at')} > {mark} OR {q('type')} IS NOT NULL OR {q('id')} > {mark})"
        at_id, at_ts, at_type = (schema.fields.index(name) for name in ("id", "created_at", "type"))
        fields = schema.api_fields

        def resume(last: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
            """The query of the rows after ``last``, and its parameters."""
            ts, kind, rid = last[at_ts], last[at_type], last[at_id]
            if kind is None:
                return select + after_untyped + order, (*self.user_ids, ts, end_ts, ts, rid)
            return select + after + order, (*self.user_ids, ts, end_ts, ts, kind, kind, rid)

        def pages() -> Generator[list[tuple[Any, ...]], None, None]:
            with conn.snapshot():
                rows = self._page(select + order, (*self.user_ids, start_ts, end_ts))
                held: list[tuple[Any, ...]] = []  # the last second of a full page: it may go on
                while True:
                    self.pages_fetched += bool(rows)
                    full = len(rows) == PAGE_ROWS
                    rows = held + rows
                    cut = _last_second(rows, at_ts) if full else len(rows)
                    held = rows[cut:]
                    if cut:
                        yield _newest_first(rows[:cut], at_ts, at_id)
                    if not full:
                        return
                    rows = self._page(*resume(rows[-1]))

        keyed = False
        if isinstance(conn, ClickhouseConnection):  # keyed on (created_at, request_id): id is 0 there
            keyed = True
            source = log_pages(
                conn,
                f"SELECT {', '.join(map(q, schema.columns))} FROM {q(self.tables.logs)} "
                f"WHERE {q('user_id')} IN ({', '.join(map(str, self.user_ids))})",
                (at_ts, schema.fields.index("request_id")),
                (start_ts, end_ts),
                PAGE_ROWS,
                self._counted,
            )
        else:
            source = pages()
        # psycopg, MySQL Connector/Python's C extension and ClickHouse: the next page is queried
        # while this one is parsed (they wait for the server without the GIL and decode a page in
        # C, or the server sorts it).  Not SQLite, whose every row step gives up the GIL and would
        # wait for the parser's time slice, nor PyMySQL (pure Python: nothing to overlap).
        overlap = conn.driver in ("psycopg", "mysqlconnector") or keyed
        fetched = prefetched(source) if overlap else source
        sums = WindowSums(f"{self.dsn.shown} window {utc(start_ts)} .. {utc(end_ts)} UTC")
        read, quota_of = [0, 0], operator.itemgetter(schema.fields.index("quota"))
        try:
            for rows in fetched:
                batch = parse_log_rows(fields, schema.api_rows(rows))
                if keyed:  # a key's rows come in the order of their values: a whole copy follows its row
                    batch.copies = sum(map(operator.eq, rows, itertools.islice(rows, 1, None)))
                    read[0] += len(rows)
                    read[1] += sum(map(quota_of, rows))
                if len(batch):
                    sums.add(*(sum(batch.columns[i]) for i in _AMOUNTS))
                    sums.check()
                yield batch
            if keyed:  # no snapshot: the window's pages are held to one count and sum, read after them
                self._check_unchanged(start_ts, end_ts, read)
        finally:
            fetched.close()  # ends the window's snapshot now, whoever stops reading

    def _check_unchanged(self, start_ts: int, end_ts: int, read: list[int]) -> None:
        """Raise when the window now holds other rows than its pages gave (rows inserted or deleted
        while it was paged: ClickHouse has no snapshot), so that the window is not saved."""
        conn, q = self._logs, self._logs.quote
        quota = q(self.schema.columns[self.schema.fields.index("quota")])
        (now,) = conn.query(
            f"SELECT count(), sum({quota}) FROM {q(self.tables.logs)} WHERE {q('user_id')} IN "
            f"({', '.join(map(str, self.user_ids))}) AND {q('created_at')} >= %s AND {q('created_at')} <= %s",
            (start_ts, end_ts),
        )
        there = [int(now[0]), int(now[1] or 0)]
        if there != read:
            raise DatabaseSourceError(
                f"{self.dsn.shown}: window {utc(start_ts)} .. {utc(end_ts)} UTC changed while it was read "
                f"({read[0]:,} rows, {read[1]:,} quota read; {there[0]:,} rows, {there[1]:,} quota there now): "
                "not saved; run the sync again"
            )

    @functools.cached_property
    def retention(self) -> Retention | None:
        """How long the logs table keeps rows: its ClickHouse TTL, else ``gateway.log_ttl_days``."""
        if isinstance(self._logs, ClickhouseConnection):
            kept = table_retention(self._logs.table_definition(self.tables.logs))
            if kept is not None:
                return kept
        days = self.config.log_ttl_days
        return None if days is None else Retention(days, "day", "gateway.log_ttl_days")

    def window_ids(self, start_ts: int, end_ts: int) -> list[int]:
        """The ``id`` of every row with ``start_ts <= created_at <= end_ts``, ascending: what the
        look-back compares with the store to find rows committed after their window was read."""
        conn, mark, q = self._logs, self._logs.placeholder, self._logs.quote
        users = conn.marks(len(self.user_ids))
        with conn.snapshot():
            rows = self._page(
                f"SELECT {q('id')} FROM {q(self.tables.logs)} WHERE {q('user_id')} + 0 IN ({users}) "
                f"AND {q('created_at')} >= {mark} AND {q('created_at')} <= {mark} ORDER BY {q('id')}",
                (*self.user_ids, start_ts, end_ts),
            )
        return [int(r[0]) for r in rows]

    def balance(self, read_at: int) -> Balance | None:
        """The selected users' wallet balance (``users.quota``, summed) as the database holds it now;
        None when the users table is not there or not readable (the bridge then says so)."""
        conn = self._main
        columns = {c.lower() for c in conn.columns(self.tables.users) or ()}
        if not {"id", "quota"} <= columns or not conn.can_select(self.tables.users):
            return None
        extra = [c for c in ("used_quota", "request_count") if c in columns]
        marks = conn.marks(len(self.user_ids))
        sums = ", ".join(f"SUM({conn.quote(c)})" for c in ("quota", *extra))
        with conn.snapshot():
            row = conn.query(
                f"SELECT {sums} FROM {conn.quote(self.tables.users)} WHERE {conn.quote('id')} IN ({marks})",
                self.user_ids,
            )[0]
        values = dict(zip(("quota", *extra), row, strict=True))
        return Balance(
            "",
            read_at,
            int(values["quota"] or 0),
            None if values.get("used_quota") is None else int(values["used_quota"]),
            None if values.get("request_count") is None else int(values["request_count"]),
            origin="database",
        )

    def wallet_records(self, start_ts: int, end_ts: int) -> list[WalletRecord]:
        """Completed top-ups (``top_ups``) and used redemption codes (``redemptions``) of the users
        in ``[start_ts, end_ts]``, when the database has those tables (new-api; one-api: redemptions)."""
        conn = self._main
        q, mark = conn.quote, conn.placeholder
        users = conn.marks(len(self.user_ids))
        out: list[WalletRecord] = []
        qpu = self.status().quota_per_unit
        top = {c.lower() for c in conn.columns(self.tables.top_ups) or ()}
        if {"id", "user_id", "amount", "status"} <= top:
            when = "complete_time" if "complete_time" in top else "create_time"
            money, trade, method = (
                q(c) if c in top else "NULL" for c in ("money", "trade_no", "payment_method")
            )
            with conn.snapshot():
                rows = conn.query(
                    f"SELECT {q('id')}, {q(when)}, {q('amount')}, {money}, {trade}, {method} "
                    f"FROM {q(self.tables.top_ups)} "
                    f"WHERE {q('user_id')} IN ({users}) AND {q('status')} = {mark} "
                    f"AND {q(when)} >= {mark} AND {q(when)} <= {mark}",
                    (*self.user_ids, "success", start_ts, end_ts),
                )
            for ref, at, units, paid, trade_no, paid_by in rows:
                # new-api's top_ups.amount counts units of the display currency: quota = amount × QuotaPerUnit
                quota = int(Decimal(units or 0) * qpu)
                detail = {"trade_no": str(trade_no or "")[:200], "method": str(paid_by or "")[:50]}
                out.append(
                    WalletRecord(
                        "topup",
                        str(ref),
                        int(at),
                        quota,
                        None if paid is None else str(paid),
                        json.dumps(detail, ensure_ascii=False) if trade_no or paid_by else "",
                    )  # fmt: skip
                )
        red = {c.lower() for c in conn.columns(self.tables.redemptions) or ()}
        if {"id", "quota", "redeemed_time"} <= red and ("used_user_id" in red):
            with conn.snapshot():
                rows = conn.query(
                    f"SELECT {q('id')}, {q('redeemed_time')}, {q('quota')} FROM {q(self.tables.redemptions)} "
                    f"WHERE {q('used_user_id')} IN ({users}) AND {q('redeemed_time')} >= {mark} "
                    f"AND {q('redeemed_time')} <= {mark}",
                    (*self.user_ids, start_ts, end_ts),
                )
            out.extend(WalletRecord("redemption", str(r), int(at), int(quota or 0)) for r, at, quota in rows)
        return out

    def close(self) -> None:
        """Close the connection(s) (idempotent)."""
        self._logs.close()
        if self._main is not self._logs:
            self._main.close()

    def __enter__(self) -> DatabaseSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DatabaseSource(dsn={self.dsn.shown!r}, user_ids={self.user_ids!r})"

    # -- setup -------------------------------------------------------------------------------
    def _page(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        self._counted()
        return self._logs.query(sql, params)

    def _counted(self) -> None:
        """One page of logs is about to be queried (the sync's progress counts it)."""
        if self._on_request is not None:
            self._on_request("logs")

    def _log_schema(self) -> LogSchema:
        """Tell the flavour (or take the configured one) from its logs table; its tables are then
        :attr:`tables`."""
        conn = self._logs
        candidates = flavors.with_database(self.config)
        for table in dict.fromkeys(f.database.logs for f in candidates if f.database):
            columns = conn.columns(table)
            if columns is None:
                continue
            if not conn.can_select(table):
                raise DatabaseSourceError(
                    f"{conn.dsn.shown}: the database user {conn.dsn.user or '(default)'!r} may not SELECT "
                    f"from {table}; GRANT SELECT ON {table} (and the tokens, options and users tables) to it"
                )
            here = [f for f in candidates if f.database and f.database.logs == table]
            return detect_log_schema(columns, conn.dsn.shown, here, table)
        tables = " or ".join(dict.fromkeys(f.database.logs for f in candidates if f.database))
        raise DatabaseSourceError(
            f"{conn.dsn.shown}: no {tables} table; point gateway.dsn at the gateway's log database "
            "(its LOG_SQL_DSN, else its SQL_DSN)"
        )

    def _user_ids(self) -> tuple[int, ...]:
        ids = [] if self.config.user_id is None else [self.config.user_id]
        wanted = self.config.usernames
        if wanted:
            conn = self._main
            columns = conn.columns(self.tables.users)
            if columns is None or not {"id", "username"} <= {c.lower() for c in columns}:
                raise DatabaseSourceError(
                    f"{conn.dsn.shown}: gateway.usernames needs the users table, which is not here; "
                    "set gateway.main_dsn to the gateway's main database, or use gateway.user_id"
                )
            marks = conn.marks(len(wanted))
            with conn.snapshot():
                rows = conn.query(
                    f"SELECT {conn.quote('id')}, {conn.quote('username')} FROM {conn.quote(self.tables.users)} "
                    f"WHERE {conn.quote('username')} IN ({marks})",
                    wanted,
                )
            found = {str(name): int(uid) for uid, name in rows}
            missing = [name for name in wanted if name not in found]
            if missing:
                raise DatabaseSourceError(
                    f"{conn.dsn.shown}: no user named {', '.join(map(repr, missing))} in the users table"
                )
            ids.extend(found[name] for name in wanted)
        return tuple(dict.fromkeys(ids))


def _connect(dsn: Dsn, password: Secret | None) -> Connection:
    """A read-only connection to ``dsn``: ClickHouse (:mod:`.clickhouse`) or a SQL database (:mod:`.drivers`)."""
    if dsn.dialect == "clickhouse":
        return open_clickhouse(dsn, password.reveal() if password is not None else "")
    return connect(dsn, password)


def _decimal(value: str | None) -> Decimal | None:
    if value is None or not value.strip():
        return None
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _last_second(rows: list[tuple[Any, ...]], at_ts: int) -> int:
    """Where the rows of the last second of ``rows`` (ordered by time) start."""
    last, cut = rows[-1][at_ts], len(rows)
    while cut and rows[cut - 1][at_ts] == last:
        cut -= 1
    return cut


def _newest_first(rows: list[tuple[Any, ...]], at_ts: int, at_id: int) -> list[tuple[Any, ...]]:
    """``rows`` (ordered by time) with each second's rows newest insert (largest id) first: the
    order the API lists them in, so that the store (which keeps rows in time order, stably)
    holds same-second rows in the same order whichever source it read."""
    stamps = list(map(operator.itemgetter(at_ts), rows))
    if not any(map(operator.eq, stamps, itertools.islice(stamps, 1, None))):  # no second with two rows
        return rows
    out = sorted(rows, key=operator.itemgetter(at_id), reverse=True)  # two C-keyed sorts, the second
    out.sort(key=operator.itemgetter(at_ts))  # stable: by time, and within a second by id, descending
    return out
