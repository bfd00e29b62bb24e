"""The claim form (报销单) as one ruled box: the header fields, 原币金额 × 汇率 = 折合人民币 (with
its 折算差额), the amount in figures and in capitals, 附件 N 张 (the invoices attached) and
电子附件 M 份, the invoices by 发票号码, an advance settled, and the signature boxes.

The claim document (:mod:`.claimdoc`) prints it alone on its first page; the grant report
and a template with ``show_claim`` on print it too.  The amount is the claim's, on its base
(:meth:`reportgen.core.report.Report.claim_amount`; a project's: its charged spend), converted
for print by :func:`reportgen.core.money.convert_for_print`; the capitals come from
:func:`reportgen.core.capitals.rmb_capitals`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle

from ...core.capitals import rmb_capitals
from ...core.claim import ClaimInfo, settle
from ...core.money import Printed, PrintedConversion, money_text, rate_text
from ...core.rates import Exchange
from ...render import (
    categories_text,
    convert_for_print,
    convert_parts_for_print,
    over_budget_text,
    period_days_text,
)
from ...render import day_text as render_day
from ...templating import CLAIM_WIDE
from .builder import WIDTH, Builder

__all__ = ["ClaimFigures", "claim_figures", "claim_form", "day_text", "period_text", "signature_boxes"]

_GRID = colors.HexColor("#4B5563")
_LABEL_BG = colors.HexColor("#F3F5F8")
_RED = colors.HexColor("#B00020")
_LABEL_W = 34 * mm
#: The source an :class:`Exchange` read from the gateway names (config.model).
GATEWAY_RATE_SOURCE = "gateway /api/status usd_exchange_rate"


@dataclass(frozen=True)
class ClaimFigures:
    """What the box prints of the amount: the base, each rate's part as printed, the CNY total."""

    base: str  # the claim_base_* label that says what the claim is for
    left_out: Decimal  # USD the base leaves out (subscription-billed usage)
    parts: tuple[tuple[str, Exchange, PrintedConversion], ...]
    footed: Printed | None  # the parts' CNY footed to the total (several rates), else None
    cny: Decimal | None  # the claimed amount in CNY, printed cents; None without a rate


def claim_figures(b: Builder) -> ClaimFigures:
    """The claim's amount on its base, converted as printed (one part per rate)."""
    r = b.report
    if r.grant is not None:
        usd = sum((line.cost_usd for line in r.grant.lines), Decimal(0))
        if r.exchange.rate is None:  # sources at their own rates: each source's charged part at its rate
            rates = dict(r.source_rates)
            known = [(s, u, rates[s]) for s, u in r.grant.usd_by_source if s in rates and rates[s].rate]
            if not known or len(known) < len(r.grant.usd_by_source):
                return ClaimFigures("claim_base_charged", Decimal(0), (), None, None)
            conversions, footed = convert_parts_for_print([(u, e.rate or Decimal(0)) for _, u, e in known])
            parts = tuple((s, e, c) for (s, _, e), c in zip(known, conversions, strict=True))
            return ClaimFigures("claim_base_charged", Decimal(0), parts, footed, footed.total)
        printed = convert_for_print(usd, r.exchange.rate)
        return ClaimFigures(
            "claim_base_charged", Decimal(0), (("", r.exchange, printed),), None, printed.amount
        )
    amount = r.claim_amount()
    base = "claim_base_all" if amount.base == "all" else "claim_base_wallet"
    if amount.left_out:
        base = "claim_base_wallet_left_out"
    rated = [p for p in amount.parts if p.exchange.rate is not None]
    if amount.cny is None or not rated:
        return ClaimFigures(base, amount.left_out, (), None, None)
    if len(rated) == 1:
        one = convert_for_print(rated[0].usd, rated[0].exchange.rate or Decimal(0))
        return ClaimFigures(base, amount.left_out, (("", rated[0].exchange, one),), None, one.amount)
    conversions, footed = convert_parts_for_print([(p.usd, p.exchange.rate or Decimal(0)) for p in rated])
    parts = tuple((p.source, p.exchange, c) for p, c in zip(rated, conversions, strict=True))
    return ClaimFigures(base, amount.left_out, parts, footed, footed.total)


def day_text(b: Builder, day: date) -> str:
    """A date as finance writes it in the document's language (2026年4月1日; 2026-04-01)."""
    return render_day(day, b.ctx.lang)


def period_text(b: Builder) -> str:
    """The period's days as finance writes them: 2026年4月1日至4月30日."""
    return period_days_text(b.report.period, b.ctx.lang)


def _filled(b: Builder, info: ClaimInfo) -> dict[str, str]:
    """What a claim field's ``{placeholders}`` say for this document."""
    r = b.report
    project = r.grant.project.name if r.grant is not None else ""
    code = r.grant.project.code if r.grant is not None else info.project_code
    claimant = info.claimant or (r.member_filter or "")
    issued = r.generated_at.astimezone(r.period.tz).date()
    return {
        "member": r.member_filter or "",
        "period": period_text(b),
        "project": project,
        "project_code": code,
        "claim_date": day_text(b, issued),
        "department": info.department,
        "claimant": claimant,
        # the project's budget categories with the period's spend in each, unless the config names one
        "budget_subject": info.budget_subject
        or ("" if r.grant is None else categories_text(r.grant.project, b.lab)),
        "payment_method": info.payment_method,
        "payee": info.payee or claimant,
        "account": info.account,
    }


class _Box:
    """The rows of the ruled four-column box: label | value | label | value."""

    def __init__(self, b: Builder) -> None:
        self.b = b
        self.rows: list[list[Any]] = []
        self.wide: list[int] = []  # rows whose value spans the three cells to the right
        self.red: list[int] = []
        self._pair: list[Any] = []

    def label(self, text: str) -> Paragraph:
        return self.b.para(text, self.b.s.claim_label)

    def value(self, text: str, big: bool = False) -> Paragraph:
        return self.b.para(text, self.b.s.claim_amount if big else self.b.s.claim_value)

    def half(self, label: str, value: str, big: bool = False) -> None:
        self._pair += [self.label(label), self.value(value, big)]
        if len(self._pair) == 4:
            self.rows.append(self._pair)
            self._pair = []

    def whole(self, label: str, value: str, big: bool = False, red: bool = False) -> None:
        self.flush()
        self.rows.append([self.label(label), self.value(value, big), "", ""])
        self.wide.append(len(self.rows) - 1)
        if red:
            self.red.append(len(self.rows) - 1)

    def flush(self) -> None:
        if self._pair:
            self.rows.append([*self._pair, "", ""])
            self.wide.append(len(self.rows) - 1)
            self._pair = []

    def table(self) -> Table:
        self.flush()
        value_w = (WIDTH - 2 * _LABEL_W) / 2
        table = Table(self.rows, colWidths=[_LABEL_W, value_w, _LABEL_W, value_w])
        style: list[tuple[Any, ...]] = [
            ("GRID", (0, 0), (-1, -1), 0.6, _GRID),
            ("BOX", (0, 0), (-1, -1), 1.1, _GRID),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 4),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ("BACKGROUND", (0, 0), (0, -1), _LABEL_BG),
            ("BACKGROUND", (2, 0), (2, -1), _LABEL_BG),
        ]
        for row in self.wide:
            style += [("SPAN", (1, row), (3, row)), ("BACKGROUND", (2, row), (2, row), colors.white)]
        for row in self.red:
            style += [("TEXTCOLOR", (0, row), (-1, row), _RED)]
        table.setStyle(TableStyle(style))
        return table


def _money(value: Decimal) -> str:
    return f"¥{money_text(value)}"


def claim_form(b: Builder) -> list[Flowable]:
    """The whole claim box and its signature boxes, kept together on one page."""
    claim, lab = b.t.claim, b.lab
    info = b.ctx.claim or ClaimInfo()
    filled = _filled(b, info)
    box = _Box(b)
    for name in claim.fields:
        value = claim.value(name, b.ctx.lang, **filled)
        if value is None:  # the template sets nothing: the config's detail, or the default purpose
            value = lab("claim_default_purpose", **filled) if name == "purpose" else filled.get(name, "")
        if name in CLAIM_WIDE:
            box.whole(lab(f"claim_{name}"), value)
        else:
            box.half(lab(f"claim_{name}"), value)
    box.flush()
    figures = claim_figures(b)
    box.whole(lab("claim_base"), lab(figures.base, usd=money_text(figures.left_out)))
    _conversion_rows(b, box, figures)
    amount = figures.cny
    box.half(lab("claim_amount_figures"), "" if amount is None else _money(amount), big=True)
    box.half(lab("claim_attachments"), lab("claim_attachments_count", count=len(info.invoices)))
    if amount is None:
        words = lab("claim_no_rate")
    elif amount < 0:
        words = lab("claim_negative")
    else:
        words = rmb_capitals(amount)
    box.whole(lab("claim_amount_words"), words, big=True)
    grant = b.report.grant
    over = None if grant is None else over_budget_text(grant.project, lab)
    if over is not None:  # a project's claim over its budget says so inside the box
        box.whole(lab("over_budget"), over, red=True)
    _invoice_rows(b, box, info, figures)
    if info.advance is not None and amount is not None:
        s = settle(info.advance, max(amount, Decimal(0)))
        box.half(lab("claim_advance"), _money(s.advance))
        box.half(lab("claim_refund") + "／" + lab("claim_pay"), f"{_money(s.refund)}／{_money(s.pay)}")
    parts: list[Flowable] = [box.table()]
    if b.t.section("show_signature"):
        parts += [Spacer(1, 3 * mm), *signature_boxes(b)]
    # The form is one piece on one page: fields, amount and signatures together.
    return [KeepTogether(parts), Spacer(1, 4 * mm)]


def _conversion_rows(b: Builder, box: _Box, figures: ClaimFigures) -> None:
    """原币金额 × 汇率 = 折合人民币 per rate, the 折算差额 when the printed figures need one."""
    lab = b.lab
    for name, exchange, printed in figures.parts:
        usd = money_text(printed.usd)  # a source's part names its source after the figure
        box.half(lab("claim_original"), lab("claim_original_source", usd=usd, name=name) if name else usd)
        as_of = exchange.as_of.astimezone(b.report.period.tz).date() if exchange.as_of else None
        rate = lab(
            "claim_rate_value",
            rate=rate_text(printed.rate),
            source=_source_text(b, exchange.source),
            date=lab("rate_date_unknown") if as_of is None else day_text(b, as_of),
        )
        box.half(lab("claim_rate"), rate)
        box.half(lab("claim_converted"), _money(printed.amount))
        difference = lab("claim_no_difference") if not printed.has_difference else _money(printed.difference)
        box.half(lab("claim_difference"), difference)
    if figures.footed is not None and figures.footed.has_rounding:
        box.whole(lab("rounding"), _money(figures.footed.rounding))


def _source_text(b: Builder, source: str) -> str:
    """Where the rate comes from, in the document's words for the two sources reportgen names itself."""
    if source == GATEWAY_RATE_SOURCE:
        return b.lab("claim_rate_gateway")
    if source.endswith("exchange_rate") and "[" in source:  # "<config file> [report] exchange_rate"
        return b.lab("claim_rate_config")
    return source


def _invoice_rows(b: Builder, box: _Box, info: ClaimInfo, figures: ClaimFigures) -> None:
    """The invoices by 发票号码, their total, 电子附件 M 份, and a warning when they differ."""
    lab = b.lab
    items = [
        lab("claim_invoice_item", number=i.number or i.file, amount=money_text(i.amount))
        if i.amount is not None
        else (i.number or i.file)
        for i in info.invoices
    ]
    joined = lab("claim_list_separator").join(items)
    box.whole(lab("claim_invoices"), joined or lab("claim_invoices_none"))
    invoiced = info.invoiced
    box.half(lab("claim_invoiced_total"), "" if invoiced is None else _money(invoiced))
    count = b.ctx.attachments
    box.half(lab("claim_electronic"), "" if count is None else lab("claim_electronic_count", count=count))
    if not info.invoices or figures.cny is None:
        return
    if invoiced is None:
        box.whole("", lab("claim_invoices_unknown"), red=True)
    elif invoiced != figures.cny:
        base = lab(figures.base, usd=money_text(figures.left_out))
        text = lab(
            "claim_invoices_differ", total=money_text(invoiced), amount=money_text(figures.cny), base=base
        )
        box.whole("", text, red=True)


def signature_boxes(b: Builder) -> list[Flowable]:
    """One box per signature row of the template, four to a row: title, room to sign, a date line."""
    names = b.t.claim.signatures
    if not names:
        return []
    per_row = min(len(names), 4)
    width = WIDTH / per_row
    date_line = b.lab("label_colon", label=b.lab("signature_date"))
    out: list[Flowable] = []
    for start in range(0, len(names), per_row):
        chunk = list(names[start : start + per_row])
        pad = per_row - len(chunk)
        heads = [b.para(b.lab(f"sign_{name}"), b.s.claim_label) for name in chunk] + [""] * pad
        dates = [b.para(date_line, b.s.small) for _ in chunk] + [""] * pad
        table = Table(
            [heads, [""] * per_row, dates], colWidths=[width] * per_row, rowHeights=[None, 11 * mm, None]
        )
        last = len(chunk) - 1
        style: list[tuple[Any, ...]] = [
            ("BOX", (0, 0), (last, -1), 1.1, _GRID),
            ("LINEBELOW", (0, 0), (last, 0), 0.6, _GRID),
            ("BACKGROUND", (0, 0), (last, 0), _LABEL_BG),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ]
        if last:
            style.append(("LINEAFTER", (0, 0), (last - 1, -1), 0.6, _GRID))
        table.setStyle(TableStyle(style))
        out += [table, Spacer(1, 2 * mm)]
    return out[:-1]
