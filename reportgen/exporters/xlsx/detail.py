"""The member sheets: every detail row of the period, one sheet per active member.

The rows are read in one time-ordered pass (``Report.detail``: plain tuples, type filter
and sign in SQL) and each goes to its member's sheet; all those sheets are open at once.
Reading the period once per member cost one full scan each (50 members: 50 scans, 8.8 s
of 141 s at 1M rows).  A write-only sheet holds an open temporary file until it is
closed, so members are taken ``OPEN_SHEETS`` at a time: one pass per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from ...core.records import LogType
from ...core.stats import Line
from ...render import DETAIL_COLUMNS, LocalTimes, row_type_label
from . import sheets
from .book import Sheet, Styled
from .names import SheetNames
from .sheets import Writer

#: Member sheets written at the same time (each holds an open file until it is closed).
OPEN_SHEETS = 200

_DETAIL_KEYS = tuple(c for c in DETAIL_COLUMNS if c != "member")  # the sheet is the member
_DETAIL_WIDTHS = (20, 22, 22, 10, 13, 13, 12, 13, 11, 22, 24, 11)


class _MemberSheet:
    """One member's detail: rows appended as they stream in, on further sheets past Excel's row limit."""

    def __init__(self, w: Writer, names: SheetNames, line: Line) -> None:
        self.w = w
        self.names = names
        self.line = line
        self.part = 1
        self.capacity = sheets.MAX_SHEET_ROWS - 2  # the header, and room for the totals row
        self.ws = self._open(names.claim(line.name, w.label("sheet_member_fallback")), None)

    def _open(self, title: str, after: Sheet | None) -> Sheet:
        ws = self.w.book.sheet(title, _DETAIL_WIDTHS, after=after)
        ws.append(self.w.header(ws, _DETAIL_KEYS))
        self.rows = 0
        return ws

    def _next_part(self) -> None:
        self._end_part()
        self.ws.close()
        self.part += 1
        title = self.names.claim(
            self.line.name, self.w.label("sheet_member_fallback"), suffix=f" ({self.part})"
        )
        self.ws = self._open(title, after=self.ws)  # right after the member's previous part

    def _end_part(self) -> None:
        self.ws.set_filter(len(_DETAIL_KEYS), self.rows + 1)

    def close(self) -> None:
        """The totals row, then the sheet is written out."""
        self._end_part()
        w, ws, s = self.w, self.ws, self.line.stats
        ws.append(
            [
                w.text(ws, w.label("total"), "rg total"),
                None,
                None,
                None,
                w.cell(ws, s.prompt_tokens, "rg total int"),
                w.cell(ws, s.completion_tokens, "rg total int"),
                w.cell(ws, s.quota, "rg total int"),
                w.money(ws, s.cost_usd, "rg total usd6"),
            ]
        )
        ws.close()


def member_sheets(w: Writer, names: SheetNames, lines: Sequence[Line]) -> None:
    """A sheet per member in ``lines`` (in that order), filled from time-ordered passes over the detail."""
    for start in range(0, len(lines), OPEN_SHEETS):
        _pass(w, names, lines[start : start + OPEN_SHEETS])


def _pass(w: Writer, names: SheetNames, lines: Sequence[Line]) -> None:
    report = w.report
    by_member = {line.name: _MemberSheet(w, names, line) for line in lines}
    sheet_of: dict[str, _MemberSheet | None] = {}
    qpu = report.quota_per_unit
    float_qpu = float(qpu) if qpu == qpu.to_integral_value() else None
    kinds: dict[int, str] = {int(t): w.label(row_type_label(t)) for t in (LogType.CONSUME, LogType.REFUND)}
    local = LocalTimes(report.period.tz).naive
    text = w.text
    # Reused values: each appended row is written at once, so one styled value per column
    # serves every row (a styled cell made per value cost openpyxl ~40 %).
    cells = [Styled(0, s) for s in ("rg datetime", "rg int", "rg int", "rg int", "rg usd6")]
    t_cell, p_cell, o_cell, q_cell, c_cell = cells
    for ts, key, model, kind, prompt, completion, quota, ms, client, rid, status in report.detail():
        try:
            sheet = sheet_of[key]
        except KeyError:
            sheet = sheet_of[key] = by_member.get(report.member_of(key))
        if sheet is None:  # a member of another batch
            continue
        if sheet.rows == sheet.capacity:
            sheet._next_part()
        ws = sheet.ws
        t_cell.value = local(ts)
        p_cell.value = prompt
        o_cell.value = completion
        q_cell.value = quota
        c_cell.value = quota / float_qpu if float_qpu is not None else float(Decimal(quota) / qpu)
        ws.append(
            (
                t_cell,
                text(ws, key),
                text(ws, model),
                kinds.get(kind) or w.label(row_type_label(kind)),
                p_cell,
                o_cell,
                q_cell,
                c_cell,
                None if ms is None else ms / 1000,
                text(ws, client),
                text(ws, rid),
                status,
            )
        )
        sheet.rows += 1
    for sheet in by_member.values():
        sheet.close()
