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
import csv
import hashlib
import io
import json
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import openpyxl

from ..core.fingerprint import FINGERPRINT_SCHEME, ROW_FIELDS, parse_row
from ..core.money import money_text
from ..errors import ReportgenError
from ..exporters._cells import csv_text
from ..store import DB_NAME
from ..templating import load_template
from ..views import check_rows
from .packet import MANIFEST, PACKET_FORMAT, ROWS, SIGNATURE
from .signing import key_fingerprint, short, signature_ok

_CHUNK = 1 << 16
_PACKET = "packet"


@dataclass(frozen=True)
class Limits:
    """What a packet may not exceed; checked before anything is read."""

    entries: int = 64
    central_directory: int = 1 << 20
    manifest: int = 4 << 20
    signature: int = 1024
    member: int = 8 << 30
    line: int = 1 << 20
    workbook_xml: int = 4 << 30


@dataclass
class Verification:
    """What :func:`verify_packet` found: differences make it fail; notes are for information."""

    packet: Path
    checked: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    statement: str | None = None
    period: str = ""
    scope: str = ""
    signer: str | None = None  # key fingerprint
    signer_name: str = ""
    rows: int | None = None
    totals: dict[str, Any] = field(default_factory=dict)
    exchange: str | None = None

    @property
    def ok(self) -> bool:
        return not self.differences

    def differ(self, name: str, message: str) -> None:
        """Record the first difference of a file (later ones of the same file add nothing)."""
        if not any(d.startswith(f"{name}: ") for d in self.differences):
            self.differences.append(f"{name}: {message}")


class _Malformed(Exception):
    """Raised inside the checks; becomes one difference line."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def verify_packet(
    path: Path,
    store_dir: Path | None = None,
    *,
    expected_key: str | None = None,
    allow_unsigned: bool = False,
    limits: Limits = Limits(),
) -> Verification:
    """Check the packet at ``path``; with ``store_dir`` holding a store, also its rows there.

    ``expected_key`` is a key fingerprint (or its first 16+ hex digits) the manifest must
    be signed with.  An unsigned packet is a difference unless ``allow_unsigned``.
    """
    result = Verification(path)
    try:
        _verify(path, store_dir, expected_key, allow_unsigned, limits, result)
    except _Malformed as exc:
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
    _precheck(path, limits)
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, struct.error) as exc:
        raise _Malformed(_PACKET, f"not a readable zip ({exc})") from None
    with zf:
        infos = _entries(zf, limits)
        raw = _read_small(zf, infos, MANIFEST, limits.manifest)
        manifest = _parse_manifest(raw)
        _describe(manifest, result)
        _check_signature(zf, infos, raw, manifest, expected_key, allow_unsigned, limits, result)
        good = _check_files(zf, infos, manifest, limits, result)
        if ROWS in good:
            derived = _check_rows_file(zf, infos[ROWS], manifest, limits, result)
            detail = _role(manifest, "detail")
            if detail in good and derived is not None:
                _check_detail(zf, infos[detail], manifest, derived, result)
            workbook = _role(manifest, "workbook")
            if workbook in good:
                _check_workbook(zf, infos[workbook], manifest, limits, result)
        elif ROWS not in {f["name"] for f in manifest["files"]}:
            result.differ(
                ROWS, "missing: the packet does not carry its rows, so its figures cannot be checked"
            )
        if store_dir is not None and (store_dir / DB_NAME).is_file():
            _check_store(zf, infos.get(ROWS) if ROWS in good else None, manifest, store_dir, limits, result)
        else:
            result.notes.append("no reportgen store here: the rows were checked from the packet alone")


# -- the zip itself ----------------------------------------------------------------------------


def _precheck(path: Path, limits: Limits) -> None:
    """Refuse a zip whose central directory is too large before :mod:`zipfile` reads it."""
    try:
        with path.open("rb") as fp:
            fp.seek(0, 2)
            size = fp.tell()
            tail = min(size, 22 + 65535 + 20 + 56)
            fp.seek(size - tail)
            data = fp.read(tail)
            at = data.rfind(b"PK\x05\x06")
            if at < 0 or len(data) - at < 22:
                raise _Malformed(_PACKET, "not a zip file (no end of central directory)")
            entries, cd_size = struct.unpack("<HI", data[at + 10 : at + 16])
            loc = data.rfind(b"PK\x06\x07", 0, at)
            if loc >= 0 and at - loc == 20:  # zip64: the real counts are in the zip64 record
                (offset,) = struct.unpack("<Q", data[loc + 8 : loc + 16])
                if offset > size - 56:
                    raise _Malformed(_PACKET, "not a readable zip (bad zip64 record)")
                fp.seek(offset)
                record = fp.read(56)
                if record[:4] != b"PK\x06\x06":
                    raise _Malformed(_PACKET, "not a readable zip (bad zip64 record)")
                entries, cd_size = (
                    struct.unpack("<Q", record[32:40])[0],
                    struct.unpack("<Q", record[40:48])[0],
                )
    except OSError as exc:
        raise _Malformed(_PACKET, f"cannot be read ({exc.strerror or exc})") from None
    if entries > limits.entries:
        raise _Malformed(_PACKET, f"{entries:,} entries; a packet has at most {limits.entries}")
    if cd_size > limits.central_directory:
        raise _Malformed(_PACKET, f"a {cd_size:,}-byte zip directory is over the limit; not a packet")


def _entries(zf: zipfile.ZipFile, limits: Limits) -> dict[str, zipfile.ZipInfo]:
    """The entries by name, after refusing duplicates, unsafe names, links, directories, encryption."""
    found: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        name = info.filename
        if name in found:
            raise _Malformed(
                name,
                "appears twice in the zip: an unzip tool may show the other copy; the packet was tampered with",
            )
        parts = name.replace("\\", "/").split("/")
        if (
            name.startswith(("/", "\\"))
            or "\\" in name
            or (len(name) > 1 and name[1] == ":")
            or any(p in ("", ".", "..") for p in parts)
            or any(ord(ch) < 32 for ch in name)
        ):
            raise _Malformed(
                name[:200], "an unsafe entry name (absolute, '..' or a folder): not a packet entry"
            )
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode) or info.is_dir():
            raise _Malformed(name, "a symbolic link or folder entry: not a packet entry")
        if info.flag_bits & 0x1:
            raise _Malformed(name, "encrypted: not a packet entry")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _Malformed(name, f"compression method {info.compress_type} is not used in packets")
        if info.file_size > limits.member:
            raise _Malformed(
                name, f"{info.file_size:,} bytes uncompressed, over the {limits.member:,}-byte limit"
            )
        found[name] = info
    return found


def _stream(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The member's bytes in chunks, never more than its declared size (checked by the caller)."""
    left = info.file_size
    try:
        with zf.open(info) as fp:
            while left > 0:
                chunk = fp.read(min(_CHUNK, left))
                if not chunk:
                    break
                left -= len(chunk)
                yield chunk
            if left == 0 and fp.read(1):
                raise _Malformed(info.filename, "longer than the zip declares")
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise _Malformed(
            info.filename, f"cannot be read from the zip ({exc}): the packet is damaged"
        ) from None
    if left:
        raise _Malformed(info.filename, "shorter than the zip declares: the packet is damaged")


def _read_small(zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], name: str, cap: int) -> bytes:
    info = infos.get(name)
    if info is None:
        raise _Malformed(name, "missing: not a reportgen packet")
    if info.file_size > cap:
        raise _Malformed(
            name, f"{info.file_size:,} bytes, over the {cap:,}-byte limit: not a reportgen packet"
        )
    return b"".join(_stream(zf, info))


# -- the manifest ------------------------------------------------------------------------------


def _parse_manifest(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Malformed(MANIFEST, f"not valid JSON ({str(exc)[:120]})") from None
    except RecursionError:
        raise _Malformed(MANIFEST, "nested too deeply: not a reportgen manifest") from None
    m = _Shape(data, MANIFEST)
    if m.get("format", str) != PACKET_FORMAT:
        raise _Malformed(MANIFEST, "not a reportgen packet manifest")
    version = m.get("format_version", int)
    if version != 2:
        raise _Malformed(MANIFEST, f"format version {version}; this reportgen checks version 2 packets")
    request, rows, source = m.obj("request"), m.obj("rows"), m.obj("source")
    period = request.obj("period")
    out: dict[str, Any] = {
        "generated_at": m.get("generated_at", str),
        "period": {k: period.get(k, str) for k in ("label", "start", "end", "timezone")},
        "filters": request.get("filters", dict),
        "keys": request.get("keys", list, nullable=True),
        "lang": request.get("lang", str),
        "template": request.get("template", str),
        "source": {
            "gateway_url": source.get("gateway_url", str),
            "user_id": source.get("user_id", int, nullable=True),
            "quota_per_unit": source.get("quota_per_unit", str),
            "cny_per_usd": source.obj("exchange_rate").get("cny_per_usd", str, nullable=True),
        },
        "rows": {
            "fingerprint": rows.get("fingerprint", str),
            "count": rows.get("count", int),
            "scheme": rows.get("scheme", int),
            "fields": rows.get("fields", list),
            "charged": rows.get("charged", dict, nullable=True),
        },
        "totals": {},
        "closed": None,
        "statement": None,
        "signature": None,
        "files": [],
    }
    if out["keys"] is not None and not all(isinstance(k, str) for k in out["keys"]):
        raise _Malformed(MANIFEST, "request.keys must be a list of key names")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in out["filters"].items()):
        raise _Malformed(MANIFEST, "request.filters must map strings to strings")
    totals = m.obj("totals")
    for name in ("requests", "errors", "consumed_quota", "refunded_quota", "subscription_quota", "quota",
                 "prompt_tokens", "completion_tokens"):  # fmt: skip
        out["totals"][name] = totals.get(name, int)
    out["totals"]["cost_usd"] = _decimal(totals.get("cost_usd", str), "totals.cost_usd")
    _decimal(out["source"]["quota_per_unit"], "source.quota_per_unit")
    if Decimal(out["source"]["quota_per_unit"]) <= 0:
        raise _Malformed(MANIFEST, "source.quota_per_unit must be positive")
    if out["source"]["cny_per_usd"] is not None:
        _decimal(out["source"]["cny_per_usd"], "source.exchange_rate.cny_per_usd")
    closed = m.obj("closed", nullable=True)
    if closed is not None:
        out["closed"] = {"revision": closed.get("revision", int), "closed_at": closed.get("closed_at", str)}
    statement = m.obj("statement", nullable=True)
    if statement is not None:
        out["statement"] = {"number": statement.get("number", str)}
    signature = m.obj("signature", nullable=True)
    if signature is not None:
        out["signature"] = {
            k: signature.get(k, str) for k in ("algorithm", "public_key", "key_fingerprint", "signer", "file")
        }
    files = m.get("files", list)
    for i, item in enumerate(files):
        f = _Shape(item, f"{MANIFEST}: files[{i}]")
        entry = {k: f.get(k, str) for k in ("name", "role", "sha256")}
        entry["bytes"] = f.get("bytes", int)
        if entry["bytes"] < 0:
            raise _Malformed(MANIFEST, f"files[{i}].bytes must not be negative")
        if entry["name"] in (MANIFEST, SIGNATURE) or any(e["name"] == entry["name"] for e in out["files"]):
            raise _Malformed(MANIFEST, f"files[{i}]: {entry['name'][:100]!r} is listed twice")
        out["files"].append(entry)
    try:
        out["tz"] = ZoneInfo(out["period"]["timezone"])
        out["start_ts"] = int(datetime.fromisoformat(out["period"]["start"]).timestamp())
        out["end_ts"] = int(datetime.fromisoformat(out["period"]["end"]).timestamp())
        out["charged"] = _charged(out["rows"]["charged"])
    except (ZoneInfoNotFoundError, ValueError, TypeError, OverflowError, OSError) as exc:
        raise _Malformed(MANIFEST, f"the period is malformed ({str(exc)[:120]})") from None
    return out


class _Shape:
    """Typed access to one JSON object of a manifest; a wrong shape is a one-line difference."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise _Malformed(
                MANIFEST, f"{where.removeprefix(MANIFEST + ': ') or 'the top level'} must be an object"
            )
        self.data = data
        self.where = where.removeprefix(MANIFEST).removeprefix(": ")

    def get(self, key: str, kind: type, *, nullable: bool = False) -> Any:
        if key not in self.data:
            raise _Malformed(MANIFEST, f"{self._name(key)} is missing")
        value = self.data[key]
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, kind):
            raise _Malformed(MANIFEST, f"{self._name(key)} must be {_KINDS.get(kind, kind.__name__)}")
        return value

    def obj(self, key: str, *, nullable: bool = False) -> Any:
        value = self.get(key, dict, nullable=nullable)
        return None if value is None else _Shape(value, self._name(key))

    def _name(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key


_KINDS = {str: "a string", int: "an integer", dict: "an object", list: "a list"}


def _decimal(text: str, name: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _Malformed(MANIFEST, f"{name} must be a decimal number") from None
    if not value.is_finite():
        raise _Malformed(MANIFEST, f"{name} must be a decimal number")
    return value


def _charged(table: dict[str, Any] | None) -> dict[str, list[tuple[date, date]]] | None:
    if table is None:
        return None
    out: dict[str, list[tuple[date, date]]] = {}
    for key, runs in table.items():
        if not isinstance(runs, list):
            raise ValueError("rows.charged must map keys to lists of [first, last] dates")
        pairs = []
        for run in runs:
            if not (isinstance(run, list) and len(run) == 2 and all(isinstance(d, str) for d in run)):
                raise ValueError("rows.charged must map keys to lists of [first, last] dates")
            pairs.append((date.fromisoformat(run[0]), date.fromisoformat(run[1])))
        out[key] = pairs
    return out


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
        text = _read_small(zf, infos, SIGNATURE, limits.signature)
        signature = base64.b64decode(text.strip(), validate=True)
    except _Malformed as exc:
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
            for chunk in _stream(zf, info):
                digest.update(chunk)
        except _Malformed as exc:
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


# -- the packet agrees with itself ------------------------------------------------------------


@dataclass
class _Derived:
    """What the rows give: fingerprint, count, totals, and a multiset hash of the detail lines."""

    count: int = 0
    fingerprint: str = ""
    totals: dict[str, Any] = field(default_factory=dict)
    detail_lines: int = 0
    detail_hash: int = 0


def _lines(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> Iterator[bytes]:
    """The member's lines (without newline), each at most ``limit`` bytes."""
    pending = b""
    for chunk in _stream(zf, info):
        pending += chunk
        *whole, pending = pending.split(b"\n")
        yield from whole
        if len(pending) > limit:
            raise _Malformed(info.filename, f"a line longer than {limit:,} bytes: not canonical rows")
    if pending:
        raise _Malformed(info.filename, "the last line has no newline: the file was cut short")


def _check_rows_file(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    manifest: dict[str, Any],
    limits: Limits,
    result: Verification,
) -> _Derived | None:
    rows = manifest["rows"]
    if rows["scheme"] != FINGERPRINT_SCHEME or rows["fields"] != list(ROW_FIELDS):
        result.differ(
            ROWS, f"fingerprint scheme {rows['scheme']} with other fields; this reportgen checks scheme 2"
        )
        return None
    tz, charged = manifest["tz"], manifest["charged"]
    keys = None if manifest["keys"] is None else set(manifest["keys"])
    qpu = Decimal(manifest["source"]["quota_per_unit"])
    t: dict[str, Any] = dict.fromkeys(
        ("requests", "errors", "consumed_quota", "refunded_quota", "subscription_quota", "prompt_tokens",
         "completion_tokens"), 0,
    )  # fmt: skip
    derived = _Derived()
    digests = hashlib.sha256()
    previous = b""
    for n, line in enumerate(_lines(zf, info, limits.line), 1):
        try:
            values = parse_row(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            result.differ(ROWS, f"line {n} is not a canonical row ({str(exc)[:100]})")
            return None
        except RecursionError:
            result.differ(ROWS, f"line {n} is nested too deeply: not a canonical row")
            return None
        digest = hashlib.sha256(line).digest()
        if digest < previous:
            result.differ(ROWS, f"line {n} is out of digest order: the rows were rearranged")
            return None
        previous = digest
        digests.update(digest)
        derived.count += 1
        created_at, kind, token, model, quota = values[:5]
        if not manifest["start_ts"] <= created_at < manifest["end_ts"] or (
            keys is not None and token not in keys
        ):
            result.differ(ROWS, f"line {n} lies outside the packet's period or keys")
            return None
        try:
            day = datetime.fromtimestamp(created_at, tz).date()
        except (OverflowError, OSError, ValueError):
            result.differ(ROWS, f"line {n} has an impossible time")
            return None
        if charged is not None and not any(a <= day <= b for a, b in charged.get(token, ())):
            continue
        if kind == 2:
            t["requests"] += 1
            t["consumed_quota"] += quota
            t["prompt_tokens"] += values[5]
            t["completion_tokens"] += values[6]
            if values[12] == "subscription":
                t["subscription_quota"] += quota
        elif kind == 5:
            t["errors"] += 1
        elif kind == 6:
            t["refunded_quota"] += quota
        if kind in (2, 6):
            derived.detail_lines += 1
            signed = -quota if kind == 6 else quota
            local = datetime.fromtimestamp(created_at, tz).isoformat()
            derived.detail_hash += _detail_key(local, csv_text(token), csv_text(model), values[5], values[6],
                                               signed, csv_text(values[9]))  # fmt: skip
    derived.fingerprint = digests.hexdigest()
    t["quota"] = t["consumed_quota"] - t["refunded_quota"]
    t["cost_usd"] = Decimal(t["quota"]) / qpu
    derived.totals = t
    if derived.count != rows["count"] or derived.fingerprint != rows["fingerprint"]:
        result.differ(
            ROWS,
            f"{derived.count:,} rows with fingerprint {derived.fingerprint[:16]}…, the manifest says "
            f"{rows['count']:,} rows, {rows['fingerprint'][:16]}…: rows and manifest disagree",
        )
        return None
    wrong = [k for k, v in manifest["totals"].items() if v != t[k]]
    if wrong:
        k = wrong[0]
        result.differ(
            MANIFEST,
            f"totals.{k} is {manifest['totals'][k]} but the rows give {t[k]}: the stated totals are not the rows'",
        )
        return None
    result.checked.append(
        f"{ROWS}: {derived.count:,} rows give the fingerprint and every total of the manifest"
    )
    return derived


def _detail_key(*fields: object) -> int:
    text = "\x1f".join("" if f is None else str(f) for f in fields)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest(), "big")


def _check_detail(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    manifest: dict[str, Any],
    derived: _Derived,
    result: Verification,
) -> None:
    """The CSV detail holds exactly the consumption and refund rows of rows.jsonl."""
    name = info.filename
    lines = 0
    total = 0
    net = 0
    try:
        text = io.TextIOWrapper(
            io.BufferedReader(_IterReader(_stream(zf, info))), encoding="utf-8-sig", newline=""
        )
        reader = csv.reader(text)
        header = next(reader, None)
        if header is None or len(header) != 13:
            result.differ(name, "not a reportgen CSV detail (its header has changed)")
            return
        for row in reader:
            if len(row) != 13:
                result.differ(name, f"line {lines + 2} has {len(row)} fields, not 13")
                return
            (
                local,
                _member,
                token,
                model,
                _kind,
                prompt,
                completion,
                quota,
                _usd,
                _secs,
                _client,
                request,
                _st,
            ) = row
            lines += 1
            net += int(quota)
            total += _detail_key(local, token, model, int(prompt), int(completion), int(quota), request)
    except (UnicodeDecodeError, ValueError, csv.Error) as exc:
        result.differ(name, f"cannot be read as the CSV detail ({str(exc)[:100]})")
        return
    if lines != derived.detail_lines or net != manifest["totals"]["quota"]:
        result.differ(
            name,
            f"{lines:,} lines with net quota {net:,}; the rows give {derived.detail_lines:,} lines and "
            f"{manifest['totals']['quota']:,}: the detail is not the packet's rows",
        )
    elif total % (1 << 256) != derived.detail_hash % (1 << 256):
        result.differ(
            name, "a line differs from the packet's rows (time, key, model, tokens, quota or request id)"
        )
    else:
        result.checked.append(f"{name}: {lines:,} lines are exactly the packet's consumption and refund rows")


class _IterReader(io.RawIOBase):
    """A readable stream over an iterator of byte chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buffer = chunk
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def _check_workbook(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, manifest: dict[str, Any], limits: Limits, result: Verification
) -> None:
    """The workbook's first total line (the Summary sheet) states the manifest's totals."""
    name = info.filename
    with tempfile.TemporaryFile() as tmp:
        for chunk in _stream(zf, info):
            tmp.write(chunk)
        tmp.seek(0)
        try:
            with zipfile.ZipFile(tmp) as inner:
                if (
                    len(inner.infolist()) > 10_000
                    or sum(i.file_size for i in inner.infolist()) > limits.workbook_xml
                ):
                    result.differ(name, "too large inside to open: not a reportgen workbook")
                    return
            tmp.seek(0)
            found = _workbook_totals(tmp, manifest)
        except (
            zipfile.BadZipFile,
            OSError,
            KeyError,
            ValueError,
            TypeError,
            IndexError,
            EOFError,
            zlib.error,
        ) as exc:
            result.differ(name, f"cannot be opened as a workbook ({str(exc)[:100]})")
            return
    if found is None:
        result.notes.append(f"{name}: no totals line found (a custom template's wording); not compared")
        return
    t = manifest["totals"]
    want = [t[k] for k in ("requests", "errors", "prompt_tokens", "completion_tokens", "consumed_quota",
                           "refunded_quota", "quota")]  # fmt: skip
    got, usd = found
    if got != want or abs(Decimal(str(usd)) - t["cost_usd"]) > Decimal("0.000001"):
        result.differ(
            name, f"its totals line ({', '.join(map(str, [*got, usd]))}) is not the manifest's totals"
        )
        return
    result.checked.append(f"{name}: the Summary totals are the manifest's")


def _workbook_totals(fp: IO[bytes], manifest: dict[str, Any]) -> tuple[list[Any], Any] | None:
    try:
        labels = {load_template(manifest["template"], manifest["lang"]).label("total", manifest["lang"])}
    except ReportgenError:
        labels = set()
    labels |= {load_template(None, lang).label("total", lang) for lang in ("en", "zh")}
    wb = openpyxl.load_workbook(fp, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        for n, row in enumerate(ws.iter_rows(values_only=True)):
            if n > 5000:
                return None
            if row and row[0] in labels and len(row) >= 9 and all(isinstance(v, int) for v in row[1:8]):
                return [int(v) for v in row[1:8]], row[8]
        return None
    finally:
        wb.close()


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
    for line in _lines(zf, info, limits.line):
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
