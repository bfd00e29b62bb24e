"""A statement's lines per model and token type (quantity × unit price = amount) and its price list.

From a period's :class:`~reportgen.core.pricegroups.PriceGroup` s and its pinned quota per
unit.  A line has a unit price only when every row in it is explained at that one price
(:mod:`reportgen.core.unitprice`): rows priced at another ratio make a line of their own
(a price changed mid-period splits the line, and the price list says when each held);
rows the ratios do not explain (expression pricing, no pricing logged, a surcharge, a
mismatch) make a line of their amount alone with the reason, and refunds a line of their
own.  A priced line's amount is its quantity times the unit price as printed, so it
multiplies out at the cent; new-api rounds each request's quota, so a model's priced lines
differ from what it charged by a few units: that difference is the model's
``per_request_rounding`` line, and every model's lines add up to its net amount.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .money import cents
from .pricegroups import PriceGroup
from .tokens import TOKEN_TYPES
from .unitprice import MILLION, TYPE_RATIO, call_price, dec, per_call_quota, token_price

#: The kind of a line that prices calls, not tokens.
CALL = "call"
#: The note of a line of refunds, and of a model's per-request rounding line.
REFUND = "refund"
ROUNDING = "per_request_rounding"


@dataclass(frozen=True, slots=True)
class PriceLine:
    """One statement line of a model: ``kind`` is a token type or :data:`CALL` when priced,
    else empty; ``note`` says why a line has no unit price (None when it has one)."""

    model: str
    kind: str
    quantity: int | None
    unit_price: Decimal | None
    #: Exact USD: quantity × unit price for a priced line (per 1M tokens), else the rows' quota.
    amount: Decimal
    note: str | None = None
    group_ratio: Decimal | None = None
    rows: int = 0

    @property
    def printed(self) -> Decimal:
        """The amount as printed (half-up to the cent)."""
        return cents(self.amount)


@dataclass(frozen=True, slots=True)
class ModelLines:
    """A model's lines; they add up to its net amount (``total``, exact) printed, with the rounding line."""

    model: str
    lines: tuple[PriceLine, ...]
    total: Decimal


@dataclass(frozen=True, slots=True)
class PriceEntry:
    """The price list: one model's token type at one unit price, and when rows were charged at it."""

    model: str
    kind: str
    unit_price: Decimal
    group_ratio: Decimal | None
    first_ts: int
    last_ts: int
    #: True when the model's token type had another price too in the period.
    changed: bool = False


@dataclass(frozen=True, slots=True)
class PriceStatement:
    """Every model's lines and the price list of a period (of some keys)."""

    models: tuple[ModelLines, ...]
    prices: tuple[PriceEntry, ...]

    @property
    def total(self) -> Decimal:
        return sum((m.total for m in self.models), Decimal(0))


#: Where a group's figures start (``rows``), and which of them are a minimum or a maximum, not a sum.
_FIGURES = PriceGroup._fields.index("rows")
_MIN = {PriceGroup._fields.index("min_quota"), PriceGroup._fields.index("first_ts")}
_MAX = {PriceGroup._fields.index("max_quota"), PriceGroup._fields.index("last_ts")}


def _combine(i: int, a: Any, b: Any) -> Any:
    """Figure ``i`` of two groups together (None: neither reports it)."""
    if a is None or b is None:
        return b if a is None else a
    return min(a, b) if i in _MIN else max(a, b) if i in _MAX else a + b


def _merge(groups: Iterable[PriceGroup], keys: Iterable[str] | None) -> list[PriceGroup]:
    """Groups of the same model, type and price (over keys and billing sources) summed."""
    wanted = None if keys is None else set(keys)
    out: dict[tuple[object, ...], PriceGroup] = {}
    for g in groups:
        if wanted is not None and g.token_name not in wanted:
            continue
        key = (g.model_name, g.type, g.signature, g.price_note)
        old = out.get(key)
        if old is None:
            out[key] = g._replace(token_name="", subscription=False)
            continue
        values: list[Any] = list(old)
        for i in range(_FIGURES, len(old)):
            values[i] = _combine(i, old[i], g[i])
        out[key] = PriceGroup._make(values)
    return sorted(
        out.values(),
        key=lambda g: (
            g.model_name,
            g.type,
            g.first_ts,
            tuple(v or "" for v in g.signature),
            g.price_note or "",
        ),
    )


def _quantities(g: PriceGroup) -> list[tuple[str, int | None]]:
    """The token types a ratio-priced group's rows were charged for, with their quantities."""
    out: list[tuple[str, int | None]] = [
        ("input", g.input_tokens),
        ("output", g.completion_tokens),
        ("cache_read", g.cache_read_tokens),
    ]
    if g.usage_semantic == "anthropic":
        w5, w1 = g.cache_write_5m_tokens or 0, g.cache_write_1h_tokens or 0
        base = None if g.cache_write_tokens is None else max(g.cache_write_tokens - w5 - w1, 0)
        out += [("cache_write", base), ("cache_write_5m", w5), ("cache_write_1h", w1)]
    else:
        out.append(("cache_write", g.cache_write_tokens))
    out.append(("image", g.image_tokens))
    return out


def _priced(g: PriceGroup, quota_per_unit: Decimal) -> list[PriceLine] | None:
    """A group's priced lines, or None when its rows are not all explained at one price."""
    gr = dec(g.group_ratio)
    if g.price_note is None:
        mr = dec(g.model_ratio)
        if mr is None or gr is None:
            return None
        lines = []
        for kind, quantity in _quantities(g):
            if not quantity:
                continue
            field = TYPE_RATIO[kind]
            ratio = None if field is None else dec(getattr(g, field))
            if field is not None and ratio is None:
                return None
            price = token_price(mr, gr, ratio, quota_per_unit)
            lines.append(
                PriceLine(g.model_name, kind, quantity, price, quantity * price / MILLION, None, gr, g.rows)
            )
        return lines
    if g.price_note == "per_call":
        mp = dec(g.model_price)
        if mp is None or gr is None:
            return None
        each = per_call_quota(mp, gr, quota_per_unit)
        if not g.min_quota == g.max_quota == each:
            return None
        price = call_price(each, quota_per_unit)
        return [PriceLine(g.model_name, CALL, g.rows, price, g.rows * price, None, gr, g.rows)]
    return None


def _merged(lines: list[PriceLine]) -> list[PriceLine]:
    """Priced lines of one kind at one unit price (and group ratio) made one: rows logged with other
    fields (a cache-write split, a ratio of a type they did not use) were still charged at it."""
    out: dict[tuple[str, Decimal | None, Decimal | None], PriceLine] = {}
    for line in lines:
        key = (line.kind, line.unit_price, line.group_ratio)
        old = out.get(key)
        if old is None:
            out[key] = line
            continue
        quantity = (old.quantity or 0) + (line.quantity or 0)
        assert line.unit_price is not None
        per = line.unit_price if line.kind == CALL else line.unit_price / MILLION
        out[key] = PriceLine(line.model, line.kind, quantity, line.unit_price, quantity * per, None,
                             line.group_ratio, old.rows + line.rows)  # fmt: skip
    order = {kind: i for i, kind in enumerate((*TOKEN_TYPES, CALL))}
    return sorted(out.values(), key=lambda line: order[line.kind])  # stable: the first price first


def price_statement(
    groups: Iterable[PriceGroup], quota_per_unit: Decimal, keys: Iterable[str] | None = None
) -> PriceStatement:
    """The lines of every model and the price list, from the period's groups (of ``keys`` only, when given)."""
    by_model: dict[str, list[PriceGroup]] = {}
    for g in _merge(groups, keys):
        by_model.setdefault(g.model_name, []).append(g)
    models = []
    seen: dict[tuple[str, str], dict[tuple[Decimal, Decimal | None], list[int]]] = {}
    for model, found in by_model.items():
        lines: list[PriceLine] = []
        unexplained: dict[str, list[int]] = {}  # note -> [rows, quota]
        refunds = [0, 0]
        total = 0
        for g in found:
            if g.type == 6:
                refunds[0] += g.rows
                refunds[1] += g.quota
                total -= g.quota
                continue
            total += g.quota
            priced = _priced(g, quota_per_unit)
            if priced is None:
                note = g.price_note if g.price_note not in (None, "per_call") else "mismatch"
                acc = unexplained.setdefault(note, [0, 0])
                acc[0] += g.rows
                acc[1] += g.quota
                continue
            lines += priced
            for line in priced:
                assert line.unit_price is not None
                span = seen.setdefault((model, line.kind), {}).setdefault(
                    (line.unit_price, line.group_ratio), [g.first_ts, g.last_ts]
                )
                span[0], span[1] = min(span[0], g.first_ts), max(span[1], g.last_ts)
        lines = _merged(lines)
        for note, (rows, quota) in sorted(unexplained.items()):
            lines.append(PriceLine(model, "", None, None, Decimal(quota) / quota_per_unit, note, None, rows))
        if refunds[0]:
            lines.append(
                PriceLine(
                    model, "", None, None, -Decimal(refunds[1]) / quota_per_unit, REFUND, None, refunds[0]
                )
            )
        exact = Decimal(total) / quota_per_unit
        rounding = cents(exact) - sum((line.printed for line in lines), Decimal(0))
        if rounding:
            lines.append(PriceLine(model, "", None, None, rounding, ROUNDING))
        models.append(ModelLines(model, tuple(lines), exact))
    prices = []
    for (model, kind), spans in seen.items():
        for (price, gr), (first, last) in sorted(spans.items(), key=lambda item: item[1][0]):
            prices.append(PriceEntry(model, kind, price, gr, first, last, changed=len(spans) > 1))
    return PriceStatement(tuple(models), tuple(prices))


__all__ = [
    "CALL",
    "REFUND",
    "ROUNDING",
    "ModelLines",
    "PriceEntry",
    "PriceLine",
    "PriceStatement",
    "price_statement",
]
