"""The openpyxl engine (the default): write-only sheets, named styles, a zip with pinned dates.

openpyxl's write-only mode keeps memory flat whatever the row count.  Its own row path
assigns every value to a fresh cell and, for a value that is already a cell, catches the
``ValueError`` that raises (599k per 100k detail rows); :class:`_Sheet` instead turns
each :class:`Styled` value into one reused cell per style, as openpyxl's writer
serialises each cell before the next is made.  Zip entry dates and document properties
are pinned to ``report.generated_at`` so the same report gives the same bytes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.writer.excel import ExcelWriter

from .book import FMT_MONEY, FONT, STYLES, Style, Styled

__all__ = ["OpenpyxlBook"]


def _named(name: str, spec: Style) -> NamedStyle:
    style = NamedStyle(name=name)
    if spec.has_font:
        style.font = Font(name=FONT, bold=spec.bold or None, size=spec.size, color=spec.color)
    if spec.fill:
        style.fill = PatternFill("solid", fgColor=spec.fill)
    if spec.border_top or spec.border_bottom:
        thin = Side(style="thin")
        style.border = Border(
            top=thin if spec.border_top else Side(), bottom=thin if spec.border_bottom else Side()
        )
    if spec.wrap or spec.top or spec.indent:
        style.alignment = Alignment(
            wrap_text=spec.wrap or None, vertical="top" if spec.top else None, indent=spec.indent
        )
    if spec.number_format:
        style.number_format = spec.number_format
    return style


class _Sheet(WriteOnlyWorksheet):
    """A write-only sheet taking rows of plain and :class:`Styled` values, no exception per cell."""

    def __init__(self, parent: Workbook, title: str) -> None:
        super().__init__(parent, title)
        self._styled: dict[tuple[str | None, bool], Cell] = {}

    def _cell_for(self, style: str | None, quote: bool) -> Cell:
        cell = WriteOnlyCell(self)
        if style is not None:
            cell.style = style
        if quote:
            cell.quotePrefix = True  # Excel keeps it text even when the cell is edited
        self._styled[style, quote] = cell
        return cell

    def _values_to_row(self, values: Iterable[Any], row_idx: int) -> Iterator[Cell]:
        plain = WriteOnlyCell(self)
        for col_idx, value in enumerate(values, 1):
            if value is None:
                continue
            if type(value) is Styled:
                cell = self._styled.get((value.style, value.quote)) or self._cell_for(
                    value.style, value.quote
                )
                cell.value = value.value
                if value.text:
                    cell.data_type = "s"  # never a formula
            elif type(value) is int or type(value) is float:  # no type dispatch needed
                plain._value = value
                plain.data_type = "n"
                cell = plain
            else:
                plain.value = value
                cell = plain
            cell.column = col_idx
            cell.row = row_idx
            yield cell

    # -- the Sheet protocol ------------------------------------------------------------
    def set_filter(self, columns: int, rows: int) -> None:
        self.auto_filter.ref = f"A1:{get_column_letter(columns)}{rows}"

    def bar_chart(self, title: str, col: int, first: int, last: int, anchor: str) -> None:
        chart = BarChart()
        chart.type = "bar"
        chart.style = 10
        chart.title = title
        chart.legend = None
        chart.height = max(6.0, 0.7 * (last - first + 1) + 3)
        chart.width = 18
        chart.x_axis.scaling.orientation = "maxMin"  # first line of the table at the top
        chart.y_axis.numFmt = FMT_MONEY
        chart.y_axis.delete = False
        chart.x_axis.delete = False
        chart.add_data(Reference(self, min_col=col, min_row=first, max_row=last), titles_from_data=False)
        chart.set_categories(Reference(self, min_col=1, min_row=first, max_row=last))
        self.add_chart(chart, anchor)


class OpenpyxlBook:
    """A write-only openpyxl workbook saved to ``fp`` with pinned dates."""

    def __init__(self, fp: IO[bytes], title: str, moment: datetime, local: datetime) -> None:
        self.fp = fp
        self.wb = Workbook(write_only=True)
        for name, spec in STYLES.items():
            self.wb.add_named_style(_named(name, spec))
        props = self.wb.properties
        props.creator = "reportgen"
        props.title = title
        props.created = props.modified = moment.astimezone(UTC).replace(tzinfo=None)
        self._date_time = (local.year, local.month, local.day, local.hour, local.minute, local.second)

    def sheet(
        self, title: str, widths: Iterable[float], freeze: bool = True, after: Any | None = None
    ) -> _Sheet:
        ws = _Sheet(parent=self.wb, title=title)
        index = None if after is None else self.wb.worksheets.index(after) + 1
        self.wb._add_sheet(ws, index)  # create_sheet, with our sheet class
        for i, width in enumerate(widths, 1):
            ws.column_dimensions[get_column_letter(i)].width = width
        if freeze:
            ws.freeze_panes = "A2"
            ws.print_title_rows = "1:1"
        # Printed: landscape, as wide as the page, as many pages down as needed.
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = "9"  # A4
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        return ws

    def save(self) -> None:
        archive = _PinnedZip(self.fp, self._date_time)
        try:
            ExcelWriter(self.wb, archive).save()
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
