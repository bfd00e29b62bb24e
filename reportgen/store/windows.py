"""Writing windows of rows: a fetched window replaces every row of its source in its time range, atomically.

A window is committed in one transaction that replaces its source's rows of the range (and
their raw JSON), records the range as covered and rolls up the days it touches, so a window
is either wholly in the store or not at all, and re-fetching never doubles a row.  The rows
the source served but the window does not keep (see :mod:`reportgen.core.findings`) are
recorded with it in ``window_findings``; a window with rows in no figure is stored without
coverage, so it reads as not synced and the next sync fetches it again.

The API path's rows arrive newest first, page by page: they are spooled to a temporary table
of the store's connection (:class:`WindowSpool`, on disk once large), not held in memory, and
written oldest first when the window is complete.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast

from ..core.findings import OUTSIDE, WindowFinding, WindowTally, unexplained
from ..core.rawjson import raw_content
from ..core.records import CREDIT_TYPES, GatewayStatus, RowBatch, UsageRecord
from ..core.tokens import USAGE_COLUMNS, TokenUsage
from ..errors import GatewayDataError, StoreError
from . import rollups
from .connection import DEFAULT_SOURCE, Connected
from .coverage import add_coverage
from .dialect import dialect_of, upsert
from .logs import ROW_COLUMNS
from .migrations import CREDIT_TYPES_SQL
from .pricerollup import USAGE_SQL
from .prices import pin_window
from .raw import forget_raw, keep_raw, keep_table, pack_table, unpack_table

#: Values a row is written with: its parsed fields and its token usage.
_WIDTH = 18 + len(USAGE_COLUMNS)
#: Rows whose raw JSON is kept as one compressed blob (a window of more is kept in several).
_RAW_ROWS = 10_000
#: Rows inserted by one statement of :meth:`WindowWrites.stream_window` (_WIDTH values each).
_ROWS_PER_INSERT = 50
_NO_USAGE = TokenUsage()
#: The ``logs`` columns a row is copied with where the engine copies rows in bulk (PostgreSQL).
_COPY_COLUMNS = ("id", *ROW_COLUMNS.split(", "), *USAGE_SQL.split(", "), "source")


class WindowWrites(Connected):
    """Replacing a source's rows of a time range with a fetched window."""

    def repeat_memory(self) -> SpooledRepeats:
        """What a window's listing remembers of its rows to tell repeats (the gateway's
        :class:`~reportgen.gateway.guards.RepeatMemory`), in a temporary table: flat memory."""
        return SpooledRepeats(self._conn)

    @contextlib.contextmanager
    def spool(self) -> Iterator[WindowSpool]:
        """A :class:`WindowSpool` for one window's rows, emptied when the block ends."""
        spool = WindowSpool(self._conn)
        try:
            yield spool
        finally:
            spool.clear()

    def replace_window(
        self,
        start: int,
        end: int,
        records: Iterable[UsageRecord] | WindowSpool,
        pages: int,
        fetched_at: int,
        source: str = DEFAULT_SOURCE,
        findings: Sequence[WindowFinding] = (),
        price: GatewayStatus | None = None,
    ) -> None:
        """Atomically make ``[start, end]`` (inclusive) of ``source`` hold exactly ``records`` (or
        the rows of a :meth:`spool`).

        Rows of other sources in the same range are left alone: sources never merge.
        ``findings`` (the rows served but not kept as rows) replace the window's; with rows
        in no figure among them the window is not recorded as complete.  ``price`` is the
        ``/api/status`` the window is priced by (see :mod:`.prices`).
        """
        if not isinstance(records, WindowSpool):
            with self.spool() as spool:
                spool.add(records)
                self.replace_window(start, end, spool, pages, fetched_at, source, findings, price)
            return
        with self._transaction() as cur:
            first = self._clear_window(cur, start, end, source)
            rows = records.write(cur, first, source)
            self._close_window(
                cur, start, end, rows, pages, fetched_at, source, findings=findings, price=price
            )

    def stream_window(
        self,
        start: int,
        end: int,
        batches: Iterable[RowBatch],
        fetched_at: int,
        source: str = DEFAULT_SOURCE,
        tally: WindowTally | None = None,
        price: GatewayStatus | None = None,
    ) -> tuple[int, int]:
        """:meth:`replace_window` for batches that arrive oldest first (the database source).

        Each batch is written as it arrives, inside the window's one transaction: the window
        is still replaced atomically, and memory holds one batch, not a window.  Rows outside
        ``[start, end]`` are left out and counted in ``tally`` (the window then is not
        complete).  Returns the rows written and the batches read.
        """
        tally = tally or WindowTally(start, end)
        rows = pages = 0
        # Ids are left to SQLite: each row gets the largest id + 1, so a window's rows are the
        # consecutive ids from the one _clear_window returns (checked below), oldest first.
        # Rows go _ROWS_PER_INSERT to a statement: ~20 % less time than one statement per row.
        one = f"({','.join('?' * _WIDTH)}, {_quote(source)})"
        insert, insert_many = (
            f"INSERT INTO logs ({ROW_COLUMNS}, {USAGE_SQL}, source) VALUES " + ",".join([one] * n)
            for n in (1, _ROWS_PER_INSERT)
        )
        with self._transaction() as cur:
            next_id = self._clear_window(cur, start, end, source)
            # the latency cells of the days the window holds whole, counted as the rows are written
            latency = rollups.LatencyCounts(self._conn, start, end)
            last = start
            for batch in batches:
                pages += 1
                columns, raws, packed = batch.columns, batch.rows, batch.packed
                stamps = columns[0]
                if not stamps:
                    continue
                if stamps[0] < last or list(stamps) != sorted(stamps):
                    raise GatewayDataError(  # the window is left as it was: the transaction rolls back
                        f"the {source!r} source gave the rows of {start}..{end} out of time order; nothing "
                        "of that window was stored"
                    )
                values, credits = _insert_rows(batch), batch.credits
                if stamps[0] < start or stamps[-1] > end:
                    keep = [i for i, ts in enumerate(stamps) if start <= ts <= end]
                    outside = [ts for ts in stamps if not start <= ts <= end]
                    tally.add(OUTSIDE, 0, str(outside[0]), rows=len(outside))
                    raws = raws or (unpack_table(packed) if packed is not None else ())
                    values, raws, packed = [values[i] for i in keep], [raws[i] for i in keep], None
                    kept = {old: new for new, old in enumerate(keep)}
                    credits = [(kept[i], text) for i, text in credits if i in kept]
                    if not values:
                        continue
                    columns = list(zip(*values, strict=True))
                latency.add(columns[0], columns[1], columns[2], columns[3], columns[7])
                count = len(values)
                last = stamps[-1]
                copied = self._dialect.copy_rows(  # PostgreSQL: COPY, with the ids the rows get
                    self._conn,
                    "logs",
                    _COPY_COLUMNS,
                    ((next_id + i, *v, source) for i, v in enumerate(values)),
                )
                if not copied:
                    whole = count - count % _ROWS_PER_INSERT
                    flat = list(itertools.chain.from_iterable(values[:whole]))
                    step = _WIDTH * _ROWS_PER_INSERT
                    cur.executemany(insert_many, [flat[i : i + step] for i in range(0, len(flat), step)])
                    cur.executemany(insert, values[whole:])
                if cur.execute("SELECT MAX(id) FROM logs").fetchone()[0] != next_id + count - 1:
                    raise StoreError(f"{self.name}: row ids were not assigned in order; nothing was stored")
                if batch.faithful and packed is None:
                    packed = pack_table(batch.fields, raws)
                # without a table (values orjson cannot carry exactly): each row's text
                keep_table(cur, next_id, count, packed, batch.fields, raws)
                _keep_credits(cur, [(next_id + i, text) for i, text in credits])
                next_id += count
                rows += count
            self._close_window(
                cur, start, end, rows, pages, fetched_at, source, latency.days, tally.findings(), price
            )
        return rows, pages

    @staticmethod
    def prepare(batch: RowBatch) -> RowBatch:
        """Make ``batch`` ready for :meth:`stream_window` before the store is free to write it: its
        raw table compressed, its usage as columns (pure, no database: the sync does it in the
        reading process; a prepared batch is for the store alone)."""
        if batch.faithful and batch.packed is None and batch.rows:
            batch.packed = pack_table(batch.fields, batch.rows)
            if batch.packed is not None:
                batch.credits = batch.credits  # read from the rows while they are here
                batch.rows = ()  # they are in the table: not carried twice
        if batch.usage and batch.usage_columns is None:
            batch.usage_columns = list(zip(*batch.usage, strict=True))
            batch.usage = ()
        return batch

    def _clear_window(self, cur: sqlite3.Cursor, start: int, end: int, source: str) -> int:
        """Delete ``source``'s rows of ``[start, end]`` and their raw JSON; the id the first new row gets."""
        gone = [
            int(r[0])
            for r in cur.execute(
                "SELECT id FROM logs WHERE created_at BETWEEN ? AND ? AND source = ?", (start, end, source)
            ).fetchall()
        ]
        if gone:  # only this source's rows' raw JSON and credit texts: other sources' rows stay
            forget_raw(cur, set(gone), min(gone), max(gone))
            cur.execute(
                f"DELETE FROM credit_texts WHERE id IN (SELECT id FROM logs WHERE created_at BETWEEN ? AND ? "
                f"AND source = ? AND {CREDIT_TYPES_SQL})",
                (start, end, source),
            )
        cur.execute("DELETE FROM logs WHERE created_at BETWEEN ? AND ? AND source = ?", (start, end, source))
        for table in ("window_findings", "window_prices"):
            cur.execute(
                f"DELETE FROM {table} WHERE source = ? AND start_ts <= ? AND end_ts >= ?",
                (source, end, start),
            )
        return int(cur.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM logs").fetchone()[0])

    def _close_window(
        self,
        cur: sqlite3.Cursor,
        start: int,
        end: int,
        rows: int,
        pages: int,
        fetched_at: int,
        source: str,
        counted: dict[int, rollups.Cells] | None = None,
        findings: Sequence[WindowFinding] = (),
        price: GatewayStatus | None = None,
    ) -> None:
        """Record ``[start, end]`` as complete (unless ``findings`` hold rows in no figure), keep its
        findings and roll up the days it touches (``counted``: see :func:`rollups.roll`)."""
        if not unexplained(findings):
            add_coverage(cur, start, end, source)
        if price is not None:
            pin_window(cur, start, end, source, price)
        cur.executemany(
            "INSERT INTO window_findings (source, start_ts, end_ts, reason, rows, quota, example, found_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(source, start, end, f.reason, f.rows, f.quota, f.example, fetched_at) for f in findings],
        )
        cur.execute(
            "INSERT INTO windows (start_ts, end_ts, rows, pages, fetched_at, source) VALUES (?, ?, ?, ?, ?, ?)",
            (start, end, rows, pages, fetched_at, source),
        )
        rollups.roll(self._conn, start, end + 1, source, counted)  # this source's touched days, from its rows


def _insert_rows(batch: RowBatch) -> list[tuple[Any, ...]]:
    """The values :meth:`WindowWrites.stream_window` inserts for each row of ``batch``: its stored
    tuple and its usage (none reported: all NULL)."""
    if batch.usage_columns is not None:
        return batch.stored_with(*batch.usage_columns)
    usage = batch.usage or [_NO_USAGE] * len(batch)
    return [v + u for v, u in zip(batch.stored, usage, strict=True)]


class WindowSpool:
    """One window's rows in any order, in a temporary table of the store's connection (SQLite moves
    it to a file once it outgrows its cache): a window of any size costs the sync no memory."""

    _COLUMNS = f"{ROW_COLUMNS}, {USAGE_SQL}"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        for statement in dialect_of(conn).spool_ddl(conn, self._COLUMNS):
            conn.execute(statement)
        conn.execute("DELETE FROM temp.spool")
        self.rows = 0

    def add(self, records: Iterable[UsageRecord]) -> None:
        """Keep ``records`` (a page) until the window is written."""
        values = [(*_record_values(r), r.raw) for r in records]
        self._conn.executemany(
            f"INSERT INTO temp.spool ({self._COLUMNS}, raw) VALUES ({','.join('?' * (_WIDTH + 1))})", values
        )
        self.rows += len(values)

    def write(self, cur: sqlite3.Cursor, first: int, source: str) -> int:
        """Insert the rows oldest first (ties in the order received) as ids ``first, first + 1, …`` of
        ``source``, their raw JSON and credit texts beside them; returns how many."""
        order = "ORDER BY created_at, seq"
        cur.execute(
            f"INSERT INTO logs (id, {self._COLUMNS}, source) "
            f"SELECT ? + row_number() OVER ({order}) - 1, {self._COLUMNS}, ? FROM temp.spool {order}",
            (first, source),
        )
        raws = self._conn.execute(f"SELECT type, raw FROM temp.spool {order}")
        at = first
        while chunk := raws.fetchmany(_RAW_ROWS):
            keep_raw(cur, [(at + i, raw) for i, (_type, raw) in enumerate(chunk)])
            _keep_credits(
                cur,
                [(at + i, raw_content(raw)) for i, (kind, raw) in enumerate(chunk) if kind in CREDIT_TYPES],
            )
            at += len(chunk)
        return at - first

    def clear(self) -> None:
        self._conn.execute("DELETE FROM temp.spool")
        self.rows = 0


class SpooledRepeats:
    """One window's :class:`~reportgen.gateway.guards.RepeatMemory` in a temporary table of the store's
    connection (emptied when made: one window at a time), so a listing of any length costs no memory."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS repeats (digest BLOB PRIMARY KEY, entries TEXT) WITHOUT ROWID"
        )
        conn.execute("DELETE FROM temp.repeats")

    def get(self, digest: bytes) -> list[list[Any]] | None:
        row = self._conn.execute("SELECT entries FROM temp.repeats WHERE digest = ?", (digest,)).fetchone()
        return None if row is None else cast(list[list[Any]], json.loads(row[0]))

    def put(self, digest: bytes, entries: list[list[Any]]) -> None:
        self._conn.execute(
            upsert("temp.repeats", ("digest", "entries"), ("digest",)),
            (digest, json.dumps(entries, separators=(",", ":"))),
        )


def _keep_credits(cur: sqlite3.Cursor, texts: list[tuple[int, str]]) -> None:
    """Keep the credit rows' texts ``(id, content)`` beside their rows (the wallet bridge reads them)."""
    if texts:
        cur.executemany("INSERT INTO credit_texts (id, content) VALUES (?, ?)", texts)


def _quote(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _record_values(r: UsageRecord) -> tuple[Any, ...]:
    return (
        r.created_at, r.type, r.token_name, r.model_name, r.quota, r.prompt_tokens, r.completion_tokens,
        r.use_time_ms, int(r.is_stream), r.request_id, r.client, r.http_status, r.billing_source,
        r.token_id, r.group, r.username, r.channel, int(r.has_price), *(r.usage or _NO_USAGE),
    )  # fmt: skip
