"""Checking a packet, on any machine: signature, structure, every file, and the figures themselves.

Without a store, :func:`verify_packet` checks that the zip holds exactly the manifest's
entries (no duplicates, no ``..``, absolute, symlink or directory entries, every size
within limits and as declared), that the manifest is signed by the key it names (and by
the expected key when one is pinned), that every file's SHA-256 matches, and that the
packet agrees with itself: the rows in ``rows.jsonl`` give the manifest's fingerprint,
row count and totals, the CSV detail holds exactly those rows, and the workbook's totals
are the same.  With the preparer's store it also checks that the store's rows (or the
closed revision's snapshot) still give the fingerprint, and names rows that changed.

Every malformed input ends as a difference with one line, never an exception; every
member is read streaming, up to its declared size, which is checked against a limit first.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..core.money import money_text
from ..errors import ReportgenError
from ..read import check_rows
from ..store import DB_NAME
from .packet import MANIFEST, ROWS, SIGNATURE
from .packet_figures import check_detail, check_rows_file, check_workbook
from .packet_reading import (
    PACKET_NAME,
    Limits,
    Malformed,
    Verification,
    member_lines,
    parse_manifest,
    precheck,
    read_small,
    safe_entries,
    stream,
)
from .signing import key_fingerprint, short, signature_ok


def verify_packet(
    path: Path,
    store_dir: Path | None = None,
    *,
    expected_key: str | None = None,
    allow_unsigned: bool = False,
    limits: Limits | None = None,
) -> Verification:
    """Check the packet at ``path``; with ``store_dir`` holding a store, also its rows there.

    ``expected_key`` is a key fingerprint (or its first 16+ hex digits) the manifest must
    be signed with.  An unsigned packet is a difference unless ``allow_unsigned``.
    """
    result = Verification(path)
    try:
        _verify(path, store_dir, expected_key, allow_unsigned, limits or Limits(), result)
    except Malformed as exc:
        result.differ(exc.name, exc.message)
    return result


def _verify(
    path: Path,
    store_dir: Path | None,
    expected_key: str | None,
    allow_unsigned: bool,
    limits: Limits,
    result: Verification,
) -> None:
    precheck(path, limits)
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, struct.error) as exc:
        raise Malformed(PACKET_NAME, f"not a readable zip ({exc})") from None
    with zf:
        infos = safe_entries(zf, limits)
        raw = read_small(zf, infos, MANIFEST, limits.manifest)
        manifest = parse_manifest(raw)
        _describe(manifest, result)
        _check_signature(zf, infos, raw, manifest, expected_key, allow_unsigned, limits, result)
        good = _check_files(zf, infos, manifest, limits, result)
        if ROWS in good:
            derived = check_rows_file(zf, infos[ROWS], manifest, limits, result)
            detail = _role(manifest, "detail")
            if detail in good and derived is not None:
                check_detail(zf, infos[detail], manifest, derived, result)
            workbook = _role(manifest, "workbook")
            if workbook in good:
                check_workbook(zf, infos[workbook], manifest, limits, result)
        elif ROWS not in {f["name"] for f in manifest["files"]}:
            result.differ(
                ROWS, "missing: the packet does not carry its rows, so its figures cannot be checked"
            )
        if store_dir is not None and (store_dir / DB_NAME).is_file():
            _check_store(zf, infos.get(ROWS) if ROWS in good else None, manifest, store_dir, limits, result)
        else:
            result.notes.append("no reportgen store here: the rows were checked from the packet alone")


def _role(manifest: dict[str, Any], role: str) -> str | None:
    return next((f["name"] for f in manifest["files"] if f["role"] == role), None)


def _describe(manifest: dict[str, Any], result: Verification) -> None:
    p = manifest["period"]
    result.period = f"{p['label']} ({p['start'][:10]} .. {p['end'][:10]} exclusive, {p['timezone']})"
    result.scope = ", ".join(f"{k} {v}" for k, v in manifest["filters"].items()) or "the whole account"
    result.statement = None if manifest["statement"] is None else manifest["statement"]["number"]
    result.rows = manifest["rows"]["count"]
    result.totals = manifest["totals"]
    result.exchange = manifest["source"]["cny_per_usd"]


# -- signature ---------------------------------------------------------------------------------


def _check_signature(
    zf: zipfile.ZipFile,
    infos: dict[str, zipfile.ZipInfo],
    raw: bytes,
    manifest: dict[str, Any],
    expected: str | None,
    allow_unsigned: bool,
    limits: Limits,
    result: Verification,
) -> None:
    sig = manifest["signature"]
    if sig is None:
        if SIGNATURE in infos:
            result.differ(
                SIGNATURE, "present, but the manifest says the packet is unsigned: it was tampered with"
            )
        elif expected is not None:
            result.differ(MANIFEST, "not signed, but --key expects a signature: anyone could have written it")
        elif allow_unsigned:
            result.notes.append(
                "the packet is not signed (allowed by --allow-unsigned): its origin is unproven"
            )
        else:
            result.differ(
                MANIFEST,
                "not signed: anyone could have written it (give --allow-unsigned to check it anyway)",
            )
        return
    if sig["algorithm"] != "Ed25519" or sig["file"] != SIGNATURE:
        result.differ(SIGNATURE, f"unknown signature scheme {sig['algorithm'][:40]!r}")
        return
    try:
        public = base64.b64decode(sig["public_key"], validate=True)
    except (binascii.Error, ValueError):
        public = b""
    if len(public) != 32:
        result.differ(MANIFEST, "signature.public_key is not an Ed25519 public key")
        return
    fingerprint = key_fingerprint(public)
    if fingerprint != sig["key_fingerprint"]:
        result.differ(MANIFEST, "signature.key_fingerprint does not belong to signature.public_key: forged")
        return
    try:
        text = read_small(zf, infos, SIGNATURE, limits.signature)
        signature = base64.b64decode(text.strip(), validate=True)
    except Malformed as exc:
        result.differ(SIGNATURE, exc.message)
        return
    except (binascii.Error, ValueError):
        signature = b""
    if len(signature) != 64 or not signature_ok(public, signature, raw):
        result.differ(
            MANIFEST,
            "the signature does not match: manifest.json was changed after it was signed",
        )
        return
    if expected is not None and not fingerprint.startswith(expected):
        result.differ(
            SIGNATURE,
            f"signed by key {short(fingerprint)}, not the expected key {short(expected)}: "
            "someone else signed (or re-signed) this packet",
        )
        return
    result.signer, result.signer_name = fingerprint, sig["signer"]
    pinned = " (the expected key)" if expected is not None else ""
    result.checked.append(f"{MANIFEST}: signed by key {short(fingerprint)}{pinned}")


# -- files -------------------------------------------------------------------------------------


def _check_files(
    zf: zipfile.ZipFile,
    infos: dict[str, zipfile.ZipInfo],
    manifest: dict[str, Any],
    limits: Limits,
    result: Verification,
) -> set[str]:
    """Hash every listed file; return the names whose hash matched."""
    good: set[str] = set()
    listed = {f["name"]: f for f in manifest["files"]}
    allowed = {MANIFEST, *(() if manifest["signature"] is None else (SIGNATURE,))}
    for name in infos:
        if name not in listed and name not in allowed and name != SIGNATURE:
            result.differ(name, "in the packet but not listed in the manifest: it was added")
    for name, entry in listed.items():
        info = infos.get(name)
        if info is None:
            result.differ(name, "listed in the manifest but missing from the packet")
            continue
        if info.file_size != entry["bytes"]:
            result.differ(
                name,
                f"the zip declares {info.file_size:,} bytes, the manifest {entry['bytes']:,}: the file was changed",
            )
            continue
        digest = hashlib.sha256()
        try:
            for chunk in stream(zf, info):
                digest.update(chunk)
        except Malformed as exc:
            result.differ(name, exc.message)
            continue
        if digest.hexdigest() != entry["sha256"]:
            result.differ(
                name,
                f"SHA-256 differs (manifest {entry['sha256'][:16]}…, file {digest.hexdigest()[:16]}…): "
                "the file was changed",
            )
            continue
        good.add(name)
        result.checked.append(f"{name}: SHA-256 matches")
    return good


# -- against a store ------------------------------------------------------------------------


def _check_store(
    zf: zipfile.ZipFile,
    rows_info: zipfile.ZipInfo | None,
    manifest: dict[str, Any],
    store_dir: Path,
    limits: Limits,
    result: Verification,
) -> None:
    label = manifest["period"]["label"]
    closed = manifest["closed"]
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


def _digest_lines(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> Iterator[tuple[bytes, str]]:
    for line in member_lines(zf, info, limits.line):
        yield hashlib.sha256(line).digest(), line.decode("utf-8")


# -- what verify prints -----------------------------------------------------------------------


def ok_lines(result: Verification) -> list[str]:
    """The lines a person reads when a packet checks out."""
    t = result.totals
    usd = t.get("cost_usd")
    money = "" if usd is None else f"net USD {money_text(usd)}"
    if usd is not None and result.exchange is not None:
        money += f" (CNY {money_text(usd * Decimal(result.exchange))})"
    signer = (
        f"key {short(result.signer)}" + (f" ({result.signer_name})" if result.signer_name else "")
        if result.signer
        else "nobody: the packet is unsigned"
    )
    return [
        f"OK: statement {result.statement or '(no number)'} is intact and agrees with itself",
        f"  period     {result.period}",
        f"  scope      {result.scope}",
        f"  signed by  {signer}",
        f"  rows       {result.rows:,}; {money}" if result.rows is not None else f"  totals     {money}",
        f"  checks     {len(result.checked)} passed",
    ]


__all__ = ["Limits", "Verification", "ok_lines", "verify_packet"]
