"""The embedded store: synced log rows, which time ranges are complete, and gateway facts.

SQLite from the standard library.  A fetched window is committed in one transaction that
replaces every row in its time range, so a window is either wholly in the store or not at
all, and re-fetching never doubles a row.  Rows have no content de-duplication: two
identical rows in the same second are two requests.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import operator
import os
import sqlite3
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..core.fingerprint import ROW_FIELDS, canonical_row
from ..core.partials import Bucket, LatencyCount, Partials
from ..core.periods import Period, local_days
from ..core.records import GatewayStatus, KeyInfo, RowBatch, UsageRecord
from ..core.report import DetailTuple
from ..core.wallet import Balance, CreditRow, WalletRecord
from ..errors import GatewayDataError, StoreError, SyncLockedError
from . import rollups, schema
from .raw import RawLookup, forget_raw, keep_raw, keep_table, pack_table, unpack_table
from .rollups import BUCKET_COLUMNS, LATENCY_BUCKET_SQL, SUB_SQL, SUMS_SQL

DB_NAME = "reportgen.sqlite3"
LOCK_NAME = "sync.lock"

_COLUMNS = (
    "created_at, type, token_name, model_name, quota, prompt_tokens, completion_tokens, use_time_ms, "
    "is_stream, request_id, client, http_status, billing_source, token_id, grp, username, channel, has_price"
)

#: The parsed columns of a stored row, in the order of :data:`reportgen.core.fingerprint.ROW_FIELDS`.
ROW_COLUMNS = _COLUMNS
_TEXT_FIELDS = {"token_name", "model_name", "request_id", "client", "billing_source", "group", "username"}
_NULLABLE = {"use_time_ms", "http_status", "token_id", "channel"}
#: True when no column of INTEGER affinity holds a REAL (a TEXT column stores a number as
#: text), and a REAL is the one value SQLite's ``json_array`` writes otherwise than
#: ``json.dumps`` (``1.0e+20`` for ``1e+20``): their sum is an integer only then (a REAL
#: term, or an overflow, makes it REAL; a NULL where none belongs makes it NULL).
_NO_REAL = "typeof({}) = 'integer'".format(
    " + ".join(
        f"IFNULL({c}, 0)" if c in _NULLABLE else c
        for c, f in zip(_COLUMNS.split(", "), ROW_FIELDS, strict=True)
        if f not in _TEXT_FIELDS
    )
)
#: A row's canonical line, built by SQLite: byte for byte :func:`canonical_row` for every
#: value but a REAL (``tests/test_fingerprint.py`` holds the two equal), and a row holding a
#: REAL is written by Python.  Hashing it is one call per row with one argument.
_LINE_SQL = f"CASE WHEN {_NO_REAL} THEN json_array({_COLUMNS}) ELSE rg_canonical_row({_COLUMNS}) END"
_DIGEST_SQL = f"rg_sha256(CAST({_LINE_SQL} AS BLOB))"
_INSERT_ROW = f"INSERT INTO logs (id, {_COLUMNS}, source) VALUES ({','.join('?' * 20)})"


#: Rows inserted by one statement of :meth:`Store.stream_window` (18 values each).
_ROWS_PER_INSERT = 50

#: The source of ``[gateway]`` (and of every row a store held before it knew sources).
DEFAULT_SOURCE = "default"
#: A key as reports name it: bare on the default source, ``SOURCE:NAME`` on every other one,
#: so that one key name on two sources is two keys (and a store of one ``[gateway]`` reads
#: exactly as it did before sources existed: same names, same fingerprints).
KEY_SQL = "(CASE WHEN source = 'default' THEN token_name ELSE source || ':' || token_name END)"


def qualified_key(source: str, name: str) -> str:
    """The key name reports show for ``name`` on ``source`` (see :data:`KEY_SQL`)."""
    return name if source == DEFAULT_SOURCE else f"{source}:{name}"


def split_key(key: str, sources: Sequence[str]) -> tuple[str, str]:
    """``(source, name)`` of a key as reports name it, given the configured source names."""
    head, sep, tail = key.partition(":")
    if sep and head in sources and head != DEFAULT_SOURCE:
        return head, tail
    return DEFAULT_SOURCE, key


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The common part of two ordered lists of merged inclusive ranges."""
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


class Reader:
    """Read access to a store folder's database, inside one read transaction once :meth:`begin` ran.

    Every query a period's figures need is a method here, so a view that reads totals,
    detail rows, fingerprint and coverage through one reader sees one consistent
    snapshot of the store even while a sync commits windows.
    """

    def __init__(self, directory: Path, conn: sqlite3.Connection) -> None:
        self.directory = directory
        self._conn: sqlite3.Connection = _Guarded(conn, directory / DB_NAME)  # type: ignore[assignment]
        # Row digests are computed from the content at read time, never read from a column.
        conn.create_function("rg_sha256", 1, _sha256, deterministic=True)
        conn.create_function("rg_canonical_row", 18, _canonical_row, deterministic=True)
        # A snapshot closed before schema 5 has no source column: all its rows are the default source's.
        self._multi = "source" in {r[1] for r in conn.execute("PRAGMA table_info(logs)")}
        self._sources: tuple[str, ...] | None = None
        self._key = KEY_SQL if self._multi else "token_name"
        self._cols = _COLUMNS.replace("token_name", f"{self._key} AS tk", 1)
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
            return ("", []) if DEFAULT_SOURCE in self._sources else (" AND 0", [])
        return f" AND {column} IN ({','.join('?' * len(self._sources))})", list(self._sources)

    def _filter(self, token_names: Sequence[str] | None) -> tuple[str, list[Any]]:
        """The source filter and, if given, the key filter, to append to a WHERE on logs."""
        where, args = self._src()
        if token_names is None:
            return where, args
        if not token_names:
            return where + " AND 0", args
        return f"{where} AND {self._key} IN ({','.join('?' * len(token_names))})", [*args, *token_names]

    @classmethod
    def open(cls, directory: Path, *, snapshot: bool = False) -> Reader:
        """Open the store in ``directory`` read-only (migrating an older live store first).

        A read-only copy of a store works too: when SQLite cannot create its shared-memory
        file beside the copy, the copy is opened as immutable.
        """
        directory = Path(directory)
        db = directory / DB_NAME
        if not db.is_file():
            raise StoreError(f"{directory}: no store yet; run `reportgen sync` first")
        conn = _connect_ro(db)
        try:
            version = schema.version_of(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(f"{db}: cannot read the store ({exc})") from None
        if version is None or version < schema.OLDEST_MIGRATABLE or version > schema.SCHEMA_VERSION:
            conn.close()
            Store.open(directory, create=False).close()  # raises the one-line reason
            raise StoreError(f"{db}: not a reportgen store")  # pragma: no cover - open raised
        if version < schema.SCHEMA_VERSION and not snapshot:
            conn.close()
            with sync_lock(directory):
                Store.open(directory, create=False).close()  # migrates, with a backup
            conn = _connect_ro(db)
        return cls(directory, conn)

    def begin(self) -> None:
        """Start the read transaction every later read of this reader sees."""
        self._conn.execute("BEGIN")
        self._conn.execute("SELECT COUNT(*) FROM meta").fetchone()  # the snapshot starts at the first read

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- meta and identity -------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def account(self) -> tuple[str, int | None]:
        """The gateway base URL and user id of the logs read (several sources: each named, joined)."""
        accounts = self.source_accounts()
        if len(accounts) == 1:
            text = next(iter(accounts.values()))
        elif accounts:
            return " + ".join(f"{name}={acc}" for name, acc in sorted(accounts.items())), None
        else:
            text = self.get_meta("account") or "#"
        base_url, _, user = text.partition("#")
        return base_url, int(user) if user.isdigit() else None

    def source_accounts(self) -> dict[str, str]:
        """``{source name: "URL#USER"}`` of the sources read, as each was bound by its first sync."""
        if not self.has_table("sources"):
            known = self.get_meta("account")
            wanted = self._sources is None or DEFAULT_SOURCE in self._sources
            return {DEFAULT_SOURCE: known} if known and wanted else {}
        where, args = self._src("name")
        rows = self._conn.execute(f"SELECT name, account FROM sources WHERE 1{where} ORDER BY name", args)
        return {str(n): str(a) for n, a in rows}

    def coverage(self) -> list[tuple[int, int]]:
        """Completed, merged time ranges ``(start, end)``, both inclusive, in order.

        With several sources read, a range counts only when every one of them holds it.
        """
        if not self._multi:
            wanted = self._sources is None or DEFAULT_SOURCE in self._sources
            rows = self._conn.execute("SELECT start_ts, end_ts FROM coverage ORDER BY 1") if wanted else []
            return [(int(s), int(e)) for s, e in rows]
        names = self._sources
        if names is None:
            names = tuple(r[0] for r in self._conn.execute("SELECT DISTINCT source FROM coverage ORDER BY 1"))
        out: list[tuple[int, int]] | None = None
        for name in names:
            ranges = [
                (int(s), int(e))
                for s, e in self._conn.execute(
                    "SELECT start_ts, end_ts FROM coverage WHERE source = ? ORDER BY 1", (name,)
                )
            ]
            out = ranges if out is None else _intersect(out, ranges)
        return out or []

    def has_table(self, name: str) -> bool:
        return bool(
            self._conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
            ).fetchone()
        )

    # -- gateway facts ---------------------------------------------------------------------

    def latest_status(self, before: int | None = None) -> GatewayStatus | None:
        """The newest ``/api/status`` snapshot (read at or before ``before`` if given).

        With several sources: each source's newest, and of those the first source's (by name)
        that states an exchange rate, so the rate does not depend on which source synced last.
        Sources that count quota per USD differently cannot be summed: that is refused.
        """
        if not self._multi:
            return self._status_of(None, before)
        found = [(n, st) for n in self.source_names() if (st := self._status_of(n, before)) is not None]
        if not found:
            return None
        units = {st.quota_per_unit for _, st in found}
        if len(units) > 1:
            shown = ", ".join(f"{n} {st.quota_per_unit}" for n, st in found)
            raise StoreError(
                f"the sources count quota per USD differently ({shown}): their quota cannot be summed; "
                "report each with --source NAME"
            )
        return next((st for _, st in found if st.usd_exchange_rate is not None), found[0][1])

    def source_statuses(self) -> dict[str, GatewayStatus | None]:
        """Each source read and its newest ``/api/status`` (None: never read), by name."""
        return {n: self._status_of(n if self._multi else None, None) for n in self.source_names()}

    def _status_of(self, source: str | None, before: int | None) -> GatewayStatus | None:
        sql = "SELECT read_at, quota_per_unit, usd_exchange_rate, quota_display_type, version FROM status_snapshots WHERE 1"
        args: list[Any] = []
        if source is not None:
            sql += " AND source = ?"
            args.append(source)
        if before is not None:
            sql += " AND read_at <= ?"
            args.append(before)
        row = self._conn.execute(sql + " ORDER BY read_at DESC, rowid DESC LIMIT 1", args).fetchone()
        if row is None:
            return None
        return GatewayStatus(
            quota_per_unit=Decimal(row[1]),
            read_at=int(row[0]),
            usd_exchange_rate=None if row[2] is None else Decimal(row[2]),
            quota_display_type=row[3],
            version=row[4],
        )

    def current_keys(self) -> list[KeyInfo]:
        """The keys the gateway listed at the last sync (deleted keys drop out)."""
        if not self._multi:
            seen = self.get_meta("keys_seen_at")
            if seen is None:
                return []
            rows = self._conn.execute(
                "SELECT id, name, status, used_quota, remain_quota, unlimited_quota, grp, created_time, "
                "accessed_time, expired_time FROM keys WHERE seen_at = ? ORDER BY name, id",
                (int(seen),),
            ).fetchall()
        else:
            where, args = self._src("k.source")
            rows = self._conn.execute(
                f"SELECT k.id, {KEY_SQL.replace('source', 'k.source').replace('token_name', 'k.name')}, "
                "k.status, k.used_quota, k.remain_quota, k.unlimited_quota, k.grp, k.created_time, "
                "k.accessed_time, k.expired_time FROM keys k WHERE k.seen_at = "
                f"(SELECT MAX(seen_at) FROM keys l WHERE l.source = k.source){where} ORDER BY 2, 1",
                args,
            ).fetchall()
        return [KeyInfo(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7], r[8], r[9]) for r in rows]

    def last_sync(self) -> dict[str, Any] | None:
        """The newest sync that finished, as a dict (None before the first one)."""
        where, args = self._src() if self._multi else ("", [])
        cur = self._conn.execute(
            f"SELECT * FROM syncs WHERE finished_at IS NOT NULL{where} ORDER BY id DESC LIMIT 1", args
        )
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cur.description], row, strict=True))

    # -- rows ----------------------------------------------------------------------------

    def iter_records(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None, *, raw: bool = True
    ) -> Iterator[UsageRecord]:
        """Rows of ``[start_ts, end_ts)`` in time order, streamed (not held in memory).

        ``raw=False`` leaves ``UsageRecord.raw`` empty: the raw JSON is most of a row's
        bytes, and reading it doubles the time to stream a million rows.
        """
        where, args = self._filter(token_names)
        cur = self._conn.execute(
            f"SELECT id, {self._cols} FROM logs WHERE created_at >= ? AND created_at < ?{where} "
            "ORDER BY created_at, id",
            [start_ts, end_ts, *args],
        )
        raws = RawLookup(self._conn) if raw else None
        while batch := cur.fetchmany(2000):
            for r in batch:
                yield UsageRecord(
                    r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], bool(r[9]), r[10], r[11], r[12],
                    r[13], r[14], r[15], r[16], r[17], bool(r[18]), "" if raws is None else raws[r[0]],
                )  # fmt: skip

    def iter_detail(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None
    ) -> Iterator[DetailTuple]:
        """Consumption and refund rows of ``[start_ts, end_ts)`` as :data:`DetailTuple`, in time order."""
        where, args = self._filter(token_names)
        cur = self._conn.execute(
            f"SELECT created_at, {self._key}, model_name, type, prompt_tokens, completion_tokens, "
            "CASE WHEN type = 6 THEN -quota ELSE quota END, use_time_ms, client, request_id, http_status "
            f"FROM logs WHERE created_at >= ? AND created_at < ? AND type IN (2, 6){where} ORDER BY created_at, id",
            [start_ts, end_ts, *args],
        )
        while batch := cur.fetchmany(4096):
            yield from batch

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

    def rolled_days(self, start_ts: int, end_ts: int) -> dict[int, int]:
        """The rolled-up local days starting in ``[start_ts, end_ts)``: start -> end (see :mod:`.rollups`).

        A day counts when every source read is rolled up for it, or holds nothing there
        (no coverage touches it: a source's rows always lie in its coverage).
        """
        if not self.has_table("rollup_histograms"):  # a snapshot closed before rollups existed, not migrated
            return {}
        where, args = self._src()
        by_day: dict[int, dict[str, int]] = {}
        for day, source, end in self._conn.execute(
            f"SELECT day, source, end_ts FROM rollup_days WHERE day >= ? AND day < ?{where}",
            (start_ts, end_ts, *args),
        ):
            by_day.setdefault(int(day), {})[str(source)] = int(end)
        if not by_day:
            return {}
        names = self.source_names()
        if not self._multi:
            names = tuple(n for n in names if n == DEFAULT_SOURCE)
        covered = {name: self.source_coverage(name) for name in names}
        out: dict[int, int] = {}
        for day, ends in by_day.items():
            if len(set(ends.values())) != 1:  # cannot happen in one zone: be safe
                continue
            end = next(iter(ends.values()))
            if all(
                name in ends or not any(lo < end and hi >= day for lo, hi in covered[name]) for name in names
            ):
                out[day] = end
        return out

    def partials(self, period: Period, token_names: tuple[str, ...] | None = None) -> Partials:
        """Rows of the period grouped by key, model, local day, type and billing source.

        Whole local days that are rolled up (the usual case) are read from the rollups, a
        run of consecutive days per query; any other day is grouped from its rows.  What
        aggregation reads (per key × model and per day) is summed here; the buckets
        of rolled-up days are read only if asked for, in this read (see :class:`Partials`).
        """
        where, args = self._filter(token_names)
        days = local_days(period)
        rolled = self.rolled_days(days[0][1], days[-1][2]) if days else {}
        # In day order: a run of rolled-up days (read later if asked) or a day's buckets from rows.
        parts: list[tuple[list[tuple[date, int, int]], list[Bucket]]] = []
        key_models: list[Bucket] = []
        day_groups: list[Bucket] = []
        lat_day: list[LatencyCount] = []
        lat_km: dict[tuple[str, str], dict[int, int]] = {}  # key × model → bucket → count
        run: list[tuple[date, int, int]] = []

        def flush() -> None:
            if run:
                self._rolled_sums(run, where, args, key_models, day_groups)
                self._rolled_latency(run, where, args, lat_day, lat_km)
                parts.append((run.copy(), []))
                run.clear()

        for day, start, end in days:
            if rolled.get(start) == end and start >= period.start_ts and end <= period.end_ts:
                run.append((day, start, end))
                continue
            flush()
            from_rows = list(self._day_buckets(day, start, end, where, args))
            parts.append(([], from_rows))
            key_models.extend(from_rows)
            day_groups.extend(from_rows)
            for bucket_ms, count in self._conn.execute(
                f"SELECT {LATENCY_BUCKET_SQL} AS b, COUNT(*) FROM logs WHERE created_at >= ? "
                f"AND created_at < ? AND type = 2 AND use_time_ms IS NOT NULL{where} GROUP BY b ORDER BY b",
                [start, end, *args],
            ):
                lat_day.append(LatencyCount(day.isoformat(), bucket_ms, count))
            for key, model, bucket_ms, count in self._conn.execute(
                f"SELECT {self._key} AS tk, model_name, {LATENCY_BUCKET_SQL} AS b, COUNT(*) FROM logs "
                f"WHERE created_at >= ? AND created_at < ? AND type = 2 AND use_time_ms IS NOT NULL{where} "
                "GROUP BY tk, model_name, b",
                [max(start, period.start_ts), min(end, period.end_ts), *args],
            ):
                into = lat_km.setdefault((key, model), {})
                into[bucket_ms] = into.get(bucket_ms, 0) + count
        flush()

        def load() -> tuple[Bucket, ...]:
            buckets: list[Bucket] = []
            for rolled_run, from_rows in parts:
                if rolled_run:
                    self._rolled_buckets(rolled_run, where, args, buckets)
                buckets.extend(from_rows)
            return tuple(buckets)

        return Partials(
            None,
            tuple(
                LatencyCount(joined, b, n)
                for (k, m), counts in sorted(lat_km.items())
                for joined in (f"{k}\x00{m}",)
                for b, n in sorted(counts.items())
            ),
            tuple(lat_day),
            key_models=tuple(key_models),
            days=tuple(day_groups),
            load=load,
        )

    def _rolled_sums(
        self,
        run: list[tuple[date, int, int]],
        where: str,
        args: list[Any],
        key_models: list[Bucket],
        day_groups: list[Bucket],
    ) -> None:
        """Consecutive rolled-up days summed per key × model and per day (each by type and billing source).

        Keys are named and sources filtered as on rows; a key rolled up under several
        sources (see KEY_SQL) is summed like any other group.
        """
        span = [run[0][1], run[-1][2], *args]
        day_of = {start: day for day, start, _ in run}
        first = run[0][0]
        sums = ", ".join(f"SUM({c.strip()})" for c in BUCKET_COLUMNS.split(","))
        new = tuple.__new__  # a Bucket straight from its fields (a named tuple's __new__ is a Python call)
        name = self._names.setdefault
        key_models.extend(
            new(Bucket, (name(r[0], r[0]), name(r[1], r[1]), first, r[2], r[3] == 1, *r[4:12]))
            for r in self._conn.execute(
                f"SELECT {self._key} AS tk, model_name, type, sub, {sums} FROM rollups "
                f"WHERE day >= ? AND day < ? AND type IN (2, 5, 6){where} GROUP BY tk, model_name, type, sub",
                span,
            )
        )
        # Per day, the keys named alike before their first ':' summed together: the same
        # SOURCE: prefix is the same exchange rate in aggregate (its rate_of), and any key of
        # the group stands for it.
        columns = BUCKET_COLUMNS.replace(" ", "")
        day_groups.extend(
            new(Bucket, (name(r[3], r[3]), "", day_of[r[0]], r[1], r[2] == 1, *r[4:12]))
            for r in self._conn.execute(
                f"SELECT day, type, sub, MIN(tk), {sums} FROM (SELECT day, {self._key} AS tk, type, sub, "
                f"{columns} FROM rollups WHERE day >= ? AND day < ? AND type IN (2, 5, 6){where}) "
                "GROUP BY day, type, sub, substr(tk, 1, instr(tk, ':'))",
                span,
            )
        )

    def _rolled_buckets(
        self, run: list[tuple[date, int, int]], where: str, args: list[Any], buckets: list[Bucket]
    ) -> None:
        """The buckets of consecutive rolled-up days, from the rollups."""
        span = [run[0][1], run[-1][2], *args]
        day_of = {start: day for day, start, _ in run}
        if not self._multi or (self._sources is not None and len(self._sources) == 1):
            # One source: a rollup row is a bucket, and the primary key's order is the buckets' order.
            sql = (
                f"SELECT day, {self._key} AS tk, model_name, type, sub, {BUCKET_COLUMNS} FROM rollups "
                f"WHERE day >= ? AND day < ? AND type IN (2, 5, 6){where} "
                "ORDER BY day, source, token_name, model_name, type, sub"
            )
        else:  # one key name may be rolled up under several sources (see KEY_SQL): summed
            sums = ", ".join(f"SUM({c.strip()})" for c in BUCKET_COLUMNS.split(","))
            sql = (
                f"SELECT day, {self._key} AS tk, model_name, type, sub, {sums} FROM rollups "
                f"WHERE day >= ? AND day < ? AND type IN (2, 5, 6){where} "
                "GROUP BY day, tk, model_name, type, sub ORDER BY 1, 2, 3, 4, 5"
            )
        new = tuple.__new__
        # One string object per key and model name, not one per bucket: a big team's month
        # has tens of thousands of buckets and only hundreds of names.
        name = self._names.setdefault
        buckets.extend(
            new(Bucket, (name(r[1], r[1]), name(r[2], r[2]), day_of[r[0]], r[3], r[4] == 1, *r[5:13]))
            for r in self._conn.execute(sql, span)
        )

    def _rolled_latency(
        self,
        run: list[tuple[date, int, int]],
        where: str,
        args: list[Any],
        lat_day: list[LatencyCount],
        lat_km: dict[tuple[str, str], dict[int, int]],
    ) -> None:
        """Latencies of consecutive rolled-up days, per day and per key × model, from the histograms."""
        span = [run[0][1], run[-1][2], *args]
        day_of = {start: day for day, start, _ in run}
        # One packed histogram per day × key × model: summed per day, and per key × model in
        # key order, each key × model unpacked as soon as it is complete (a packed sum is a
        # few KB: held for every key × model of a large team it would be most of the memory).
        by_day: dict[int, int] = {}
        tails_day: dict[int, dict[int, int]] = {}
        rows = self._conn.execute(
            f"SELECT day, {self._key} AS tk, model_name, dense, tail FROM rollup_histograms "
            f"WHERE day >= ? AND day < ?{where} ORDER BY tk, model_name",
            span,
        )
        dense_value, add_tail, get = rollups.dense_value, rollups.add_tail, by_day.get
        for key_model, group in itertools.groupby(rows, key=operator.itemgetter(1, 2)):
            value_km = 0
            tail_km: dict[int, int] = {}
            for day, _, _, dense, tail in group:
                value = dense_value(dense)
                by_day[day] = get(day, 0) + value
                value_km += value
                if tail is not None:
                    add_tail(tails_day.setdefault(day, {}), tail)
                    add_tail(tail_km, tail)
            into = lat_km.setdefault(key_model, {})
            for bucket_ms, count in rollups.unpack(value_km, tail_km).items():
                into[bucket_ms] = into.get(bucket_ms, 0) + count
        for day in sorted(by_day):
            counts = rollups.unpack(by_day[day], tails_day.get(day, {}))
            iso = day_of[day].isoformat()
            lat_day.extend(LatencyCount(iso, b, counts[b]) for b in sorted(counts))

    def _day_buckets(self, day: date, start: int, end: int, where: str, args: list[Any]) -> Iterator[Bucket]:
        rows = self._conn.execute(
            f"SELECT {self._key} AS tk, model_name, type, {SUB_SQL} AS sub, {SUMS_SQL} "
            f"FROM logs WHERE created_at >= ? AND created_at < ? AND type IN (2, 5, 6){where} "
            "GROUP BY tk, model_name, type, sub ORDER BY 1, 2, 3, 4",
            [start, end, *args],
        )
        for r in rows:
            yield Bucket(r[0], r[1], day, r[2], bool(r[3]), r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11])

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
        cur = self._conn.execute(
            f"SELECT {self._line_sql(_DIGEST_SQL)} AS d FROM logs WHERE created_at >= ? AND created_at < ?{where} "
            "ORDER BY d",
            [start_ts, end_ts, *args],
        )
        while batch := cur.fetchmany(8192):
            yield batch

    def canonical_rows(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None
    ) -> Iterator[tuple[bytes, str]]:
        """``(digest, canonical line)`` of each row of ``[start_ts, end_ts)``, in digest order."""
        where, args = self._filter(token_names)
        cur = self._conn.execute(
            f"SELECT rg_sha256(CAST(line AS BLOB)) AS d, line FROM (SELECT {self._line_sql(_LINE_SQL)} AS line "
            f"FROM logs WHERE created_at >= ? AND created_at < ?{where}) ORDER BY d",
            [start_ts, end_ts, *args],
        )
        while batch := cur.fetchmany(4096):
            yield from batch

    def fingerprint(self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None) -> str:
        """The content fingerprint of the rows of ``[start_ts, end_ts)`` (:mod:`reportgen.core.fingerprint`).

        Computed from every parsed field of every row each time, so an edit of any stored
        row changes it.  The raw JSON is not hashed: its ``id`` is a row position that
        changes between fetches of the same data.  Identical rows keep their multiplicity.
        SQLite sorts the digests (in bounded memory, spilling to disk), so a fingerprint
        never holds a period's digests in Python.
        """
        digest = hashlib.sha256()
        for batch in self._digest_batches(start_ts, end_ts, token_names):
            digest.update(b"".join([row[0] for row in batch]))
        return digest.hexdigest()

    def _line_sql(self, sql: str) -> str:
        """``sql`` with the key named as reports name it (``SOURCE:NAME`` on other sources)."""
        return sql.replace("token_name", self._key)

    def row_count(self) -> int:
        where, args = self._filter(None)
        return int(self._conn.execute(f"SELECT COUNT(*) FROM logs WHERE 1{where}", args).fetchone()[0])

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
        for lo, hi, from_rollups in self._spans(start_ts, end_ts) if rolled else [(start_ts, end_ts, False)]:
            table, column, what = (
                ("rollups", "day", "SUM(rows)") if from_rollups else ("logs", "created_at", "COUNT(*)")
            )
            sql = f"SELECT IFNULL({what}, 0) FROM {table} WHERE {column} >= ? AND {column} < ?{where}"
            total += int(self._conn.execute(sql, [lo, hi, *args]).fetchone()[0])
        return total

    def _spans(self, start_ts: int, end_ts: int) -> list[tuple[int, int, bool]]:
        """``[start_ts, end_ts)`` cut into runs of whole rolled-up days (True) and the rest (False)."""
        out: list[tuple[int, int, bool]] = []
        at = start_ts
        for day, end in sorted(self.rolled_days(start_ts, end_ts).items()):
            if end > end_ts:
                break
            if day > at:
                out.append((at, day, False))
            if out and out[-1][2] and out[-1][1] == day:
                out[-1] = (out[-1][0], end, True)
            else:
                out.append((day, end, True))
            at = end
        if at < end_ts:
            out.append((at, end_ts, False))
        return out

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

    # -- the wallet -------------------------------------------------------------------------

    def source_names(self) -> tuple[str, ...]:
        """The sources read: the chosen ones, else every source the store holds rows or facts of."""
        if self._sources is not None:
            return self._sources
        if not self._multi:
            return (DEFAULT_SOURCE,)
        rows = self._conn.execute(
            "SELECT name FROM sources UNION SELECT DISTINCT source FROM coverage ORDER BY 1"
        )
        return tuple(str(r[0]) for r in rows) or (DEFAULT_SOURCE,)

    def source_coverage(self, source: str) -> list[tuple[int, int]]:
        """The merged inclusive ranges one source holds."""
        if not self._multi:
            return self.coverage() if source == DEFAULT_SOURCE else []
        return [
            (int(a), int(b))
            for a, b in self._conn.execute(
                "SELECT start_ts, end_ts FROM coverage WHERE source = ? ORDER BY 1", (source,)
            )
        ]

    def balances(self, source: str) -> list[Balance]:
        """Every wallet balance recorded for ``source``, oldest first."""
        if not self.has_table("balances"):
            return []
        rows = self._conn.execute(
            "SELECT read_at, quota, used_quota, request_count, origin FROM balances WHERE source = ? "
            "ORDER BY read_at, rowid",
            (source,),
        )
        return [Balance(source, r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def spend_sums(self, source: str, lo: int, hi: int) -> tuple[int, int, int]:
        """Wallet-billed consumption, subscription-billed consumption and refunds of ``[lo, hi)``.

        Whole rolled-up days are summed from the rollups, the rest from rows.
        """
        sums = [0, 0, 0]
        for a, b, from_rollups in self._spans(lo, hi):
            if from_rollups:
                sql = (
                    "SELECT COALESCE(SUM(CASE WHEN type = 2 AND NOT sub THEN quota END), 0), "
                    "COALESCE(SUM(CASE WHEN type = 2 AND sub THEN quota END), 0), "
                    "COALESCE(SUM(CASE WHEN type = 6 THEN quota END), 0) FROM rollups "
                    "WHERE day >= ? AND day < ? AND type IN (2, 6) AND source = ?"
                )
                args: tuple[Any, ...] = (a, b, source)
            else:
                sql = (
                    "SELECT COALESCE(SUM(CASE WHEN type = 2 AND IFNULL(billing_source, '') != 'subscription' "
                    "THEN quota END), 0), COALESCE(SUM(CASE WHEN type = 2 AND billing_source = 'subscription' "
                    "THEN quota END), 0), COALESCE(SUM(CASE WHEN type = 6 THEN quota END), 0) FROM logs "
                    f"WHERE created_at >= ? AND created_at < ? AND type IN (2, 6){' AND source = ?' if self._multi else ''}"
                )
                args = (a, b, *([source] if self._multi else []))
            row = self._conn.execute(sql, args).fetchone()
            sums = [x + int(y) for x, y in zip(sums, row, strict=True)]
        return sums[0], sums[1], sums[2]

    def credit_rows(self, source: str, lo: int, hi: int) -> list[CreditRow]:
        """The top-up, admin and system rows (types 1, 3, 4) of ``[lo, hi)``, with their text."""
        src = " AND source = ?" if self._multi else ""
        rows = self._conn.execute(
            "SELECT id, created_at, type, quota FROM logs "
            f"WHERE created_at >= ? AND created_at < ? AND {schema.CREDIT_TYPES_SQL}{src} ORDER BY created_at, id",
            (lo, hi, *([source] if self._multi else [])),
        ).fetchall()
        raws = RawLookup(self._conn)  # the text is the raw row's "content" (kept compressed)
        return [CreditRow(source, int(a), int(t), int(q), _raw_content(raws[i])) for i, a, t, q in rows]

    def wallet_records(self, source: str, lo: int, hi: int) -> list[WalletRecord]:
        """The gateway's own top-up and redemption records of ``[lo, hi)`` kept for ``source``."""
        if not self.has_table("wallet_records"):
            return []
        rows = self._conn.execute(
            "SELECT kind, ref, at, quota, money, detail FROM wallet_records "
            "WHERE source = ? AND at >= ? AND at < ? ORDER BY at, kind, ref",
            (source, lo, hi),
        )
        return [WalletRecord(*r) for r in rows]

    # -- reconciliation --------------------------------------------------------------------

    def key_lifetime(self, key_id: int, name: str) -> tuple[int, int]:
        """Consumed and refunded quota of one key over every stored row (by id where rows carry it)."""
        where, args = self._filter(None)
        by_id = self._conn.execute(
            f"SELECT COUNT(*) FROM logs WHERE token_id = ?{where}", (key_id, *args)
        ).fetchone()[0]
        column, value = ("token_id", key_id) if by_id else (self._key, name)
        row = self._conn.execute(
            "SELECT COALESCE(SUM(CASE WHEN type = 2 THEN quota END), 0), "
            f"COALESCE(SUM(CASE WHEN type = 6 THEN quota END), 0) FROM logs WHERE {column} = ?{where}",
            (value, *args),
        ).fetchone()
        return int(row[0]), int(row[1])

    def sums_by_key(self, lo: int, hi: int, username: str) -> dict[str, tuple[int, int, int]]:
        """Per key of ``[lo, hi]``: consumed, refunded, and consumed by ``username`` (or unnamed)."""
        where, args = self._filter(None)
        rows = self._conn.execute(
            f"SELECT {self._key} AS tk, "
            "COALESCE(SUM(CASE WHEN type = 2 THEN quota END), 0), "
            "COALESCE(SUM(CASE WHEN type = 6 THEN quota END), 0), "
            "COALESCE(SUM(CASE WHEN type = 2 AND (username = ? OR username = '') THEN quota END), 0) "
            f"FROM logs WHERE created_at BETWEEN ? AND ? AND type IN (2, 6){where} GROUP BY tk",
            (username, lo, hi, *args),
        )
        return {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in rows}

    def other_usernames(self, lo: int, hi: int, username: str) -> list[str]:
        where, args = self._filter(None)
        rows = self._conn.execute(
            "SELECT DISTINCT username FROM logs WHERE created_at BETWEEN ? AND ? AND type = 2 "
            f"AND username != ? AND username != ''{where} ORDER BY 1",
            (lo, hi, username, *args),
        )
        return [str(r[0]) for r in rows]

    def reconciliation_json(self, start_ts: int, end_ts: int) -> str | None:
        """The last saved reconciliation of exactly ``[start_ts, end_ts)``, as JSON text."""
        if not self.has_table("reconciliations"):  # a closed snapshot of a period never reconciled
            return None
        row = self._conn.execute(
            "SELECT result FROM reconciliations WHERE start_ts = ? AND end_ts = ?", (start_ts, end_ts)
        ).fetchone()
        return None if row is None else str(row[0])


class Store(Reader):
    """One gateway account's synced logs in ``<dir>/reportgen.sqlite3``, open for writing.

    Only sync, close and reconcile write, each under the folder's sync lock.
    """

    @classmethod
    def open(cls, directory: Path, create: bool = True, *, snapshot: bool = False) -> Store:
        directory = Path(directory)
        db = directory / DB_NAME
        if not db.exists() and not create:
            raise StoreError(f"{directory}: no store yet; run `reportgen sync` first")
        try:
            directory.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(db, isolation_level=None, timeout=30)
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            schema.migrate(conn, db)
        except sqlite3.Error as exc:
            raise StoreError(f"{db}: cannot open the store ({exc})") from None
        except OSError as exc:
            raise StoreError(f"{db}: cannot open the store ({exc.strerror or exc})") from None
        return cls(directory, conn)

    def __enter__(self) -> Store:
        return self

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def bind_account(
        self, base_url: str, user_id: int | None, source: str = DEFAULT_SOURCE, at: int = 0
    ) -> None:
        """Tie a source of the store to one gateway account; refuse to mix two accounts' logs in it."""
        account = f"{base_url}#{user_id}"
        row = self._conn.execute("SELECT account FROM sources WHERE name = ?", (source,)).fetchone()
        known = (
            row[0] if row is not None else (self.get_meta("account") if source == DEFAULT_SOURCE else None)
        )
        if known is None:
            self._conn.execute("INSERT INTO sources VALUES (?, ?, ?)", (source, account, at))
            if source == DEFAULT_SOURCE:
                self.set_meta("account", account)
        elif known != account:
            raise StoreError(
                f"{self.directory} holds the logs of {known.replace('#', ' user ')} as source {source!r}, "
                f"not {base_url} user {user_id}; give this account its own [gateways.NAME] table, or set "
                "[store] path to another folder"
            )
        elif row is None:
            self._conn.execute("INSERT INTO sources VALUES (?, ?, ?)", (source, account, at))

    def replace_window(
        self,
        start: int,
        end: int,
        records: Sequence[UsageRecord],
        pages: int,
        fetched_at: int,
        source: str = DEFAULT_SOURCE,
    ) -> None:
        """Atomically make ``[start, end]`` (inclusive) of ``source`` hold exactly ``records``.

        Rows of other sources in the same range are left alone: sources never merge.
        """
        # Oldest first, so that row ids follow time within the window.
        ordered = sorted(records, key=lambda r: r.created_at)
        with self._transaction() as cur:
            first = self._clear_window(cur, start, end, source)
            cur.executemany(
                _INSERT_ROW,
                [(first + i, *values, source) for i, values in enumerate(map(_record_values, ordered))],
            )
            if ordered:
                keep_raw(cur, [(first + i, r.raw) for i, r in enumerate(ordered)])
            self._close_window(cur, start, end, len(records), pages, fetched_at, source)

    def stream_window(
        self, start: int, end: int, batches: Iterable[RowBatch], fetched_at: int, source: str = DEFAULT_SOURCE
    ) -> tuple[int, int]:
        """:meth:`replace_window` for batches that arrive oldest first (the database source).

        Each batch is written as it arrives, inside the window's one transaction: the window
        is still replaced atomically, and memory holds one batch, not a window.  Rows outside
        ``[start, end]`` are left out.  Returns the rows written and the batches read.
        """
        rows = pages = 0
        # Ids are left to SQLite: each row gets the largest id + 1, so a window's rows are the
        # consecutive ids from the one _clear_window returns (checked below), oldest first.
        # Rows go _ROWS_PER_INSERT to a statement: ~20 % less time than one statement per row.
        one = f"({','.join('?' * 18)}, {_quote(source)})"
        insert, insert_many = (
            f"INSERT INTO logs ({_COLUMNS}, source) VALUES " + ",".join([one] * n)
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
                values = batch.stored
                if stamps[0] < start or stamps[-1] > end:
                    keep = [i for i, ts in enumerate(stamps) if start <= ts <= end]
                    raws = raws or (unpack_table(packed) if packed is not None else ())
                    values, raws, packed = [values[i] for i in keep], [raws[i] for i in keep], None
                    if not values:
                        continue
                    columns = list(zip(*values, strict=True))
                latency.add(columns[0], columns[1], columns[2], columns[3], columns[7])
                count = len(values)
                last = stamps[-1]
                whole = count - count % _ROWS_PER_INSERT
                flat = list(itertools.chain.from_iterable(values[:whole]))
                step = 18 * _ROWS_PER_INSERT
                cur.executemany(insert_many, [flat[i : i + step] for i in range(0, len(flat), step)])
                cur.executemany(insert, values[whole:])
                if cur.execute("SELECT MAX(id) FROM logs").fetchone()[0] != next_id + count - 1:
                    raise StoreError(
                        f"{self.directory}: row ids were not assigned in order; nothing was stored"
                    )
                if batch.faithful and packed is None:
                    packed = pack_table(batch.fields, raws)
                # without a table (values orjson cannot carry exactly): each row's text
                keep_table(cur, next_id, count, packed, batch.fields, raws)
                next_id += count
                rows += count
            self._close_window(cur, start, end, rows, pages, fetched_at, source, latency.days)
        return rows, pages

    @staticmethod
    def prepare(batch: RowBatch) -> RowBatch:
        """Make ``batch`` ready for :meth:`stream_window` before the store is free to write it: its
        raw table compressed (pure, no database: the sync does it in the reading process)."""
        if batch.faithful and batch.packed is None and batch.rows:
            batch.packed = pack_table(batch.fields, batch.rows)
            if batch.packed is not None:
                batch.rows = ()  # they are in the table: not carried twice
        return batch

    def _clear_window(self, cur: sqlite3.Cursor, start: int, end: int, source: str) -> int:
        """Delete ``source``'s rows of ``[start, end]`` and their raw JSON; the id the first new row gets."""
        gone = [
            int(r[0])
            for r in cur.execute(
                "SELECT id FROM logs WHERE created_at BETWEEN ? AND ? AND source = ?", (start, end, source)
            ).fetchall()
        ]
        if gone:  # only this source's rows' raw JSON: other sources' rows stay
            forget_raw(cur, set(gone), min(gone), max(gone))
        cur.execute("DELETE FROM logs WHERE created_at BETWEEN ? AND ? AND source = ?", (start, end, source))
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
    ) -> None:
        """Record ``[start, end]`` as complete and roll up the days it touches (``counted``: see :func:`rollups.roll`)."""
        self._add_coverage(cur, start, end, source)
        cur.execute(
            "INSERT INTO windows (start_ts, end_ts, rows, pages, fetched_at, source) VALUES (?, ?, ?, ?, ?, ?)",
            (start, end, rows, pages, fetched_at, source),
        )
        rollups.roll(self._conn, start, end + 1, source, counted)  # this source's touched days, from its rows

    def set_rollup_zone(self, zone: str) -> bool:
        """Keep rollups per local day of ``zone`` (the report timezone); rebuild them when it changed.

        Returns True when they were rebuilt (every stored row regrouped once).
        """
        if self.get_meta("rollup_zone") == zone:
            return False
        with self._transaction():
            rollups.rebuild(self._conn, zone)
        return True

    def _add_coverage(self, cur: sqlite3.Cursor, start: int, end: int, source: str) -> None:
        near = "source = ? AND start_ts <= ? AND end_ts >= ?"
        rows = cur.execute(
            f"SELECT start_ts, end_ts FROM coverage WHERE {near}", (source, end + 1, start - 1)
        ).fetchall()
        lo = min([start, *(r[0] for r in rows)])
        hi = max([end, *(r[1] for r in rows)])
        cur.execute(f"DELETE FROM coverage WHERE {near}", (source, end + 1, start - 1))
        cur.execute("INSERT INTO coverage (start_ts, end_ts, source) VALUES (?, ?, ?)", (lo, hi, source))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        cur = self._conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
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

    def save_status(self, status: GatewayStatus, source: str = DEFAULT_SOURCE) -> None:
        self._conn.execute(
            "INSERT INTO status_snapshots VALUES (?, ?, ?, ?, ?, ?)",
            (
                status.read_at,
                str(status.quota_per_unit),
                None if status.usd_exchange_rate is None else str(status.usd_exchange_rate),
                status.quota_display_type,
                status.version,
                source,
            ),
        )

    def save_balance(self, balance: Balance) -> None:
        """Record a wallet balance read from the gateway (``/api/user/self`` or its users table)."""
        self._conn.execute(
            "INSERT INTO balances (source, read_at, quota, used_quota, request_count, origin) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (balance.source, balance.read_at, balance.quota, balance.used_quota, balance.request_count,
             balance.origin),
        )  # fmt: skip

    def save_wallet_records(self, source: str, records: Sequence[WalletRecord]) -> None:
        """Keep the gateway's own top-up and redemption records (the database source reads them)."""
        with self._transaction() as cur:
            cur.executemany(
                "INSERT OR REPLACE INTO wallet_records VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(source, r.kind, r.ref, r.at, r.quota, r.money, r.detail) for r in records],
            )

    def save_keys(self, keys: Sequence[KeyInfo], seen_at: int, source: str = DEFAULT_SOURCE) -> None:
        with self._transaction() as cur:
            cur.executemany(
                "INSERT OR REPLACE INTO keys VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        k.id,
                        k.name,
                        k.status,
                        k.used_quota,
                        k.remain_quota,
                        int(k.unlimited_quota),
                        k.group,
                        k.created_time,
                        k.accessed_time,
                        k.expired_time,
                        seen_at,
                        source,
                    )
                    for k in keys
                ],
            )
            if source == DEFAULT_SOURCE:
                cur.execute("INSERT OR REPLACE INTO meta VALUES ('keys_seen_at', ?)", (str(seen_at),))

    def start_sync(
        self, started_at: int, flavor: str, target: tuple[int, int], source: str = DEFAULT_SOURCE
    ) -> int:
        cur = self._conn.execute(
            "INSERT INTO syncs (started_at, state, flavor, target_start, target_end, source) "
            "VALUES (?, 'running', ?, ?, ?, ?)",
            (started_at, flavor, target[0], target[1], source),
        )
        return int(cur.lastrowid or 0)

    def finish_sync(
        self,
        sync_id: int,
        finished_at: int,
        state: str,
        windows: int,
        rows: int,
        pages: int,
        message: str = "",
        flavor: str | None = None,
    ) -> None:
        self._conn.execute(
            "UPDATE syncs SET finished_at = ?, state = ?, windows = ?, rows = ?, pages = ?, message = ?, "
            "flavor = COALESCE(?, flavor) WHERE id = ?",
            (finished_at, state, windows, rows, pages, message, flavor, sync_id),
        )

    def save_reconciliation(
        self, start_ts: int, end_ts: int, label: str, checked_at: int, result: str
    ) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO reconciliations VALUES (?, ?, ?, ?, ?)",
            (start_ts, end_ts, label, checked_at, result),
        )


#: SQLite's primary result codes that mean the disk or the folder, not the program, failed.
_IO_CODES = {
    3: "permission denied",  # SQLITE_PERM
    5: "the store is busy",  # SQLITE_BUSY
    8: "the store is read-only here",  # SQLITE_READONLY
    10: "a disk I/O error",  # SQLITE_IOERR
    13: "the disk is full",  # SQLITE_FULL
    14: "the file cannot be opened",  # SQLITE_CANTOPEN
}


def _io_error(exc: sqlite3.Error, db: Path) -> StoreError | None:
    """A one-line :class:`StoreError` for a failure of the disk or folder (None: a bug, keep it)."""
    code = getattr(exc, "sqlite_errorcode", None)
    what = None if code is None else _IO_CODES.get(code & 0xFF)
    if what is None:
        return None
    return StoreError(
        f"{db}: {what} ({exc}); nothing half-written was kept: every window saved before is intact"
    )


class _Guarded:
    """A connection (or cursor) whose disk and folder failures become one-line :class:`StoreError`s."""

    def __init__(self, raw: Any, db: Path) -> None:
        self._raw = raw
        self._db = db

    def _run(self, method: str, sql: str, args: Any) -> Any:
        try:
            return getattr(self._raw, method)(sql, args)
        except sqlite3.Error as exc:
            raise _io_error(exc, self._db) or exc from None

    def execute(self, sql: str, args: Any = ()) -> Any:
        result = self._run("execute", sql, args)
        return self if isinstance(self._raw, sqlite3.Cursor) else result

    def executemany(self, sql: str, args: Any) -> Any:
        result = self._run("executemany", sql, args)
        return self if isinstance(self._raw, sqlite3.Cursor) else result

    def cursor(self) -> _Guarded:
        return _Guarded(self._raw.cursor(), self._db)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def _connect_ro(db: Path) -> sqlite3.Connection:
    uri = db.resolve().as_uri()
    try:
        conn = sqlite3.connect(uri + "?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        # A WAL database in a folder we cannot write (a read-only copy): SQLite cannot make
        # its shared-memory file there, and no writer can exist, so read it as immutable.
        try:
            return sqlite3.connect(
                uri + "?immutable=1", uri=True, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"{db}: cannot read the store ({exc})") from None


def _quote(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _sha256(line: bytes) -> bytes:
    return hashlib.sha256(line).digest()


def _canonical_row(*values: Any) -> str:
    return canonical_row(values)


def _raw_content(raw: str) -> str:
    """A raw row's ``content`` as text, as ``IFNULL(json_extract(raw, '$.content'), '')`` gave it."""
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        return ""
    content = value.get("content") if isinstance(value, dict) else None
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, bool):
        return str(int(content))
    if isinstance(content, int | float):
        return str(content)
    return json.dumps(content, ensure_ascii=False, separators=(",", ":"))


def _raw_id(raw: str) -> int | None:
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        return None
    row_id = value.get("id") if isinstance(value, dict) else None
    return row_id if type(row_id) is int else None


def _record_values(r: UsageRecord) -> tuple[Any, ...]:
    return (
        r.created_at, r.type, r.token_name, r.model_name, r.quota, r.prompt_tokens, r.completion_tokens,
        r.use_time_ms, int(r.is_stream), r.request_id, r.client, r.http_status, r.billing_source,
        r.token_id, r.group, r.username, r.channel, int(r.has_price),
    )  # fmt: skip


def uncovered(covered: Sequence[tuple[int, int]], start: int, end: int) -> list[tuple[int, int]]:
    """The parts of ``[start, end]`` that the merged, ordered ``covered`` ranges miss (all inclusive)."""
    gaps: list[tuple[int, int]] = []
    cursor = start
    for lo, hi in covered:
        if hi < cursor or lo > end:
            continue
        if lo > cursor:
            gaps.append((cursor, lo - 1))
        cursor = max(cursor, hi + 1)
        if cursor > end:
            break
    if cursor <= end:
        gaps.append((cursor, end))
    return gaps


@contextlib.contextmanager
def sync_lock(directory: Path) -> Iterator[None]:
    """Hold a store folder's sync lock; a second sync on the same store is refused at once."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StoreError(
            f"{directory}: cannot take the sync lock ({exc.strerror or exc}); the store folder must be "
            "writable to sync, close or issue packets (reading works on a read-only copy)"
        ) from None
    try:
        try:
            _lock(fd)
        except OSError:
            raise SyncLockedError(
                f"another reportgen sync is running on {directory}; wait for it to finish"
            ) from None
        yield
    finally:
        os.close(fd)


def _lock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
