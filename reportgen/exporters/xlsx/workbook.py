"""The workbook assembled: (a grant report's Grant sheet,) summary, finance sheets, by model, by day,
members; saved reproducibly."""

from __future__ import annotations

import itertools
from typing import IO

from ... import plugins
from ...core.columns import XLSX_BY_MODEL, XLSX_LINES
from ...core.report import Report
from ...errors import UsageError
from ...hookspecs import ExportContext
from ...render import clean_text, members
from .book import ENGINES, Book
from .detail import member_sheets
from .engine_openpyxl import OpenpyxlBook
from .engine_xlsxwriter import XlsxWriterBook
from .finance import add_finance_sheets
from .grant import grant_sheet
from .names import SheetNames
from .prices import add_price_sheet
from .sheets import Writer, day_value, local_naive, model_lines, summary_sheet, table_sheet

#: The engine a workbook is written with unless ``--option engine=`` names the other.
DEFAULT_ENGINE = "xlsxwriter"
#: The widths the Summary sheet's facts (label, value, rate) need in its first columns.
_SUMMARY_FACTS = (34, 20, 12)


def open_book(fp: IO[bytes], report: Report, ctx: ExportContext) -> Book:
    """The workbook of the engine ``--option engine=`` names: XlsxWriter by default, which writes
    the same sheets, cells, styles and charts as openpyxl ~1.7x faster (issue 27)."""
    engine = (ctx.option("engine", DEFAULT_ENGINE) or DEFAULT_ENGINE).strip().lower()
    title = clean_text(ctx.template.title_for(ctx.lang))
    local = local_naive(report.generated_at, report)
    if engine == "openpyxl":
        return OpenpyxlBook(fp, title, report.generated_at, local)
    if engine == "xlsxwriter":
        return XlsxWriterBook(fp, title, report.generated_at, local)
    raise UsageError(f"--option engine={engine}: the XLSX engines are {', '.join(ENGINES)}")


def write_workbook(report: Report, fp: IO[bytes], ctx: ExportContext) -> None:
    book = open_book(fp, report, ctx)
    w = Writer(book, report, ctx)
    names = SheetNames()
    if report.grant is not None:  # a grant report opens on the charged figures: one total
        grant_sheet(w, names)
    summary_title = names.claim(w.label("sheet_summary"), "Summary")
    model_title = names.claim(w.label("sheet_by_model"), "By model")
    day_title = names.claim(w.label("sheet_by_day"), "By day")

    registered = plugins.columns()
    lines, by_model = registered.stats(XLSX_LINES), registered.stats(XLSX_BY_MODEL)
    # The Summary's member table (name, figures, keys), widened where its facts above need more room.
    table = (34, *(c.width for c in lines), 40)
    widths = [max(a, b) for a, b in itertools.zip_longest(_SUMMARY_FACTS, table, fillvalue=0)]
    ws = book.sheet(summary_title, widths, freeze=False)
    summary_sheet(w, ws)
    ws.close()

    add_finance_sheets(w, names)  # Bridge, Projects, Reconciliation: only when the report has them

    widths = [34, *(c.width for c in by_model)]
    ws = book.sheet(model_title, widths)
    table_sheet(w, ws, "model", ((w.text(ws, m.name), m.stats) for m in model_lines(report)), by_model)
    ws.close()

    add_price_sheet(w, names)  # per model and token type: quantity × unit price = amount

    ws = book.sheet(day_title, [14, *widths[1:]])  # the By model sheet's widths: its columns line up
    day_cells = ((w.cell(ws, day_value(d.name), "rg date"), d.stats) for d in report.days)
    table_sheet(w, ws, "day", day_cells, lines)
    ws.close()

    member_sheets(w, names, [line for line in members(report) if line.stats.active])

    book.save()
