"""What the serve pages show, read through the same paths as the CLI: the store's periods and
closures, a period's view (:func:`reportgen.read.open_period`), its rows a page at a time, the
register of issued packets, and verify.  Nothing here writes to the store."""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path

from ..app.verify import ok_lines, reader_trust, untrusted_lines, verify_packet
from ..config import Config
from ..core.money import money_text
from ..core.periods import Period, date_range_period, parse_period
from ..core.records import LogType
from ..core.report import DetailRow, Report
from ..core.text import clean_text
from ..read import Scope, open_period
from ..store import Reader, closures, uncovered
from ..store.evidence import entries

__all__ = [
    "DayLine",
    "Issued",
    "PeriodLine",
    "RowsPage",
    "Verdict",
    "day_lines",
    "find_download",
    "issued",
    "periods",
    "rows_page",
    "verify_upload",
]

#: Request rows shown per page (the store streams them; a page never reads more than it shows).
PAGE_ROWS = 50
#: The largest upload verify accepts (a packet is a few MB; the zip reader bounds what it inflates).
MAX_UPLOAD = 64 * 1024 * 1024


@dataclass(frozen=True)
class PeriodLine:
    """A month the store holds rows for, or a closed period: open or closed (with its revision),
    and the days it lacks (incomplete)."""

    label: str
    closed: bool
    revision: int | None
    closed_at: str
    rows: int | None
    missing: tuple[str, ...]


def periods(config: Config) -> list[PeriodLine]:
    """Every month with synced coverage and every closed period, newest first."""
    tz = config.tz
    with Reader.open(config.store) as reader:
        covered = reader.coverage()
        closed = {c.period.label: c for c in closures(reader)}
    labels: set[str] = set(closed)
    for start, end in covered:
        day = datetime.fromtimestamp(start, tz).date().replace(day=1)
        last = datetime.fromtimestamp(end - 1, tz).date()
        while day <= last:
            labels.add(f"{day.year:04d}-{day.month:02d}")
            day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    out = []
    for label in sorted(labels, reverse=True):
        c = closed.get(label)
        period = c.period if c is not None else parse_period(label, tz)
        gaps = [] if c is not None else uncovered(covered, period.start_ts, period.end_ts)
        missing = tuple(
            f"{datetime.fromtimestamp(a, tz):%Y-%m-%d %H:%M} – {datetime.fromtimestamp(b, tz):%Y-%m-%d %H:%M}"
            for a, b in gaps
        )
        out.append(
            PeriodLine(
                label,
                c is not None,
                None if c is None else c.revision,
                "" if c is None else f"{c.generated_at:%Y-%m-%d %H:%M}",
                None if c is None else c.rows,
                missing,
            )
        )
    return out


@dataclass(frozen=True)
class DayLine:
    """A member's spend on one model on one day: requests and net amount (the buckets the
    statement's figures are summed from)."""

    day: date
    requests: int
    quota: int
    usd: Decimal


def day_lines(report: Report, member: str, model: str) -> list[DayLine]:
    """``member`` × ``model`` per local day of ``report`` (a report of that member's scope)."""
    keys = set(report.member_keys(member))
    days: dict[date, list[int]] = {}
    buckets = report.partials.buckets if report.partials is not None else ()
    for b in buckets:
        if b.model_name != model or b.token_name not in keys:
            continue
        sign = 1 if b.type == LogType.CONSUME else -1 if b.type == LogType.REFUND else 0
        line = days.setdefault(b.day, [0, 0])
        line[0] += b.rows if b.type != LogType.REFUND else 0
        line[1] += sign * b.quota
    return [
        DayLine(day, n, quota, Decimal(quota) / report.quota_per_unit)
        for day, (n, quota) in sorted(days.items())
    ]


@dataclass(frozen=True)
class RowsPage:
    rows: tuple[DetailRow, ...]
    page: int
    more: bool
    quota_per_unit: Decimal


def rows_page(config: Config, member: str, model: str, day: date, page: int) -> RowsPage:
    """One page of ``member``'s request rows on ``model`` on ``day``, in time order, streamed from the
    store through the one read path (a closed day from its snapshot): at most one page past the
    rows skipped is read."""
    period = date_range_period(day, day, config.tz)
    with open_period(config, period, Scope.of(member), with_bridge=False) as view:
        wanted = (r for r in view.report.rows() if r.record.model_name == model)
        chunk = list(islice(wanted, page * PAGE_ROWS, (page + 1) * PAGE_ROWS + 1))
        return RowsPage(tuple(chunk[:PAGE_ROWS]), page, len(chunk) > PAGE_ROWS, view.report.quota_per_unit)


def row_amount(page: RowsPage, row: DetailRow) -> str:
    """A row's amount in USD as the CSV detail computes it (signed quota ÷ quota per USD), printed."""
    return money_text(Decimal(row.signed_quota) / page.quota_per_unit)


@dataclass(frozen=True)
class Issued:
    """A packet in the register: its number, period, scope, when, its file and SHA-256 (from the
    audit log's entry, which the hash chain protects)."""

    seq: int
    number: str
    label: str
    scope: str
    at: str
    file: str
    sha256: str
    rows: int | None


def issued(config: Config) -> list[Issued]:
    """Every packet the register issued, newest first."""
    with Reader.open(config.store) as reader:
        found = [e for e in entries(reader) if e.action == "packet"]
    out = []
    for e in reversed(found):
        details = json.loads(e.details)
        number, label, scope = (e.subject.split(" ", 2) + ["", ""])[:3]
        out.append(
            Issued(
                e.seq,
                number,
                label,
                scope,
                f"{datetime.fromtimestamp(e.at, config.tz):%Y-%m-%d %H:%M}",
                str(details.get("file", "")),
                str(details.get("packet_sha256", "")),
                details.get("rows"),
            )
        )
    return out


def find_download(config: Config, documents: Path, seq: int) -> tuple[Issued, Path] | None:
    """The packet of register entry ``seq`` under ``documents``, only when its bytes are the ones the
    register recorded (same SHA-256); None otherwise."""
    entry = next((i for i in issued(config) if i.seq == seq), None)
    if entry is None or not entry.file or "/" in entry.file or "\\" in entry.file:
        return None
    for path in sorted(documents.rglob(entry.file)):
        if path.is_file() and _sha256(path) == entry.sha256:
            return entry, path
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fp:
        for block in iter(lambda: fp.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Verdict:
    """What ``reportgen verify`` prints for a packet: ``OK``, ``UNTRUSTED`` or ``DIFFERS``, and its lines."""

    status: str
    lines: tuple[str, ...]
    notes: tuple[str, ...]


def verify_upload(config: Config, name: str, chunks: Iterator[bytes]) -> Verdict:
    """Verify an uploaded packet with the same checks and messages as ``reportgen verify``: the
    reader's trusted keys, the store's rows when there is one.  The upload is kept in a temporary
    folder for the check and removed; nothing is written to the store."""
    with tempfile.TemporaryDirectory(prefix="reportgen-verify-") as tmp:
        base = Path(clean_text(name).replace("\\", "/")).name
        path = Path(tmp) / (base if base.endswith(".zip") and base.strip(".") else "packet.zip")
        size = 0
        with path.open("wb") as fp:
            for chunk in chunks:
                size += len(chunk)
                if size > MAX_UPLOAD:
                    return Verdict("DIFFERS", (f"the upload is over {MAX_UPLOAD // (1024 * 1024)} MB",), ())
                fp.write(chunk)
        store = config.store_dir if config.found else None  # as `reportgen verify` passes it
        result = verify_packet(path, store, trusted=reader_trust(config.signing_key))
    notes = tuple(clean_text(n) for n in result.notes)
    if not result.intact:
        return Verdict("DIFFERS", tuple(clean_text(d) for d in result.differences), notes)
    if result.untrusted:
        return Verdict("UNTRUSTED", tuple(clean_text(x) for x in untrusted_lines(result)), notes)
    return Verdict("OK", tuple(clean_text(x) for x in ok_lines(result)), notes)


def period_of(config: Config, label: str) -> Period:
    """A period named in a URL: a month, quarter or year (a closed period is a month)."""
    return parse_period(label, config.tz)
