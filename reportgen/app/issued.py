"""Every issued packet against the register and, where its file still lies where it was written,
its bytes: what ``log --verify`` and ``store check`` hold the issued packets to.

A packet's audit entry records its statement number, the rows' fingerprint, the packet's
SHA-256 and (since packets recorded it) the path it was written to.  The register must still
hold that number for that fingerprint (a register row edited or replaced shows here); a packet
file still at its recorded path must still have the recorded SHA-256 (one changed or swapped
after it was issued shows here), and the head of the audit log its manifest recorded at issue must
still be in the log (a chain rewritten since contradicts it).  A packet file gone (handed out, moved) cannot be re-hashed:
the register and the log are then what is checked.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from ..store import Reader
from ..store import evidence as audit
from .export import file_sha256
from .verify.format import MANIFEST


def packet_problems(reader: Reader, folder: Path) -> list[str]:
    """What no longer agrees with the audit log's record of each issued packet (empty: nothing);
    a recorded path is relative to ``folder`` (the one holding the store)."""
    registered: dict[int, set[str]] = {}
    for _, number_seq, _, _, _, fingerprint in audit.statements(reader):
        registered.setdefault(int(number_seq), set()).add(fingerprint)
    problems: list[str] = []
    latest: dict[str, tuple[int, str, str]] = {}  # path -> (entry, number, SHA-256) of its last packet
    for e in audit.entries(reader):
        if e.action != "packet":
            continue
        details = json.loads(e.details) if e.details else {}
        number = str(details.get("statement", ""))
        tail = number.rpartition("-")[2]
        if tail.isdigit() and e.fingerprint and e.fingerprint not in registered.get(int(tail), set()):
            problems.append(
                f"entry {e.seq}: packet {number[:40]} was issued for rows {e.fingerprint[:16]}…, which the "
                "register no longer holds under that number: the register was edited"
            )
        path, digest = details.get("path"), details.get("packet_sha256")
        if isinstance(path, str) and isinstance(digest, str):
            latest[path] = (e.seq, number, digest)
    for path, (entry, number, digest) in sorted(latest.items()):
        file = folder.resolve() / path  # an absolute path stays itself
        try:
            if not file.is_file():
                continue
            now = file_sha256(file)
        except OSError:
            continue  # unreadable here: nothing to compare
        if now != digest:
            problems.append(
                f"entry {entry}: the packet {number[:40]} at {file} has SHA-256 {now[:16]}…, not the "
                f"{digest[:16]}… recorded when it was issued: the file was changed or replaced"
            )
            continue
        head = _head_of(file)
        problem = None if head is None else audit.anchored(reader, head)
        if problem is not None:
            problems.append(
                f"entry {entry}: the packet {number[:40]} at {file} was issued at the log's head "
                f"{head[:24] if head else ''}…; {problem}"
            )
    return problems


def _head_of(file: Path) -> str | None:
    """The audit log head a packet's manifest records (None: none, or not readable as a packet)."""
    try:
        with zipfile.ZipFile(file) as zf:
            info = zf.getinfo(MANIFEST)
            if info.file_size > 64 << 20:
                return None
            manifest = json.loads(zf.read(info).decode("utf-8"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    statement = manifest.get("statement") if isinstance(manifest, dict) else None
    head = statement.get("audit_head") if isinstance(statement, dict) else None
    return head if isinstance(head, str) else None


__all__ = ["packet_problems"]
