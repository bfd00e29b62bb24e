"""The statement's unit-price section: per model and token type, quantity × unit price = amount, and the price list."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, Spacer

from ...core.money import money_text, plain_decimal
from ...core.pricelines import PriceLine, PriceStatement
from ...core.unitprice import price_text
from .builder import KEEP_WITH_HEADING, NAME_LIMIT, WIDTH, Builder
from .rows import AmountRows, Row

_FIGURE = 30 * mm


def price_section(b: Builder) -> list[Flowable]:
    """Each model's lines and the price list (when the report carries price groups and the template shows it)."""
    report = b.report
    if not report.price_groups or not b.t.section("show_prices"):
        return []
    statement = report.prices(report.member_filter)
    if not statement.models:
        return []
    out: list[Flowable] = [
        CondPageBreak(KEEP_WITH_HEADING),
        Spacer(1, 4 * mm),
        b.para(b.lab("prices_title"), b.s.h2),
        b.para(b.lab("prices_intro"), b.s.small),
        Spacer(1, 1.5 * mm),
        _lines_table(b, statement),
    ]
    if statement.prices:
        out += [Spacer(1, 3 * mm), b.para(b.lab("price_list_title"), b.s.h2), _price_list(b, statement)]
    return out


def kind_text(b: Builder, line: PriceLine) -> str:
    """What a line prices (a token type, calls) or why it has no unit price."""
    return b.lab(f"tt_{line.kind}") if line.kind else b.lab(f"pn_{line.note}")


def _lines_table(b: Builder, statement: PriceStatement) -> AmountRows:
    widths = [WIDTH - 3 * _FIGURE, _FIGURE, _FIGURE, _FIGURE]
    room = [w - 12 for w in widths]
    head = [
        b.lines(b.lab(k), room[i])
        for i, k in enumerate(("price_kind", "price_quantity", "price_unit", "price_amount"))
    ]
    body: list[Row] = []
    for m in statement.models:
        body.append(Row(b.lines(m.model, room[0]), ["", "", ""]))
        for line in m.lines:
            body.append(
                Row(
                    b.lines("  " + kind_text(b, line), room[0]),
                    [
                        "" if line.quantity is None or line.unit_price is None else f"{line.quantity:,}",
                        "" if line.unit_price is None else price_text(line.unit_price),
                        money_text(line.amount),
                    ],
                )
            )
        body.append(
            Row(
                b.lines(b.lab("price_model_total", name=m.model[:NAME_LIMIT]), room[0]),
                ["", "", money_text(m.total)],
            )
        )
    total = sum((m.total for m in statement.models), Decimal(0))
    body.append(Row(b.lines(b.lab("total"), room[0]), ["", "", money_text(total)]))
    return AmountRows(b.font, head, body, widths, caption=b.lines(b.lab("prices_title"), WIDTH)[0])


def _price_list(b: Builder, statement: PriceStatement) -> AmountRows:
    widths = [WIDTH - 74 * mm, 24 * mm, 20 * mm, 30 * mm]
    room = [w - 12 for w in widths]
    head = [
        b.lines(b.lab(k), room[i])
        for i, k in enumerate(("model", "price_unit", "price_group_ratio", "price_period"))
    ]
    tz = b.report.period.tz
    body = []
    for e in statement.prices:
        first = datetime.fromtimestamp(e.first_ts, tz).strftime("%m-%d")
        last = datetime.fromtimestamp(e.last_ts, tz).strftime("%m-%d")
        when = first if first == last else f"{first} – {last}"
        name = f"{e.model} · {b.lab('tt_' + e.kind)}"
        if e.changed:
            name += f" ({b.lab('price_changed')})"
        ratio = "" if e.group_ratio is None else plain_decimal(e.group_ratio)
        body.append(Row(b.lines(name, room[0]), [price_text(e.unit_price), ratio, when]))
    caption = b.lines(b.lab("price_list_title"), WIDTH)[0]
    return AmountRows(b.font, head, body, widths, caption=caption, subtotal=False)


__all__ = ["kind_text", "price_section"]
