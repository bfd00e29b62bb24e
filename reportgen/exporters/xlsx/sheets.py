"""XLSX workbook: the summary sheet with charts, and the by-model and by-day tables.

Written through a :class:`~.book.Book` (openpyxl or XlsxWriter), row by row, so memory
stays flat whatever the row count.  Every text from the gateway is stripped of control
characters and forced to be text (openpyxl turns a string starting with ``=`` into a
formula otherwise).  Totals are values taken from the Report, so every reader
(``data_only=True``, pandas, LibreOffice) sees numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ... import plugins
from ...core.columns import UNSUMMED, XLSX_LINES, XLSX_TOTALS, StatsColumn
from ...core.report import Report
from ...core.stats import Line, Stats
from ...hookspecs import ExportContext
from ...render import (
    banner_lines,
    cents,
    clean_text,
    members,
    period_days_text,
    printed_lines,
    rate_source_text,
    rate_text,
    totals,
)
from ...render.statement import audit_head_text
from .book import Book, Sheet, Styled

MAX_SHEET_ROWS = 1_048_576  # Excel's row limit; a member's rows continue on another sheet past it

# Control characters XML 1.0 forbids (openpyxl's ILLEGAL_CHARACTERS_RE): one would corrupt the file.
_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


class Writer:
    """Cells for one workbook: styled cells and gateway text made safe."""

    def __init__(self, book: Book, report: Report, ctx: ExportContext) -> None:
        self.book = book
        self.report = report
        self.ctx = ctx
        self._clean: dict[str, str] = {}

    # -- cells --------------------------------------------------------------------
    def cell(self, ws: Sheet, value: Any, style: str) -> Styled:
        return Styled(value, style)

    def text(self, ws: Sheet | None, value: object, style: str | None = None) -> Any:
        """Gateway text: control characters removed, never a formula."""
        if value is None:
            return None
        text = self.clean(value)
        if style is not None or text.startswith("="):
            # quote: Excel keeps a text starting with "=" text even when the cell is edited
            return Styled(text, style, text=True, quote=text.startswith("="))
        return text

    def clean(self, value: object) -> str:
        raw = value if type(value) is str else str(value)
        if raw.isascii() and raw.isprintable():  # most gateway text: nothing to strip
            return raw
        text = self._clean.get(raw)
        if text is None:
            text = _ILLEGAL.sub("", clean_text(raw))
            if len(self._clean) < 10000:
                self._clean[raw] = text
        return text

    def label(self, key: str) -> str:
        return self.ctx.label(key)

    def text_of(self, key: str, **values: object) -> str:
        """The wording of ``key`` with its ``{placeholders}`` filled."""
        return self.ctx.template.text(key, self.ctx.lang, **values)

    def header(self, ws: Sheet, keys: Iterable[str]) -> list[Any]:
        return [self.text(ws, self.label(k), "rg header") for k in keys]

    def money(self, ws: Sheet, value: Decimal | None, style: str = "rg money") -> Any:
        return None if value is None else self.cell(ws, float(value), style)


def figure_cell(w: Writer, ws: Sheet, column: StatsColumn, stats: Stats, total: bool = False) -> Any:
    """A stats column's figure as a workbook cell, styled for its kind (a total line's when ``total``)."""
    value = column.figure(stats, w.report)
    if value is None:
        return None
    kind = column.kind
    if kind == "share":
        return w.cell(ws, float(value), "rg pct")
    if kind in ("money", "cents"):
        amount = cents(Decimal(value)) if kind == "cents" else Decimal(value)  # cents: as printed (half-up)
        return w.money(ws, amount, "rg total money" if total else "rg money")
    return w.cell(ws, value, "rg total int" if total else "rg int")


def _stats_values(
    w: Writer, ws: Sheet, s: Stats, columns: Sequence[StatsColumn], total: bool = False
) -> list[Any]:
    """The figures of ``columns``; a total line leaves the ones that do not add up empty."""
    return [None if total and c.kind in UNSUMMED else figure_cell(w, ws, c, s, total) for c in columns]


def rounding_row(
    w: Writer, ws: Sheet, parts: Sequence[Stats], total: Stats, columns: Sequence[StatsColumn]
) -> list[Any] | None:
    """A 舍入差额 row where a column's cells are printed amounts (cents) that do not add up to its
    printed total, so the column's SUM equals the total (:func:`~reportgen.core.money.printed_lines`);
    None when every column adds up."""
    values: list[Any] = []
    for c in columns:
        figure = c.figure(total, w.report) if c.kind == "cents" else None
        lines = [c.figure(s, w.report) for s in parts] if figure is not None else []
        if figure is None or any(x is None for x in lines):
            values.append(None)
            continue
        rounding = printed_lines([Decimal(x) for x in lines if x is not None], Decimal(figure)).rounding
        values.append(w.money(ws, rounding) if rounding else None)
    if all(v is None for v in values):
        return None
    return [w.text(ws, w.label("rounding"), "rg label"), *values]


# -- Summary ----------------------------------------------------------------------------
class _Counter:
    """Appends rows and remembers how many, so charts can point at table cells."""

    def __init__(self, ws: Sheet) -> None:
        self.ws = ws
        self.row = 0

    def __call__(self, values: list[Any]) -> int:
        self.ws.append(values)
        self.row += 1
        return self.row


def summary_sheet(w: Writer, ws: Sheet) -> None:
    report, ctx = w.report, w.ctx
    registered = plugins.columns()
    lines = registered.stats(XLSX_LINES)
    lab = w.label
    put = _Counter(ws)
    stats = totals(report)
    period = report.period
    put([w.text(ws, ctx.template.title_for(ctx.lang), "rg title")])
    org = ctx.template.letterhead_field("organisation", ctx.lang)
    put([w.text(ws, org)] if org else [])
    for line in banner_lines(report, lambda key, **values: ctx.template.text(key, ctx.lang, **values)):
        put([w.text(ws, line, "rg heading")])
    if report.grant is not None:  # the full usage of the charged keys, not the charged figures
        put([w.text(ws, lab("grant_full_view"), "rg alert")])
    put([])
    ex = report.exchange
    na = lab("not_available")
    facts: list[tuple[str, Any]] = [
        ("period", w.text(ws, period_days_text(period, ctx.lang))),
        ("timezone", w.text(ws, period.timezone)),
    ]
    if report.member_filter is not None:
        facts.append(("member", w.text(ws, report.member_filter)))
    facts += [
        ("quota_per_unit", w.cell(ws, float(report.quota_per_unit), "rg int")),
        ("exchange_rate", w.cell(ws, float(ex.rate), "rg rate") if ex.rate is not None else na),
        ("exchange_source", w.text(ws, rate_source_text(ex, lab))),
        ("exchange_date", w.cell(ws, local_naive(ex.as_of, report), "rg datetime") if ex.as_of else na),
    ]
    for name, rate in report.source_rates:  # each source's spend converted at its own rate
        when = "" if rate.as_of is None else f", {local_naive(rate.as_of, report):%Y-%m-%d}"
        words = rate_source_text(rate, lab)
        shown = na if rate.rate is None else rate_text(rate.rate)
        facts.append(("exchange_rate", w.text(ws, f"{name}: 1 USD = {shown} CNY ({words}{when})")))
    if ex.applies_to is not None:  # a dated official rate: say which [report.rates] entry
        dated = ctx.template.text("exchange_dated", ctx.lang, label=ex.applies_to)
        facts.append(("exchange_applies_to", w.text(ws, dated)))
    facts += [
        ("generated_at", w.cell(ws, local_naive(report.generated_at, report), "rg datetime")),
        ("data_fingerprint", w.text(ws, report.provenance.fingerprint or na)),
    ]
    head = audit_head_text(report)
    if head is not None:  # a packet's workbook: the audit log's head when it was issued
        facts.append(("audit_head", w.text(ws, head)))
    for key, value in facts:
        put([w.text(ws, lab(key), "rg label"), value])
    if not stats.active:
        put([])
        put([w.text(ws, lab("no_usage"), "rg heading")])
    put([])
    put([w.text(ws, lab("totals"), "rg heading")])
    for column in registered.stats(XLSX_TOTALS):
        put([w.text(ws, lab(column.label_key), "rg label"), figure_cell(w, ws, column, stats)])
    if report.conversions:  # further currencies: exact USD total x the configured rate
        put([])
        put([w.text(ws, lab("other_currencies"), "rg heading")])
        put(w.header(ws, ("currency", "total", "rate_per_usd", "exchange_source", "exchange_date")))
        for c in report.conversions:
            put(
                [
                    w.text(ws, c.code),
                    w.money(ws, c.convert(stats.cost_usd)),
                    w.cell(ws, float(c.rate), "rg rate"),
                    w.text(ws, c.source),
                    w.cell(ws, c.as_of, "rg date"),
                ]
            )

    # Per member: every member, zeros included.
    put([])
    put([w.text(ws, lab("by_member"), "rg heading")])
    put(w.header(ws, ("member", *(c.label_key for c in lines), "keys")))
    member_rows = [
        put(
            [
                w.text(ws, line.name),
                *_stats_values(w, ws, line.stats, lines),
                w.text(ws, ", ".join(line.keys), "rg indent"),
            ]
        )
        for line in members(report)
    ]
    footing = rounding_row(w, ws, [line.stats for line in members(report)], stats, lines)
    if footing is not None:
        put(footing)
    put([w.text(ws, lab("total"), "rg total"), *_stats_values(w, ws, stats, lines, total=True)])

    # Per model.
    put([])
    put([w.text(ws, lab("by_model"), "rg heading")])
    put(w.header(ws, ("model", *(c.label_key for c in lines))))
    model_rows = [
        put([w.text(ws, line.name), *_stats_values(w, ws, line.stats, lines)]) for line in model_lines(report)
    ]
    footing = rounding_row(w, ws, [line.stats for line in model_lines(report)], stats, lines)
    if footing is not None:
        put(footing)
    put([w.text(ws, lab("total"), "rg total"), *_stats_values(w, ws, stats, lines, total=True)])

    # Charts below the tables, side by side, pointing at the cost column of each table.
    if ctx.template.section("show_charts") and stats.active:
        cost_col = 2 + [c.key for c in lines].index("cost_usd")
        anchor = put([]) + 2
        if member_rows:
            title = lab("chart_cost_by_member")
            ws.bar_chart(title, cost_col, member_rows[0], member_rows[-1], f"A{anchor}")
        if model_rows:
            title = lab("chart_cost_by_model")
            ws.bar_chart(title, cost_col, model_rows[0], model_rows[-1], f"G{anchor}")


def model_lines(report: Report) -> tuple[Line, ...]:
    return tuple(line for line in report.models if line.stats.active)


def local_naive(moment: datetime, report: Report) -> datetime:
    return moment.astimezone(report.period.tz).replace(tzinfo=None)


# -- By model / By day ------------------------------------------------------------------
def table_sheet(
    w: Writer,
    ws: Sheet,
    first_key: str,
    lines: Iterable[tuple[Any, Stats]],
    columns: Sequence[StatsColumn],
) -> None:
    keys = (first_key, *(c.label_key for c in columns))
    ws.append(w.header(ws, keys))
    n = 1
    shown: list[Stats] = []
    for first, stats in lines:
        ws.append([first, *_stats_values(w, ws, stats, columns)])
        shown.append(stats)
        n += 1
    if n == 1:
        ws.append([w.text(ws, w.label("no_usage"))])
        n += 1
    ws.set_filter(len(keys), n)
    footing = rounding_row(w, ws, shown, totals(w.report), columns) if shown else None
    if footing is not None:
        ws.append(footing)
    ws.append(
        [
            w.text(ws, w.label("total"), "rg total"),
            *_stats_values(w, ws, totals(w.report), columns, total=True),
        ]
    )


def day_value(name: str) -> Any:
    try:
        return date.fromisoformat(name)
    except ValueError:
        return name


# -- Workbook ---------------------------------------------------------------------------
