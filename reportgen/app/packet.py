"""The reimbursement packet: one zip a finance office files and can re-check later.

A packet holds the PDF statement, the XLSX workbook and the CSV detail (rendered by the
registered exporters, exactly as ``report`` renders them), a methodology note and the
data-quality page in the chosen language, and ``manifest.json``: every file's SHA-256,
what was asked, where the data came from, and the fingerprint and count of the exact
rows included.  Entries carry fixed timestamps (``report.generated_at``) in a fixed
order, so the packet of a closed period is byte-identical every time.

:func:`verify_packet` re-checks a packet: every hash, and against the local store that
the rows still match the fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from .. import __version__
from ..core.models import Report
from ..errors import PacketError
from ..hookspecs import ExportContext, Exporter
from ..views import PeriodView, check_rows
from .export import output_stem, write_atomically
from .methodology import methodology_markdown
from .quality import QualityReport
from .summary import basis_json

MANIFEST = "manifest.json"
PACKET_FORMAT = "reportgen-packet"
PACKET_VERSION = 1
#: The exporters a packet holds, by role; each is looked up through the plugin registry.
PACKET_FORMATS = (("statement", "pdf"), ("workbook", "xlsx"), ("detail", "csv"))
#: The notes a packet holds besides the exporters' documents, by role.
PACKET_NOTES = ("methodology", "quality")
#: How many documents go with the statement (a claim form prints 附件 N 张): all but itself.
ATTACHMENTS = len(PACKET_FORMATS) + len(PACKET_NOTES) - 1
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
    exporters: Sequence[Exporter],
    context: ExportContext,
    out_dir: Path,
) -> Path:
    """Write the packet of ``view`` into ``out_dir`` (atomically) and return its path.

    Every document, the manifest's row count and fingerprint come from the one view, read
    in one transaction: the packet agrees with itself even while a sync runs.

    ``exporters`` are the statement, workbook and detail exporters in that order (see
    :data:`PACKET_FORMATS`); ``context`` is the same :class:`ExportContext` ``report``
    uses.  The caller has run the ``report_prepared`` hook and the quality check.
    """
    report = view.report
    context = replace(context, attachments=ATTACHMENTS)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = output_stem(report)
    with tempfile.TemporaryDirectory(prefix=".packet-", dir=out_dir) as tmp_name:
        tmp = Path(tmp_name)
        entries: list[_Entry] = []
        for (role, _), exporter in zip(PACKET_FORMATS, exporters, strict=True):
            name = f"{stem}{exporter.suffix}.{exporter.extension}"
            path = tmp / f"{len(entries)}.bin"
            with path.open("wb") as fp:
                exporter.write(report, fp, context)
            entries.append(_entry(name, role, path, exporter.media_type))
        ext = "md"
        for role, text in (
            ("methodology", methodology_markdown(view, context.lang)),
            ("quality", quality.markdown(context.lang)),
        ):
            path = tmp / f"{role}.{ext}"
            path.write_text(text, encoding="utf-8")
            entries.append(_entry(f"{role}.{ext}", role, path, "text/markdown"))
        assert len(entries) - 1 == ATTACHMENTS  # what the statement says it comes with
        manifest = _manifest(view, quality, context, entries)
        target = out_dir / packet_name(report)
        write_atomically(target, lambda fp: _write_zip(fp, entries, manifest, report.generated_at), "packet")
    return target


def _entry(name: str, role: str, path: Path, media_type: str) -> _Entry:
    digest = hashlib.sha256()
    with path.open("rb") as fp:
        while chunk := fp.read(_CHUNK):
            digest.update(chunk)
    return _Entry(name, role, path, digest.hexdigest(), path.stat().st_size, media_type)


def _manifest(
    view: PeriodView, quality: QualityReport, context: ExportContext, entries: list[_Entry]
) -> bytes:
    report, closure = view.report, view.closure
    p, prov, ex = report.period, report.provenance, report.exchange
    data: dict[str, Any] = {
        "format": PACKET_FORMAT,
        "format_version": PACKET_VERSION,
        "reportgen_version": __version__,
        "generated_at": report.generated_at.isoformat(),
        "request": {
            "period": {
                "label": p.label,
                "start": p.start.isoformat(),
                "end": p.end.isoformat(),
                "end_exclusive": True,
                "timezone": p.timezone,
            },
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
            "exchange_rate": {
                "cny_per_usd": None if ex.rate is None else str(ex.rate),
                "source": ex.source,
                "as_of": None if ex.as_of is None else ex.as_of.isoformat(),
                "applies_to": ex.applies_to,
            },
            "currencies": [
                {"code": c.code, "per_usd": str(c.rate), "source": c.source, "as_of": c.as_of.isoformat()}
                for c in report.conversions
            ],
        },
        "rows": {
            "fingerprint": prov.fingerprint,
            "count": view.row_count,
            "what": "every stored log row of the period (all types) of the keys listed, or of all keys "
            "when keys is null; SHA-256 over the parsed fields in sorted order (reportgen Store.fingerprint)",
        },
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
    }
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _write_zip(fp: IO[bytes], entries: list[_Entry], manifest: bytes, moment: datetime) -> None:
    stamp = _zip_time(moment)
    with zipfile.ZipFile(fp, "w", zipfile.ZIP_DEFLATED) as zf:
        for e in entries:
            with (
                e.path.open("rb") as src,
                zf.open(_info(e.name, stamp), "w", force_zip64=e.size > 1 << 31) as dst,
            ):
                shutil.copyfileobj(src, dst, _CHUNK)
        zf.writestr(_info(MANIFEST, stamp), manifest)


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    t = moment.replace(tzinfo=None)
    return (max(t.year, 1980), t.month, t.day, t.hour, t.minute, t.second - t.second % 2)


def _info(name: str, stamp: tuple[int, int, int, int, int, int]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=stamp)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, whatever the machine: the same bytes everywhere
    info.external_attr = 0o100644 << 16
    return info


# -- verify ----------------------------------------------------------------------------------


@dataclass
class Verification:
    """What :func:`verify_packet` found: differences make it fail; notes are for information."""

    packet: Path
    checked: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def verify_packet(path: Path, store_dir: Path) -> Verification:
    """Check every file's hash in the packet, and that the store's rows still match the fingerprint."""
    result = Verification(path)
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise PacketError(f"{path}: not a readable zip ({exc})") from None
    with zf:
        manifest = _read_manifest(zf, path)
        _check_files(zf, manifest, result)
    _check_rows(manifest, store_dir, result)
    return result


def _read_manifest(zf: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    try:
        data = json.loads(zf.read(MANIFEST).decode("utf-8"))
    except KeyError:
        raise PacketError(f"{path}: no {MANIFEST} inside; not a reportgen packet") from None
    except (zipfile.BadZipFile, zlib.error, UnicodeDecodeError, ValueError) as exc:
        raise PacketError(f"{path}: {MANIFEST} cannot be read ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != PACKET_FORMAT:
        raise PacketError(f"{path}: {MANIFEST} is not a reportgen packet manifest")
    return data


def _check_files(zf: zipfile.ZipFile, manifest: dict[str, Any], result: Verification) -> None:
    listed = {f["name"]: f for f in manifest.get("files", [])}
    for name, entry in listed.items():
        try:
            digest = hashlib.sha256()
            with zf.open(name) as fp:
                while chunk := fp.read(_CHUNK):
                    digest.update(chunk)
        except KeyError:
            result.differences.append(f"{name}: listed in the manifest but missing from the packet")
            continue
        except (zipfile.BadZipFile, zlib.error, OSError) as exc:
            result.differences.append(f"{name}: cannot be read from the packet ({exc})")
            continue
        if digest.hexdigest() != entry.get("sha256"):
            result.differences.append(
                f"{name}: SHA-256 differs (manifest {str(entry.get('sha256'))[:16]}…, "
                f"file {digest.hexdigest()[:16]}…): the file was changed"
            )
        else:
            result.checked.append(f"{name}: SHA-256 matches")
    for name in zf.namelist():
        if name != MANIFEST and name not in listed:
            result.differences.append(f"{name}: in the packet but not listed in the manifest")


def _check_rows(manifest: dict[str, Any], store_dir: Path, result: Verification) -> None:
    period = manifest["request"]["period"]
    rows = manifest["rows"]
    start = int(datetime.fromisoformat(period["start"]).timestamp())
    end = int(datetime.fromisoformat(period["end"]).timestamp())
    keys = manifest["request"].get("keys")
    token_names = None if keys is None else tuple(keys)
    source = manifest["source"]
    closed = manifest.get("closed")
    label = period["label"]
    check = check_rows(
        store_dir, start, end, token_names, closed=None if closed is None else (label, closed["revision"])
    )
    account = (source.get("gateway_url"), source.get("user_id"))
    if check.account != account:
        result.differences.append(
            f"the store at {store_dir} holds another gateway account ({check.account[0]} user "
            f"{check.account[1]}), not {account[0]} user {account[1]}; cannot check the rows"
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
            if check.pending is not None and check.closure is not None:
                result.notes.append(
                    f"{label} has a pending amendment since it was closed: "
                    f"{check.pending.describe(check.closure.quota_per_unit)}; the packet still matches the "
                    "closed version"
                )
    where = f"the store's {which} rows" if which else "the store's rows"
    if check.fingerprint == rows.get("fingerprint"):
        result.checked.append(f"rows: {where} match the fingerprint ({check.count} rows)")
    else:
        result.differences.append(
            f"rows: {where} no longer match the fingerprint: {check.count} rows now, {rows.get('count')} then "
            f"(fingerprint {check.fingerprint[:16]}… now, {str(rows.get('fingerprint'))[:16]}… then)"
        )


def manifest_of(path: Path) -> dict[str, Any]:
    """The manifest of a packet (for tests and tools)."""
    with zipfile.ZipFile(path) as zf:
        return _read_manifest(zf, path)


def read_entry(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(name)


__all__ = ["Verification", "build_packet", "manifest_of", "packet_name", "verify_packet"]
