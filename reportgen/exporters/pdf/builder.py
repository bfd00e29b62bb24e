"""PDF statement: an invoice-style summary per member and model that a finance office files.

Only aggregates are drawn, so it is fast whatever the row count.  Amounts follow the one
money policy (:mod:`reportgen.core.money`): each is its exact amount rounded half-up to
the cent, and where printed lines do not add up to a printed total the difference is a
rounding row (:func:`statement_amounts`).  Text uses an embedded subset of
a CJK TrueType font, so Chinese renders everywhere and extracts as text.  The PDF's
dates come from ``report.generated_at`` and reportlab runs in invariant mode, so the
same report gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Image,
    KeepTogether,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from ...core.money import cents_text
from ...core.report import Report
from ...core.stats import Line
from ...hookspecs import ExportContext
from ...render import (
    banner_lines,
    clean_text,
    day_text,
    period_in_zone_text,
    shorten,
    totals,
)
from ...render.fonts import cjk_font, printable
from ...render.statement import StatementAmounts, audit_head_text, document_number, figures_text, notes_texts
from .rows import AmountRows, Row, wrap

#: A name longer than this is cut with an ellipsis in the PDF (a table cell cannot split
#: across pages); the CSV detail carries it in full.
NAME_LIMIT = 120
KEEP_WITH_HEADING = 40 * mm  # a member's heading starts a page unless this much room is left
PAGE = A4
MARGIN = 18 * mm
WIDTH = PAGE[0] - 2 * MARGIN
_INK = colors.HexColor("#1F2A37")
_MUTED = colors.HexColor("#5B6573")
_RULE = colors.HexColor("#9AA5B1")
_HEAD_BG = colors.HexColor("#E4EAF2")
_SUB_BG = colors.HexColor("#F3F5F8")


def _int(value: int) -> str:
    return f"{value:,}"


class _Styles:
    def __init__(self, font: str) -> None:
        def style(name: str, size: float, **kw: Any) -> ParagraphStyle:
            kw.setdefault("textColor", _INK)
            return ParagraphStyle(name, fontName=font, fontSize=size, leading=size * 1.35, **kw)

        self.font = font
        self.org = style("org", 13)
        self.small = style("small", 8.5, textColor=_MUTED)
        self.title = style("title", 18, alignment=TA_CENTER, spaceBefore=4, spaceAfter=8)
        self.body = style("body", 9.5)
        self.cell = style("cell", 9)
        self.banner = style(
            "banner",
            10,
            textColor=colors.HexColor("#9B1C1C"),
            borderPadding=3,
            spaceBefore=3,
            spaceAfter=8,
            borderColor=colors.HexColor("#9B1C1C"),
            borderWidth=0.8,
        )
        self.cell_right = style("cellr", 9, alignment=TA_RIGHT)
        self.h2 = style("h2", 11.5, spaceBefore=8, spaceAfter=2)
        self.big = style("big", 12)
        self.note = style("note", 8.5, leftIndent=10, firstLineIndent=-10)
        self.claim_label = style("claim_label", 9.5, alignment=TA_CENTER)
        self.claim_value = style("claim_value", 10)
        self.claim_amount = style("claim_amount", 11.5)


class Builder:
    def __init__(self, report: Report, ctx: ExportContext) -> None:
        self.report = report
        self.ctx = ctx
        self.t = ctx.template
        self.font = cjk_font()
        self.s = _Styles(self.font)
        self.number = document_number(report) or self.lab("draft_unnumbered")
        self._lines: dict[tuple[str, float, float], tuple[str, ...]] = {}

    def lab(self, key: str, **values: object) -> str:
        return self.t.text(key, self.ctx.lang, **values) if values else self.ctx.label(key)

    def para(self, text: str, style: ParagraphStyle) -> Paragraph:
        """A paragraph of plain (untrusted) text: escaped, unprintable glyphs replaced."""
        lines = (printable(clean_text(part), self.font) for part in text.split("\n"))
        return Paragraph("<br/>".join(escape(line) for line in lines), style)

    # -- blocks -------------------------------------------------------------------------
    def letterhead(self) -> list[Flowable]:
        lang = self.ctx.lang
        field = self.t.letterhead_field
        left: list[Flowable] = []
        org = field("organisation", lang)
        if org:
            left.append(self.para(org, self.s.org))
        for name in ("address", "contact"):
            if field(name, lang):
                left.append(self.para(field(name, lang), self.s.small))
        if field("tax_id", lang):
            left.append(self.para(f"{self.lab('tax_id')}: {field('tax_id', lang)}", self.s.small))
        right: Any = ""
        if self.t.logo is not None:
            right = Image(str(self.t.logo), width=45 * mm, height=18 * mm, kind="proportional")
        if not left and not right:
            return []
        table = Table([[left, right]], colWidths=[WIDTH - 50 * mm, 50 * mm])
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("ALIGN", (1, 0), (1, 0), "RIGHT"),
                    ("LINEBELOW", (0, 0), (-1, 0), 0.8, _RULE),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                ]
            )
        )
        return [table, Spacer(1, 4 * mm)]

    def facts_table(self, rows: Sequence[tuple[str, str]]) -> Table:
        """Label / value pairs in two borderless columns (document number, dates, period)."""
        data = [[self.para(k, self.s.small), self.para(v, self.s.body)] for k, v in rows]
        table = Table(data, colWidths=[35 * mm, WIDTH - 35 * mm])
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("TOPPADDING", (0, 0), (-1, -1), 1),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                ]
            )
        )
        return table

    def banner(self) -> list[Flowable]:
        """INCOMPLETE and frozen/live lines, above the figures, in the document's language."""
        lines = banner_lines(self.report, self.lab)
        incomplete = not self.report.coverage.complete
        out: list[Flowable] = []
        for i, line in enumerate(lines):
            out.append(self.para(line, self.s.banner if incomplete and i == 0 else self.s.small))
        return [*out, Spacer(1, 2 * mm)] if out else []

    def facts(self) -> list[Flowable]:
        r = self.report
        p = r.period
        rows = [
            (self.lab("document_number"), self.number),
            (self.lab("issue_date"), day_text(r.generated_at.astimezone(p.tz).date(), self.ctx.lang)),
            (self.lab("period"), period_in_zone_text(p, self.ctx.lang)),
        ]
        if r.member_filter is not None:
            rows.append((self.lab("member"), r.member_filter))
        rows.append((self.lab("quota_per_unit"), _int(int(r.quota_per_unit))))
        rows += self.signing_facts()
        table = self.facts_table(rows)
        return [table, Spacer(1, 4 * mm)]

    def signing_facts(self) -> list[tuple[str, str]]:
        """The signing key's fingerprint (a signed packet's) and the audit log's head at issue."""
        st = self.report.statement
        head = audit_head_text(self.report)
        out = [] if head is None else [(self.lab("audit_head"), head)]
        if st is None or st.signer_key is None:
            return out
        return [(self.lab("signing_key"), " ".join(st.signer_key[i : i + 8] for i in range(0, 64, 8))), *out]

    def amount_table(
        self,
        first_header: str,
        rows: Sequence[tuple[str, Sequence[str]]],
        subtotal: tuple[str, Sequence[str]],
        caption: str | None = None,
    ) -> AmountRows:
        """A table of name + figures, subtotal last; past a page it goes on under ``caption``."""
        header = [first_header, self.lab("requests"), self.lab("prompt_tokens")]
        header += [self.lab("completion_tokens"), self.lab("amount_usd")]
        widths = [WIDTH - 4 * 27 * mm, 27 * mm, 27 * mm, 27 * mm, 27 * mm]
        room = [w - 12 for w in widths]  # inside the cell padding
        head = [self.lines(h, room[i]) for i, h in enumerate(header)]
        body = [Row(self.lines(shorten(name, NAME_LIMIT), room[0]), figures) for name, figures in rows]
        body.append(Row(self.lines(subtotal[0], room[0]), subtotal[1]))
        return AmountRows(self.font, head, body, widths, caption=caption and self.lines(caption, WIDTH)[0])

    def lines(self, text: str, width: float, size: float = 9) -> tuple[str, ...]:
        """Untrusted text made printable and wrapped to ``width`` (one entry per line)."""
        key = (text, width, size)
        found = self._lines.get(key)
        if found is None:  # model names repeat under every member: wrap each once
            out: list[str] = []
            for part in text.split("\n"):
                out += wrap(printable(clean_text(part), self.font), self.font, size, width)
            found = self._lines[key] = tuple(out)
        return found

    def member_blocks(self, amounts: StatementAmounts) -> list[Flowable]:
        out: list[Flowable] = []
        lab = self.lab
        if not self.t.section("show_models_table"):
            rows = [(a.line.name, self._figures(a.line, a.cents)) for a in amounts.members]
            if amounts.rounding_cents:
                rows.append((lab("rounding"), ["", "", "", cents_text(amounts.rounding_cents)]))
            total = (lab("total"), self._figures_stats(totals(self.report), amounts.grand_cents))
            return [self.amount_table(lab("member"), rows, total)]
        for a in amounts.members:
            heading = [self.para(shorten(a.line.name, NAME_LIMIT), self.s.h2)]
            if a.line.keys and a.line.keys != (a.line.name,):
                heading.append(
                    self.para(
                        lab("member_keys", keys=", ".join(shorten(k, NAME_LIMIT) for k in a.line.keys)),
                        self.s.small,
                    )
                )
            rows = [(line.model or "", self._figures(line, c)) for line, c in a.lines]
            if a.rounding_cents:
                rows.append((lab("rounding"), ["", "", "", cents_text(a.rounding_cents)]))
            sub = (lab("subtotal"), self._figures(a.line, a.cents))
            continued = lab("continued", name=shorten(a.line.name, NAME_LIMIT))
            # The heading stays with the header and a few rows; the rest flows on, page by page.
            out += [CondPageBreak(KEEP_WITH_HEADING), *heading, Spacer(1, 1.5 * mm)]
            out.append(self.amount_table(lab("model"), rows, sub, continued))
        return out

    def _figures(self, line: Line, value_cents: int) -> list[str]:
        return self._figures_stats(line.stats, value_cents)

    def _figures_stats(self, s: Any, value_cents: int) -> list[str]:
        return figures_text(s, value_cents)

    def notes(self) -> list[Flowable]:
        items = notes_texts(self.report, self.lab)
        out: list[Flowable] = [Spacer(1, 4 * mm), self.para(self.lab("notes"), self.s.h2)]
        out += [self.para(f"{i}. {text}", self.s.note) for i, text in enumerate(items, 1)]
        return out

    def signature(self) -> list[Flowable]:
        line = "_" * 22
        cells = [
            [
                self.para(f"{self.lab(k)}:", self.s.body)
                for k in ("prepared_by", "approved_by", "signature_date")
            ],
            [line, line, line],
        ]
        table = Table(cells, colWidths=[WIDTH / 3] * 3, rowHeights=[None, 12 * mm])
        table.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), self.font, 10),
                    ("TEXTCOLOR", (0, 0), (-1, -1), _MUTED),
                    ("VALIGN", (0, 1), (-1, 1), "BOTTOM"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ]
            )
        )
        return [Spacer(1, 10 * mm), KeepTogether([table])]

    def footer(self, canvas: Canvas, page: int, pages: int) -> None:
        fingerprint = self.report.provenance.fingerprint or self.lab("not_available")
        left = printable(
            clean_text(self.lab("footer", number=self.number, fingerprint=fingerprint)), self.font
        )
        right = printable(self.lab("page_of", page=page, pages=pages), self.font)
        canvas.saveState()
        canvas.setStrokeColor(_RULE)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN, 14 * mm, PAGE[0] - MARGIN, 14 * mm)
        canvas.setFillColor(_MUTED)
        canvas.setFont(self.font, 7)
        canvas.drawString(MARGIN, 10 * mm, left)
        canvas.drawRightString(PAGE[0] - MARGIN, 10 * mm, right)
        canvas.restoreState()


def canvas_class(footer: Callable[[Canvas, int, int], None], pdf_date: str) -> type[Canvas]:
    """A canvas that knows the page count (two passes over saved pages) and a pinned date."""

    class StatementCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["invariant"] = 1
            super().__init__(*args, **kwargs)
            self.setDateFormatter(lambda *_: pdf_date)
            self._saved_pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            # The page's operators as one string (reportlab joins them with newlines anyway):
            # a long statement keeps hundreds of pages until the page count is known.
            self._code: list[str] = ["\n".join(self._code)]
            self._saved_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._saved_pages)
            for number, state in enumerate(self._saved_pages, 1):
                self.__dict__.update(state)
                footer(self, number, total)
                Canvas.showPage(self)
            Canvas.save(self)

    return StatementCanvas


def pdf_date(report: Report) -> str:
    moment = report.generated_at
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    hh, mm_ = divmod(abs(minutes), 60)
    return f"D:{moment.strftime('%Y%m%d%H%M%S')}{sign}{hh:02d}'{mm_:02d}'"
