"""The workbook assembled: summary, finance sheets, by model, by day, members; saved reproducibly."""

from __future__ import annotations

import importlib
from typing import IO

from ...core.report import Report
from ...errors import UsageError
from ...hookspecs import ExportContext
from ...render import clean_text, members
from .book import ENGINES, Book
from .detail import member_sheets
from .engine_openpyxl import OpenpyxlBook
from .finance import add_finance_sheets
from .names import SheetNames
from .sheets import Writer, day_value, local_naive, model_lines, summary_sheet, table_sheet


def open_book(fp: IO[bytes], report: Report, ctx: ExportContext) -> Book:
    """The workbook of the engine ``--option engine=`` names (openpyxl by default)."""
    engine = (ctx.option("engine", "openpyxl") or "openpyxl").strip().lower()
    title = clean_text(ctx.template.title_for(ctx.lang))
    local = local_naive(report.generated_at, report)
    if engine == "openpyxl":
        return OpenpyxlBook(fp, title, report.generated_at, local)
    if engine == "xlsxwriter":
        try:  # an optional extra, imported by name as reportgen.sources.drivers imports drivers
            module = importlib.import_module(f"{__package__}.engine_xlsxwriter")
        except ImportError:
            raise UsageError(
                "--option engine=xlsxwriter needs XlsxWriter: pip install 'llm-gateway-reportgen[xlsxwriter]'"
            ) from None
        book: Book = module.XlsxWriterBook(fp, title, report.generated_at, local)
        return book
    raise UsageError(f"--option engine={engine}: the XLSX engines are {', '.join(ENGINES)}")


def write_workbook(report: Report, fp: IO[bytes], ctx: ExportContext) -> None:
    book = open_book(fp, report, ctx)
    w = Writer(book, report, ctx)
    names = SheetNames()
    summary_title = names.claim(w.label("sheet_summary"), "Summary")
    model_title = names.claim(w.label("sheet_by_model"), "By model")
    day_title = names.claim(w.label("sheet_by_day"), "By day")

    ws = book.sheet(summary_title, (34, 20, 12, 14, 14, 16, 16, 16, 14, 14, 40), freeze=False)
    summary_sheet(w, ws)
    ws.close()

    add_finance_sheets(w, names)  # Grant, Projects, Reconciliation: only when the report has them

    widths = (34, 12, 10, 14, 14, 16, 16, 16, 14, 14, 16, 16, 13)
    ws = book.sheet(model_title, widths)
    table_sheet(w, ws, "model", ((w.text(ws, m.name), m.stats) for m in model_lines(report)), extra=True)
    ws.close()

    ws = book.sheet(day_title, (14, *widths[1:]))
    day_cells = ((w.cell(ws, day_value(d.name), "rg date"), d.stats) for d in report.days)
    table_sheet(w, ws, "day", day_cells, extra=False)
    ws.close()

    member_sheets(w, names, [line for line in members(report) if line.stats.active])

    book.save()
