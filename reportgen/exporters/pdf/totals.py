"""The statement's totals block: the money split, USD × rate = CNY as printed, and the rate lines.

Every figure follows the one money policy (:mod:`reportgen.core.money`): the consumption,
refund and net lines foot with a rounding row where their cents do not add up; a converted
total is printed as printed USD × printed rate, then the 折算差额 (conversion difference)
that the USD's own rounding moved, then the total (:func:`~reportgen.core.money.convert_for_print`),
so a reviewer recomputes every figure from the page.  Rate lines name their source in
words, the rate's own date, and at least four decimals, on one unbroken line.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer, Table, TableStyle

from ...core.money import convert_for_print, convert_parts_for_print, money_text, printed_lines, rate_text
from ...core.rates import Conversion, Exchange
from ...render import members, rate_source_text, shorten, source_usd, totals
from .builder import NAME_LIMIT, WIDTH, Builder, StatementAmounts
from .rows import HEAD_BG, INK, RULE

_NBSP = "\u00a0"


def source_words(b: Builder, ex: Exchange) -> str:
    """Where a rate comes from, in words: never a config key or an API path on a document."""
    return rate_source_text(ex, b.lab)


def _date(b: Builder, ex: Exchange) -> str:
    if ex.as_of is None:
        return b.lab("rate_date_unknown")
    return ex.as_of.astimezone(b.report.period.tz).date().isoformat()


def _unbroken(text: str) -> str:
    """``1 USD = 7.1053 CNY`` kept on one line: its spaces are non-breaking."""
    return text.replace(" ", _NBSP)


def exchange_text(b: Builder, ex: Exchange, name: str | None = None) -> str:
    """The CNY rate line of the report (or of source ``name``), as finance quotes a rate."""
    if ex.rate is None:
        if name is not None:
            return b.lab("source_no_rate_line", name=name)
        return b.lab("no_rate_line")
    values = {"rate": _unbroken(b.lab("rate_equation", rate=rate_text(ex.rate))), "date": _date(b, ex)}
    values["source"] = source_words(b, ex)
    if name is not None:
        return b.lab("source_rate_line", name=name, **values)
    if ex.applies_to is not None:
        return b.lab("rate_line_dated", label=ex.applies_to, **values)
    return b.lab("rate_line", **values)


def conversion_text(b: Builder, c: Conversion) -> str:
    """The rate line of a ``[report.currencies]`` currency."""
    equation = _unbroken(b.lab("rate_equation_in", rate=rate_text(c.rate), code=c.code))
    return b.lab("rate_line_in", rate=equation, source=c.source, date=c.as_of.isoformat())


def grand_total(b: Builder, amounts: StatementAmounts) -> list[Flowable]:
    """The totals table (split, USD total, CNY and further currencies recomputable) and the rate lines."""
    r = b.report
    t = totals(r)
    rows: list[list[Any]] = []
    if amounts.rounding_cents and b.t.section("show_models_table"):
        rows.append([b.lab("rounding"), money_text(Decimal(amounts.rounding_cents) / 100)])
    rows.append([b.lab("grand_total_usd"), money_text(Decimal(amounts.grand_cents) / 100)])
    total_cny = r.cny_of(t)
    parts = source_usd(r)
    if total_cny is not None and parts:  # each source at its own rate
        conversions, footed = convert_parts_for_print([(u, rate) for _, rate, u in parts])
        for (name, _, _), part in zip(parts, conversions, strict=True):
            label = b.lab("total_cny_source", name=name, usd=money_text(part.usd), rate=rate_text(part.rate))
            rows.append([label, money_text(part.product)])
        difference = footed.total - sum((part.product for part in conversions), Decimal(0))
        if difference:
            rows.append([b.lab("conversion_difference"), money_text(difference)])
        rows.append([b.lab("grand_total_cny"), money_text(footed.total)])
    elif total_cny is not None and r.exchange.rate is not None:
        rows += _converted(b, t.cost_usd, r.exchange.rate, b.lab("grand_total_cny"), b.lab("converted_cny"))
    if r.source_rates:  # each source's spend at its own rate: say which applied to which
        rate_texts = [exchange_text(b, ex, name) for name, ex in r.source_rates]
    else:
        rate_texts = [exchange_text(b, r.exchange)]
    for c in r.conversions:
        label = b.lab("grand_total_in", code=c.code)
        rows += _converted(b, t.cost_usd, c.rate, label, b.lab("converted_in", code=c.code), c.code)
        rate_texts.append(conversion_text(b, c))
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


def _converted(
    b: Builder, usd_exact: Decimal, rate: Decimal, total_label: str, product_label: str, code: str = ""
) -> list[list[Any]]:
    """Printed USD × printed rate, the 折算差额 where the cents differ, and the converted total."""
    c = convert_for_print(usd_exact, rate)
    rows = [[b.lab("converted_line", label=product_label, usd=money_text(c.usd), rate=rate_text(c.rate))]]
    rows[0].append(money_text(c.product))
    if c.has_difference:
        key = "conversion_difference_in" if code else "conversion_difference"
        rows.append([b.lab(key, code=code), money_text(c.difference)])
    rows.append([total_label, money_text(c.amount)])
    return rows


#: The split's columns: :class:`~reportgen.core.split.MoneySplit` fields and their labels.
SPLIT_COLUMNS = (
    ("consumption", "split_consumption"),
    ("refunds", "split_refunds"),
    ("net", "split_net"),
    ("wallet", "split_wallet"),
    ("subscription", "split_subscription"),
)


def split_table(b: Builder) -> list[Flowable]:
    """Consumption, refunds and net, wallet-paid and subscription-billed, per member and in total.

    Each column foots: its printed member lines plus a rounding row equal its printed total;
    across, consumption − refunds = net = wallet + subscription holds for the exact amounts.
    """
    r = b.report
    shown = [m for m in members(r) if m.stats.active]
    if not shown:
        return []
    whole = r.split(totals(r))
    columns = []
    for name, _ in SPLIT_COLUMNS:
        sign = -1 if name == "refunds" else 1
        columns.append(
            printed_lines(
                [sign * getattr(r.split(m.stats), name) for m in shown], sign * getattr(whole, name)
            )
        )
    header = [b.lab("member"), *(b.lab(key) for _, key in SPLIT_COLUMNS)]
    rows: list[list[Any]] = [[b.para(h, b.s.small) for h in header]]
    for i, m in enumerate(shown):
        rows.append(
            [b.para(shorten(m.name, NAME_LIMIT), b.s.cell), *(money_text(c.lines[i]) for c in columns)]
        )
    if any(c.has_rounding for c in columns):
        rows.append([b.lab("rounding"), *(money_text(c.rounding) for c in columns)])
    rows.append([b.lab("total"), *(money_text(c.total) for c in columns)])
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
