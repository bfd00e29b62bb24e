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

import hashlib
import struct
import zipfile
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from ...core.money import money_text
from ...plugins import BUILTIN, packet_documents
from .format import INVOICE, MANIFEST, ROWS, SIGNATURE
from .members import Packet
from .pades import check_pdf_signatures
from .reading import (
    NO_STORE,
    PACKET_NAME,
    Limits,
    Malformed,
    Verification,
    parse_manifest,
    precheck,
    read_small,
    safe_entries,
    stream,
)
from .signature import check_signature, one_line, short
from .trust import reader_trust


def verify_packet(
    path: Path,
    store_dir: Path | None = None,
    *,
    expected_key: str | None = None,
    trusted: Mapping[str, str] | None = None,
    allow_unsigned: bool = False,
    limits: Limits | None = None,
) -> Verification:
    """Check the packet at ``path``; with ``store_dir`` holding a store, also its rows there.

    ``expected_key`` is a key fingerprint (or its first 16+ hex digits) the manifest must
    be signed with.  Without it the signer must be one of ``trusted`` (fingerprint -> the
    reader's name for it; by default :func:`.trust.reader_trust`: the reader's trusted keys
    and their own signing key, as ``reportgen verify`` judges): a valid signature by another
    key leaves the result intact but not ``ok`` (``untrusted``).  There is no "any signer"
    mode: a caller who trusts a key says so.  An unsigned packet is a difference unless
    ``allow_unsigned``.
    """
    result = Verification(path)
    if trusted is None:
        trusted = {} if expected_key is not None else reader_trust()
    try:
        _verify(path, store_dir, expected_key, trusted, allow_unsigned, limits or Limits(), result)
    except Malformed as exc:
        result.differ(exc.name, exc.message)
    return result


def _verify(
    path: Path,
    store_dir: Path | None,
    expected_key: str | None,
    trusted: Mapping[str, str],
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
        check_signature(zf, infos, raw, manifest, expected_key, trusted, allow_unsigned, limits, result)
        good = _check_files(zf, infos, manifest, limits, result)
        packet = Packet(zf, infos, manifest, limits, result, good)
        _check_documents(packet)
        check_pdf_signatures(packet, raw, trusted)
        if store_dir is None:
            result.notes.append(NO_STORE)
        else:  # only now: the verifier alone loads no store (see against_store)
            from . import against_store  # lazily: see tests/test_layers.py LAZY

            against_store.check_store(
                zf, infos.get(ROWS) if ROWS in good else None, manifest, store_dir, limits, result
            )


def _check_documents(packet: Packet) -> None:
    """Each file whose hash matched, by the check its role registers; a required role must be there.

    Required documents (the rows) are checked first: the others are checked against them.
    """
    documents = packet_documents()
    result = packet.result
    files = packet.manifest["files"]
    required = {role for role, document in documents.items() if document.required}
    for entry in sorted(files, key=lambda entry: entry["role"] not in required):
        name, role = entry["name"], entry["role"]
        if name not in packet.good:
            continue
        document = documents.get(role)
        if role == INVOICE:  # an original voucher as the claimant gave it: its SHA-256 is the check
            continue
        if document is None:
            result.notes.append(
                f"{name}: a {role[:40]!r} document, which no installed plugin registers; only its SHA-256 was checked"
            )
        elif document.check is not None:
            try:
                document.check(packet.member(name))
            except Malformed as exc:
                result.differ(exc.name, exc.message)
            except Exception as exc:
                if document.plugin == BUILTIN:  # a built-in check that fails is a bug: keep its traceback
                    raise
                result.differ(
                    name, f"the check of plugin {document.plugin!r} failed: {type(exc).__name__}: {exc}"
                )
    present = {entry["role"] for entry in files}
    for document in documents.values():
        if document.required and document.role not in present:
            result.differ(
                document.filename or document.role,
                f"missing: the packet does not carry its {document.description}, so its figures cannot be checked",
            )


def _describe(manifest: dict[str, Any], result: Verification) -> None:
    p = manifest["period"]
    # what the packet says of itself is shown as untrusted text (no OSC or bidi escapes reach the terminal)
    result.period = one_line(
        f"{p['label']} ({p['start'][:10]} .. {p['end'][:10]} exclusive, {p['timezone']})"
    )
    result.scope = (
        one_line(", ".join(f"{k} {v}" for k, v in manifest["filters"].items())) or "the whole account"
    )
    result.statement = (
        None if manifest["statement"] is None else one_line(manifest["statement"]["number"], 60)
    )
    result.rows = manifest["rows"]["count"]
    result.missing = manifest["missing"]
    result.totals = manifest["totals"]
    result.exchange = manifest["source"]["cny_per_usd"]


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


# -- what verify prints -----------------------------------------------------------------------


def ok_lines(result: Verification) -> list[str]:
    """The lines a person reads when a packet checks out."""
    t = result.totals
    usd = t.get("cost_usd")
    money = "" if usd is None else f"net USD {money_text(usd)}"
    if usd is not None and result.exchange is not None:
        money += f" (CNY {money_text(usd * Decimal(result.exchange))})"
    if not result.signer:
        signer = "nobody: the packet is unsigned"
    elif result.trusted_as:
        signer = f"key {short(result.signer)}, trusted as {result.trusted_as}"
        if result.signer_name and result.signer_name != result.trusted_as:
            signer += f" (self-named {result.signer_name!r})"
    else:
        signer = f"key {short(result.signer)}" + (f" ({result.signer_name})" if result.signer_name else "")
    return [
        f"OK{incomplete(result)}: statement {result.statement or '(no number)'} is intact and agrees with itself",
        f"  period     {result.period}",
        f"  scope      {result.scope}",
        f"  signed by  {signer}",
        f"  rows       {result.rows:,}; {money}" if result.rows is not None else f"  totals     {money}",
        *(f"  PDF signed {line}" for line in result.pdf_signatures),
        f"  checks     {len(result.checked)} passed",
    ]


def incomplete(result: Verification) -> str:
    """`` INCOMPLETE (missing …)`` for a packet whose store did not hold the whole period."""
    if result.missing is None:
        return ""
    return f" INCOMPLETE (missing {', '.join(result.missing)})"


def untrusted_lines(result: Verification) -> list[str]:
    """The lines a person reads when an intact packet is signed by a key they do not trust."""
    fingerprint = result.signer or ""
    named = f" (self-named {result.signer_name!r})" if result.signer_name else ""
    return [
        f"UNTRUSTED{incomplete(result)}: statement {one_line(result.statement or '(no number)', 40)} is signed by an unknown key "
        f"{short(fingerprint)}{named}: not trusted",
        "  The packet is intact and agrees with itself, but anyone can make a key and call it anything.",
        f"  Its fingerprint: {fingerprint}",
        "  Compare it with the one the preparer gave you out of band (read aloud, in person); if they",
        "  match, trust the key once:  reportgen keys trust THEIR.pub --name 'Their name'",
        "  (or verify with --key THEIR.pub).",
    ]


__all__ = ["ok_lines", "untrusted_lines", "verify_packet"]
