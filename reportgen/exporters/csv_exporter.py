"""CSV: the detail file (one line per consumption or refund row) and the member × model summary.

UTF-8 with a BOM by default, because Excel on Chinese Windows reads BOM-less UTF-8 as GBK
(``--option bom=false`` turns it off).  Text fields from the gateway are made inert
(OWASP CSV injection); numbers are written as numbers, refunds negative.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable
from decimal import Decimal
from typing import IO, Any

from ..core.money import fixed
from ..core.report import Report
from ..core.stats import Stats
from ..hookspecs import ExportContext, Exporter, RegisterExporter, hookimpl
from ..render import (
    DETAIL_COLUMNS,
    STATS_COLUMNS,
    LocalTimes,
    QuotientText,
    banner_lines,
    csv_text,
    member_models,
    row_type_label,
    totals,
)

SUMMARY_COLUMNS = ("member", "model", *STATS_COLUMNS)
_FLUSH_EVERY = 2000


def _open(fp: IO[bytes], ctx: ExportContext) -> tuple[io.StringIO, Any]:
    if ctx.flag("bom", True):
        fp.write(codecs.BOM_UTF8)
    buf = io.StringIO()
    return buf, csv.writer(buf, lineterminator="\r\n")


def _flush(buf: io.StringIO, fp: IO[bytes]) -> None:
    fp.write(buf.getvalue().encode("utf-8"))
    buf.seek(0)
    buf.truncate()


class _Remembered(dict[Any, str]):
    """``text(value)``, remembered: names, amounts and latencies repeat across a month's rows."""

    def __init__(self, text: Callable[[Any], str], limit: int = 10000) -> None:
        super().__init__()
        self._text = text
        self._limit = limit

    def __missing__(self, value: Any) -> str:
        if len(self) > self._limit:  # only if nearly every row has a new value
            self.clear()
        text = self[value] = self._text(value)
        return text


def write_detail(report: Report, fp: IO[bytes], ctx: ExportContext) -> None:
    """One line per consumption or refund row of the period, in time order.

    Streams :meth:`Report.detail` tuples (from the store: only the needed columns, type
    filter and sign in SQL); :func:`write_detail_records` writes the same bytes from
    :meth:`Report.rows`, the record path plugins use.
    """
    buf, out = _open(fp, ctx)
    out.writerow([csv_text(ctx.label(c)) for c in DETAIL_COLUMNS])
    usd = _Remembered(QuotientText(report.quota_per_unit), 20000)
    seconds = _Remembered(QuotientText(Decimal(1000)))
    kinds = {t: csv_text(ctx.label(row_type_label(t))) for t in (2, 6)}
    safe = _Remembered(csv_text)  # members, keys, models and clients repeat: make each one inert once
    member_text = _MemberText(report, safe)
    iso = LocalTimes(report.period.tz).iso
    writerow = out.writerow
    for n, (ts, key, model, kind, prompt, completion, quota, ms, client, rid, status) in enumerate(
        report.detail(), 1
    ):
        writerow(
            (
                iso(ts),
                member_text[key],
                safe[key],
                safe[model],
                kinds[kind],
                prompt,
                completion,
                quota,
                usd[quota],
                "" if ms is None else seconds[ms],
                safe[client],
                csv_text(rid),
                "" if status is None else status,
            )
        )
        if n % _FLUSH_EVERY == 0:
            _flush(buf, fp)
    _flush(buf, fp)


class _MemberText(dict[str, str]):
    """A key's member name, made inert, remembered."""

    def __init__(self, report: Report, safe: _Remembered) -> None:
        super().__init__()
        self._report = report
        self._safe = safe

    def __missing__(self, key: str) -> str:
        text = self[key] = self._safe[self._report.member_of(key)]
        return text


def write_detail_records(report: Report, fp: IO[bytes], ctx: ExportContext) -> None:
    """:func:`write_detail` through :meth:`Report.rows` (record objects): the same bytes, slower."""
    buf, out = _open(fp, ctx)
    out.writerow([csv_text(ctx.label(c)) for c in DETAIL_COLUMNS])
    usd = QuotientText(report.quota_per_unit)
    seconds = QuotientText(Decimal(1000))
    kinds = {t: csv_text(ctx.label(row_type_label(t))) for t in (2, 6)}
    safe = _Remembered(csv_text)
    for n, row in enumerate(report.rows(), 1):
        r = row.record
        quota = row.signed_quota
        out.writerow(
            (
                row.local_time.isoformat(),
                safe[row.member],
                safe[r.token_name],
                safe[r.model_name],
                kinds.get(r.type) or csv_text(ctx.label(row_type_label(r.type))),
                r.prompt_tokens,
                r.completion_tokens,
                quota,
                usd(quota),
                "" if r.use_time_ms is None else seconds(r.use_time_ms),
                safe[r.client],
                csv_text(r.request_id),
                "" if r.http_status is None else r.http_status,
            )
        )
        if n % _FLUSH_EVERY == 0:
            _flush(buf, fp)
    _flush(buf, fp)


def _stats_cells(stats: Stats, report: Report) -> list[object]:
    cny = report.cny_of(stats)  # each source's part at its own rate when they differ
    return [
        stats.requests,
        stats.errors,
        stats.prompt_tokens,
        stats.completion_tokens,
        stats.consumed_quota,
        stats.refunded_quota,
        stats.quota,
        fixed(stats.cost_usd),  # six places, half-up: the same money strings as summary --json
        "" if cny is None else fixed(cny),
    ]


def write_summary(report: Report, fp: IO[bytes], ctx: ExportContext) -> None:
    """One line per member × model, then a totals line; empty periods say so."""
    buf, out = _open(fp, ctx)
    for banner in banner_lines(report, lambda key, **values: ctx.template.text(key, ctx.lang, **values)):
        out.writerow([csv_text(banner)])
    out.writerow([csv_text(ctx.label(c)) for c in SUMMARY_COLUMNS])
    any_line = False
    for line in member_models(report):
        any_line = True
        out.writerow([csv_text(line.name), csv_text(line.model or ""), *_stats_cells(line.stats, report)])
    if not any_line:
        out.writerow([csv_text(ctx.label("no_usage"))])
    out.writerow([csv_text(ctx.label("total")), "", *_stats_cells(totals(report), report)])
    _flush(buf, fp)


@hookimpl
def register_exporters(register: RegisterExporter) -> None:
    register(
        Exporter(
            name="csv",
            extension="csv",
            description="Detail CSV: one line per consumption or refund row (UTF-8 BOM; option bom=false)",
            write=write_detail,
            media_type="text/csv",
            options=("bom",),
            prints_fingerprint=False,
        )
    )
    register(
        Exporter(
            name="csv-summary",
            extension="csv",
            suffix="-summary",
            description="Summary CSV: one line per member and model, with a totals line",
            write=write_summary,
            media_type="text/csv",
            options=("bom",),
            prints_fingerprint=False,
        )
    )
