"""Log rows: streamed as records and as detail rows, their key names, counts, digests and fingerprint.

A row's digest is computed from its content at read time, never read from a column: the
content fingerprint (:mod:`reportgen.core.fingerprint`) changes with any edit of any stored row.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator, Sequence
from typing import Any

from ..core.columns import Field
from ..core.fingerprint import ROW_FIELDS
from ..core.records import UsageRecord
from ..core.tokens import TokenUsage
from .partials import RollupReads
from .pricerollup import USAGE_SQL
from .raw import RawLookup

#: The parsed columns of a stored row, in the order of :data:`reportgen.core.fingerprint.ROW_FIELDS`.
ROW_COLUMNS = (
    "created_at, type, token_name, model_name, quota, prompt_tokens, completion_tokens, use_time_ms, "
    "is_stream, request_id, client, http_status, billing_source, token_id, grp, username, channel, has_price"
)
#: The usage columns of a row written without any (read back as None, as it was written).
_NO_USAGE = tuple(TokenUsage())
_TEXT_FIELDS = {"token_name", "model_name", "request_id", "client", "billing_source", "group", "username"}
_NULLABLE = {"use_time_ms", "http_status", "token_id", "channel"}
#: True when no column of INTEGER affinity holds a REAL (a TEXT column stores a number as
#: text), and a REAL is the one value SQLite's ``json_array`` writes otherwise than
#: ``json.dumps`` (``1.0e+20`` for ``1e+20``): their sum is an integer only then (a REAL
#: term, or an overflow, makes it REAL; a NULL where none belongs makes it NULL).
_NO_REAL = "typeof({}) = 'integer'".format(
    " + ".join(
        f"COALESCE({c}, 0)" if c in _NULLABLE else c
        for c, f in zip(ROW_COLUMNS.split(", "), ROW_FIELDS, strict=True)
        if f not in _TEXT_FIELDS
    )
)


class LogReads(RollupReads):
    """The rows of a time range (and of some keys), as records, detail rows, counts and digests."""

    def iter_records(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None, *, raw: bool = True
    ) -> Iterator[UsageRecord]:
        """Rows of ``[start_ts, end_ts)`` in time order, streamed (not held in memory).

        ``raw=False`` leaves ``UsageRecord.raw`` empty: the raw JSON is most of a row's
        bytes, and reading it doubles the time to stream a million rows.
        """
        where, args = self._filter(token_names)
        cols = ROW_COLUMNS.replace("token_name", f"{self._key} AS tk", 1)
        usage = self._has_usage()
        cur = self._dialect.stream(
            self._conn,
            f"SELECT id, {cols}{', ' + USAGE_SQL if usage else ''} FROM logs "
            f"WHERE created_at >= ? AND created_at < ?{where} ORDER BY created_at, id",
            [start_ts, end_ts, *args],
        )
        raws = RawLookup(self._conn) if raw else None
        new = tuple.__new__
        with contextlib.closing(cur):  # a server-side cursor is closed even when the reader stops early
            while batch := cur.fetchmany(2000):
                for r in batch:
                    yield UsageRecord(
                        r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], bool(r[9]), r[10], r[11], r[12],
                        r[13], r[14], r[15], r[16], r[17], bool(r[18]), "" if raws is None else raws[r[0]],
                        new(TokenUsage, r[19:]) if usage and r[19:] != _NO_USAGE else None,
                    )  # fmt: skip

    def _has_usage(self) -> bool:
        """Whether the rows keep their token usage (a snapshot of an older schema, not migrated, does not)."""
        return "price_note" in self._dialect.columns(self._conn, "logs")

    def iter_detail(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None, fields: Sequence[Field]
    ) -> Iterator[list[tuple[Any, ...]]]:
        """The values of ``fields`` (their SQL) for each consumption and refund row of ``[start_ts, end_ts)``,
        in time order, a batch of rows at a time (see :func:`reportgen.core.columns.detail_batches`)."""
        where, args = self._filter(token_names)
        select = ", ".join(self._line_sql(f.sql) for f in fields)
        cur = self._dialect.stream(
            self._conn,
            f"SELECT {select} FROM logs WHERE created_at >= ? AND created_at < ? AND type IN (2, 6){where} "
            "ORDER BY created_at, id",
            [start_ts, end_ts, *args],
        )
        with contextlib.closing(cur):
            while batch := cur.fetchmany(4096):
                yield batch

    def token_names(self, start_ts: int, end_ts: int) -> list[str]:
        """Key names with counted rows (consumption, error, refund) in ``[start_ts, end_ts)``.

        Whole rolled-up days are read from the rollups, the rest from rows; both with the
        sources read and key names as reports show them.
        """
        names: set[str] = set()
        lo = start_ts
        for day, end in sorted(self.rolled_days(start_ts, end_ts).items()):
            if end > end_ts:
                break
            names.update(self._distinct_tokens("logs", "created_at", lo, day))
            names.update(self._distinct_tokens("rollups", "day", day, day + 1))
            lo = end
        names.update(self._distinct_tokens("logs", "created_at", lo, end_ts))
        return sorted(names)

    def _distinct_tokens(self, table: str, column: str, lo: int, hi: int) -> list[str]:
        if hi <= lo:
            return []
        where, args = self._filter(None)
        sql = (
            f"SELECT DISTINCT {self._key} FROM {table} WHERE {column} >= ? AND {column} < ? "
            f"AND type IN (2, 5, 6){where}"
        )
        return [r[0] for r in self._conn.execute(sql, (lo, hi, *args))]

    def row_count(self) -> int:
        where, args = self._filter(None)
        return int(self._conn.execute(f"SELECT COUNT(*) FROM logs WHERE TRUE{where}", args).fetchone()[0])

    def count_rows(
        self,
        start_ts: int,
        end_ts: int,
        token_names: tuple[str, ...] | None = None,
        *,
        rolled: bool = False,
    ) -> int:
        """How many rows of ``[start_ts, end_ts)`` (every type) :meth:`fingerprint` hashes.

        ``rolled`` counts whole rolled-up days from the rollups (the same number, without
        reading every row); the default counts the rows themselves, as a check does.
        """
        where, args = self._filter(token_names)
        total = 0
        for lo, hi, from_rollups in (
            self.rolled_spans(start_ts, end_ts) if rolled else [(start_ts, end_ts, False)]
        ):
            table, column, what = (
                ("rollups", "day", "SUM(rows)") if from_rollups else ("logs", "created_at", "COUNT(*)")
            )
            sql = f"SELECT COALESCE({what}, 0) FROM {table} WHERE {column} >= ? AND {column} < ?{where}"
            total += int(self._conn.execute(sql, [lo, hi, *args]).fetchone()[0])
        return total

    def gateway_ids(self, lo: int, hi: int, source: str) -> list[int | None]:
        """The gateway's own id of each of ``source``'s rows in ``[lo, hi]`` (inclusive), ascending.

        Read from each row's raw JSON, which keeps the row as the source gave it: the
        database source's rows carry the real ``logs.id`` there (the store's ``id`` column is
        a position in the store).  None for a row without one.
        """
        src = " AND source = ?" if self._multi else ""
        rows = self._conn.execute(
            f"SELECT id FROM logs WHERE created_at BETWEEN ? AND ?{src} ORDER BY id",
            (lo, hi, *([source] if self._multi else [])),
        ).fetchall()
        raws = RawLookup(self._conn)
        out = [_raw_id(raws[int(r[0])]) for r in rows]
        return sorted(out, key=lambda i: (i is None, i or 0))

    def digests(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None
    ) -> Iterator[bytes]:
        """The content digests of the rows of ``[start_ts, end_ts)``, ascending (what a fingerprint hashes)."""
        for batch in self._digest_batches(start_ts, end_ts, token_names):
            for row in batch:
                yield row[0]

    def _digest_batches(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None
    ) -> Iterator[list[tuple[bytes]]]:
        where, args = self._filter(token_names)
        cur = self._dialect.stream(
            self._conn,
            f"SELECT {self._line_sql(self._digest_sql())} AS d FROM logs WHERE created_at >= ? AND created_at < ?{where} "
            "ORDER BY d",
            [start_ts, end_ts, *args],
        )
        with contextlib.closing(cur):
            while batch := cur.fetchmany(8192):
                yield batch

    def canonical_rows(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None
    ) -> Iterator[tuple[bytes, str]]:
        """``(digest, canonical line)`` of each row of ``[start_ts, end_ts)``, in digest order."""
        where, args = self._filter(token_names)
        cur = self._dialect.stream(
            self._conn,
            f"SELECT {self._dialect.digest_sql('line')} AS d, line FROM (SELECT {self._line_sql(self._row_line())} "
            f"AS line FROM logs WHERE created_at >= ? AND created_at < ?{where}) AS lines ORDER BY d",
            [start_ts, end_ts, *args],
        )
        with contextlib.closing(cur):
            while batch := cur.fetchmany(4096):
                yield from batch

    def fingerprint(self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None) -> str:
        """The content fingerprint of the rows of ``[start_ts, end_ts)`` (:mod:`reportgen.core.fingerprint`).

        Computed from every parsed field of every row each time, so an edit of any stored
        row changes it.  The raw JSON is not hashed: its ``id`` is a row position that
        changes between fetches of the same data.  Identical rows keep their multiplicity.
        SQLite sorts the digests (in bounded memory, spilling to disk), so a fingerprint
        never holds a period's digests in Python; PostgreSQL computes the whole fingerprint
        on the server (:meth:`~reportgen.store.dialect.Dialect.fingerprint_sql`).
        """
        where, args = self._filter(token_names)
        digests = (
            f"SELECT {self._line_sql(self._digest_sql())} AS d FROM logs "
            f"WHERE created_at >= ? AND created_at < ?{where}"
        )
        whole = self._dialect.fingerprint_sql(digests)
        if whole is not None:
            return str(self._conn.execute(whole, [start_ts, end_ts, *args]).fetchone()[0])
        digest = hashlib.sha256()
        for batch in self._digest_batches(start_ts, end_ts, token_names):
            digest.update(b"".join([row[0] for row in batch]))
        return digest.hexdigest()

    def _row_line(self) -> str:
        """A row's canonical line, built by the database: byte for byte :func:`canonical_row`
        (``tests/test_fingerprint.py`` holds the two equal).  Hashing it is one call per row."""
        return self._dialect.line_sql(ROW_COLUMNS, _NO_REAL)

    def _digest_sql(self) -> str:
        return self._dialect.digest_sql(self._row_line())

    def _line_sql(self, sql: str) -> str:
        """``sql`` with the key named as reports name it (``SOURCE:NAME`` on other sources)."""
        return sql.replace("token_name", self._key)


def _raw_id(raw: str) -> int | None:
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        return None
    row_id = value.get("id") if isinstance(value, dict) else None
    return row_id if type(row_id) is int else None
