"""Closed periods as recorded: the ``closures`` table and the snapshot stores.

A closure is a period's frozen rows, in a snapshot store ``<store>/closed/<label>.r<N>/``
(an ordinary store, so every read works on it unchanged; its rows packed beside it, see
:mod:`.packed`), plus what its documents depend on: fingerprint, row count, ``/api/status`` snapshot, exchange rate and further
currencies, member and project mapping, and the close time.  Revisions are kept: a
re-close adds revision N+1 beside the earlier ones.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..core.fingerprint import FINGERPRINT_SCHEME
from ..core.periods import Period
from ..core.rates import Conversion, Exchange
from ..core.records import GatewayStatus
from ..core.storeserver import StoreServer
from ..core.wallet import Bridge
from ..core.walletjson import bridge_json
from ..errors import StoreError
from . import packed
from .closuremeta import (
    conversions_from_json,
    conversions_json,
    source_rates_json,
    status_from_json,
    status_json,
    toml_from_json,
    toml_to_json,
)
from .connection import DB_NAME
from .facade import Reader, Store
from .logs import ROW_COLUMNS
from .pricerollup import USAGE_SQL

CLOSED_DIR = "closed"
#: Snapshot meta: the period's wallet bridge as computed at the close (JSON).
BRIDGE_META = "bridge"
_APPLIES_TO = "exchange_applies_to"  # snapshot meta: the [report.rates] entry the close used
_SOURCE_RATES = "source_rates"  # snapshot meta: each source's rate, when the sources' rates differed


@dataclass(frozen=True)
class Closure:
    """A closed period as recorded: what its documents show, frozen."""

    period: Period
    revision: int
    closed_at: int
    fingerprint: str
    rows: int
    status: GatewayStatus | None
    exchange: Exchange
    members: dict[str, tuple[str, ...]]
    snapshot: str
    projects: Any = None  # the [projects] table as configured at close (TOML values)
    conversions: tuple[Conversion, ...] = ()  # [report.currencies] as configured at close
    fingerprint_scheme: int = FINGERPRINT_SCHEME  # 1: the snapshot failed its check at the schema-4 upgrade

    @property
    def generated_at(self) -> datetime:
        return datetime.fromtimestamp(self.closed_at, self.period.tz)

    @property
    def quota_per_unit(self) -> Decimal:
        return self.status.quota_per_unit if self.status is not None else Decimal(500000)


def frozen_exchange(snapshot: Reader, closure: Closure) -> Exchange:
    """The rate a closed period was closed with, and the ``[report.rates]`` entry it came from."""
    return replace(closure.exchange, applies_to=snapshot.get_meta(_APPLIES_TO))


def frozen_source_rates(snapshot: Reader) -> dict[str, Exchange] | None:
    """Each source's CNY rate as closed, when the sources converted at different rates (else None)."""
    text = snapshot.get_meta(_SOURCE_RATES)
    if text is None:
        return None
    chosen = snapshot.sources
    return {
        name: Exchange(
            None if d["rate"] is None else Decimal(d["rate"]),
            d["source"],
            None if d["as_of"] is None else datetime.fromisoformat(d["as_of"]),
            d.get("applies_to"),
        )
        for name, d in json.loads(text).items()
        if chosen is None or name in chosen
    }


def closed_dir(store: Reader) -> Path:
    return store.directory / CLOSED_DIR


def snapshot_dir(store: Reader, closure: Closure) -> Path:
    return closed_dir(store) / closure.snapshot


def snapshot_location(store: Reader, closure: Closure) -> Path | StoreServer:
    """Where a closed snapshot is: its folder beside a SQLite store, or its schema (named as the
    folder would be, ``2026-04.r1``) in the PostgreSQL store's database; ``Reader.open`` opens either."""
    if store.server is not None:
        return replace(store.server, schema=closure.snapshot)
    return snapshot_dir(store, closure)


def snapshot_exists(store: Reader, closure: Closure) -> bool:
    if store.server is not None:
        return store._dialect.has_schema(store._conn, closure.snapshot)
    return snapshot_dir(store, closure).is_dir()


def seal_kind(store: Reader) -> str:
    """The prefix of the seals :func:`snapshot_seal` gives on this store's engine."""
    return "sha256:" if store.server is None else "rows:"


def closure_subject(label: str, revision: int) -> str:
    """How the audit log names a closed period's revision (its ``close`` or ``reopen`` entry)."""
    return f"{label} revision {revision}"


def snapshot_seal(store: Reader, closure: Closure) -> str:
    """The SHA-256 of a closed snapshot's database file, read at I/O speed (issue 27).

    Taken once the close has written and closed the snapshot (its file is final: readers open
    it read-only) and recorded in the close's audit entry; a read that does not hash the rows
    checks the file against it instead of hashing every row.  Its rows are packed beside it
    (:func:`rows_seal`), so the file is the rollups and facts: ~10 MB for a 1M-row month.  A
    migration that rewrites a sealed snapshot must record its new seal.  A snapshot on
    PostgreSQL is a schema, not a file: its seal is its rows' count and fingerprint, computed on
    the server (a store copied from SQLite keeps its closes' file seals: :func:`seal_kind` tells).
    """
    if store.server is not None:
        with Reader.open(snapshot_location(store, closure), snapshot=True) as snap:
            snap.begin()
            return f"rows:{snap.count_rows(0, 2**62)}:{snap.fingerprint(0, 2**62)}"
    return packed.file_seal(snapshot_dir(store, closure) / DB_NAME)


def rows_seal(store: Reader, closure: Closure) -> str | None:
    """The SHA-256 of a closed snapshot's packed rows (None: closed before rows were packed, they
    are in its database file); recorded in the close's audit entry and checked by every read that
    unpacks them; a PostgreSQL snapshot's rows are in its schema, sealed by :func:`snapshot_seal`)."""
    if store.server is not None:
        return None
    path = snapshot_dir(store, closure) / packed.PACKED_NAME
    return packed.file_seal(path) if path.is_file() else None


_SELECT = (
    "SELECT label, start_ts, end_ts, timezone, revision, closed_at, fingerprint, rows, status, exchange_rate, "
    "exchange_source, exchange_as_of, members, snapshot, projects, conversions, fingerprint_scheme FROM closures"
)


def find_closure(store: Reader, label: str, revision: int | None = None) -> Closure | None:
    """The current (or the given) revision of the period labelled ``label``, or None when never closed."""
    if revision is None:
        row = store._conn.execute(
            _SELECT + " WHERE label = ? ORDER BY revision DESC LIMIT 1", (label,)
        ).fetchone()
    else:
        row = store._conn.execute(_SELECT + " WHERE label = ? AND revision = ?", (label, revision)).fetchone()
    return None if row is None else _closure(row)


def closures(store: Reader) -> list[Closure]:
    """The current revision of every closed period, in time order."""
    rows = store._conn.execute(
        _SELECT + " c WHERE revision = (SELECT MAX(revision) FROM closures d WHERE d.label = c.label) "
        "ORDER BY start_ts, label"
    )
    return [_closure(r) for r in rows]


def every_revision(store: Reader) -> list[Closure]:
    """Every revision of every closed period (kept ones too), in time order."""
    return [_closure(r) for r in store._conn.execute(_SELECT + " ORDER BY start_ts, label, revision")]


def _closure(row: Any) -> Closure:
    label, start, end, tz_name, revision, closed_at, fp, rows, status, rate, source, as_of, members, snap = (
        row[:14]
    )
    projects, conversions = row[14], row[15]
    tz = ZoneInfo(tz_name)
    return Closure(
        period=Period(label, datetime.fromtimestamp(start, tz), datetime.fromtimestamp(end, tz)),
        revision=revision,
        closed_at=closed_at,
        fingerprint=fp,
        rows=rows,
        status=None if status is None else status_from_json(status),
        exchange=Exchange(
            None if rate is None else Decimal(rate),
            source,
            None if as_of is None else datetime.fromtimestamp(as_of, tz),
        ),
        members={k: tuple(v) for k, v in json.loads(members).items()},
        snapshot=snap,
        projects=None if projects is None else toml_from_json(json.loads(projects)),
        conversions=() if conversions is None else conversions_from_json(conversions),
        fingerprint_scheme=int(row[16]),
    )


@contextlib.contextmanager
def frozen_rows(store: Reader, closure: Closure, seal: str | None) -> Iterator[Path | str]:
    """The database holding a closed snapshot's rows: its packed rows unpacked for the block
    (refused unless they give ``seal``, when given), or its own file when closed before rows
    were packed; on PostgreSQL its schema."""
    if store.server is not None:
        yield closure.snapshot
        return
    directory = snapshot_dir(store, closure)
    if not (directory / packed.PACKED_NAME).is_file():
        yield directory / DB_NAME
        return
    with packed.unpacked(directory / packed.PACKED_NAME, seal) as path:
        yield path


@contextlib.contextmanager
def attached(store: Store, where: Path | str, name: str = "frozen") -> Iterator[None]:
    """The store at ``where`` (a file, or a schema on PostgreSQL) named ``name.`` in ``store``'s
    SQL, ``store`` itself ``main.``."""
    store._dialect.attach(store._conn, name, str(where))
    try:
        yield
    finally:
        store._dialect.detach(store._conn, name)


# -- freezing ---------------------------------------------------------------------------------


def new_snapshot(store: Store, period: Period, revision: int, since: int) -> Store:
    """Write the snapshot of ``period``'s ``revision``, holding the rows of ``[since, period end)`` and
    the facts that describe them, rolled up in the period's zone; return it open (the caller closes it)."""
    if store.server is not None:
        return _new_schema(store, store.server, period, revision, since)
    target = closed_dir(store) / f"{period.label}.r{revision}"
    if (target / DB_NAME).exists():
        raise StoreError(
            f"{target}: a snapshot of revision {revision} already exists; it is never overwritten"
        )
    _write_snapshot(store, target, period, since)
    snap = Store.open(target, create=False)
    snap.set_rollup_zone(period.timezone)  # it carries its own rollups
    return snap


def freeze(
    store: Store,
    snap: Store,
    period: Period,
    revision: int,
    at: int,
    *,
    exchange: Exchange,
    source_rates: Mapping[str, Exchange],
    bridge: Bridge,
    members: Mapping[str, Sequence[str]],
    projects: Any,
    conversions: tuple[Conversion, ...],
) -> Closure:
    """Record ``snap`` (see :func:`new_snapshot`) as ``period``'s closed ``revision``, closed at ``at``.

    What the close computed is given: the period's ``exchange`` rate and each source's
    (``source_rates``, kept when they differ), the wallet ``bridge`` of the configured sources
    as it stands at the close, and the ``members``, ``projects`` (the TOML table) and ``conversions`` configured.
    """
    fingerprint = snap.fingerprint(period.start_ts, period.end_ts)
    rows = snap.count_rows(period.start_ts, period.end_ts)
    status = snap.priced_status(period.start_ts, period.end_ts)
    if exchange.applies_to is not None:  # which [report.rates] entry: kept with the snapshot
        snap.set_meta(_APPLIES_TO, exchange.applies_to)
    if len({e.rate for e in source_rates.values()}) > 1:  # each source converts at its own rate: keep them
        snap.set_meta(
            _SOURCE_RATES, source_rates_json(dict(source_rates), datetime.fromtimestamp(at, period.tz))
        )
    # The wallet bridge as it stood at the close: later balance snapshots never change it.
    snap.set_meta(BRIDGE_META, json.dumps(bridge_json(bridge), ensure_ascii=False, sort_keys=True))
    # Closed documents state the rate as of a fixed moment: the close when the config set it.
    if exchange.as_of is None and exchange.rate is not None:
        exchange = replace(exchange, as_of=datetime.fromtimestamp(at, period.tz))
    store._conn.execute(
        "INSERT INTO closures (label, start_ts, end_ts, timezone, revision, closed_at, fingerprint, rows, "
        "status, exchange_rate, exchange_source, exchange_as_of, members, snapshot, projects, conversions) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            period.label, period.start_ts, period.end_ts, period.timezone, revision, at, fingerprint, rows,
            None if status is None else status_json(status),
            None if exchange.rate is None else str(exchange.rate), exchange.source,
            None if exchange.as_of is None else int(exchange.as_of.timestamp()),
            json.dumps({m: list(keys) for m, keys in members.items()}, ensure_ascii=False),
            snap.directory.name if snap.server is None else snap.server.schema,
            None if projects is None else json.dumps(toml_to_json(projects), ensure_ascii=False, sort_keys=True),
            conversions_json(conversions),
        ),
    )  # fmt: skip
    closure = find_closure(store, period.label, revision)
    assert closure is not None
    return closure


def _new_schema(store: Store, server: StoreServer, period: Period, revision: int, since: int) -> Store:
    """:func:`new_snapshot` on PostgreSQL: the snapshot is a store in a schema of its own, named
    as a SQLite snapshot's folder (``2026-04.r1``), its rows beside its facts (a schema is not a
    second file to pack), written in one transaction and dropped whole if that fails."""
    schema = f"{period.label}.r{revision}"
    if store._dialect.has_schema(store._conn, schema):
        raise StoreError(
            f"{server}: a snapshot of revision {revision} already exists (schema {schema}); it is never "
            "overwritten"
        )
    target = replace(server, schema=schema)
    try:
        Store.open(target).close()  # the schema and its tables
        _copy_into(store, schema, schema, period, since)
        snap = Store.open(target, create=False)
        snap.set_rollup_zone(period.timezone)
    except BaseException:
        store._conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        raise
    return snap


def _write_snapshot(store: Store, target: Path, period: Period, since: int) -> None:
    """Copy the rows of ``[since, period end)`` and the facts that describe them into a new store,
    the rows (and their raw JSON) packed beside it (:mod:`.packed`)."""
    partial = target.with_name(target.name + ".part")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    Store.open(partial).close()
    plain = partial / packed.PLAIN_NAME
    with (
        contextlib.closing(sqlite3.connect(partial / DB_NAME)) as fresh,
        contextlib.closing(sqlite3.connect(plain, isolation_level=None)) as rows,
    ):
        for ddl in packed.rows_ddl(fresh):  # the snapshot's own tables, as a fresh store has them
            rows.execute(ddl)
    _copy_into(store, partial / DB_NAME, plain, period, since)
    packed.pack(plain, partial / packed.PACKED_NAME)
    plain.unlink()
    partial.rename(target)


def _copy_into(store: Store, where: Path | str, rows: Path | str, period: Period, since: int) -> None:
    """:func:`_copy` into the snapshot at ``where``, its rows into ``rows``, in one write transaction."""
    conn = store._conn
    with attached(store, where), attached(store, rows, "rows"):
        conn.execute(store._dialect.begin_write)
        try:
            _copy(conn, period, since)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def _copy(conn: sqlite3.Connection, period: Period, since: int) -> None:
    span = (since, period.end_ts)
    conn.execute(
        f"INSERT INTO rows.logs (id, {ROW_COLUMNS}, {USAGE_SQL}, source) "
        f"SELECT id, {ROW_COLUMNS}, {USAGE_SQL}, source "
        "FROM main.logs "
        "WHERE created_at >= ? AND created_at < ?",
        span,
    )
    conn.execute(  # the blobs holding the copied rows' raw JSON (they may hold a few more)
        "INSERT INTO rows.raw_blobs SELECT * FROM main.raw_blobs "
        "WHERE last_id >= (SELECT MIN(id) FROM rows.logs) AND first_id <= (SELECT MAX(id) FROM rows.logs)"
    )
    conn.execute(  # the copied credit rows' texts (the wallet bridge reads them)
        "INSERT INTO frozen.credit_texts SELECT c.* FROM main.credit_texts c JOIN rows.logs USING (id)"
    )
    conn.execute(
        "INSERT INTO frozen.meta SELECT key, value FROM main.meta "
        "WHERE key IN ('account', 'keys_seen_at') ON CONFLICT (key) DO UPDATE SET value = excluded.value"
    )
    conn.execute(  # each source's key list as its last sync saw it
        "INSERT INTO frozen.keys SELECT * FROM main.keys k "
        "WHERE seen_at = (SELECT MAX(seen_at) FROM main.keys l WHERE l.source = k.source)"
    )
    conn.execute("INSERT INTO frozen.sources SELECT * FROM main.sources")
    conn.execute(  # the newest /api/status and finished sync of each source
        "INSERT INTO frozen.status_snapshots SELECT * FROM main.status_snapshots s "
        "WHERE rowid = (SELECT rowid FROM main.status_snapshots t WHERE t.source = s.source "
        "ORDER BY read_at DESC, rowid DESC LIMIT 1)"
    )
    conn.execute(
        "INSERT INTO frozen.syncs SELECT * FROM main.syncs s WHERE id = (SELECT MAX(id) FROM "
        "main.syncs t WHERE t.source = s.source AND t.finished_at IS NOT NULL)"
    )
    # Coverage as it stood, cut to the rows copied: the quality check and the
    # project view (unsynced days) read it.
    conn.execute(
        "INSERT INTO frozen.coverage (start_ts, end_ts, source) SELECT "
        "CASE WHEN start_ts > ? THEN start_ts ELSE ? END, CASE WHEN end_ts < ? THEN end_ts ELSE ? END, "
        "source FROM main.coverage WHERE end_ts >= ? AND start_ts <= ?",
        (since, since, period.end_ts - 1, period.end_ts - 1, since, period.end_ts - 1),
    )
    conn.execute(  # the prices those rows were synced at (the statuses they were read from: above)
        "INSERT INTO frozen.window_prices SELECT * FROM main.window_prices WHERE start_ts < ? AND end_ts >= ?",
        (period.end_ts, since),
    )
    conn.execute(  # what the windows of those rows left out (rows repeated by the pages)
        "INSERT INTO frozen.window_findings SELECT * FROM main.window_findings "
        "WHERE start_ts < ? AND end_ts >= ?",
        (period.end_ts, since),
    )
    conn.execute(  # the period's last reconciliation, as the documents show it
        "INSERT INTO frozen.reconciliations SELECT * FROM main.reconciliations "
        "WHERE start_ts = ? AND end_ts = ?",
        (period.start_ts, period.end_ts),
    )
