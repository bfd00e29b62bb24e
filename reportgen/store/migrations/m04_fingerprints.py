"""Migration 4: content-bound fingerprints, the issue register and the audit log."""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from pathlib import Path

from ...core.fingerprint import FINGERPRINT_SCHEME, fingerprint_of, row_digest
from .base import columns, script, snapshot_db

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

_ROW_SQL = (
    "created_at, type, token_name, model_name, quota, prompt_tokens, completion_tokens, use_time_ms, "
    "is_stream, request_id, client, http_status, billing_source, token_id, grp, username, channel, has_price"
)


def to_4(conn: sqlite3.Connection) -> None:
    """Content-bound fingerprints: recompute every recorded fingerprint from row content.

    Schema 3 fingerprinted a digest stored with each row at sync time.  A closure's
    snapshot is re-checked against its recorded (old) fingerprint recomputed from the
    snapshot's content; when it matches, the closure gets the new fingerprint, otherwise it
    keeps the old one with ``fingerprint_scheme = 1`` and reading it is refused.  Amendments
    and reconciliations recorded a fingerprint of the live rows: where that still describes
    the rows now, it is replaced by the new one.  The stored digest column is dropped.
    """
    script(conn, _EVIDENCE)
    if "fingerprint_scheme" not in columns(conn, "closures"):
        conn.execute("ALTER TABLE closures ADD COLUMN fingerprint_scheme INTEGER NOT NULL DEFAULT 2")
    renamed: dict[str, str] = {}  # old fingerprint -> new, where the rows are the same
    closures = conn.execute(
        "SELECT label, revision, start_ts, end_ts, fingerprint, snapshot FROM closures"
    ).fetchall()
    for label, revision, start, end, old, snapshot in closures:
        path = snapshot_db(conn, snapshot)
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
    if "digest" in columns(conn, "logs"):
        conn.execute("ALTER TABLE logs DROP COLUMN digest")


def _rename_reconciliations(path: Path, renamed: dict[str, str]) -> None:
    with contextlib.closing(sqlite3.connect(path)) as snap, snap:
        if not columns(snap, "reconciliations"):
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
