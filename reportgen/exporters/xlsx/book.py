"""What the workbook's sheets are written through, whichever library writes the file.

The sheet code (:mod:`.sheets`, :mod:`.detail`, :mod:`.finance`) appends rows of plain
values (str, int, float, date, datetime, None) and :class:`Styled` values to a
:class:`Sheet` that a :class:`Book` makes.  Two engines implement them: XlsxWriter
(:mod:`.engine_xlsxwriter`, the default: about twice as fast on detail rows) and openpyxl
(:mod:`.engine_openpyxl`).  Styles are named here once, in terms both engines translate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

ENGINES = ("xlsxwriter", "openpyxl")
FONT = "Calibri"  # the workbook default; a style without a font name falls back to a serif in LibreOffice


@dataclass(slots=True)
class Styled:
    """A value with a named style; ``text`` forces a string cell, ``quote`` adds Excel's quote prefix."""

    value: Any
    style: str | None
    text: bool = False
    quote: bool = False


@dataclass(frozen=True)
class Style:
    """A named cell style in both engines' terms (colours as RRGGBB)."""

    bold: bool = False
    size: float | None = None
    color: str | None = None
    fill: str | None = None
    border_top: bool = False
    border_bottom: bool = False
    wrap: bool = False
    top: bool = False  # vertical alignment
    indent: int = 0
    number_format: str | None = None

    @property
    def has_font(self) -> bool:
        return self.bold or self.size is not None or self.color is not None


FMT_INT = "#,##0"
FMT_USD_ROW = "0.000000"
FMT_MONEY = "#,##0.00"
_RED = "FFC7CE"
_DARK_RED = "9C0006"

STYLES: dict[str, Style] = {
    "rg title": Style(bold=True, size=14),
    "rg heading": Style(bold=True, size=12),
    "rg label": Style(bold=True),
    "rg header": Style(bold=True, fill="DDE4EE", border_bottom=True, wrap=True, top=True),
    "rg int": Style(number_format=FMT_INT),
    "rg indent": Style(indent=1),  # text right after a number column
    "rg usd6": Style(number_format=FMT_USD_ROW),
    "rg money": Style(number_format=FMT_MONEY),
    "rg rate": Style(number_format="0.0000"),
    "rg price": Style(number_format="0.00######"),
    "rg pct": Style(number_format="0.0%"),
    "rg datetime": Style(number_format="yyyy-mm-dd hh:mm:ss"),
    "rg date": Style(number_format="yyyy-mm-dd"),
    "rg seconds": Style(number_format="0.000"),
    "rg total": Style(bold=True, border_top=True),
    "rg total int": Style(bold=True, border_top=True, number_format=FMT_INT),
    "rg total usd6": Style(bold=True, border_top=True, number_format=FMT_USD_ROW),
    "rg total money": Style(bold=True, border_top=True, number_format=FMT_MONEY),
    # Finance sheets: over-budget projects and unexplained reconciliation lines.
    "rg alert": Style(bold=True, color=_DARK_RED, fill=_RED),
    "rg alert money": Style(color=_DARK_RED, fill=_RED, number_format=FMT_MONEY),
    "rg alert pct": Style(color=_DARK_RED, fill=_RED, number_format="0.0%"),
    "rg alert date": Style(color=_DARK_RED, fill=_RED, number_format="yyyy-mm-dd"),
    "rg alert int": Style(color=_DARK_RED, fill=_RED, number_format=FMT_INT),
}


class Sheet(Protocol):
    """A sheet being written: rows in order, then closed."""

    title: str

    def append(self, values: Sequence[Any]) -> None:
        """The next row: None (empty), plain values or :class:`Styled`."""

    def set_filter(self, columns: int, rows: int) -> None:
        """An auto-filter over the first ``columns`` columns and ``rows`` rows (the header included)."""

    def bar_chart(self, title: str, col: int, first: int, last: int, anchor: str) -> None:
        """A horizontal bar chart of column ``col`` (1-based) over rows ``first..last``, named by column A."""

    def close(self) -> None: ...


class Book(Protocol):
    """A workbook being written to a binary stream."""

    def sheet(
        self, title: str, widths: Iterable[float], freeze: bool = True, after: Sheet | None = None
    ) -> Sheet:
        """A new sheet at the end, or right after ``after``; printed landscape, A4, one page wide."""

    def save(self) -> None: ...
