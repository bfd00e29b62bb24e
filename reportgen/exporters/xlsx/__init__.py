"""XLSX workbook: a summary with charts, by model, by day, one sheet per member, and the
finance sheets (grant, projects, reconciliation) when the report has them.

:mod:`.sheets` writes the summary and table sheets, :mod:`.detail` the member sheets,
:mod:`.finance` the finance sheets and :mod:`.workbook` assembles them; this module
registers the exporter.
"""

from __future__ import annotations

from typing import IO

from ...core.report import Report
from ...hookspecs import ExportContext, Exporter, RegisterExporter, hookimpl
from .names import SheetNames

__all__ = ["SheetNames", "register_exporters", "write_xlsx"]


def write_xlsx(report: Report, fp: IO[bytes], ctx: ExportContext) -> None:
    """The workbook of ``report``; openpyxl is imported only when a workbook is written.

    Loading the plugins imports every exporter: importing openpyxl there cost every CSV
    and PDF run ~19 MB of peak memory (one of the layer test's LAZY imports).
    """
    from . import workbook

    workbook.write_workbook(report, fp, ctx)


@hookimpl
def register_exporters(register: RegisterExporter) -> None:
    register(
        Exporter(
            name="xlsx",
            extension="xlsx",
            description="Excel workbook: summary with charts, one sheet per member, by model, by day "
            "(option engine=xlsxwriter|openpyxl)",
            write=write_xlsx,
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            options=("engine",),
        )
    )
