"""The issue register (statement numbers) and the append-only, hash-chained audit log.

A statement number is issued once per account for one content (what a packet states:
period, scope, rows, totals, closed revision); issuing the same content again returns
the same number, and different content always gets the next one.

Each audit entry's hash is SHA-256 over the compact JSON array ``[seq, at, user, host,
action, subject, fingerprint, details, prev]``, where ``prev`` is the previous entry's
hash (64 zeros for the first), so editing or deleting any entry breaks the chain from
there on; ``meta.audit_head`` (``seq:hash`` of the last entry) shows a cut-off tail.
Triggers refuse ordinary UPDATE and DELETE on both tables.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from ..errors import StoreError
from .closures import Closure
from .facade import Reader, Store

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: int
    user: str
    host: str
    action: str
    subject: str
    fingerprint: str
    details: str  # compact JSON object
    prev: str
    hash: str


def entry_hash(seq: int, at: int, user: str, host: str, action: str, subject: str, fingerprint: str,
               details: str, prev: str) -> str:  # fmt: skip
    data = [seq, at, user, host, action, subject, fingerprint, details, prev]
    return hashlib.sha256(
        json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    ).hexdigest()


@contextlib.contextmanager
def writing(store: Store) -> Iterator[None]:
    """One write transaction for register and log entries (rolled back if the block fails)."""
    with store._transaction():
        yield


def issue(store: Store, content: str, at: int, label: str, scope: str, fingerprint: str) -> tuple[int, bool]:
    """The register's number for ``content`` (a digest), and whether it was issued just now."""
    account = store.get_meta("account") or ""
    row = store._conn.execute(
        "SELECT seq FROM statements WHERE account = ? AND content = ?", (account, content)
    ).fetchone()
    if row is not None:
        return int(row[0]), False
    seq = int(
        store._conn.execute(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM statements WHERE account = ?", (account,)
        ).fetchone()[0]
    )
    store._conn.execute(
        "INSERT INTO statements (account, seq, content, issued_at, label, scope, fingerprint) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (account, seq, content, at, label, scope, fingerprint),
    )
    return seq, True


def issued_documents(reader: Reader, number: str) -> tuple[str, ...] | None:
    """The roles of the documents the first packet of statement ``number`` held, as its audit entry says.

    None when no packet of that number recorded them (issued before packets did).
    """
    roles = _first_packet(reader, number).get("documents")
    return tuple(roles) if isinstance(roles, list) else None


def issued_head(reader: Reader, number: str) -> str | None:
    """The audit log's head the first packet of statement ``number`` printed, as its entry says
    (None: issued before documents printed it)."""
    head = _first_packet(reader, number).get("audit_head")
    return head if isinstance(head, str) else None


def _first_packet(reader: Reader, number: str) -> dict[str, Any]:
    """The details of the first packet entry of statement ``number`` in the audit log ({}: none)."""
    rows = reader._conn.execute(
        "SELECT details FROM audit_log WHERE action = 'packet' AND subject LIKE ? ORDER BY seq",
        (number + " %",),
    )
    for (details,) in rows:
        data = json.loads(details)
        if data.get("statement") == number:
            return cast(dict[str, Any], data)
    return {}


def recorded_seal(reader: Reader, subject: str, what: str = "seal") -> str | None:
    """The snapshot seal the audit log recorded with the close named ``subject`` (None: closed
    before closes were sealed); ``what="rows_seal"``: its packed rows' (None: not packed)."""
    if not reader.has_table("audit_log"):
        return None
    row = reader._conn.execute(
        "SELECT details FROM audit_log WHERE action IN ('close', 'reopen') AND subject = ? ORDER BY seq DESC "
        "LIMIT 1",
        (subject,),
    ).fetchone()
    seal = None if row is None else json.loads(row[0]).get(what)
    return seal if isinstance(seal, str) else None


def append(
    store: Store,
    at: int,
    who: tuple[str, str],
    action: str,
    subject: str,
    fingerprint: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the audit log (in the caller's transaction, if any)."""
    last = store._conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (1, GENESIS) if last is None else (int(last[0]) + 1, str(last[1]))
    text = json.dumps(details or {}, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    user, host = who
    digest = entry_hash(seq, at, user, host, action, subject, fingerprint, text, prev)
    store._conn.execute(
        'INSERT INTO audit_log (seq, at, "user", host, action, subject, fingerprint, details, prev, hash) '
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, at, user, host, action, subject, fingerprint, text, prev, digest),
    )
    store.set_meta("audit_head", f"{seq}:{digest}")
    return AuditEntry(seq, at, user, host, action, subject, fingerprint, text, prev, digest)


def entries(reader: Reader) -> list[AuditEntry]:
    if not reader.has_table("audit_log"):
        return []
    rows = reader._conn.execute(
        'SELECT seq, at, "user", host, action, subject, fingerprint, details, prev, hash FROM audit_log ORDER BY seq'
    )
    return [AuditEntry(*row) for row in rows]


def check_chain(reader: Reader) -> list[str]:
    """What breaks the chain: an edited, inserted or deleted entry, or a cut-off tail."""
    problems: list[str] = []
    prev, expected = GENESIS, 1
    found = entries(reader)
    for e in found:
        if e.seq != expected:
            gone = f"{expected}" if e.seq - 1 == expected else f"{expected} to {e.seq - 1}"
            problems.append(f"entry {gone} deleted (the log jumps to entry {e.seq})")
        elif e.prev != prev:
            problems.append(f"entry {e.seq}: does not follow entry {e.seq - 1} (an entry before it changed)")
        recomputed = entry_hash(
            e.seq, e.at, e.user, e.host, e.action, e.subject, e.fingerprint, e.details, e.prev
        )
        if recomputed != e.hash:
            problems.append(f"entry {e.seq}: edited after it was written (its hash no longer matches)")
        prev, expected = e.hash, e.seq + 1
    head = reader.get_meta("audit_head")
    last = f"{found[-1].seq}:{found[-1].hash}" if found else None
    if head != last:
        problems.append(_head_problem(head, found[-1].seq if found else 0))
    return problems


def _head_problem(head: str | None, ends: int) -> str:
    """Why the log's last entry is not the head recorded with it: which, not one guess for all."""
    seq_text = (head or "0:").split(":")[0]
    reached = int(seq_text) if seq_text.isdigit() else -1
    if reached > ends:
        return f"the log ends at entry {ends} but it had reached entry {reached}: entries at the end were deleted"
    if reached == ends:
        return (
            f"entry {ends}, the last, is not the one the log recorded as its head: the log was rewritten "
            "(its entries replaced and chained anew)"
        )
    return (
        f"the log ends at entry {ends} but its recorded head is entry {seq_text or '?'}: entries were "
        "written to it by something other than reportgen"
    )


def statements(reader: Reader) -> list[tuple[str, int, int, str, str, str]]:
    """Every issued statement: account, number, issue time, label, scope, fingerprint."""
    if not reader.has_table("statements"):
        return []
    return list(
        reader._conn.execute(
            "SELECT account, seq, issued_at, label, scope, fingerprint FROM statements ORDER BY account, seq"
        )
    )


def recorded_closes(reader: Reader) -> dict[str, tuple[int, str]]:
    """``"LABEL revision N"`` -> (entry, fingerprint) the audit log recorded when that revision was closed.

    A closure's own row can be rewritten with a snapshot; the chained log entry cannot without
    breaking the chain, so it is what a closure's recorded fingerprint is held against.
    """
    return {
        e.subject: (e.seq, e.fingerprint)
        for e in entries(reader)
        if e.action in ("close", "reopen") and e.fingerprint
    }


def check_on_record(reader: Reader, closure: Closure) -> None:
    """Refuse a closure whose recorded fingerprint is not the one the audit log recorded at its close
    (its snapshot and its fingerprint were edited together)."""
    subject = f"{closure.period.label} revision {closure.revision}"
    found = recorded_closes(reader).get(subject)
    if found is not None and found[1] != closure.fingerprint:
        raise StoreError(
            f"{subject}: the closed snapshot of {closure.period.label} no longer matches its recorded fingerprint: "
            f"the store records {closure.fingerprint[:16]}…, the audit log recorded {found[1][:16]}… when it "
            f"was closed (entry {found[0]}): the store was edited; restore it from a backup (`reportgen log "
            "--verify` shows what else changed)"
        )


def integrity(reader: Reader) -> list[str]:
    """What the database's own integrity check finds wrong in it (empty: nothing)."""
    return reader._dialect.integrity(reader._conn)


def head(reader: Reader) -> str | None:
    """``seq:hash`` of the log's last entry (the anchor a reader keeps outside the store)."""
    found = entries(reader)
    return f"{found[-1].seq}:{found[-1].hash}" if found else None


def anchored(reader: Reader, anchor: str) -> str | None:
    """Why the log no longer holds ``anchor`` (``seq:hash`` kept outside the store), or None."""
    seq_text, _, digest = anchor.strip().partition(":")
    if not seq_text.isdigit() or len(digest) != 64:
        return (
            f"the anchor {anchor[:80]!r} is not '<entry>:<64-hex hash>' as `reportgen log --anchor` prints it"
        )
    seq = int(seq_text)
    entry = next((e for e in entries(reader) if e.seq == seq), None)
    if entry is None:
        return f"entry {seq} of the anchor kept outside the store is gone: the log was cut or rewritten"
    if entry.hash != digest:
        return (
            f"entry {seq} no longer has the hash the anchor kept outside the store recorded "
            f"({digest[:16]}…, now {entry.hash[:16]}…): the log was rewritten from there or before"
        )
    return None
