"""Checking a packet's rows against the preparer's store: the one part of verify that reads a store.

:func:`reportgen.app.verify.verify_packet` imports this module only when it is given a
store folder, so the verifier alone loads no store and no views.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...errors import ReportgenError
from ...read import check_rows
from ...store import DB_NAME, Reader, evidence
from .reading import NO_STORE, Limits, Verification, member_lines


def check_store(
    zf: zipfile.ZipFile,
    rows_info: zipfile.ZipInfo | None,
    manifest: dict[str, Any],
    store_dir: Path,
    limits: Limits,
    result: Verification,
) -> None:
    """The store's rows (or the closed revision's snapshot) still give the packet's fingerprint."""
    if not (store_dir / DB_NAME).is_file():
        result.notes.append(NO_STORE)
        return
    closed = manifest["closed"]
    label = manifest["period"]["label"] if closed is None else closed["label"]
    packet_rows = None if rows_info is None else _digest_lines(zf, rows_info, limits)
    try:
        check = check_rows(
            store_dir,
            manifest["start_ts"],
            manifest["end_ts"],
            None if manifest["keys"] is None else tuple(manifest["keys"]),
            closed=None if closed is None else (label, closed["revision"]),
            packet_rows=packet_rows,
            tz=manifest["tz"],
        )
    except ReportgenError as exc:
        result.notes.append(
            f"the store at {store_dir} cannot be read ({exc}); rows checked from the packet alone"
        )
        return
    source = manifest["source"]
    account = (source["gateway_url"], source["user_id"])
    if check.account != account:
        result.notes.append(
            f"the store at {store_dir} holds another gateway account ({check.account[0]} user "
            f"{check.account[1]}); rows checked from the packet alone"
        )
        return
    which = ""
    if closed is not None:
        if check.closure is None:
            result.notes.append(
                f"{label} was closed (revision {closed['revision']}) when packed but that revision is not "
                "in this store; checked against its live rows"
            )
        else:
            which = f"closed revision {check.closure.revision}"
            if check.latest_revision is not None and check.latest_revision != check.closure.revision:
                result.notes.append(
                    f"{label} was re-closed since the packet was made (revision {closed['revision']} then, "
                    f"{check.latest_revision} now); checked against revision {closed['revision']}, which is kept"
                )
            if check.pending is not None:
                result.notes.append(
                    f"{label} has a pending amendment since it was closed: "
                    f"{check.pending.describe(check.closure.quota_per_unit)}; the packet still matches the "
                    "closed version"
                )
    _check_head(manifest, store_dir, result)
    where = f"the store's {which} rows" if which else "the store's rows"
    rows = manifest["rows"]
    if check.fingerprint == rows["fingerprint"]:
        result.checked.append(f"rows: {where} match the fingerprint ({check.count} rows)")
        return
    changes = "; ".join(check.changes[:3])
    more = f" (and {len(check.changes) - 3} more)" if len(check.changes) > 3 else ""
    result.differences.append(
        f"rows: {where} no longer match the fingerprint: {check.count} rows now, {rows['count']} then "
        f"(fingerprint {check.fingerprint[:16]}… now, {rows['fingerprint'][:16]}… then)"
        + (f": {changes}{more}" if changes else "")
    )


def _check_head(manifest: dict[str, Any], store_dir: Path, result: Verification) -> None:
    """The store's audit log still holds the head the packet was issued at (a rewritten chain does not),
    when it is the store that issued the packet (its register holds the number for the packet's rows)."""
    statement = manifest["statement"]
    head = None if statement is None else statement.get("audit_head")
    if head is None:
        return
    seq = statement["number"].rpartition("-")[2]
    fingerprint = manifest["rows"]["fingerprint"]
    try:
        with Reader.open(store_dir) as reader:
            reader.begin()
            issued_here = seq.isdigit() and any(
                int(number) == int(seq) and fp == fingerprint
                for _, number, _, _, _, fp in evidence.statements(reader)
            )
            problem = evidence.anchored(reader, head) if issued_here else None
    except ReportgenError as exc:
        result.notes.append(
            f"the store's audit log cannot be read ({exc}); the head the packet records is not compared"
        )
        return
    if not issued_here:
        result.notes.append(
            "the packet was not issued from this store: the audit log head it records is not compared"
        )
    elif problem is None:
        result.checked.append(
            f"audit log: the store's log still holds the head the packet was issued at ({head[:24]}…)"
        )
    else:
        result.differences.append(
            f"audit log: the packet was issued at the log's head {head[:24]}…; {problem}"
        )


def _digest_lines(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> Iterator[tuple[bytes, str]]:
    for line in member_lines(zf, info, limits.line):
        yield hashlib.sha256(line).digest(), line.decode("utf-8")


__all__ = ["check_store"]
