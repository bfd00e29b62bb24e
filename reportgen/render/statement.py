"""A statement's printed figures, for every format that prints one (the PDF and the HTML page).

What a statement shows is decided here once: the member and model amounts in cents with their
rounding rows (:func:`statement_amounts`), the totals block with USD × rate = CNY as printed
(:func:`total_lines`), the money split (:func:`split_lines`), the rate lines and the notes.
Each figure follows the one money policy (:mod:`reportgen.core.money`); an exporter only
lays these lines out, so no format computes a figure a second way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from ..core.money import (
    cents_text,
    convert_for_print,
    convert_parts_for_print,
    money_text,
    printed_lines,
    rate_text,
)
from ..core.rates import Conversion, Exchange
from ..core.report import Report
from ..core.stats import Line, Stats
from .figures import member_models, members, source_usd, totals
from .rates import rate_source_text

__all__ = [
    "SPLIT_COLUMNS",
    "MemberAmounts",
    "SplitLines",
    "StatementAmounts",
    "TotalLines",
    "audit_head_text",
    "conversion_text",
    "document_number",
    "exchange_text",
    "figures_text",
    "notes_texts",
    "split_lines",
    "statement_amounts",
    "total_lines",
]

Label = Callable[..., str]
_NBSP = "\u00a0"


@dataclass(frozen=True)
class MemberAmounts:
    """One member's printed amounts in cents: the subtotal and one per model line."""

    line: Line
    cents: int
    lines: tuple[tuple[Line, int], ...]
    rounding_cents: int = 0


@dataclass(frozen=True)
class StatementAmounts:
    grand_cents: int
    members: tuple[MemberAmounts, ...]
    idle: tuple[Line, ...]
    rounding_cents: int = 0


def statement_amounts(report: Report) -> StatementAmounts:
    """The amounts as printed, in cents: each the exact amount rounded half-up.

    A member's subtotal is the same string in the team's statement, her own and the
    terminal; where lines do not add up to their subtotal (or subtotals to the total),
    the difference is a rounding row.
    """
    by_member: dict[str, list[Line]] = {}
    for line in member_models(report):
        by_member.setdefault(line.name, []).append(line)
    shown = [m for m in members(report) if m.stats.active]
    idle = tuple(m for m in members(report) if not m.stats.active)
    grand = printed_lines([m.stats.cost_usd for m in shown], totals(report).cost_usd)
    result = []
    for m, c in zip(shown, grand.lines, strict=True):
        lines = by_member.get(m.name, [])
        printed = printed_lines([x.stats.cost_usd for x in lines], m.stats.cost_usd)
        result.append(
            MemberAmounts(
                m,
                _cents(c),
                tuple(zip(lines, map(_cents, printed.lines), strict=True)),
                _cents(printed.rounding),
            )
        )
    return StatementAmounts(_cents(grand.total), tuple(result), idle, _cents(grand.rounding))


def _cents(value: Decimal) -> int:
    return int(value * 100)


def document_number(report: Report) -> str | None:
    """The document's number: the register's, given to a packet's documents when it is issued.

    Outside a packet a document has no number (it prints "draft (unnumbered)"): a number
    is never derived, so index.md, the PDF footers and the manifests name one number each.
    """
    return None if report.statement is None else report.statement.number


def audit_head_text(report: Report) -> str | None:
    """The audit log's head when the document was issued, as printed: ``#12 0123456789abcdef``
    (the entry and its hash's first 16 hex digits), or None outside a packet."""
    head = None if report.statement is None else report.statement.audit_head
    if head is None:
        return None
    seq, _, digest = head.partition(":")
    return f"#{seq} {digest[:16]}"


def figures_text(s: Stats, value_cents: int) -> list[str]:
    """Requests, prompt and completion tokens, and the printed amount of one table line."""
    return [f"{s.requests:,}", f"{s.prompt_tokens:,}", f"{s.completion_tokens:,}", cents_text(value_cents)]


# -- rate lines -------------------------------------------------------------------------
def _date(report: Report, ex: Exchange, lab: Label) -> str:
    if ex.as_of is None:
        return lab("rate_date_unknown")
    return ex.as_of.astimezone(report.period.tz).date().isoformat()


def _unbroken(text: str) -> str:
    """``1 USD = 7.1053 CNY`` kept on one line: its spaces are non-breaking."""
    return text.replace(" ", _NBSP)


def exchange_text(report: Report, ex: Exchange, lab: Label, name: str | None = None) -> str:
    """The CNY rate line of the report (or of source ``name``), as finance quotes a rate:
    the source in words (never a config key or an API path), the rate's own date."""
    if ex.rate is None:
        if name is not None:
            return lab("source_no_rate_line", name=name)
        return lab("no_rate_line")
    values = {
        "rate": _unbroken(lab("rate_equation", rate=rate_text(ex.rate))),
        "date": _date(report, ex, lab),
    }
    values["source"] = rate_source_text(ex, lab)
    if name is not None:
        return lab("source_rate_line", name=name, **values)
    if ex.applies_to is not None:
        return lab("rate_line_dated", label=ex.applies_to, **values)
    return lab("rate_line", **values)


def conversion_text(c: Conversion, lab: Label) -> str:
    """The rate line of a ``[report.currencies]`` currency."""
    equation = _unbroken(lab("rate_equation_in", rate=rate_text(c.rate), code=c.code))
    return lab("rate_line_in", rate=equation, source=c.source, date=c.as_of.isoformat())


# -- the totals block -------------------------------------------------------------------
@dataclass(frozen=True)
class TotalLines:
    """The totals block: ``(label, printed amount)`` rows, then the rate lines under them."""

    rows: tuple[tuple[str, str], ...]
    rates: tuple[str, ...]


def total_lines(report: Report, amounts: StatementAmounts, lab: Label, models_shown: bool) -> TotalLines:
    """The USD total, CNY (each source at its own rate when they differ) and further currencies,
    each recomputable from the page: printed USD × printed rate, the 折算差额, the total."""
    t = totals(report)
    rows: list[tuple[str, str]] = []
    if amounts.rounding_cents and models_shown:
        rows.append((lab("rounding"), money_text(Decimal(amounts.rounding_cents) / 100)))
    rows.append((lab("grand_total_usd"), money_text(Decimal(amounts.grand_cents) / 100)))
    total_cny = report.cny_of(t)
    parts = source_usd(report)
    if total_cny is not None and parts:  # each source at its own rate
        conversions, footed = convert_parts_for_print([(u, rate) for _, rate, u in parts])
        for (name, _, _), part in zip(parts, conversions, strict=True):
            label = lab("total_cny_source", name=name, usd=money_text(part.usd), rate=rate_text(part.rate))
            rows.append((label, money_text(part.product)))
        difference = footed.total - sum((part.product for part in conversions), Decimal(0))
        if difference:
            rows.append((lab("conversion_difference"), money_text(difference)))
        rows.append((lab("grand_total_cny"), money_text(footed.total)))
    elif total_cny is not None and report.exchange.rate is not None:
        rows += _converted(
            t.cost_usd, report.exchange.rate, lab, lab("grand_total_cny"), lab("converted_cny")
        )
    if report.source_rates:  # each source's spend at its own rate: say which applied to which
        rates = [exchange_text(report, ex, lab, name) for name, ex in report.source_rates]
    else:
        rates = [exchange_text(report, report.exchange, lab)]
    for c in report.conversions:
        label = lab("grand_total_in", code=c.code)
        rows += _converted(t.cost_usd, c.rate, lab, label, lab("converted_in", code=c.code), c.code)
        rates.append(conversion_text(c, lab))
    return TotalLines(tuple(rows), tuple(rates))


def _converted(
    usd_exact: Decimal, rate: Decimal, lab: Label, total_label: str, product_label: str, code: str = ""
) -> list[tuple[str, str]]:
    """Printed USD × printed rate, the 折算差额 where the cents differ, and the converted total."""
    c = convert_for_print(usd_exact, rate)
    label = lab("converted_line", label=product_label, usd=money_text(c.usd), rate=rate_text(c.rate))
    rows = [(label, money_text(c.product))]
    if c.has_difference:
        key = "conversion_difference_in" if code else "conversion_difference"
        rows.append((lab(key, code=code), money_text(c.difference)))
    rows.append((total_label, money_text(c.amount)))
    return rows


# -- the money split --------------------------------------------------------------------
#: The split's columns: :class:`~reportgen.core.split.MoneySplit` fields and their labels.
SPLIT_COLUMNS = (
    ("consumption", "split_consumption"),
    ("refunds", "split_refunds"),
    ("net", "split_net"),
    ("wallet", "split_wallet"),
    ("subscription", "split_subscription"),
)


@dataclass(frozen=True)
class SplitLines:
    """The split table as printed: the header, one row per member, the rounding row and the total."""

    header: tuple[str, ...]
    members: tuple[tuple[str, tuple[str, ...]], ...]
    rounding: tuple[str, ...] | None
    total: tuple[str, ...]


def split_lines(report: Report, lab: Label) -> SplitLines | None:
    """Consumption, refunds and net, wallet-paid and subscription-billed, per member and in total.

    Each column foots: its printed member lines plus a rounding row equal its printed total;
    across, consumption − refunds = net = wallet + subscription holds for the exact amounts.
    """
    shown = [m for m in members(report) if m.stats.active]
    if not shown:
        return None
    whole = report.split(totals(report))
    columns = []
    for name, _ in SPLIT_COLUMNS:
        sign = -1 if name == "refunds" else 1
        columns.append(
            printed_lines(
                [sign * getattr(report.split(m.stats), name) for m in shown], sign * getattr(whole, name)
            )
        )
    header = (lab("member"), *(lab(key) for _, key in SPLIT_COLUMNS))
    rows = tuple((m.name, tuple(money_text(c.lines[i]) for c in columns)) for i, m in enumerate(shown))
    rounding = (
        tuple(money_text(c.rounding) for c in columns) if any(c.has_rounding for c in columns) else None
    )
    return SplitLines(header, rows, rounding, tuple(money_text(c.total) for c in columns))


def notes_texts(report: Report, lab: Label) -> list[str]:
    """The statement's numbered notes: net spend, quota per USD, subscriptions, rounding, rates."""
    t = totals(report)
    quota = f"{int(report.quota_per_unit):,}"
    items = [lab("note_net"), lab("note_quota", quota_per_unit=quota)]
    if t.subscription_quota:
        usd = money_text(Decimal(t.subscription_quota) / report.quota_per_unit)
        items.append(lab("note_subscription", quota=f"{t.subscription_quota:,}", usd=usd))
    items.append(lab("note_rounding"))
    if report.source_rates:
        items.append(lab("note_cny_sources"))
    elif report.exchange.rate is not None:
        items.append(lab("note_cny"))
    if report.conversions:
        items.append(lab("note_converted", names=", ".join(c.code for c in report.conversions)))
    return items
