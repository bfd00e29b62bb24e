"""The workbook's unit-price sheet: per model and token type, quantity × unit price = amount, the
price list, and the token types with cache hit rates per model and member."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from ...core.money import cents
from ...core.pricegroups import TokenSums
from .book import Sheet
from .names import SheetNames
from .sheets import Writer

#: The token-type columns of the token table, each a field of :class:`TokenSums`.
_SUMS = ("input", "output", "cache_read", "cache_write", "cache_write_5m", "cache_write_1h")
_HEADERS = (
    "input_tokens", "completion_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_5m_tokens",
    "cache_write_1h_tokens", "cache_hit_rate",
)  # fmt: skip


def add_price_sheet(w: Writer, names: SheetNames) -> None:
    """The Unit prices sheet, when the report carries price groups."""
    report = w.report
    if not report.price_groups:
        return
    statement = report.prices(report.member_filter)
    if not statement.models:
        return
    ws = w.book.sheet(names.claim(w.label("sheet_prices"), "Unit prices"), (34, 30, 16, 16, 16, 16, 16, 14))
    ws.append([w.text(ws, w.label("prices_title"), "rg heading")])
    ws.append([w.text(ws, w.label("prices_intro"))])
    ws.append(w.header(ws, ("model", "price_kind", "price_quantity", "price_unit", "price_amount")))
    for m in statement.models:
        for line in m.lines:
            kind = w.label(f"tt_{line.kind}") if line.kind else w.label(f"pn_{line.note}")
            ws.append(
                [
                    w.text(ws, m.model),
                    w.text(ws, kind),
                    None if line.unit_price is None else w.cell(ws, line.quantity, "rg int"),
                    None if line.unit_price is None else w.cell(ws, float(line.unit_price), "rg price"),
                    w.money(ws, line.printed),
                ]
            )
        ws.append(
            [
                w.text(ws, w.label("price_model_total").format(name=m.model), "rg total"),
                *(w.cell(ws, None, "rg total") for _ in range(3)),
                w.money(ws, cents(m.total), "rg total money"),
            ]
        )
    ws.append([])
    ws.append([w.text(ws, w.label("price_list_title"), "rg heading")])
    ws.append(w.header(ws, ("model", "price_kind", "price_unit", "price_group_ratio", "price_period")))
    tz = report.period.tz
    for e in statement.prices:
        first = datetime.fromtimestamp(e.first_ts, tz).date().isoformat()
        last = datetime.fromtimestamp(e.last_ts, tz).date().isoformat()
        when = f"{first} – {last}" + (f" ({w.label('price_changed')})" if e.changed else "")
        ws.append(
            [
                w.text(ws, e.model),
                w.text(ws, w.label(f"tt_{e.kind}")),
                w.cell(ws, float(e.unit_price), "rg price"),
                None if e.group_ratio is None else float(e.group_ratio),
                w.text(ws, when),
            ]
        )
    ws.append([])
    _token_table(w, ws, "model", report.token_sums(report.member_filter).items())
    if report.member_filter is None:
        ws.append([])
        by_member = [(m.name, report.token_total(m.name)) for m in report.members if m.stats.active]
        _token_table(w, ws, "member", by_member)
    ws.close()


def _token_table(w: Writer, ws: Sheet, first: str, lines: Any) -> None:
    """Consumption token types per line (empty: not reported) and the cache hit rate ("n/a": not reported)."""
    ws.append(w.header(ws, (first, *_HEADERS)))
    for name, sums in lines:
        ws.append([w.text(ws, name), *_sum_cells(w, ws, sums)])


def _sum_cells(w: Writer, ws: Sheet, sums: TokenSums) -> list[Any]:
    cells: list[Any] = [
        None if getattr(sums, k) is None else w.cell(ws, getattr(sums, k), "rg int") for k in _SUMS
    ]
    rate: Decimal | None = sums.hit_rate
    cells.append(w.text(ws, w.label("not_reported")) if rate is None else w.cell(ws, float(rate), "rg pct"))
    return cells


__all__ = ["add_price_sheet"]
