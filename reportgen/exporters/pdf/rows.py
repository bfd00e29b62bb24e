"""Amount tables drawn straight on the canvas: a name column and right-aligned figures.

reportlab's ``Table`` measures every cell through generic machinery (spans, nested
flowables, per-cell styles) and a ``Paragraph`` per name wraps through its XML parser;
a statement of 500 members × 40 models (20,000 lines) took 9 s and 225 MB that way.
These rows have fixed columns and one font, so a row's height follows from its name's
lines, text is drawn in one text object per table, and a table that does not fit splits
at any row with its header repeated.  Same look as the ``Table`` it replaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth as _string_width
from reportlab.platypus import Flowable

INK = colors.HexColor("#1F2A37")
RULE = colors.HexColor("#9AA5B1")
HEAD_BG = colors.HexColor("#E4EAF2")
SUB_BG = colors.HexColor("#F3F5F8")
MUTED = colors.HexColor("#5B6573")
_ROW_RULE = colors.HexColor("#D5DBE3")
_CAPTION_SIZE = 8.5
_PAD_X = 6.0  # reportlab's default cell padding, as the Table had
_PAD_Y = 2.5


@lru_cache(maxsize=65536)
def stringWidth(text: str, font: str, size: float) -> float:  # noqa: N802 - reportlab's name
    """reportlab's ``stringWidth``, remembered: figures and model names repeat down a statement."""
    return float(_string_width(text, font, size))


@dataclass(frozen=True, slots=True)
class Row:
    """One line of an amount table: the name's wrapped lines and the figures."""

    name: tuple[str, ...]
    figures: Sequence[str]


def wrap(text: str, font: str, size: float, width: float) -> tuple[str, ...]:
    """``text`` broken into lines no wider than ``width``: at spaces, or anywhere in CJK or a long word."""
    if stringWidth(text, font, size) <= width:
        return (text,)
    lines: list[str] = []
    line = ""
    for token in _tokens(text):
        candidate = line + token
        if stringWidth(candidate, font, size) <= width:
            line = candidate
            continue
        if line.strip():
            lines.append(line.rstrip())
        line = token.lstrip()
        while stringWidth(line, font, size) > width and len(line) > 1:  # a word wider than the column
            cut = _fit(line, font, size, width)
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return tuple(lines)


def _tokens(text: str) -> list[str]:
    """Words with their trailing space; every CJK character is a word of its own."""
    out: list[str] = []
    word = ""
    for ch in text:
        if ord(ch) >= 0x2E80:
            if word:
                out.append(word)
                word = ""
            out.append(ch)
        elif ch == " ":
            out.append(word + ch)
            word = ""
        else:
            word += ch
    if word:
        out.append(word)
    return out


def _fit(text: str, font: str, size: float, width: float) -> int:
    n = 1
    while n < len(text) and stringWidth(text[: n + 1], font, size) <= width:
        n += 1
    return n


class _Body:
    """The rows of a whole table with their heights and running totals, shared by its parts."""

    def __init__(self, rows: Sequence[Row], heights: Sequence[float]) -> None:
        self.rows = tuple(rows)
        self.heights = tuple(heights)
        self.before = [0.0]  # before[i]: the height of rows[:i]
        for h in self.heights:
            self.before.append(self.before[-1] + h)


class AmountRows(Flowable):
    """A header and rows (name + right-aligned figures), the table's last row a subtotal (unless ``subtotal`` is False).

    A table that does not fit splits at a row boundary; each further part repeats the
    header under ``caption`` (e.g. "Alice (continued)").  Parts share one row list, so
    splitting a long table costs the rows of a page, not of the table.
    """

    def __init__(
        self,
        font: str,
        head: Sequence[tuple[str, ...]],
        rows: Sequence[Row],
        widths: Sequence[float],
        *,
        caption: str | None = None,
        size: float = 9,
        subtotal: bool = True,
    ) -> None:
        super().__init__()
        self.font = font
        self.last_is_subtotal = subtotal
        self.head = tuple(head)
        self.widths = tuple(widths)
        self.caption = caption
        self.size = size
        self.leading = size * 1.2
        self._head_h = self._height(max(len(h) for h in self.head))
        self._body = _Body(rows, [self._height(len(r.name)) for r in rows])
        self._start, self._end = 0, len(rows)
        self._continued = False

    def _part(self, start: int, end: int, continued: bool) -> AmountRows:
        """Rows ``[start, end)`` of this table (a fresh flowable: no layout state carried over)."""
        part = object.__new__(AmountRows)
        Flowable.__init__(part)
        for name in (
            "font",
            "head",
            "widths",
            "caption",
            "size",
            "leading",
            "_head_h",
            "_body",
            "last_is_subtotal",
        ):
            setattr(part, name, getattr(self, name))
        part._start, part._end, part._continued = start, end, continued
        return part

    def _height(self, lines: int) -> float:
        return max(1, lines) * self.leading + 2 * _PAD_Y

    @property
    def _caption_h(self) -> float:
        return _CAPTION_SIZE * 1.35 + 2 if self._continued and self.caption else 0.0

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        body = self._body.before[self._end] - self._body.before[self._start]
        self.width = sum(self.widths)
        self.height = self._caption_h + self._head_h + body
        return self.width, self.height

    def split(self, avail_width: float, avail_height: float) -> list[Flowable]:
        room = avail_height - self._caption_h - self._head_h
        n = self._start
        heights = self._body.heights
        while n < self._end and room >= heights[n]:
            room -= heights[n]
            n += 1
        if n == self._start or n == self._end:
            return []
        return [self._part(self._start, n, self._continued), self._part(n, self._end, True)]

    def draw(self) -> None:
        c = self.canv
        width = sum(self.widths)
        lefts = [sum(self.widths[:i]) for i in range(len(self.widths))]
        rights = [lefts[i] + self.widths[i] - _PAD_X for i in range(len(self.widths))]
        rows = self._body.rows[self._start : self._end]
        heights = self._body.heights[self._start : self._end]
        subtotal = self.last_is_subtotal and self._end == len(self._body.rows) and bool(rows)
        top = self.height - self._caption_h
        # Backgrounds and rules first, then all text in one text object.
        c.saveState()
        c.setFillColor(HEAD_BG)
        c.rect(0, top - self._head_h, width, self._head_h, stroke=0, fill=1)
        if subtotal:
            c.setFillColor(SUB_BG)
            c.rect(0, 0, width, heights[-1], stroke=0, fill=1)
        c.setStrokeColor(_ROW_RULE)
        c.setLineWidth(0.25)
        rules = []
        y = top - self._head_h
        for h in heights:
            y -= h
            rules.append((0, y, width, y))
        c.lines(rules)  # one path for every row's rule
        if subtotal:
            c.setStrokeColor(INK)
            c.setLineWidth(0.8)
            c.line(0, heights[-1], width, heights[-1])
        c.setStrokeColor(RULE)
        c.setLineWidth(0.6)
        c.line(0, top - self._head_h, width, top - self._head_h)

        text = c.beginText()
        if self._caption_h:
            assert self.caption is not None
            text.setFillColor(MUTED)
            text.setFont(self.font, _CAPTION_SIZE)
            text.setTextOrigin(0, self.height - _CAPTION_SIZE - 1)
            text.textOut(self.caption)
        text.setFillColor(INK)
        text.setFont(self.font, self.size, self.leading)
        self._cells(text, top, self._head_h, self.head, lefts, rights, right_from=1)
        y = top - self._head_h
        last = len(rows) - 1
        for i, row in enumerate(rows):
            h = heights[i]
            self._cells(text, y, h, (row.name,), lefts, rights, right_from=1)
            if subtotal and i == last:
                text.setFont(self.font, self.size + 0.5, self.leading)
                self._figures(text, y, h, row.figures, rights, self.size + 0.5)
                text.setFont(self.font, self.size, self.leading)
            else:
                self._figures(text, y, h, row.figures, rights, self.size)
            y -= h
        c.drawText(text)
        c.restoreState()

    def _baseline(self, top: float, height: float, lines: int) -> float:
        """The first line's baseline, the block of lines centred vertically in the row."""
        block = lines * self.leading
        return top - (height - block) / 2 - self.size

    def _cells(
        self,
        text: Any,
        top: float,
        height: float,
        cells: Sequence[tuple[str, ...]],
        lefts: Sequence[float],
        rights: Sequence[float],
        right_from: int,
    ) -> None:
        for col, lines in enumerate(cells):
            y = self._baseline(top, height, len(lines))
            for line in lines:
                if col >= right_from:
                    x = rights[col] - stringWidth(line, self.font, self.size)
                else:
                    x = lefts[col] + _PAD_X
                text.setTextOrigin(x, y)
                text.textOut(line)
                y -= self.leading

    def _figures(
        self,
        text: Any,
        top: float,
        height: float,
        figures: Sequence[str],
        rights: Sequence[float],
        size: float,
    ) -> None:
        y = self._baseline(top, height, 1)
        for col, value in enumerate(figures, 1):
            if value:
                text.setTextOrigin(rights[col] - stringWidth(value, self.font, size), y)
                text.textOut(value)
