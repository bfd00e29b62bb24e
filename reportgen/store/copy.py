"""Moving a SQLite store to PostgreSQL (``reportgen store copy --to postgresql://…``), verified.

Every table of the live store is copied row for row with ``COPY`` (rows, raw blobs, rollups,
coverage, facts, closures with every revision, amendments, the register and the audit log),
each closed revision's snapshot into a schema of the same name (``2026-04.r1``), so the
closures and the audit log's entries name them unchanged; identity columns continue after the
copied ids.  The copy is then checked: the live rows' fingerprint, each closed revision's
fingerprint (recomputed from the copied snapshot, against the one recorded at its close)
and the audit log's hash chain and head must equal the source's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..core.storeserver import StoreServer
from ..errors import StoreError
from . import evidence, schema
from .closures import every_revision, snapshot_dir
from .facade import Reader, Store
from .postgres import PgConnection, connect

#: Tables whose reads order by SQLite's implicit rowid: copied with it (see ``migrations.postgres``).
_ROWID_TABLES = ("status_snapshots", "balances")
_BATCH = 5000


@dataclass(frozen=True)
class CopyResult:
    """What ``store copy`` moved and checked."""

    target: str
    rows: int
    tables: int
    revisions: tuple[str, ...]
    fingerprint: str
    audit_head: str | None

    def summary(self) -> str:
        closed = (
            f"{len(self.revisions)} closed revision(s) ({', '.join(self.revisions)})"
            if self.revisions
            else ("no closed revision")
        )
        head = f"; audit log head {self.audit_head[:24]}… intact" if self.audit_head else ""
        return (
            f"Copied {self.rows} rows in {self.tables} tables and {closed} to {self.target}; "
            f"fingerprints equal ({self.fingerprint[:16]}…){head}."
        )


def copy_store(directory: Path, server: StoreServer) -> CopyResult:
    """Copy the SQLite store in ``directory`` into the empty PostgreSQL database of ``server`` and verify it."""
    probe = connect(server, purpose="store copy")
    try:
        if schema.version_of(probe.as_db()) is not None:
            raise StoreError(
                f"{server}: already holds a store; store copy writes only into an empty database"
            )
    finally:
        probe.close()
    with Reader.open(directory) as source, Store.open(server) as target:
        source.begin()
        tables = _copy_tables(source, target)
        revisions = []
        for closure in every_revision(source):
            folder = snapshot_dir(source, closure)
            with (
                Reader.open(folder, snapshot=True) as snap,
                Store.open(replace(server, schema=closure.snapshot)) as copy,
            ):
                snap.begin()
                _copy_tables(snap, copy)
            revisions.append(closure.snapshot)
        rows = source.row_count()
        fingerprint = source.fingerprint(0, 2**62)
        head = evidence.head(source)
    _verify(directory, server, fingerprint, rows, head)
    return CopyResult(str(server), rows, tables, tuple(revisions), fingerprint, head)


def _copy_tables(source: Reader, target: Store) -> int:
    """Copy every table of ``source`` that ``target`` has, row for row; returns how many tables."""
    conn: PgConnection = target._conn  # type: ignore[assignment]
    wanted = set(target._dialect.tables(target._conn))
    copied = 0
    conn.execute("BEGIN")
    try:
        conn.execute("DELETE FROM meta")  # the new store's schema_version: the source's comes with its meta
        for table in source._dialect.tables(source._conn):
            if table not in wanted:
                continue
            columns = source._dialect.columns(source._conn, table)
            names = ["rowid", *columns] if table in _ROWID_TABLES else columns
            select = ", ".join(names)
            with conn.copy(f"COPY {table} ({', '.join(_quoted(names))}) FROM STDIN") as cp:
                for row in _rows(source, f"SELECT {select} FROM {table}"):
                    cp.write_row(row)
            copied += 1
        _continue_identities(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return copied


def _rows(source: Reader, sql: str) -> Iterator[Any]:
    cur = source._conn.execute(sql)
    while batch := cur.fetchmany(_BATCH):
        yield from batch


def _quoted(names: list[str]) -> list[str]:
    return [f'"{n}"' for n in names]


def _continue_identities(conn: PgConnection) -> None:
    """Make each identity column's next value follow the largest copied one."""
    found = conn.execute(
        "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) AND a.attidentity <> '' AND c.relkind = 'r'"
    ).fetchall()
    for table, column in found:
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
            f'COALESCE((SELECT MAX("{column}") FROM {table}), 0) + 1, false)'
        ).fetchall()


def _verify(directory: Path, server: StoreServer, fingerprint: str, rows: int, head: str | None) -> None:
    """The copy reads as the source: rows and fingerprint, every closed revision, the audit chain."""
    with Reader.open(server) as copy:
        copy.begin()
        problems = []
        if (copy.row_count(), copy.fingerprint(0, 2**62)) != (rows, fingerprint):
            problems.append("the live rows' fingerprint differs")
        chain = evidence.check_chain(copy)
        problems += [f"audit log: {p}" for p in chain]
        if evidence.head(copy) != head:
            problems.append("the audit log's head differs")
        for closure in every_revision(copy):
            with Reader.open(replace(server, schema=closure.snapshot), snapshot=True) as snap:
                snap.begin()
                got = snap.fingerprint(closure.period.start_ts, closure.period.end_ts)
            if got != closure.fingerprint:
                problems.append(f"{closure.period.label} revision {closure.revision}: fingerprint differs")
    if problems:
        raise StoreError(f"{server}: the copy of {directory} does not check: {'; '.join(problems)}")
