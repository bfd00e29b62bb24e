"""A PostgreSQL store's schema: the same numbered migrations, with PostgreSQL's DDL.

A new PostgreSQL store gets, in one transaction, the tables a new SQLite store's migrations
build (read back from a fresh in-memory SQLite store, so the two can never drift apart),
in PostgreSQL's types (:func:`~reportgen.store.postgres.ddl`); the append-only triggers
become PL/pgSQL.  It then records the schema version; a store of an older version runs
the numbered migrations above it, each in its own transaction, through the connection
that gives their DDL PostgreSQL's types.  DDL is transactional on PostgreSQL: a failed
migration rolls back whole (no ``.bak`` copy is needed; the DBA's backups stay the way back).
Two processes opening a new store at once are serialised by a transaction advisory lock.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from ...errors import StoreError
from ..dialect import upsert
from ..postgres import PgConnection, ddl
from ..schema import OLDEST_MIGRATABLE, SCHEMA_VERSION, version_of
from ..schema import migrate as migrate_sqlite
from . import MIGRATIONS

#: Tables whose reads order by SQLite's implicit ``rowid`` (the order rows were written): on
#: PostgreSQL an identity column of that name, last, so positional ``INSERT … VALUES`` still fits.
ROWID_TABLES = ("status_snapshots", "balances")
_MIGRATION_LOCK = "hashtextextended('reportgen-migrate:' || current_database(), 0)"
_REFUSE = (
    "CREATE OR REPLACE FUNCTION rg_refuse() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END $$"
)
_TRIGGER = re.compile(
    r"CREATE TRIGGER (?:IF NOT EXISTS )?(\w+) BEFORE (UPDATE|DELETE) ON (\w+)\s+"
    r"BEGIN SELECT RAISE\(ABORT, '([^']*)'\); END",
    re.IGNORECASE,
)


def statements() -> list[str]:
    """The DDL of a new store on PostgreSQL, in creation order."""
    mem = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate_sqlite(mem, Path(":memory:"))
        rows = mem.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
        ).fetchall()
    finally:
        mem.close()
    out = [_REFUSE]
    for kind, name, sql in rows:
        if kind == "trigger":
            out.append(_trigger(sql))
        elif kind == "table" and name in ROWID_TABLES:
            out.append(re.sub(r"\)\s*$", ", rowid BIGINT GENERATED ALWAYS AS IDENTITY)", ddl(sql)))
        else:
            out.append(ddl(sql))
    return out


def _trigger(sql: str) -> str:
    found = _TRIGGER.fullmatch(" ".join(sql.split()))
    if found is None:  # pragma: no cover - a new kind of trigger needs its PL/pgSQL here
        raise StoreError(f"no PostgreSQL form for the trigger {sql[:60]!r}")
    name, event, table, message = found.groups()
    return (
        f"CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW "
        f"EXECUTE FUNCTION rg_refuse('{message}')"
    )


def migrate(conn: PgConnection) -> int | None:
    """Bring the PostgreSQL store on ``conn`` up to the schema this reportgen writes; return the
    version it had (None: it was new)."""
    raw = conn.raw
    conn.execute("BEGIN")
    try:
        conn.execute(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})").fetchall()
        version = version_of(conn.as_db())
        _check(conn, version)
        if version is None:
            for statement in statements():
                raw.execute(statement)  # DDL as written: no placeholders to translate
            conn.execute(upsert("meta", ("key", "value"), ("key",)), ("schema_version", str(SCHEMA_VERSION)))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if version is None or version == SCHEMA_VERSION:
        return version
    for number in range(version + 1, SCHEMA_VERSION + 1):
        conn.execute("BEGIN")
        try:
            conn.execute(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})").fetchall()
            if int(version_of(conn.as_db()) or 0) < number:
                MIGRATIONS[number](conn.as_db())
                conn.execute(upsert("meta", ("key", "value"), ("key",)), ("schema_version", str(number)))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return version


def _check(conn: PgConnection, version: int | None) -> None:
    where = conn.shown
    if version is None:
        foreign = [t for t in conn.dialect.tables(conn) if not t.startswith("pg_")][:3]
        if foreign:
            raise StoreError(
                f"{where}: not a reportgen store (it holds tables {', '.join(foreign)}); give reportgen "
                "a database of its own"
            )
    elif version > SCHEMA_VERSION:
        raise StoreError(
            f"{where}: store schema {version} was written by a newer reportgen (this one reads up to "
            f"{SCHEMA_VERSION}); upgrade reportgen"
        )
    elif version < OLDEST_MIGRATABLE:  # pragma: no cover - PostgreSQL stores start at a released schema
        raise StoreError(f"{where}: store schema {version} is too old to migrate")


#: The tables only the closer adds to (closed periods, the register, reconciliations), and the
#: evidence tables no role may ever change (append-only: triggers, and no UPDATE or DELETE grant).
CLOSER_TABLES = ("closures", "amendments", "statements", "audit_log", "reconciliations")
EVIDENCE_TABLES = ("statements", "audit_log")


def grants(tables: list[str], sync: str, reader: str, closer: str) -> list[str]:
    """The ``GRANT``s that give the three roles what their commands need on a store of ``tables``:
    ``sync`` writes rows and facts (and appends to the audit log), ``reader`` reads, ``closer``
    reads and adds closures, amendments, register numbers, audit entries and reconciliations."""
    rows = [t for t in tables if t not in CLOSER_TABLES]
    out = [
        f"REVOKE UPDATE, DELETE, TRUNCATE ON {', '.join(EVIDENCE_TABLES)} FROM PUBLIC;",
        f"GRANT USAGE ON SCHEMA public TO {sync}, {reader}, {closer};",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {sync}, {reader}, {closer};",
        f"GRANT INSERT, UPDATE, DELETE ON {', '.join(rows)} TO {sync};",
        f"GRANT INSERT ON audit_log, amendments TO {sync};",
        f"GRANT INSERT ON {', '.join(CLOSER_TABLES)} TO {closer};",
        f"GRANT UPDATE ON amendments, reconciliations TO {closer};",
        f"GRANT INSERT, UPDATE, DELETE ON meta TO {closer};",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {sync}, {closer};",
    ]
    return out
