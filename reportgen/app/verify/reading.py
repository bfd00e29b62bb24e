"""Reading an untrusted packet zip: limits, safe entries, bounded streams, and the manifest's shape.

Nothing here trusts the input: sizes are checked against :class:`Limits` before a member is
read, every member is streamed up to its declared size, and a wrong manifest shape is a
:class:`Malformed` naming the field (never a KeyError, TypeError or RecursionError).
"""

from __future__ import annotations

import csv
import json
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ...core.text import clean_text
from ..summary import COUNTS
from .format import MANIFEST, PACKET_FORMAT, PACKET_VERSION, SIGNATURE

CHUNK = 1 << 16
PACKET_NAME = "packet"
#: The note when there is no store to compare the rows with.
NO_STORE = "no reportgen store here: the rows were checked from the packet alone"


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


class Malformed(Exception):
    """Raised inside the checks; becomes one difference line."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


# -- the zip itself ----------------------------------------------------------------------------


def precheck(path: Path, limits: Limits) -> None:
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
                raise Malformed(PACKET_NAME, "not a zip file (no end of central directory)")
            entries, cd_size = struct.unpack("<HI", data[at + 10 : at + 16])
            loc = data.rfind(b"PK\x06\x07", 0, at)
            if loc >= 0 and at - loc == 20:  # zip64: the real counts are in the zip64 record
                (offset,) = struct.unpack("<Q", data[loc + 8 : loc + 16])
                if offset > size - 56:
                    raise Malformed(PACKET_NAME, "not a readable zip (bad zip64 record)")
                fp.seek(offset)
                record = fp.read(56)
                if record[:4] != b"PK\x06\x06":
                    raise Malformed(PACKET_NAME, "not a readable zip (bad zip64 record)")
                entries, cd_size = (
                    struct.unpack("<Q", record[32:40])[0],
                    struct.unpack("<Q", record[40:48])[0],
                )
    except OSError as exc:
        raise Malformed(PACKET_NAME, f"cannot be read ({exc.strerror or exc})") from None
    if entries > limits.entries:
        raise Malformed(PACKET_NAME, f"{entries:,} entries; a packet has at most {limits.entries}")
    if cd_size > limits.central_directory:
        raise Malformed(PACKET_NAME, f"a {cd_size:,}-byte zip directory is over the limit; not a packet")


def safe_entries(zf: zipfile.ZipFile, limits: Limits) -> dict[str, zipfile.ZipInfo]:
    """The entries by name, after refusing duplicates, unsafe names, links, directories, encryption."""
    found: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        name = info.filename
        if name in found:
            raise Malformed(
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
            raise Malformed(
                name[:200], "an unsafe entry name (absolute, '..' or a folder): not a packet entry"
            )
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode) or info.is_dir():
            raise Malformed(name, "a symbolic link or folder entry: not a packet entry")
        if info.flag_bits & 0x1:
            raise Malformed(name, "encrypted: not a packet entry")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise Malformed(name, f"compression method {info.compress_type} is not used in packets")
        if info.file_size > limits.member:
            raise Malformed(
                name, f"{info.file_size:,} bytes uncompressed, over the {limits.member:,}-byte limit"
            )
        found[name] = info
    return found


def stream(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The member's bytes in chunks, never more than its declared size (checked by the caller)."""
    left = info.file_size
    try:
        with zf.open(info) as fp:
            while left > 0:
                chunk = fp.read(min(CHUNK, left))
                if not chunk:
                    break
                left -= len(chunk)
                yield chunk
            if left == 0 and fp.read(1):
                raise Malformed(info.filename, "longer than the zip declares")
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise Malformed(
            info.filename, f"cannot be read from the zip ({exc}): the packet is damaged"
        ) from None
    if left:
        raise Malformed(info.filename, "shorter than the zip declares: the packet is damaged")


def read_small(zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], name: str, cap: int) -> bytes:
    info = infos.get(name)
    if info is None:
        raise Malformed(name, "missing: not a reportgen packet")
    if info.file_size > cap:
        raise Malformed(
            name, f"{info.file_size:,} bytes, over the {cap:,}-byte limit: not a reportgen packet"
        )
    return b"".join(stream(zf, info))


def one_line(text: str, limit: int = 200) -> str:
    """Untrusted text made safe to show: no control or bidi characters, one line, bounded."""
    return " ".join(clean_text(text).split())[:limit]


# -- the manifest ------------------------------------------------------------------------------


def parse_manifest(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Malformed(MANIFEST, f"not valid JSON ({str(exc)[:120]})") from None
    except RecursionError:
        raise Malformed(MANIFEST, "nested too deeply: not a reportgen manifest") from None
    m = _Shape(data, MANIFEST)
    if m.get("format", str) != PACKET_FORMAT:
        raise Malformed(MANIFEST, "not a reportgen packet manifest")
    version = m.get("format_version", int)
    if version != PACKET_VERSION:
        raise Malformed(
            MANIFEST, f"format version {version}; this reportgen checks version {PACKET_VERSION} packets"
        )
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
            "per_source": "per_source" in source.obj("exchange_rate").data,
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
        raise Malformed(MANIFEST, "request.keys must be a list of key names")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in out["filters"].items()):
        raise Malformed(MANIFEST, "request.filters must map strings to strings")
    totals = m.obj("totals")
    for name in COUNTS:  # the totals the manifest states (summary.totals_json)
        out["totals"][name] = totals.get(name, int)
    out["totals"]["cost_usd"] = _decimal(totals.get("cost_usd", str), "totals.cost_usd")
    _decimal(out["source"]["quota_per_unit"], "source.quota_per_unit")
    if Decimal(out["source"]["quota_per_unit"]) <= 0:
        raise Malformed(MANIFEST, "source.quota_per_unit must be positive")
    if out["source"]["cny_per_usd"] is not None:
        _decimal(out["source"]["cny_per_usd"], "source.exchange_rate.cny_per_usd")
    out["missing"] = None  # the ranges the store did not hold when the packet was made
    if "coverage" in m.data:
        coverage = m.obj("coverage")
        missing = coverage.get("missing", list)
        if not all(isinstance(r, str) for r in missing):
            raise Malformed(MANIFEST, "coverage.missing must be a list of ranges")
        if not coverage.get("complete", bool) or missing:
            out["missing"] = [one_line(r, 60) for r in missing[:20]] or ["(ranges not stated)"]
    out["members"] = None  # who a statement's tables show (packets before it was recorded: not compared)
    if "members" in m.data:
        out["members"] = []
        for i, item in enumerate(m.get("members", list)):
            member = _Shape(item, f"{MANIFEST}: members[{i}]")
            keys = member.get("keys", list)
            if not all(isinstance(k, str) for k in keys):
                raise Malformed(MANIFEST, f"members[{i}].keys must be a list of key names")
            out["members"].append({"name": member.get("name", str), "keys": keys})
    closed = m.obj("closed", nullable=True)
    if closed is not None:
        out["closed"] = {
            "revision": closed.get("revision", int),
            "closed_at": closed.get("closed_at", str),
            "label": _closed_label(m, out["period"]["label"]),
        }
    statement = m.obj("statement", nullable=True)
    if statement is not None:
        out["statement"] = {
            "number": statement.get("number", str),
            "audit_head": statement.get("audit_head", str, nullable=True)
            if "audit_head" in statement.data
            else None,
        }
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
            raise Malformed(MANIFEST, f"files[{i}].bytes must not be negative")
        if entry["name"] in (MANIFEST, SIGNATURE) or any(e["name"] == entry["name"] for e in out["files"]):
            raise Malformed(MANIFEST, f"files[{i}]: {entry['name'][:100]!r} is listed twice")
        out["files"].append(entry)
    try:
        out["tz"] = ZoneInfo(out["period"]["timezone"])
        out["start_ts"] = int(datetime.fromisoformat(out["period"]["start"]).timestamp())
        out["end_ts"] = int(datetime.fromisoformat(out["period"]["end"]).timestamp())
        out["charged"] = _charged(out["rows"]["charged"])
    except (ZoneInfoNotFoundError, ValueError, TypeError, OverflowError, OSError) as exc:
        raise Malformed(MANIFEST, f"the period is malformed ({str(exc)[:120]})") from None
    return out


def _closed_label(m: _Shape, label: str) -> str:
    """The closed period a packet was read from: its basis names it (a project's packet is
    labelled by the project, ``alpha_2026-04``, but reads the team's closed ``2026-04``)."""
    if "basis" not in m.data:
        return label
    for i, item in enumerate(m.get("basis", list)):
        part = _Shape(item, f"{MANIFEST}: basis[{i}]")
        if "closed_period" in part.data and part.get("closed_period", str, nullable=True) is not None:
            return str(part.get("closed_period", str))
    return label


class _Shape:
    """Typed access to one JSON object of a manifest; a wrong shape is a one-line difference."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise Malformed(
                MANIFEST, f"{where.removeprefix(MANIFEST + ': ') or 'the top level'} must be an object"
            )
        self.data = data
        self.where = where.removeprefix(MANIFEST).removeprefix(": ")

    def get(self, key: str, kind: type, *, nullable: bool = False) -> Any:
        if key not in self.data:
            raise Malformed(MANIFEST, f"{self._name(key)} is missing")
        value = self.data[key]
        if value is None and nullable:
            return None
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            raise Malformed(MANIFEST, f"{self._name(key)} must be {_KINDS.get(kind, kind.__name__)}")
        return value

    def obj(self, key: str, *, nullable: bool = False) -> Any:
        value = self.get(key, dict, nullable=nullable)
        return None if value is None else _Shape(value, self._name(key))

    def _name(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key


_KINDS = {str: "a string", int: "an integer", dict: "an object", list: "a list", bool: "true or false"}


def _decimal(text: str, name: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise Malformed(MANIFEST, f"{name} must be a decimal number") from None
    if not value.is_finite():
        raise Malformed(MANIFEST, f"{name} must be a decimal number")
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


def member_lines(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    limit: int,
    *,
    what: str = "canonical rows",
    keepends: bool = False,
) -> Iterator[bytes]:
    """The member's lines, each at most ``limit`` bytes: a longer one is refused once ``limit``
    bytes have been read without a newline, so memory stays bounded whatever the member holds.

    ``keepends``: the lines keep their newline and the last may lack one (as a CSV reader
    wants them); otherwise the newline is dropped and a last line without one is refused.
    """
    pending = b""
    for chunk in stream(zf, info):
        pending += chunk
        *whole, pending = pending.split(b"\n")
        yield from ((line + b"\n" for line in whole) if keepends else whole)
        if len(pending) > limit:
            raise Malformed(info.filename, f"a line longer than {limit:,} bytes: not {what}")
    if pending and keepends:
        yield pending
    elif pending:
        raise Malformed(info.filename, "the last line has no newline: the file was cut short")


class CsvLines:
    """A member's text lines for :func:`csv.reader`, bounded: no line, and no record (a quoted
    field may span lines), longer than ``limit`` bytes; :meth:`rows` reads the records.
    """

    def __init__(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, what: str) -> None:
        self._lines = member_lines(zf, info, limit, what=what, keepends=True)
        self._name = info.filename
        self._limit = limit
        self._what = what
        self._record = 0
        self._first = True

    def __iter__(self) -> CsvLines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self._record += len(line)
        if self._record > self._limit:
            raise Malformed(self._name, f"a record longer than {self._limit:,} bytes: not {self._what}")
        text = line.decode("utf-8")
        if self._first:
            self._first = False
            text = text.removeprefix("\ufeff")
        return text

    def rows(self) -> Iterator[list[str]]:
        """The CSV records, each bounded."""
        for row in csv.reader(self):
            self._record = 0
            yield row


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
    signer_name: str = ""  # the name the manifest claims: untrusted text
    trusted_as: str | None = None  # the reader's name for the key ("" for a key pinned by --key)
    untrusted: bool = False  # a valid signature by a key the reader does not trust
    rows: int | None = None
    missing: list[str] | None = None  # an incomplete packet: the ranges its store did not hold
    totals: dict[str, Any] = field(default_factory=dict)
    exchange: str | None = None
    pdf_signatures: list[str] = field(default_factory=list)  # the PDFs' trusted PAdES signatures

    @property
    def intact(self) -> bool:
        """Nothing differs: the packet is what its manifest says, whoever signed it."""
        return not self.differences

    @property
    def ok(self) -> bool:
        """Intact, and signed by a key the reader trusts (or pinned), or unsigned and allowed."""
        return not self.differences and not self.untrusted

    def differ(self, name: str, message: str) -> None:
        """Record the first difference of a file (later ones of the same file add nothing)."""
        if not any(d.startswith(f"{name}: ") for d in self.differences):
            self.differences.append(f"{name}: {message}")
