"""Closed periods as recorded: the ``closures`` table and the frozen snapshot stores.

A closure is a period's frozen rows, in a snapshot store ``<store>/closed/<label>.r<N>/``
(an ordinary :class:`~reportgen.store.Store`, so every read path works on it unchanged),
plus what its documents depend on: fingerprint, row count, ``/api/status`` snapshot,
exchange rate and further currencies, member and project mapping, and the close time.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from .aggregate import exchange_for
from .config import Config
from .models import Conversion, Exchange, GatewayStatus, Period
from .projects import parse_projects
from .store import DB_NAME, ROW_COLUMNS, Store

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
    projects TEXT,
    conversions TEXT
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
    conversions: tuple[Conversion, ...] = ()  # [report.currencies] as configured at close

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
            currencies=self.conversions,
        )


def ensure_schema(store: Store) -> None:
    store.conn.executescript(_SCHEMA)
    columns = {row[1] for row in store.conn.execute("PRAGMA table_info(closures)")}
    if "conversions" not in columns:  # closures recorded before [report.currencies] existed
        store.conn.execute("ALTER TABLE closures ADD COLUMN conversions TEXT")


def closed_dir(store: Store) -> Path:
    return store.directory / CLOSED_DIR


def find_closure(store: Store, label: str) -> Closure | None:
    """The closure of the period labelled ``label``, or None when it is open."""
    ensure_schema(store)
    row = store.conn.execute("SELECT * FROM closures WHERE label = ?", (label,)).fetchone()
    return None if row is None else _closure(row)


def closures(store: Store) -> list[Closure]:
    ensure_schema(store)
    return [_closure(r) for r in store.conn.execute("SELECT * FROM closures ORDER BY start_ts, label")]


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
        status=None if status is None else _status_from_json(status),
        exchange=Exchange(
            None if rate is None else Decimal(rate),
            source,
            None if as_of is None else datetime.fromtimestamp(as_of, tz),
        ),
        members={k: tuple(v) for k, v in json.loads(members).items()},
        snapshot=snap,
        projects=None if projects is None else _from_json(json.loads(projects)),
        conversions=() if conversions is None else _conversions_from_json(conversions),
    )


def _conversions_json(conversions: tuple[Conversion, ...]) -> str:
    return json.dumps(
        [
            {"code": c.code, "rate": str(c.rate), "source": c.source, "date": c.as_of.isoformat()}
            for c in conversions
        ],
        ensure_ascii=False,
    )


def _conversions_from_json(text: str) -> tuple[Conversion, ...]:
    return tuple(
        Conversion(d["code"], Decimal(d["rate"]), d["source"], date.fromisoformat(d["date"]))
        for d in json.loads(text)
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


@contextlib.contextmanager
def attached(store: Store, path: Path) -> Iterator[None]:
    store.conn.execute("ATTACH DATABASE ? AS frozen", (str(path),))
    try:
        yield
    finally:
        store.conn.execute("DETACH DATABASE frozen")


# -- freezing ---------------------------------------------------------------------------------


def freeze(store: Store, config: Config, period: Period, revision: int, at: int) -> Closure:
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
        "INSERT OR REPLACE INTO closures VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            period.label, period.start_ts, period.end_ts, period.timezone, revision, at, fingerprint, rows,
            None if status is None else _status_json(status),
            None if exchange.rate is None else str(exchange.rate), exchange.source,
            None if exchange.as_of is None else int(exchange.as_of.timestamp()),
            json.dumps(members, ensure_ascii=False), name,
            None if projects is None else json.dumps(_to_json(projects), ensure_ascii=False, sort_keys=True),
            _conversions_json(config.currencies),
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
    with attached(store, partial / DB_NAME):
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                f"INSERT INTO frozen.logs (id, {ROW_COLUMNS}, digest) SELECT id, {ROW_COLUMNS}, digest "
                "FROM main.logs "
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
            # Coverage as it stood, cut to the rows copied: the quality check and the
            # project view (unsynced days) read it.
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
