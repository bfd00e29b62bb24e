"""Closing a period: freeze its rows, gateway status, exchange rate and time; track later changes.

:func:`close_period` copies the period's rows, with the ``/api/status`` snapshot, key list
and last sync that describe them, into a snapshot store ``<store>/closed/<label>.r<N>/``
(an ordinary :class:`~reportgen.store.Store`, so every read path works on it unchanged)
and records the closure in the main store's ``closures`` table.  :func:`open_view` reads a
closed period from that snapshot with the frozen generated_at, member mapping and
exchange rate, so its documents come out byte-identical however the live store changes.

A later sync keeps what the gateway now says in the live store; when that differs from
the closed version, :func:`detect_amendments` records an amendment (rows added and
removed, quota deltas, when detected).  ``close --reopen`` re-closes the period from the
live rows and marks its pending amendments applied.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from .aggregate import exchange_for
from .config import Config
from .errors import StoreError, UsageError
from .models import Exchange, GatewayStatus, Period, Report
from .projects import parse_projects
from .reports import build_report
from .store import DB_NAME, ROW_COLUMNS, Store, sync_lock

CLOSED_DIR = "closed"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS closures (
    label TEXT PRIMARY KEY,
    start_ts INTEGER NOT NULL,
    end_ts INTEGER NOT NULL,
    timezone TEXT NOT NULL,
    revision INTEGER NOT NULL,
    closed_at INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    rows INTEGER NOT NULL,
    status TEXT,
    exchange_rate TEXT,
    exchange_source TEXT NOT NULL,
    exchange_as_of INTEGER,
    members TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    projects TEXT
);
CREATE TABLE IF NOT EXISTS amendments (
    id INTEGER PRIMARY KEY,
    label TEXT NOT NULL,
    revision INTEGER NOT NULL,
    detected_at INTEGER NOT NULL,
    sync_id INTEGER,
    rows_then INTEGER NOT NULL,
    rows_now INTEGER NOT NULL,
    rows_added INTEGER NOT NULL,
    rows_removed INTEGER NOT NULL,
    consumed_delta INTEGER NOT NULL,
    refunded_delta INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    applied_at INTEGER
);
"""


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

    @property
    def generated_at(self) -> datetime:
        return datetime.fromtimestamp(self.closed_at, self.period.tz)

    @property
    def quota_per_unit(self) -> Decimal:
        return self.status.quota_per_unit if self.status is not None else Decimal(500000)

    def frozen_config(self, config: Config) -> Config:
        """``config`` with what the closed documents depend on put back as it was at close."""
        return replace(
            config,
            timezone=self.period.timezone,
            members=dict(self.members),
            projects=parse_projects(
                self.projects, self.members, f"[projects] as closed with {self.period.label}"
            ),
            exchange_rate=self.exchange.rate,
            exchange_rate_source=self.exchange.source,
        )


@dataclass(frozen=True)
class Amendment:
    """How the live rows of a closed period differed from its closed version when detected."""

    id: int
    label: str
    revision: int
    detected_at: int
    rows_then: int
    rows_now: int
    rows_added: int
    rows_removed: int
    consumed_delta: int
    refunded_delta: int
    fingerprint: str
    applied_at: int | None = None
    sync_id: int | None = None

    @property
    def quota_delta(self) -> int:
        """Net quota delta: consumption delta minus refund delta."""
        return self.consumed_delta - self.refunded_delta

    @property
    def pending(self) -> bool:
        return self.applied_at is None

    def describe(self, quota_per_unit: Decimal) -> str:
        usd = Decimal(self.quota_delta) / quota_per_unit
        return (
            f"+{self.rows_added} / -{self.rows_removed} rows ({self.rows_then} closed, {self.rows_now} now), "
            f"net quota {self.quota_delta:+d} (USD {usd:+f}; consumed {self.consumed_delta:+d}, "
            f"refunded {self.refunded_delta:+d})"
        )


@dataclass(frozen=True)
class CloseResult:
    closure: Closure
    already_closed: bool = False
    reopened_from: int | None = None
    applied: int = 0
    pending: tuple[Amendment, ...] = ()

    def summary(self) -> str:
        c = self.closure
        what = f"{c.period.label} ({c.period.start:%Y-%m-%d} .. {c.period.end:%Y-%m-%d} {c.period.timezone})"
        facts = f"{c.rows:,} rows, fingerprint {c.fingerprint[:16]}…, closed at {c.generated_at:%Y-%m-%d %H:%M %Z}"
        if self.already_closed:
            text = f"{what} is already closed (revision {c.revision}: {facts}); nothing changed."
            if self.pending:
                text += (
                    f" {len(self.pending)} amendment(s) since: `reportgen close {c.period.label} --reopen` "
                    "re-closes it with them applied."
                )
            return text
        if self.reopened_from is not None:
            return (
                f"Re-closed {what} as revision {c.revision} ({facts}); {self.applied} amendment(s) applied."
            )
        return f"Closed {what}: {facts}."


def _ensure_schema(store: Store) -> None:
    store.conn.executescript(_SCHEMA)


def closed_dir(store: Store) -> Path:
    return store.directory / CLOSED_DIR


# -- reading closures and amendments ----------------------------------------------------


def find_closure(store: Store, label: str) -> Closure | None:
    """The closure of the period labelled ``label``, or None when it is open."""
    _ensure_schema(store)
    row = store.conn.execute("SELECT * FROM closures WHERE label = ?", (label,)).fetchone()
    return None if row is None else _closure(row)


def closures(store: Store) -> list[Closure]:
    _ensure_schema(store)
    return [_closure(r) for r in store.conn.execute("SELECT * FROM closures ORDER BY start_ts, label")]


def _closure(row: Any) -> Closure:
    label, start, end, tz_name, revision, closed_at, fp, rows, status, rate, source, as_of, members, snap = (
        row[:14]
    )
    projects = row[14]
    tz = ZoneInfo(tz_name)
    return Closure(
        period=Period(label, datetime.fromtimestamp(start, tz), datetime.fromtimestamp(end, tz)),
        revision=revision,
        closed_at=closed_at,
        fingerprint=fp,
        rows=rows,
        status=None if status is None else _status_from_json(status),
        exchange=Exchange(
            None if rate is None else Decimal(rate),
            source,
            None if as_of is None else datetime.fromtimestamp(as_of, tz),
        ),
        members={k: tuple(v) for k, v in json.loads(members).items()},
        snapshot=snap,
        projects=None if projects is None else _from_json(json.loads(projects)),
    )


def _status_json(status: GatewayStatus) -> str:
    return json.dumps(
        {
            "quota_per_unit": str(status.quota_per_unit),
            "read_at": status.read_at,
            "usd_exchange_rate": None if status.usd_exchange_rate is None else str(status.usd_exchange_rate),
            "quota_display_type": status.quota_display_type,
            "version": status.version,
        },
        sort_keys=True,
    )


def _status_from_json(text: str) -> GatewayStatus:
    d = json.loads(text)
    return GatewayStatus(
        quota_per_unit=Decimal(d["quota_per_unit"]),
        read_at=int(d["read_at"]),
        usd_exchange_rate=None if d.get("usd_exchange_rate") is None else Decimal(d["usd_exchange_rate"]),
        quota_display_type=d.get("quota_display_type"),
        version=d.get("version"),
    )


def amendments(store: Store, label: str | None = None) -> list[Amendment]:
    """Recorded amendments, oldest first (of one period when ``label`` is given)."""
    _ensure_schema(store)
    sql = (
        "SELECT id, label, revision, detected_at, rows_then, rows_now, rows_added, rows_removed, "
        "consumed_delta, refunded_delta, fingerprint, applied_at, sync_id FROM amendments"
    )
    args: tuple[str, ...] = ()
    if label is not None:
        sql += " WHERE label = ?"
        args = (label,)
    return [Amendment(*r) for r in store.conn.execute(sql + " ORDER BY id", args)]


def pending_amendment(store: Store, closure: Closure) -> Amendment | None:
    """The latest unapplied amendment when the live rows still differ from the closed version."""
    latest = [
        a for a in amendments(store, closure.period.label) if a.revision == closure.revision and a.pending
    ]
    if not latest or latest[-1].fingerprint == closure.fingerprint:
        return None
    return latest[-1]


# -- detecting amendments ---------------------------------------------------------------------


def detect_amendments(
    store: Store,
    detected_at: int,
    *,
    overlapping: tuple[int, int] | None = None,
    label: str | None = None,
    sync_id: int | None = None,
) -> list[Amendment]:
    """Record an amendment for each closed period whose live rows changed since last looked at.

    ``overlapping`` (an inclusive range, e.g. what a sync just fetched) or ``label``
    limits the check to the closed periods concerned; each check hashes the period's
    live rows once, and diffs them against the snapshot only when the hash moved.
    """
    found = []
    for closure in closures(store):
        if label is not None and closure.period.label != label:
            continue
        if overlapping is not None and not (
            overlapping[0] < closure.period.end_ts and overlapping[1] >= closure.period.start_ts
        ):
            continue
        live = store.fingerprint(closure.period.start_ts, closure.period.end_ts)
        known = [a for a in amendments(store, closure.period.label) if a.revision == closure.revision]
        last = known[-1].fingerprint if known else closure.fingerprint
        if live == last:
            continue
        found.append(_record_amendment(store, closure, live, detected_at, sync_id))
    return found


def _record_amendment(
    store: Store, closure: Closure, live_fingerprint: str, detected_at: int, sync_id: int | None
) -> Amendment:
    added, removed, consumed, refunded = _diff(store, closure)
    rows_now = store.count_rows(closure.period.start_ts, closure.period.end_ts)
    cur = store.conn.execute(
        "INSERT INTO amendments (label, revision, detected_at, sync_id, rows_then, rows_now, rows_added, "
        "rows_removed, consumed_delta, refunded_delta, fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            closure.period.label, closure.revision, detected_at, sync_id, closure.rows, rows_now,
            added, removed, consumed, refunded, live_fingerprint,
        ),
    )  # fmt: skip
    return Amendment(
        int(cur.lastrowid or 0), closure.period.label, closure.revision, detected_at, closure.rows, rows_now,
        added, removed, consumed, refunded, live_fingerprint, None, sync_id,
    )  # fmt: skip


def _diff(store: Store, closure: Closure) -> tuple[int, int, int, int]:
    """Rows added and removed (as multisets of parsed rows) and the quota deltas, live − closed."""
    snapshot = closed_dir(store) / closure.snapshot / DB_NAME
    if not snapshot.is_file():
        raise StoreError(f"{snapshot}: the closed snapshot of {closure.period.label} is missing")
    cols = ROW_COLUMNS
    span = "created_at >= ? AND created_at < ?"
    args = [closure.period.start_ts, closure.period.end_ts] * 2
    with _attached(store, snapshot):
        row = store.conn.execute(
            "SELECT COALESCE(SUM(MAX(d, 0)), 0), COALESCE(SUM(MAX(-d, 0)), 0), "
            "COALESCE(SUM(CASE WHEN type = 2 THEN d * quota ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN type = 6 THEN d * quota ELSE 0 END), 0) FROM ("
            f"SELECT {cols}, SUM(side) AS d FROM ("
            f"SELECT {cols}, 1 AS side FROM main.logs WHERE {span} "
            f"UNION ALL SELECT {cols}, -1 AS side FROM frozen.logs WHERE {span}"
            f") GROUP BY {cols} HAVING d != 0)",
            args,
        ).fetchone()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


@contextlib.contextmanager
def _attached(store: Store, path: Path) -> Iterator[None]:
    store.conn.execute("ATTACH DATABASE ? AS frozen", (str(path),))
    try:
        yield
    finally:
        store.conn.execute("DETACH DATABASE frozen")


# -- closing --------------------------------------------------------------------------------


def close_period(
    config: Config, period: Period, *, reopen: bool = False, now: Callable[[], float] = time.time
) -> CloseResult:
    """Close ``period`` (or, with ``reopen``, re-close it from the live rows).

    Holds the sync lock so that no sync changes the rows while they are copied.
    """
    at = int(now())
    if period.end_ts > at:
        raise UsageError(f"{period.label} has not ended yet ({period.end:%Y-%m-%d %H:%M %Z}); close it after")
    with sync_lock(config.store_dir), Store.open(config.store_dir, create=False) as store:
        _ensure_schema(store)
        existing = find_closure(store, period.label)
        if existing is not None and existing.period.timezone != period.timezone:
            raise UsageError(
                f"{period.label} was closed in {existing.period.timezone}, but the report timezone is now "
                f"{period.timezone}; set [report] timezone back to {existing.period.timezone}"
            )
        if existing is not None and not reopen:
            detect_amendments(store, at, label=period.label)
            pending = pending_amendment(store, existing)
            return CloseResult(existing, already_closed=True, pending=(pending,) if pending else ())
        if existing is None and reopen:
            raise UsageError(
                f"{period.label} is not closed; run `reportgen close {period.label}` to close it"
            )
        if existing is not None:
            detect_amendments(store, at, label=period.label)  # record what the re-close takes in
        revision = 1 if existing is None else existing.revision + 1
        closure = _freeze(store, config, period, revision, at)
        applied = 0
        if existing is not None:
            applied = store.conn.execute(
                "UPDATE amendments SET applied_at = ? WHERE label = ? AND applied_at IS NULL",
                (at, period.label),
            ).rowcount
            shutil.rmtree(closed_dir(store) / existing.snapshot, ignore_errors=True)
        return CloseResult(
            closure, reopened_from=None if existing is None else existing.revision, applied=applied
        )


def _freeze(store: Store, config: Config, period: Period, revision: int, at: int) -> Closure:
    name = f"{period.label}.r{revision}"
    target = closed_dir(store) / name
    # A project's budget view sums its spend since the project started: keep those rows too.
    since = min([period.start_ts, *(_local_midnight(p.start, period) for p in config.projects)])
    _write_snapshot(store, target, period, since)
    with Store.open(target, create=False) as snap:
        fingerprint = snap.fingerprint(period.start_ts, period.end_ts)
        rows = snap.count_rows(period.start_ts, period.end_ts)
        status = snap.latest_status()
    exchange = exchange_for(config, status, period.tz)
    # Closed documents state the rate as of a fixed moment: the close when the config set it.
    if exchange.as_of is None and exchange.rate is not None:
        exchange = replace(exchange, as_of=datetime.fromtimestamp(at, period.tz))
    members = {m: list(keys) for m, keys in config.members.items()}
    projects = config.raw.get("projects") if config.projects else None
    store.conn.execute(
        "INSERT OR REPLACE INTO closures VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            period.label, period.start_ts, period.end_ts, period.timezone, revision, at, fingerprint, rows,
            None if status is None else _status_json(status),
            None if exchange.rate is None else str(exchange.rate), exchange.source,
            None if exchange.as_of is None else int(exchange.as_of.timestamp()),
            json.dumps(members, ensure_ascii=False), name,
            None if projects is None else json.dumps(_to_json(projects), ensure_ascii=False, sort_keys=True),
        ),
    )  # fmt: skip
    closure = find_closure(store, period.label)
    assert closure is not None
    return closure


def _write_snapshot(store: Store, target: Path, period: Period, since: int) -> None:
    """Copy the rows of ``[since, period end)`` and the facts that describe them into a new store."""
    partial = target.with_name(target.name + ".part")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    Store.open(partial).close()
    span = (since, period.end_ts)
    conn = store.conn
    reconciliations = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'reconciliations'"
    ).fetchone()
    with _attached(store, partial / DB_NAME):
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                f"INSERT INTO frozen.logs (id, {ROW_COLUMNS}) SELECT id, {ROW_COLUMNS} FROM main.logs "
                "WHERE created_at >= ? AND created_at < ?",
                span,
            )
            conn.execute(
                "INSERT INTO frozen.log_raw (id, raw) SELECT r.id, r.raw FROM main.log_raw r "
                "JOIN main.logs l ON l.id = r.id WHERE l.created_at >= ? AND l.created_at < ?",
                span,
            )
            conn.execute(
                "INSERT OR REPLACE INTO frozen.meta SELECT key, value FROM main.meta "
                "WHERE key IN ('account', 'keys_seen_at')"
            )
            conn.execute(
                "INSERT INTO frozen.keys SELECT * FROM main.keys "
                "WHERE seen_at = (SELECT CAST(value AS INTEGER) FROM main.meta WHERE key = 'keys_seen_at')"
            )
            conn.execute(
                "INSERT INTO frozen.status_snapshots SELECT * FROM main.status_snapshots "
                "ORDER BY read_at DESC, rowid DESC LIMIT 1"
            )
            conn.execute(
                "INSERT INTO frozen.syncs SELECT * FROM main.syncs WHERE finished_at IS NOT NULL "
                "ORDER BY id DESC LIMIT 1"
            )
            # Coverage as it stood, cut to the rows copied: the closed quality check reads the
            # period's part, the project view the part from the earliest project start.
            conn.execute(
                "INSERT INTO frozen.coverage (start_ts, end_ts) SELECT MAX(start_ts, ?), MIN(end_ts, ?) "
                "FROM main.coverage WHERE end_ts >= ? AND start_ts <= ?",
                (since, period.end_ts - 1, since, period.end_ts - 1),
            )
            if reconciliations is not None:  # the period's last reconciliation, as the documents show it
                conn.execute(reconciliations[0].replace("reconciliations", "frozen.reconciliations", 1))
                conn.execute(
                    "INSERT INTO frozen.reconciliations SELECT * FROM main.reconciliations "
                    "WHERE start_ts = ? AND end_ts = ?",
                    (period.start_ts, period.end_ts),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    partial.rename(target)


def _local_midnight(day: date, period: Period) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=period.tz).timestamp())


def _to_json(value: Any) -> Any:
    """TOML values as JSON, dates and times tagged so that :func:`_from_json` restores them."""
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, dtime):
        return {"$time": value.isoformat()}
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1:
            ((tag, text),) = value.items()
            parse = {
                "$datetime": datetime.fromisoformat,
                "$date": date.fromisoformat,
                "$time": dtime.fromisoformat,
            }
            if tag in parse:
                return parse[tag](text)
        return {k: _from_json(v) for k, v in value.items()}
    return value


# -- reading a period, closed or live --------------------------------------------------------


@dataclass(frozen=True)
class PeriodView:
    """A period's report and where it was read from.

    ``store`` is the store the report reads (a closed period's snapshot), ``config`` the
    config it was built with (a closed period's frozen member mapping and rate),
    ``token_names`` the keys a filtered report covers (None: every key), and ``notices``
    what the user should hear before documents are written.
    """

    report: Report
    store: Store
    config: Config
    token_names: tuple[str, ...] | None
    closure: Closure | None = None
    pending: Amendment | None = None
    notices: tuple[str, ...] = ()

    @property
    def row_count(self) -> int:
        p = self.report.period
        return self.store.count_rows(p.start_ts, p.end_ts, self.token_names)


@contextlib.contextmanager
def open_view(
    config: Config,
    period: Period,
    member: str | None = None,
    generated_at: datetime | None = None,
    now: Callable[[], float] = time.time,
) -> Iterator[PeriodView]:
    """Aggregate ``period`` from the store, or from its frozen snapshot when it is closed."""
    store = Store.open(config.store_dir, create=False)
    try:
        closure = find_closure(store, period.label)
        if closure is None:
            report = build_report(store, config, period, member, generated_at)
            yield PeriodView(report, store, config, _scope_keys(report, member))
            return
        if closure.period.start_ts != period.start_ts or closure.period.end_ts != period.end_ts:
            raise UsageError(
                f"{period.label} was closed in {closure.period.timezone}, but the report timezone is now "
                f"{period.timezone}; set [report] timezone back to {closure.period.timezone}"
            )
        detect_amendments(store, int(now()), label=period.label)
        pending = pending_amendment(store, closure)
        with _open_snapshot(store, closure) as snap:
            frozen = closure.frozen_config(config)
            report = build_report(snap, frozen, closure.period, member, closure.generated_at)
            report = replace(report, exchange=closure.exchange)
            p = closure.period
            whole = (
                report.provenance.fingerprint if member is None else snap.fingerprint(p.start_ts, p.end_ts)
            )
            if whole != closure.fingerprint:
                raise StoreError(
                    f"{snap.directory}: the closed snapshot of {p.label} no longer matches its recorded "
                    "fingerprint; restore it from a backup"
                )
            notices = () if pending is None else (_pending_notice(closure, pending),)
            yield PeriodView(report, snap, frozen, _scope_keys(report, member), closure, pending, notices)
    finally:
        store.close()


@contextlib.contextmanager
def _open_snapshot(store: Store, closure: Closure) -> Iterator[Store]:
    directory = closed_dir(store) / closure.snapshot
    if not (directory / DB_NAME).is_file():
        raise StoreError(
            f"{directory}: the closed snapshot of {closure.period.label} is missing; "
            f"restore it from a backup or re-close with `reportgen close {closure.period.label} --reopen`"
        )
    snap = Store.open(directory, create=False)
    try:
        yield snap
    finally:
        snap.close()


def _scope_keys(report: Report, member: str | None) -> tuple[str, ...] | None:
    return None if member is None else report.member_keys(member)


def _pending_notice(closure: Closure, pending: Amendment) -> str:
    label = closure.period.label
    return (
        f"Notice: {label} is closed (revision {closure.revision}, {closure.generated_at:%Y-%m-%d %H:%M}); "
        f"the store has changed since: {pending.describe(closure.quota_per_unit)}. The documents show the "
        f"closed version; `reportgen amendments --period {label}` lists the changes and "
        f"`reportgen close {label} --reopen` re-closes with them applied."
    )


def list_amendments(
    config: Config, period: Period | None = None, now: Callable[[], float] = time.time
) -> list[str]:
    """One line per recorded amendment (after checking the closed periods for new ones)."""
    with Store.open(config.store_dir, create=False) as store:
        label = None if period is None else period.label
        detect_amendments(store, int(now()), label=label)
        by_label = {c.period.label: c for c in closures(store)}
        lines = []
        for a in amendments(store, label):
            closure = by_label.get(a.label)
            qpu = closure.quota_per_unit if closure is not None else Decimal(500000)
            tz = closure.period.tz if closure is not None else None
            when = datetime.fromtimestamp(a.detected_at, tz).strftime("%Y-%m-%d %H:%M")
            state = (
                "pending"
                if a.pending
                else f"applied {datetime.fromtimestamp(a.applied_at or 0, tz):%Y-%m-%d}"
            )
            lines.append(f"{a.label}  r{a.revision}  detected {when}  {a.describe(qpu)}  [{state}]")
        return lines
