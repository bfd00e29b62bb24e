"""The workbook assembled: summary, finance sheets, by model, by day, members; saved reproducibly."""

from __future__ import annotations

import contextlib
import os
import shutil
from datetime import UTC
from typing import IO, Any
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter

from ...core.models import Report
from ...hookspecs import ExportContext
from .._cells import clean_text, members
from .detail import member_sheets
from .finance import add_finance_sheets
from .names import SheetNames
from .sheets import (
    _add_styles,
    _day,
    _local_naive,
    _models,
    _sheet,
    _summary,
    _table_sheet,
    _Writer,
)


def write_workbook(report: Report, fp: IO[bytes], ctx: ExportContext) -> None:
    wb = Workbook(write_only=True)
    _add_styles(wb)
    w = _Writer(wb, report, ctx)
    names = SheetNames()
    summary_title = names.claim(w.label("sheet_summary"), "Summary")
    model_title = names.claim(w.label("sheet_by_model"), "By model")
    day_title = names.claim(w.label("sheet_by_day"), "By day")

    ws = _sheet(wb, summary_title, (34, 20, 12, 14, 14, 16, 16, 16, 14, 14, 40), freeze=False)
    _summary(w, ws)
    ws.close()

    add_finance_sheets(w, names)  # Grant, Projects, Reconciliation: only when the report has them

    widths = (34, 12, 10, 14, 14, 16, 16, 16, 14, 14, 16, 16, 13)
    ws = _sheet(wb, model_title, widths)
    _table_sheet(w, ws, "model", ((w.text(ws, m.name), m.stats) for m in _models(report)), extra=True)
    ws.close()

    ws = _sheet(wb, day_title, (14, *widths[1:]))
    day_cells = ((w.cell(ws, _day(d.name), "rg date"), d.stats) for d in report.days)
    _table_sheet(w, ws, "day", day_cells, extra=False)
    ws.close()

    member_sheets(w, names, [line for line in members(report) if line.stats.active])

    _save(wb, fp, report, ctx)


def _save(wb: Workbook, fp: IO[bytes], report: Report, ctx: ExportContext) -> None:
    moment = report.generated_at.astimezone(UTC).replace(tzinfo=None)
    props = wb.properties
    props.creator = "reportgen"
    props.title = clean_text(ctx.template.title_for(ctx.lang))
    props.created = props.modified = moment
    local = _local_naive(report.generated_at, report)
    archive = _PinnedZip(fp, (local.year, local.month, local.day, local.hour, local.minute, local.second))
    try:
        ExcelWriter(wb, archive).save()
    except BaseException:
        # a full disk mid-save: close the half-written archive now, not in a finaliser later
        with contextlib.suppress(Exception):
            archive.close()
        raise


class _PinnedZip(ZipFile):
    """A zip whose entries all carry one fixed date, so equal content gives equal bytes."""

    def __init__(self, fp: IO[bytes], date_time: tuple[int, int, int, int, int, int]) -> None:
        super().__init__(fp, "w", ZIP_DEFLATED, allowZip64=True)
        self._date_time = max(date_time, (1980, 1, 1, 0, 0, 0))

    def _info(self, name: str, size: int = 0) -> ZipInfo:
        info = ZipInfo(name, date_time=self._date_time)
        info.compress_type = ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        info.file_size = size
        return info

    def writestr(self, zinfo_or_arcname: Any, data: Any, *args: Any, **kwargs: Any) -> None:
        if not isinstance(zinfo_or_arcname, ZipInfo):
            zinfo_or_arcname = self._info(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, *args, **kwargs)

    def write(self, filename: Any, arcname: Any = None, *args: Any, **kwargs: Any) -> None:
        info = self._info(arcname or os.path.basename(filename), os.path.getsize(filename))
        with open(filename, "rb") as src, self.open(info, "w") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
