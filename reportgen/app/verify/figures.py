"""Does a packet agree with itself: its rows give the manifest's fingerprint, count and totals,
the CSV detail holds exactly those rows, and the workbook states those totals.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

from ... import plugins
from ...core.columns import DETAIL_CSV, XLSX_LINES, header_keys
from ...core.fingerprint import FINGERPRINT_SCHEME, ROW_FIELDS, parse_row
from ...errors import ReportgenError
from ...render import csv_text
from ...templating import load_template
from .format import MANIFEST, ROWS
from .reading import CsvLines, Limits, Verification, member_lines, stream
from .xlsxparts import oversized

# -- the packet agrees with itself ------------------------------------------------------------


@dataclass
class Derived:
    """What the rows give: fingerprint, count, totals, and a multiset hash of the detail lines."""

    count: int = 0
    fingerprint: str = ""
    totals: dict[str, Any] = field(default_factory=dict)
    detail_lines: int = 0
    detail_hash: int = 0
    #: (key, model) -> [requests, errors, prompt tokens, completion tokens, net quota, refunded
    #: quota]: what a statement's member and model lines add up from
    by_key_model: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    #: key -> net quota a subscription billed (consumption less refunds): what a wallet-paid claim leaves out
    subscription_by_key: dict[str, int] = field(default_factory=dict)


def check_rows_file(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    manifest: dict[str, Any],
    limits: Limits,
    result: Verification,
) -> Derived | None:
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
    derived = Derived()
    digests = hashlib.sha256()
    previous = b""
    for n, line in enumerate(member_lines(zf, info, limits.line), 1):
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
        if kind in (2, 5, 6):
            figures = derived.by_key_model.setdefault((token, model), [0, 0, 0, 0, 0, 0])
            if kind == 2:
                figures[0] += 1
                figures[2] += values[5]
                figures[3] += values[6]
            figures[1] += kind == 5
            figures[4] += quota if kind == 2 else -quota if kind == 6 else 0
            figures[5] += quota if kind == 6 else 0
        if kind in (2, 6) and values[12] == "subscription":
            sub = derived.subscription_by_key
            sub[token] = sub.get(token, 0) + (quota if kind == 2 else -quota)
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


#: A check of a workbook's member sheets: the first difference (None: none) and how many were checked.
SheetsCheck = Callable[[IO[bytes], dict[str, Any], Derived], tuple[str | None, int]]

#: What the detail check reads of each line, by column key.
_DETAIL_KEYS = ("time", "key", "model", "prompt_tokens", "completion_tokens", "quota", "request_id")


def wordings(manifest: dict[str, Any]) -> list[Callable[[str], str]]:
    """How the packet's documents may word a label key: its own template's wording, then the
    shipped wording in its language and in each other (a custom template verify cannot load)."""
    lang = manifest["lang"]
    templates = []
    with contextlib.suppress(ReportgenError):
        templates.append((load_template(manifest["template"], lang), lang))
    templates += [(load_template(None, other), other) for other in dict.fromkeys((lang, "en", "zh"))]
    return [functools.partial(template.label, lang=other) for template, other in templates]


def _csv_wording(wording: Callable[[str], str], key: str) -> str:
    return csv_text(wording(key))  # as the CSV writes a header cell


def read_detail(
    rows: Iterator[list[str]], manifest: dict[str, Any], need: tuple[str, ...] = _DETAIL_KEYS
) -> Iterator[dict[str, str]]:
    """The lines of a packet's CSV detail as ``{column key: text}``: the header is matched to the
    registered detail columns by its wording (never by position), and must name those of ``need``.

    Raises :class:`ValueError` for a header that does not, or a line of another length.
    """
    header = next(rows, None)
    if header is None:
        raise ValueError("it has no header")
    columns = plugins.columns().detail(DETAIL_CSV)
    keys: list[str | None] = []
    for wording in wordings(manifest):  # the wording that names the most of what is needed
        found = header_keys(header, columns, functools.partial(_csv_wording, wording))
        if sum(k in found for k in need) > sum(k in keys for k in need):
            keys = found
    missing = [k for k in need if k not in keys]
    if missing:
        raise ValueError(f"its header has no {missing[0]} column: not a reportgen CSV detail")
    for n, row in enumerate(rows, 2):
        if len(row) != len(header):
            raise ValueError(f"line {n} has {len(row)} fields, not {len(header)}")
        yield {k: text for k, text in zip(keys, row, strict=True) if k is not None}


def check_detail(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    manifest: dict[str, Any],
    derived: Derived,
    limits: Limits,
    result: Verification,
) -> None:
    """The CSV detail holds exactly the consumption and refund rows of rows.jsonl."""
    name = info.filename
    lines = 0
    total = 0
    net = 0
    try:
        for line in read_detail(CsvLines(zf, info, limits.line, "the CSV detail").rows(), manifest):
            lines += 1
            quota = int(line["quota"])
            net += quota
            total += _detail_key(
                line["time"], line["key"], line["model"], int(line["prompt_tokens"]),
                int(line["completion_tokens"]), quota, line["request_id"],
            )  # fmt: skip
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


def check_workbook(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    manifest: dict[str, Any],
    limits: Limits,
    result: Verification,
    derived: Derived | None = None,
    sheets_check: SheetsCheck | None = None,
) -> None:
    """The workbook's first total line (the Summary sheet) states the manifest's totals and, given
    what the rows give, each member line above it is the member's (and ``sheets_check`` finds
    nothing wrong with its member sheets: see :mod:`.xlsxmembers`)."""
    name = info.filename
    with tempfile.TemporaryFile() as tmp:
        for chunk in stream(zf, info):
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
                too_large = oversized(inner)  # the parts openpyxl reads whole, and the Summary
                if too_large is not None:
                    result.differ(name, too_large)
                    return
            tmp.seek(0)
            found, lines = summary_table(tmp, manifest)
            sheets: tuple[str | None, int] = (None, 0)
            if sheets_check is not None and derived is not None and manifest["members"] is not None:
                tmp.seek(0)
                sheets = sheets_check(tmp, manifest, derived)
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
    want = [t[_IN_MANIFEST.get(k, k)] for k in _TOTAL_KEYS]
    got = [found.get(k) for k in _TOTAL_KEYS]
    usd = found.get("cost_usd")
    if got != want or usd is None or abs(Decimal(str(usd)) - t["cost_usd"]) > Decimal("0.000001"):
        result.differ(
            name, f"its totals line ({', '.join(map(str, [*got, usd]))}) is not the manifest's totals"
        )
        return
    if derived is not None and manifest["members"] is not None and manifest["charged"] is None:
        wrong = _member_lines(manifest, derived, lines) or sheets[0]
        if wrong is not None:
            result.differ(name, wrong)
            return
        result.checked.append(
            f"{name}: the Summary totals are the manifest's and its member lines the rows' (as are the "
            f"total lines of its {sheets[1]} member sheet(s))"
        )
        return
    result.checked.append(f"{name}: the Summary totals are the manifest's")


#: The figures of the workbook's totals line compared with the manifest's totals (besides cost_usd).
_TOTAL_KEYS = ("requests", "errors", "prompt_tokens", "completion_tokens", "consumed_quota", "refunded_quota",
               "net_quota")  # fmt: skip
#: A figure's name in the manifest's totals where it differs from the column's key.
_IN_MANIFEST = {"net_quota": "quota"}


def summary_totals(fp: IO[bytes], manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The Summary sheet's first totals line as ``{figure key: value}``: the line headed by the
    template's "total" after a header worded as the registered figures (the member table)."""
    return summary_table(fp, manifest)[0]


def summary_table(
    fp: IO[bytes], manifest: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    """The Summary's first totals line and the member lines above it (``{name: {figure key: value}}``)."""
    worded = wordings(manifest)
    figures = plugins.columns().stats(XLSX_LINES)
    import openpyxl  # here: loading the plugins (this module's checks are registered) stays light

    wb = openpyxl.load_workbook(fp, read_only=True, data_only=True)
    try:
        keys: list[str | None] | None = None
        total = None
        lines: dict[str, dict[str, Any]] = {}
        for n, row in enumerate(wb.worksheets[0].iter_rows(values_only=True)):
            if n > 5000:
                return None, {}
            if keys is not None and row and row[0] == total:
                return {k: v for k, v in zip(keys, row[1:], strict=False) if k is not None}, lines
            if keys is not None and row and row[0] not in (None, ""):
                lines[str(row[0])] = {k: v for k, v in zip(keys, row[1:], strict=False) if k is not None}
            cells = ["" if v is None else str(v) for v in row[1:]]
            for wording in worded:
                found = header_keys(cells, figures, wording)
                if all(k in found for k in (*_TOTAL_KEYS, "cost_usd")):
                    keys, total, lines = found, wording("total"), {}
                    break
        return None, {}
    finally:
        wb.close()


def _member_lines(manifest: dict[str, Any], derived: Derived, lines: dict[str, dict[str, Any]]) -> str | None:
    """The first member line of the Summary whose figures are not the rows' (None: all are)."""
    qpu = Decimal(manifest["source"]["quota_per_unit"])
    for member in manifest["members"]:
        keys = set(member["keys"])
        mine = [0] * 6
        for (key, _), figures in derived.by_key_model.items():
            if key in keys:
                mine = [a + b for a, b in zip(mine, figures, strict=True)]
        requests, errors, prompt, completion, net, refunded = mine
        want = {"requests": requests, "errors": errors, "prompt_tokens": prompt, "completion_tokens": completion,
                "consumed_quota": net + refunded, "refunded_quota": refunded, "net_quota": net}  # fmt: skip
        got = lines.get(member["name"])
        if got is None:
            if any(want.values()):
                return f"no line of the Summary's member table for {member['name'][:60]!r}"
            continue
        usd = got.get("cost_usd")
        if any(got.get(k) != v for k, v in want.items()) or (
            usd is None or abs(Decimal(str(usd)) - Decimal(net) / qpu) > Decimal("0.000001")
        ):
            shown = ", ".join(str(got.get(k)) for k in (*_TOTAL_KEYS, "cost_usd"))
            return f"the Summary's line of {member['name'][:60]!r} ({shown}) is not what the rows give"
    return None
