"""Every table of the store, and the numbered migrations that bring an older store up to date.

A store records its version in ``meta.schema_version``.  :func:`migrate` runs, in order,
each migration above that version, each in its own transaction, after copying the
database to ``reportgen.sqlite3.schema<N>.bak``; a store newer than this reportgen is
refused.  Nothing outside :mod:`reportgen.store` defines a table.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from ..core.fingerprint import FINGERPRINT_SCHEME, fingerprint_of, row_digest
from ..errors import StoreError
from . import raw, rollups

#: The schema this reportgen writes.
SCHEMA_VERSION = 8
#: The oldest schema that can be migrated (1 had no per-row digest and was never released).
OLDEST_MIGRATABLE = 2

BASE = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS logs (
    id INTEGER PRIMARY KEY,
    created_at INTEGER NOT NULL,
    type INTEGER NOT NULL,
    token_name TEXT NOT NULL,
    model_name TEXT NOT NULL,
    quota INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    use_time_ms INTEGER,
    is_stream INTEGER NOT NULL,
    request_id TEXT,
    client TEXT,
    http_status INTEGER,
    billing_source TEXT,
    token_id INTEGER,
    grp TEXT NOT NULL,
    username TEXT NOT NULL,
    channel INTEGER,
    has_price INTEGER NOT NULL,
    source TEXT NOT NULL DEFAULT 'default'
);
CREATE INDEX IF NOT EXISTS logs_created_at ON logs (created_at);
CREATE TABLE IF NOT EXISTS coverage (
    start_ts INTEGER NOT NULL,
    end_ts INTEGER NOT NULL,
    source TEXT NOT NULL DEFAULT 'default',
    PRIMARY KEY (source, start_ts)
);
CREATE TABLE IF NOT EXISTS windows (
    start_ts INTEGER NOT NULL,
    end_ts INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    pages INTEGER NOT NULL,
    fetched_at INTEGER NOT NULL,
    source TEXT NOT NULL DEFAULT 'default'
);
CREATE TABLE IF NOT EXISTS status_snapshots (
    read_at INTEGER NOT NULL,
    quota_per_unit TEXT NOT NULL,
    usd_exchange_rate TEXT,
    quota_display_type TEXT,
    version TEXT,
    source TEXT NOT NULL DEFAULT 'default'
);
CREATE TABLE IF NOT EXISTS keys (
    id INTEGER NOT NULL,
    name TEXT NOT NULL,
    status INTEGER NOT NULL,
    used_quota INTEGER NOT NULL,
    remain_quota INTEGER NOT NULL,
    unlimited_quota INTEGER NOT NULL,
    grp TEXT NOT NULL,
    created_time INTEGER NOT NULL,
    accessed_time INTEGER NOT NULL,
    expired_time INTEGER NOT NULL,
    seen_at INTEGER NOT NULL,
    source TEXT NOT NULL DEFAULT 'default',
    PRIMARY KEY (source, id)
);
CREATE TABLE IF NOT EXISTS syncs (
    id INTEGER PRIMARY KEY,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    state TEXT NOT NULL,
    flavor TEXT,
    target_start INTEGER,
    target_end INTEGER,
    windows INTEGER NOT NULL DEFAULT 0,
    rows INTEGER NOT NULL DEFAULT 0,
    pages INTEGER NOT NULL DEFAULT 0,
    message TEXT,
    source TEXT NOT NULL DEFAULT 'default'
);
"""

# Schema 3: closures keep every revision (primary key label + revision) and the tables
# that schema 2 created lazily, on first use, are part of the schema.
_CLOSURES = """
CREATE TABLE IF NOT EXISTS closures (
    label TEXT NOT NULL,
    revision INTEGER NOT NULL,
    start_ts INTEGER NOT NULL,
    end_ts INTEGER NOT NULL,
    timezone TEXT NOT NULL,
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
    conversions TEXT,
    fingerprint_scheme INTEGER NOT NULL DEFAULT 2,
    PRIMARY KEY (label, revision)
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
CREATE TABLE IF NOT EXISTS reconciliations (
    start_ts INTEGER NOT NULL,
    end_ts INTEGER NOT NULL,
    label TEXT NOT NULL,
    checked_at INTEGER NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (start_ts, end_ts)
);
"""

# Schema 4: the issue register (statement numbers) and the hash-chained audit log.
_EVIDENCE = """
CREATE TABLE IF NOT EXISTS statements (
    account TEXT NOT NULL,
    seq INTEGER NOT NULL,
    content TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    label TEXT NOT NULL,
    scope TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    PRIMARY KEY (account, seq),
    UNIQUE (account, content)
);
CREATE TABLE IF NOT EXISTS audit_log (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    user TEXT NOT NULL,
    host TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    details TEXT NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS statements_no_update BEFORE UPDATE ON statements
BEGIN SELECT RAISE(ABORT, 'issued statement numbers are never changed'); END;
CREATE TRIGGER IF NOT EXISTS statements_no_delete BEFORE DELETE ON statements
BEGIN SELECT RAISE(ABORT, 'issued statement numbers are never changed'); END
"""

# Schema 5: several sources (gateways, accounts) in one store, and the wallet: balance
# snapshots read at sync time and the gateway's own top-up / redemption records.
_SOURCES = """
CREATE TABLE IF NOT EXISTS sources (
    name TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    bound_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS balances (
    source TEXT NOT NULL,
    read_at INTEGER NOT NULL,
    quota INTEGER NOT NULL,
    used_quota INTEGER,
    request_count INTEGER,
    origin TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS wallet_records (
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    ref TEXT NOT NULL,
    at INTEGER NOT NULL,
    quota INTEGER NOT NULL,
    money TEXT,
    detail TEXT NOT NULL,
    PRIMARY KEY (source, kind, ref)
)
"""

_CLOSURE_COLUMNS = (
    "label, revision, start_ts, end_ts, timezone, closed_at, fingerprint, rows, status, exchange_rate, "
    "exchange_source, exchange_as_of, members, snapshot, projects, conversions"
)


def _script(conn: sqlite3.Connection, sql: str) -> None:
    """Run several statements without ``executescript``, which would commit an open transaction."""
    for statement in sql.split(";\n"):  # statements end a line; a trigger's inner ";" does not
        if statement.strip():
            conn.execute(statement)


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def _to_3(conn: sqlite3.Connection) -> None:
    old = _columns(conn, "closures")
    if old and "revision" in old and old.index("revision") != 1:  # schema 2's layout: label alone is the key
        conn.execute("ALTER TABLE closures RENAME TO closures_schema2")
        _script(conn, _CLOSURES)
        conversions = "conversions" if "conversions" in old else "NULL"
        projects = "projects" if "projects" in old else "NULL"
        conn.execute(
            f"INSERT INTO closures ({_CLOSURE_COLUMNS}) SELECT label, revision, start_ts, end_ts, timezone, "
            "closed_at, fingerprint, rows, status, exchange_rate, exchange_source, exchange_as_of, members, "
            f"snapshot, {projects}, {conversions} FROM closures_schema2"
        )
        conn.execute("DROP TABLE closures_schema2")
    recon = _columns(conn, "reconciliations")
    if recon and recon[:2] != ["start_ts", "end_ts"]:  # pragma: no cover - schema 2 used this layout too
        raise StoreError("reconciliations table of an unknown layout")
    _script(conn, _CLOSURES)


_ROW_SQL = (
    "created_at, type, token_name, model_name, quota, prompt_tokens, completion_tokens, use_time_ms, "
    "is_stream, request_id, client, http_status, billing_source, token_id, grp, username, channel, has_price"
)


def _to_4(conn: sqlite3.Connection) -> None:
    """Content-bound fingerprints: recompute every recorded fingerprint from row content.

    Schema 3 fingerprinted a digest stored with each row at sync time.  A closure's
    snapshot is re-checked against its recorded (old) fingerprint recomputed from the
    snapshot's content; when it matches, the closure gets the new fingerprint, otherwise it
    keeps the old one with ``fingerprint_scheme = 1`` and reading it is refused.  Amendments
    and reconciliations recorded a fingerprint of the live rows: where that still describes
    the rows now, it is replaced by the new one.  The stored digest column is dropped.
    """
    _script(conn, _EVIDENCE)
    if "fingerprint_scheme" not in _columns(conn, "closures"):
        conn.execute("ALTER TABLE closures ADD COLUMN fingerprint_scheme INTEGER NOT NULL DEFAULT 2")
    db = Path(next(r[2] for r in conn.execute("PRAGMA database_list") if r[1] == "main"))
    renamed: dict[str, str] = {}  # old fingerprint -> new, where the rows are the same
    closures = conn.execute(
        "SELECT label, revision, start_ts, end_ts, fingerprint, snapshot FROM closures"
    ).fetchall()
    for label, revision, start, end, old, snapshot in closures:
        path = db.parent / "closed" / snapshot / db.name
        scheme, fingerprint = 1, old
        if path.is_file():
            snap = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                then, now = _both_fingerprints(snap, start, end, trust_stored=False)
            finally:
                snap.close()
            if then == old:
                scheme, fingerprint = FINGERPRINT_SCHEME, now
                renamed[old] = now
                _rename_reconciliations(path, {old: now})  # the frozen copy the closed documents show
        conn.execute(
            "UPDATE closures SET fingerprint = ?, fingerprint_scheme = ? WHERE label = ? AND revision = ?",
            (fingerprint, scheme, label, revision),
        )
        live_then, live_now = _both_fingerprints(conn, start, end, trust_stored=True)
        conn.execute(
            "UPDATE amendments SET fingerprint = ? WHERE label = ? AND fingerprint = ?",
            (live_now, label, live_then),
        )
        conn.execute(
            "UPDATE amendments SET fingerprint = ? WHERE label = ? AND revision = ? AND fingerprint = ?",
            (fingerprint, label, revision, old),
        )
    for start, end, text in conn.execute("SELECT start_ts, end_ts, result FROM reconciliations").fetchall():
        result = json.loads(text)
        then, now = _both_fingerprints(conn, start, end, trust_stored=True)
        if isinstance(result, dict) and result.get("fingerprint") in (then, *renamed):
            result["fingerprint"] = now if result["fingerprint"] == then else renamed[result["fingerprint"]]
            conn.execute(
                "UPDATE reconciliations SET result = ? WHERE start_ts = ? AND end_ts = ?",
                (json.dumps(result, ensure_ascii=False), start, end),
            )
    if "digest" in _columns(conn, "logs"):
        conn.execute("ALTER TABLE logs DROP COLUMN digest")


def _rename_reconciliations(path: Path, renamed: dict[str, str]) -> None:
    with contextlib.closing(sqlite3.connect(path)) as snap, snap:
        if not _columns(snap, "reconciliations"):
            return
        for start, end, text in snap.execute(
            "SELECT start_ts, end_ts, result FROM reconciliations"
        ).fetchall():
            result = json.loads(text)
            if isinstance(result, dict) and result.get("fingerprint") in renamed:
                result["fingerprint"] = renamed[result["fingerprint"]]
                snap.execute(
                    "UPDATE reconciliations SET result = ? WHERE start_ts = ? AND end_ts = ?",
                    (json.dumps(result, ensure_ascii=False), start, end),
                )


def _both_fingerprints(
    conn: sqlite3.Connection, start: int, end: int, *, trust_stored: bool
) -> tuple[str, str]:
    """The schema-3 and the content fingerprint of the rows of ``[start, end)``.

    The schema-3 one is taken over the stored digests (``trust_stored``, as it was
    recorded for live rows) or over digests recomputed from the content the schema-3 way.
    """
    old, new = [], []
    column = ", digest" if trust_stored else ""
    cur = conn.execute(
        f"SELECT {_ROW_SQL}{column} FROM logs WHERE created_at >= ? AND created_at < ?", (start, end)
    )
    for row in cur:
        values = tuple(row[:18])
        stored = (
            bytes(row[18]) if trust_stored else hashlib.sha256(repr(values).encode("utf-8")).digest()[:16]
        )
        old.append(stored)
        new.append(row_digest(*values))
    return fingerprint_of(sorted(old)), fingerprint_of(sorted(new))


_KEY_COLUMNS = (
    "id, name, status, used_quota, remain_quota, unlimited_quota, grp, created_time, accessed_time, "
    "expired_time, seen_at"
)


def _to_5(conn: sqlite3.Connection) -> None:
    """Several sources: every row, range and fact carries its source; the store's one account
    becomes the source named ``default``.  Coverage and keys are re-keyed per source."""
    for table in ("logs", "windows", "status_snapshots", "syncs"):
        if "source" not in _columns(conn, table):
            conn.execute(f"ALTER TABLE {table} ADD COLUMN source TEXT NOT NULL DEFAULT 'default'")
    for table, columns in (("coverage", "start_ts, end_ts"), ("keys", _KEY_COLUMNS)):
        if "source" in _columns(conn, table):
            continue
        conn.execute(f"ALTER TABLE {table} RENAME TO {table}_schema4")
        ddl = next(s for s in BASE.split(";\n") if f"EXISTS {table} (" in s)
        conn.execute(ddl)
        conn.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table}_schema4")
        conn.execute(f"DROP TABLE {table}_schema4")
    _script(conn, _SOURCES)
    account = conn.execute("SELECT value FROM meta WHERE key = 'account'").fetchone()
    if account is not None:
        bound = conn.execute("SELECT COALESCE(MIN(started_at), 0) FROM syncs").fetchone()[0]
        conn.execute("INSERT OR IGNORE INTO sources VALUES ('default', ?, ?)", (account[0], bound))


# Schema 6: rollups (per source) kept at sync time, and the raw JSON compressed per window.
_SCHEMA6 = raw.TABLE + ";\n" + rollups.TABLES


def _to_6(conn: sqlite3.Connection) -> None:
    """Rollups for the live store and every closed snapshot; the raw JSON compressed, ``log_raw`` dropped.

    The live store's rollups are kept in the timezone of its latest closed period (else
    UTC) until the next sync sets the report timezone.  A snapshot gets only its rollup
    tables, rolled up (per source; all ``default`` in one closed before schema 5) in its
    period's timezone: its rows and facts stay as they were closed.
    """
    _script(conn, _SCHEMA6)
    if "log_raw" in _tables(conn):
        last = 0
        while batch := conn.execute(
            "SELECT id, raw FROM log_raw WHERE id > ? ORDER BY id LIMIT 20000", (last,)
        ).fetchall():
            raw.keep_raw(conn, [(int(i), str(text)) for i, text in batch])
            last = int(batch[-1][0])
        conn.execute("DROP TABLE log_raw")
    db = Path(next(r[2] for r in conn.execute("PRAGMA database_list") if r[1] == "main"))
    zone = rollups.DEFAULT_ZONE
    for timezone, snapshot in conn.execute(
        "SELECT timezone, snapshot FROM closures ORDER BY closed_at"
    ).fetchall():
        zone = timezone
        path = db.parent / "closed" / snapshot / db.name
        if path.is_file():
            with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as snap:
                snap.execute("BEGIN IMMEDIATE")
                _script(snap, rollups.TABLES)
                rollups.rebuild(snap, timezone)
                snap.execute("COMMIT")
    rollups.rebuild(conn, zone)


# Schema 7: the latency rollup packed into one row per day × source × key × model, and an
# index of the few credit rows (top-ups, admin and system rows) the wallet bridge reads.
_SCHEMA7 = "CREATE INDEX IF NOT EXISTS logs_credit ON logs (created_at) WHERE type IN (1, 3, 4)"


def _to_7(conn: sqlite3.Connection) -> None:
    """Pack the latency rollup (``rollup_latency``: one row per bucket) into ``rollup_histograms``,
    in the live store and every closed snapshot (the same counts, regrouped); index credit rows."""
    _script(conn, rollups.TABLES)
    _pack_latency(conn)
    _script(conn, _SCHEMA7)
    db = Path(next(r[2] for r in conn.execute("PRAGMA database_list") if r[1] == "main"))
    for (snapshot,) in conn.execute("SELECT snapshot FROM closures").fetchall():
        path = db.parent / "closed" / snapshot / db.name
        if path.is_file():
            with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as snap:
                snap.execute("BEGIN IMMEDIATE")
                _script(snap, rollups.TABLES)
                _pack_latency(snap)
                snap.execute("COMMIT")


# Schema 8: the credit index's condition written as OR terms.  SQLite evaluates a partial
# index's ``IN (...)`` list by building a small table for every row inserted (1.7 µs of the
# ~3 µs a row costs to write); the same set as ``=`` terms costs nothing measurable.
CREDIT_TYPES_SQL = "(type = 1 OR type = 3 OR type = 4)"
_SCHEMA8 = f"CREATE INDEX IF NOT EXISTS logs_credit ON logs (created_at) WHERE {CREDIT_TYPES_SQL}"


def _to_8(conn: sqlite3.Connection) -> None:
    conn.execute("DROP INDEX IF EXISTS logs_credit")
    _script(conn, _SCHEMA8)


def _pack_latency(conn: sqlite3.Connection) -> None:
    if "rollup_latency" not in _tables(conn):
        return
    days = conn.execute("SELECT DISTINCT day, source FROM rollup_latency ORDER BY 1, 2").fetchall()
    for day, source in days:
        counts = conn.execute(
            "SELECT token_name, model_name, bucket, count FROM rollup_latency WHERE day = ? AND source = ? "
            "ORDER BY 1, 2",
            (day, source),
        ).fetchall()
        rollups.save_histograms(conn, day, source, counts)
    conn.execute("DROP TABLE rollup_latency")


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


#: migration N brings a store of schema N-1 to schema N.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    3: _to_3, 4: _to_4, 5: _to_5, 6: _to_6, 7: _to_7, 8: _to_8,
}  # fmt: skip


def create(conn: sqlite3.Connection) -> None:
    """Create every table of a new store at :data:`SCHEMA_VERSION`."""
    _script(conn, BASE)
    _script(conn, _CLOSURES)
    _script(conn, _EVIDENCE)
    _script(conn, _SOURCES)
    _script(conn, _SCHEMA6)
    _script(conn, _SCHEMA8)
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
    )


def version_of(conn: sqlite3.Connection) -> int | None:
    """The store's schema version, or None for an empty database."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone():
        return None
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return None if row is None else int(row[0])


def migrate(conn: sqlite3.Connection, db: Path) -> int | None:
    """Bring the store in ``db`` up to :data:`SCHEMA_VERSION`; return the version it had (None: new)."""
    version = version_of(conn)
    if version is None:
        create(conn)
        return None
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{db}: store schema {version} was written by a newer reportgen (this one reads up to "
            f"{SCHEMA_VERSION}); upgrade reportgen"
        )
    if version < OLDEST_MIGRATABLE:
        raise StoreError(
            f"{db}: store schema {version} is too old to migrate; move {db.parent} aside and run "
            "`reportgen sync` again: the gateway still has the logs"
        )
    if version == SCHEMA_VERSION:
        return version
    backup = db.with_name(f"{db.name}.schema{version}.bak")
    with sqlite3.connect(backup) as target:
        conn.backup(target)
    target.close()
    for number in range(version + 1, SCHEMA_VERSION + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[number](conn)
            conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(number),))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    if version < 7:
        conn.execute("VACUUM")  # schemas 6 and 7 compressed the raw JSON and the latency rollup
    return version
