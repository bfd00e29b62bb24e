"""The statement's totals block: the money split, USD × rate = CNY as printed, and the rate lines.

Every figure follows the one money policy (:mod:`reportgen.core.money`): the consumption,
refund and net lines foot with a rounding row where their cents do not add up; a converted
total is printed as printed USD × printed rate, then the 折算差额 (conversion difference)
that the USD's own rounding moved, then the total (:func:`~reportgen.core.money.convert_for_print`),
so a reviewer recomputes every figure from the page.  Rate lines name their source in
words, the rate's own date, and at least four decimals, on one unbroken line.
"""

from __future__ import annotations

from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer, Table, TableStyle

from ...core.rates import Conversion, Exchange
from ...render import shorten
from ...render import statement as figures
from ...render.statement import SPLIT_COLUMNS, StatementAmounts
from .builder import NAME_LIMIT, WIDTH, Builder
from .rows import HEAD_BG, INK, RULE

__all__ = ["SPLIT_COLUMNS", "conversion_text", "exchange_text", "grand_total", "split_table"]


def exchange_text(b: Builder, ex: Exchange, name: str | None = None) -> str:
    """The CNY rate line of the report (or of source ``name``): :func:`reportgen.render.statement.exchange_text`."""
    return figures.exchange_text(b.report, ex, b.lab, name)


def conversion_text(b: Builder, c: Conversion) -> str:
    """The rate line of a ``[report.currencies]`` currency."""
    return figures.conversion_text(c, b.lab)


def grand_total(b: Builder, amounts: StatementAmounts) -> list[Flowable]:
    """The totals table (split, USD total, CNY and further currencies recomputable) and the rate lines."""
    lines = figures.total_lines(b.report, amounts, b.lab, b.t.section("show_models_table"))
    rows: list[list[Any]] = [list(row) for row in lines.rows]
    rate_texts = lines.rates
    table = Table(rows, colWidths=[WIDTH - 45 * mm, 45 * mm])
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), b.font, 11),
                ("TEXTCOLOR", (0, 0), (-1, -1), INK),
                ("ALIGN", (0, 0), (0, -1), "RIGHT"),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("LINEABOVE", (0, 0), (-1, 0), 1.2, INK),
                ("LINEBELOW", (0, -1), (-1, -1), 1.2, INK),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return [
        Spacer(1, 5 * mm),
        KeepTogether([table, Spacer(1, 1.5 * mm), *(b.para(t, b.s.small) for t in rate_texts)]),
    ]


def split_table(b: Builder) -> list[Flowable]:
    """Consumption, refunds and net, wallet-paid and subscription-billed, per member and in total.

    Each column foots: its printed member lines plus a rounding row equal its printed total;
    across, consumption − refunds = net = wallet + subscription holds for the exact amounts.
    """
    split = figures.split_lines(b.report, b.lab)
    if split is None:
        return []
    rows: list[list[Any]] = [[b.para(h, b.s.small) for h in split.header]]
    for name, values in split.members:
        rows.append([b.para(shorten(name, NAME_LIMIT), b.s.cell), *values])
    if split.rounding is not None:
        rows.append([b.lab("rounding"), *split.rounding])
    rows.append([b.lab("total"), *split.total])
    figure = 23 * mm
    table = Table(rows, colWidths=[WIDTH - 5 * figure, *[figure] * 5], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), b.font, 8.5),
                ("TEXTCOLOR", (0, 0), (-1, -1), INK),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
                ("LINEBELOW", (0, 0), (-1, 0), 0.6, RULE),
                ("LINEABOVE", (0, -1), (-1, -1), 0.8, INK),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return [Spacer(1, 4 * mm), b.para(b.lab("split_heading"), b.s.h2), table]
