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

from .. import plugins
from ..core.columns import DETAIL_CSV, SUMMARY_CSV, Converter, detail_batches, fields_of, line_of
from ..core.money import fixed
from ..core.report import Report
from ..core.stats import Stats
from ..hookspecs import ExportContext, Exporter, RegisterExporter, hookimpl
from ..render import (
    LocalTimes,
    QuotientText,
    banner_lines,
    coverage_marker,
    csv_text,
    member_models,
    row_type_label,
    totals,
)


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
    """One line per consumption or refund row of the period, in time order: the registered
    detail columns the CSV shows (:data:`~reportgen.core.columns.DETAIL_CSV`).

    Reads batches of rows (only the fields the columns read; the type filter in SQL) and
    writes each batch with one ``writerows`` through the compiled line function.
    """
    columns = plugins.columns().detail(DETAIL_CSV)
    fields = fields_of(columns)
    line = line_of(columns, fields, _detail_cells(report, ctx))
    buf, out = _open(fp, ctx)
    marker = coverage_marker(report, lambda key, **values: ctx.template.text(key, ctx.lang, **values))
    header = [csv_text(ctx.label(c.label_key)) for c in columns]
    out.writerow(header if marker is None else [*header, csv_text(ctx.label("coverage"))])
    if marker is not None:  # an incomplete period: every line says so in a last column
        line = _with_cell(line, csv_text(marker))
    for batch in detail_batches(report, fields):
        out.writerows(map(line, batch))
        _flush(buf, fp)
    _flush(buf, fp)


def _with_cell(
    line: Callable[[tuple[Any, ...]], tuple[Any, ...]], cell: str
) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """The compiled line with one more cell at its end."""

    def marked(row: tuple[Any, ...]) -> tuple[Any, ...]:
        return (*line(row), cell)

    return marked


_SECONDS = QuotientText(Decimal(1000))


def _seconds_text(ms: int | None) -> str:
    return "" if ms is None else _SECONDS(ms)


def _detail_cells(report: Report, ctx: ExportContext) -> dict[str, Converter]:
    """How the CSV writes a value of each detail kind (None: as it is; csv writes None as empty)."""
    safe = _Remembered(csv_text)  # members, keys, models and clients repeat: make each one inert once
    return {
        "time": LocalTimes(report.period.tz).iso,
        "member": _MemberText(report, safe),
        "text": safe,
        "id": csv_text,
        "type": _Remembered(lambda t: csv_text(ctx.label(row_type_label(t)))),
        "int": None,
        "code": None,
        "usd": _Remembered(QuotientText(report.quota_per_unit), 20000),
        "seconds": _Remembered(_seconds_text),
    }


class _MemberText(dict[str, str]):
    """A key's member name, made inert, remembered."""

    def __init__(self, report: Report, safe: _Remembered) -> None:
        super().__init__()
        self._report = report
        self._safe = safe

    def __missing__(self, key: str) -> str:
        text = self[key] = self._safe[self._report.member_of(key)]
        return text


def _figure_text(value: int | Decimal | None) -> object:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return fixed(value)  # six places, half-up: the same money strings as summary --json
    return value


def write_summary(report: Report, fp: IO[bytes], ctx: ExportContext) -> None:
    """One line per member × model, then a totals line; empty periods say so."""
    columns = plugins.columns().stats(SUMMARY_CSV)

    def figures(stats: Stats) -> list[object]:
        return [_figure_text(c.figure(stats, report)) for c in columns]

    buf, out = _open(fp, ctx)
    for banner in banner_lines(report, lambda key, **values: ctx.template.text(key, ctx.lang, **values)):
        out.writerow([csv_text(banner)])
    out.writerow([csv_text(ctx.label(k)) for k in ("member", "model", *(c.label_key for c in columns))])
    any_line = False
    for line in member_models(report):
        any_line = True
        out.writerow([csv_text(line.name), csv_text(line.model or ""), *figures(line.stats)])
    if not any_line:
        out.writerow([csv_text(ctx.label("no_usage"))])
    out.writerow([csv_text(ctx.label("total")), "", *figures(totals(report))])
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
            prints_figures=False,
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
