"""The member sheets: every detail row of the period, one sheet per active member.

The rows are read in one time-ordered pass (:func:`~reportgen.core.columns.detail_batches`:
the fields the registered columns read, type filter in SQL) and each goes to its member's
sheet; all those sheets are open at once.  Reading the period once per member cost one
full scan each (50 members: 50 scans, 8.8 s of 141 s at 1M rows).  A write-only sheet
holds an open temporary file until it is closed, so members are taken ``OPEN_SHEETS`` at
a time: one pass per batch.  The columns, their headers, widths and total line come from
the column registry (:data:`~reportgen.core.columns.DETAIL_XLSX`).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ... import plugins
from ...core.columns import DETAIL_XLSX, Converter, DetailColumn, detail_batches, fields_of, line_of, stored
from ...core.stats import Line
from ...render import LocalTimes, row_type_label
from . import sheets
from .book import Sheet, Styled
from .names import SheetNames
from .sheets import Writer

#: Member sheets written at the same time (each holds an open file until it is closed).
OPEN_SHEETS = 200

#: What each row is sent to its member's sheet by.
_KEY = stored("token_name")
#: The style of a detail kind's cells on a total line.
_TOTAL_STYLES = {"int": "rg total int", "usd": "rg total usd6"}


class _MemberSheet:
    """One member's detail: rows appended as they stream in, on further sheets past Excel's row limit."""

    def __init__(self, w: Writer, names: SheetNames, line: Line, columns: Sequence[DetailColumn]) -> None:
        self.w = w
        self.names = names
        self.line = line
        self.columns = columns
        self.part = 1
        self.capacity = sheets.MAX_SHEET_ROWS - 2  # the header, and room for the totals row
        self.ws = self._open(names.claim(line.name, w.label("sheet_member_fallback")), None)

    def _open(self, title: str, after: Sheet | None) -> Sheet:
        ws = self.w.book.sheet(title, [c.width for c in self.columns], after=after)
        ws.append(self.w.header(ws, [c.label_key for c in self.columns]))
        self.rows = 0
        return ws

    def next_part(self) -> None:
        self._end_part()
        self.ws.close()
        self.part += 1
        title = self.names.claim(
            self.line.name, self.w.label("sheet_member_fallback"), suffix=f" ({self.part})"
        )
        self.ws = self._open(title, after=self.ws)  # right after the member's previous part

    def _end_part(self) -> None:
        self.ws.set_filter(len(self.columns), self.rows + 1)

    def close(self) -> None:
        """The totals row (the member's figure under each column that has one), then the sheet is written out."""
        self._end_part()
        w, ws = self.w, self.ws
        registered = plugins.columns()
        row: list[Any] = [w.text(ws, w.label("total"), "rg total")]
        for c in self.columns[1:]:
            figure = None if c.total is None else registered.stat(c.total).figure(self.line.stats, w.report)
            if figure is None:
                row.append(None)
            elif c.kind == "usd":
                row.append(w.money(ws, Decimal(figure), _TOTAL_STYLES[c.kind]))
            else:
                row.append(w.cell(ws, figure, _TOTAL_STYLES[c.kind]))
        ws.append(row)
        ws.close()


def member_sheets(w: Writer, names: SheetNames, lines: Sequence[Line]) -> None:
    """A sheet per member in ``lines`` (in that order), filled from time-ordered passes over the detail."""
    columns = plugins.columns().detail(DETAIL_XLSX)
    for start in range(0, len(lines), OPEN_SHEETS):
        _pass(w, names, lines[start : start + OPEN_SHEETS], columns)


def _detail_cells(w: Writer) -> dict[str, Converter]:
    """How the workbook writes a value of each detail kind (None: as it is)."""
    report = w.report
    qpu = report.quota_per_unit
    float_qpu = float(qpu) if qpu == qpu.to_integral_value() else None
    local = LocalTimes(report.period.tz).naive
    labels: dict[int, str] = {}
    texts: dict[object, Any] = {}

    def text(value: object) -> Any:  # gateway text that repeats: made safe once
        try:
            return texts[value]
        except KeyError:
            if len(texts) > 10000:
                texts.clear()
            made = texts[value] = w.text(None, value)
            return made

    def kind(t: int) -> str:
        try:
            return labels[t]
        except KeyError:
            made = labels[t] = w.label(row_type_label(t))
            return made

    def usd(quota: int) -> Styled:
        return Styled(quota / float_qpu if float_qpu is not None else float(Decimal(quota) / qpu), "rg usd6")

    return {
        "time": lambda ts: Styled(local(ts), "rg datetime"),
        "member": lambda key: text(report.member_of(key)),
        "text": text,
        "id": lambda value: w.text(None, value),
        "type": kind,
        "int": lambda n: None if n is None else Styled(n, "rg int"),
        "code": None,
        "usd": usd,
        "seconds": lambda ms: None if ms is None else ms / 1000,
    }


def _pass(w: Writer, names: SheetNames, lines: Sequence[Line], columns: Sequence[DetailColumn]) -> None:
    report = w.report
    by_member = {line.name: _MemberSheet(w, names, line, columns) for line in lines}
    sheet_of: dict[str, _MemberSheet | None] = {}
    fields = fields_of(columns)
    if _KEY.name not in {f.name for f in fields}:
        fields = (*fields, _KEY)
    key_at = [f.name for f in fields].index(_KEY.name)
    line = line_of(columns, fields, _detail_cells(w))
    for batch in detail_batches(report, fields):
        for row in batch:
            key = row[key_at]
            try:
                sheet = sheet_of[key]
            except KeyError:
                sheet = sheet_of[key] = by_member.get(report.member_of(key))
            if sheet is None:  # a member of another batch
                continue
            if sheet.rows == sheet.capacity:
                sheet.next_part()
            sheet.ws.append(line(row))
            sheet.rows += 1
    for sheet in by_member.values():
        sheet.close()
