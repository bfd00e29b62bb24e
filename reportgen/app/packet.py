"""The reimbursement packet: one zip a finance office files and anyone can re-check later.

A packet holds the documents registered through ``register_packet_documents`` (the
built-ins, :mod:`reportgen.app.packetdocs`: the PDF statement, the XLSX workbook and the
CSV detail rendered by the registered exporters exactly as ``report`` renders them, a
methodology note and the data-quality page in the chosen language, and ``rows.jsonl``,
the exact rows included in canonical form), then ``manifest.json`` (every file's role,
SHA-256 and size, what was asked, where the data came from, the rows' fingerprint and
count, the totals, the statement number and the signing key) and ``manifest.sig`` (an
Ed25519 signature over the exact manifest bytes).  Entries carry fixed timestamps
(``report.generated_at``) in a fixed order, so the packet of a closed period is
byte-identical every time it is issued with the same key and the same documents.

:mod:`reportgen.app.verify` checks a packet, with or without a store.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from .. import __version__
from ..core.fingerprint import FINGERPRINT_SCHEME, ROW_FIELDS
from ..core.report import Report
from ..errors import ExportError
from ..hookspecs import DocumentRole, ExportContext
from ..plugins import exporters
from ..read import PeriodView
from ..render import members
from .export import file_sha256, make_out_dir, output_stem, write_atomically
from .packetdocs import PacketParts, attachments
from .pades import PdfSigning, finish_pdf
from .quality import QualityReport
from .signing import SigningKey
from .summary import basis_json, exchange_json, period_json, totals_json
from .verify import INVOICE, MANIFEST, PACKET_FORMAT, PACKET_VERSION, ROWS, SIGNATURE
from .verify.signature import ALGORITHM

_CHUNK = 1 << 20


@dataclass(frozen=True)
class _Entry:
    name: str
    role: str
    path: Path
    sha256: str
    size: int
    media_type: str


def packet_name(report: Report) -> str:
    return f"{output_stem(report)}-packet.zip"


def build_packet(
    view: PeriodView,
    quality: QualityReport,
    documents: Sequence[DocumentRole],
    context: ExportContext,
    out_dir: Path,
    *,
    signer: SigningKey | None = None,
    invoices: Sequence[tuple[str, Path]] = (),
    pades: PdfSigning | None = None,
) -> Path:
    """Write the packet of ``view`` into ``out_dir`` (atomically) and return its path.

    Every document, the manifest's row count and fingerprint come from the one view, read
    in one transaction: the packet agrees with itself even while a sync runs.

    ``documents`` are the packet's documents in order (see
    :func:`reportgen.plugins.packet_documents`); the statement counts those that are
    attachments.  ``context`` is the same :class:`ExportContext` ``report`` uses.  The
    caller has run the ``report_prepared`` hook and the quality check, and set
    ``view.report.statement`` to the register's number.  ``invoices`` are the original
    vouchers (发票) the claim lists, ``(name in the packet, file)``: copied as they are,
    hashed and signed like every document.  Without ``signer`` the packet is unsigned.
    With ``pades`` the documents registered ``pades=True`` are made PDF/A-3b carrying those
    registered ``associated`` and signed as PAdES before they are hashed.
    """
    report = view.report
    context = replace(context, attachments=attachments(documents))
    source = PacketParts(view, quality)
    make_out_dir(out_dir)
    stem = output_stem(report)
    try:
        with tempfile.TemporaryDirectory(prefix=".packet-", dir=out_dir) as tmp_name:
            tmp = Path(tmp_name)
            parts: list[_Part] = []
            for document in documents:
                name, media_type, write = _writer(document, source, context, stem)
                if name in {p.name for p in parts} | {MANIFEST, SIGNATURE}:
                    raise ExportError(f"packet document {document.role!r} would be a second {name!r}")
                path = tmp / f"{len(parts)}.part"
                with path.open("wb") as fp:
                    write(fp)
                parts.append(_Part(document, name, path, media_type))
            if pades is not None:  # before hashing: the manifest hashes the signed PDFs
                _sign_pdfs(parts, pades, context, report)
            entries = [_entry(p.name, p.document.role, p.path, p.media_type) for p in parts]
            for name, original in invoices:
                if name in {e.name for e in entries}:
                    raise ExportError(f"invoice {original.name!r} would be a second {name!r} in the packet")
                path = tmp / f"{len(entries)}.part"
                shutil.copyfile(original, path)
                entries.append(_entry(name, INVOICE, path, _media_type(original)))
            manifest = _manifest(view, quality, context, entries, signer, pades, parts)
            signature = None if signer is None else base64.b64encode(signer.sign(manifest)) + b"\n"
            target = out_dir / packet_name(report)
            write_atomically(
                target, lambda fp: _write_zip(fp, entries, manifest, signature, report.generated_at), "packet"
            )
    except OSError as exc:  # a full disk or a folder gone read-only while writing the parts
        raise ExportError(
            f"{out_dir}: could not write the packet ({exc.strerror or exc}); nothing was left behind"
        ) from None
    return target


@dataclass(frozen=True)
class _Part:
    document: DocumentRole
    name: str
    path: Path
    media_type: str


def _sign_pdfs(parts: list[_Part], pades: PdfSigning, context: ExportContext, report: Report) -> None:
    """Each PAdES document as PDF/A-3b carrying the associated documents, signed (in place)."""
    from .pdfa import Attachment  # needs pyHanko, the pades extra: only when signing PDFs

    attached = [
        Attachment(p.name, p.path.read_bytes(), p.media_type, p.document.description, p.document.associated)
        for p in parts
        if p.document.associated
    ]
    for part in parts:
        if part.document.pades:
            signed = finish_pdf(
                part.path.read_bytes(), attached, pades, context, title=part.name, tz=report.period.tz
            )
            part.path.write_bytes(signed)


def _writer(
    document: DocumentRole, source: PacketParts, context: ExportContext, stem: str
) -> tuple[str, str, Callable[[IO[bytes]], None]]:
    """The document's name in the packet, its media type, and what writes it."""
    if document.write is not None:
        write = document.write
        return document.filename, document.media_type, lambda fp: write(source, fp, context)
    exporter = exporters().get(document.exporter or "")
    if exporter is None:
        raise ExportError(
            f"packet document {document.role!r} is rendered by the {document.exporter!r} exporter, "
            "which no installed plugin registers"
        )
    name = f"{stem}{exporter.suffix}.{exporter.extension}"
    return name, exporter.media_type, lambda fp: exporter.write(source.report, fp, context)


def statement_content(view: PeriodView, invoices: Sequence[tuple[str, Path]] = ()) -> str:
    """What a statement number stands for: the same content always gets the same number.

    The invoices a claim holds are part of it (another invoice, another claim); a packet
    without invoices keeps the number it had before claims held them.
    """
    report = view.report
    p = report.period
    data: dict[str, Any] = {
        "period": [p.label, p.start.isoformat(), p.end.isoformat(), p.timezone],
        "scope": view.scope.filters,
        "keys": None if view.token_names is None else list(view.token_names),
        "rows": [report.provenance.fingerprint, view.row_count],
        "totals": totals_json(report.totals),
        "quota_per_unit": str(report.quota_per_unit),
        "exchange": None if report.exchange.rate is None else str(report.exchange.rate),
        "closed": None if view.closure is None else view.closure.revision,
    }
    if invoices:
        data["invoices"] = [[name, file_sha256(path)] for name, path in invoices]
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".ofd": "application/ofd",
    ".xml": "application/xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}


def _media_type(path: Path) -> str:
    return _MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")


def _entry(name: str, role: str, path: Path, media_type: str) -> _Entry:
    return _Entry(name, role, path, file_sha256(path), path.stat().st_size, media_type)


def _manifest(
    view: PeriodView,
    quality: QualityReport,
    context: ExportContext,
    entries: list[_Entry],
    signer: SigningKey | None,
    pades: PdfSigning | None = None,
    parts: Sequence[_Part] = (),
) -> bytes:
    report, closure = view.report, view.closure
    p, prov = report.period, report.provenance
    data: dict[str, Any] = {
        "format": PACKET_FORMAT,
        "format_version": PACKET_VERSION,
        "reportgen_version": __version__,
        "generated_at": report.generated_at.isoformat(),
        "request": {
            "period": period_json(p, end_exclusive=True),
            "filters": view.scope.filters,
            "keys": None if view.token_names is None else list(view.token_names),
            "lang": context.lang,
            "template": context.template.name,
        },
        "source": {
            "gateway_url": prov.base_url,
            "user_id": prov.user_id,
            "flavor": prov.flavor,
            "synced_at": None if prov.synced_at is None else prov.synced_at.isoformat(),
            "quota_per_unit": str(report.quota_per_unit),
            "exchange_rate": exchange_json(report),
            "currencies": [
                {"code": c.code, "per_usd": str(c.rate), "source": c.source, "as_of": c.as_of.isoformat()}
                for c in report.conversions
            ],
        },
        "statement": None
        if report.statement is None
        else {
            "number": report.statement.number,
            "register": f"{prov.base_url}#{prov.user_id}",
            # the store's audit log head when the number was issued: `verify` with the store and
            # `log --verify` hold the log to it
            **({} if report.statement.audit_head is None else {"audit_head": report.statement.audit_head}),
        },
        "rows": {
            "fingerprint": prov.fingerprint,
            "count": view.row_count,
            "file": ROWS,
            "scheme": FINGERPRINT_SCHEME,
            "fields": list(ROW_FIELDS),
            "charged": None
            if view.charged is None
            else {k: [[a.isoformat(), b.isoformat()] for a, b in runs] for k, runs in view.charged.items()},
            "what": "every stored log row of the period (all types) of the keys listed, or of all keys "
            "when keys is null, one canonical JSON array per line of rows.jsonl; fingerprint = SHA-256 "
            "over the SHA-256 of each line, sorted (see methodology.md). The documents count the rows "
            "of types 2 (consumption), 5 (error) and 6 (refund); for a project only the rows of each key "
            "on its charged days (local dates, inclusive).",
        },
        "totals": totals_json(report.totals),
        "members": [{"name": line.name, "keys": list(line.keys)} for line in members(report)],
        "closed": None
        if closure is None
        else {"revision": closure.revision, "closed_at": closure.generated_at.isoformat()},
        "coverage": {
            "complete": report.coverage.complete,
            "missing": list(report.coverage.ranges(p.tz)),
        },
        "basis": [basis_json(part) for part in report.basis],
        "quality": {"findings": [f.code for f in quality.findings]},
        "files": [
            {"name": e.name, "role": e.role, "sha256": e.sha256, "bytes": e.size, "media_type": e.media_type}
            for e in entries
        ],
        "signature": None
        if signer is None
        else {
            "algorithm": ALGORITHM,
            "public_key": base64.b64encode(signer.public_raw).decode(),
            "key_fingerprint": signer.fingerprint,
            "signer": signer.owner,
            "file": SIGNATURE,
            "covers": "the exact bytes of manifest.json",
        },
    }
    if pades is not None:  # only then: the manifests of packets without PAdES stay as they were
        data["pdf_signature"] = {
            "standard": f"PAdES baseline {pades.level}, PDF/A-3b",
            "certificate_sha256": pades.identity.fingerprint,
            "signer": pades.identity.owner,
            "files": [p.name for p in parts if p.document.pades],
            "embedded": [p.name for p in parts if p.document.associated],
        }
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _write_zip(
    fp: IO[bytes], entries: list[_Entry], manifest: bytes, signature: bytes | None, moment: datetime
) -> None:
    stamp = _zip_time(moment)
    with zipfile.ZipFile(fp, "w", zipfile.ZIP_DEFLATED) as zf:
        for e in entries:
            with (
                e.path.open("rb") as src,
                zf.open(_info(e.name, stamp), "w", force_zip64=e.size > 1 << 31) as dst,
            ):
                shutil.copyfileobj(src, dst, _CHUNK)
        zf.writestr(_info(MANIFEST, stamp), manifest)
        if signature is not None:
            zf.writestr(_info(SIGNATURE, stamp), signature)


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    t = moment.replace(tzinfo=None)
    return (max(t.year, 1980), t.month, t.day, t.hour, t.minute, t.second - t.second % 2)


def _info(name: str, stamp: tuple[int, int, int, int, int, int]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=stamp)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, whatever the machine: the same bytes everywhere
    info.external_attr = 0o100644 << 16
    return info


def manifest_of(path: Path) -> dict[str, Any]:
    """The manifest of a packet (for tests and tools; :func:`reportgen.app.verify.verify_packet` checks it)."""
    with zipfile.ZipFile(path) as zf:
        data: dict[str, Any] = json.loads(zf.read(MANIFEST).decode("utf-8"))
    return data


__all__ = ["build_packet", "manifest_of", "packet_name", "statement_content"]
