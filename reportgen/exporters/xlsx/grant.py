"""The Grant sheet: a grant report's workbook opens on the charged figures, one total.

The sheet comes first: the project, the period, the budget by category (预算数 / 本期支出 /
累计支出 / 结余 / 执行率, one currency, named), spend per day and the run-out date, the claims
already issued, then the period's charged spend by month, member and model with its total
(the claim's figure).  The workbook's other sheets list the full usage of the charged keys
on their charged days (a shared key at 100 %); they say so and are not the claim.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from ...core.budget import CategoryLine, GrantView
from ...render import charges_text, date_range_text, day_text, money_text
from .book import Sheet
from .finance import money_cell, project_status
from .names import SheetNames
from .sheets import Writer


def grant_sheet(w: Writer, names: SheetNames) -> None:
    """The Grant sheet (a grant report's first)."""
    grant = w.report.grant
    assert grant is not None
    p = grant.project
    lang = w.ctx.lang
    ws = w.book.sheet(names.claim(w.label("sheet_grant"), "Grant"), (24, 28, 28, 16, 16, 18), freeze=False)
    lab = w.label
    over = p.over_budget
    period = w.report.period
    first, last = period.start.date(), (period.end - timedelta(days=1)).date()
    ws.append([w.text(ws, w.ctx.template.title_for(lang, lab(f"grant_kind_{grant.kind}")), "rg title")])
    facts: list[tuple[str, Any]] = [
        ("project", w.text(ws, w.text_of("name_text", name=p.name, text=p.title))),
        ("project_code", w.text(ws, p.code)),
        ("project_dates", w.text(ws, date_range_text(p.start, p.end, lang))),
        ("report_period", w.text(ws, date_range_text(first, last, lang))),
        ("currency", p.currency),
        ("budget", money_cell(w, ws, p.budget)),
        ("period_spent", money_cell(w, ws, grant.spent)),
        ("spent", money_cell(w, ws, p.spent, over)),
        ("remaining", money_cell(w, ws, p.remaining, over)),
        ("share_used", None if p.share_used is None else w.cell(ws, float(p.share_used), "rg pct")),
        ("status", w.text(ws, project_status(w, p), "rg alert" if over else None)),
        ("burn_rate", money_cell(w, ws, p.burn_per_day)),
        ("run_out", w.text(ws, _run_out(w, grant), "rg alert" if over or p.run_out_after_end else None)),
        ("charges", w.text(ws, charges_text(grant.charges, w.text_of, lang))),
    ]
    for key, value in facts:
        ws.append([w.text(ws, lab(key), "rg label"), value])
    if grant.justification:
        ws.append([w.text(ws, lab("justification"), "rg label"), w.text(ws, grant.justification)])
    for member, note in grant.member_notes:
        ws.append([w.text(ws, lab("member_justification"), "rg label"), w.text(ws, f"{member}: {note}")])
    ws.append([])
    _categories(w, ws, grant)
    ws.append([])
    _claims(w, ws, grant)
    ws.append([])
    ws.append([w.text(ws, lab("grant_split_note"))])
    ws.append([])
    _lines(w, ws, grant)
    ws.close()


def _run_out(w: Writer, grant: GrantView) -> str:
    p, lang = grant.project, w.ctx.lang
    if p.run_out is None or p.as_of is None:
        return w.label("run_out_none")
    if p.run_out <= p.as_of:
        return w.text_of("run_out_past", date=day_text(p.run_out, lang))
    if p.run_out_after_end:
        burn = p.burn_per_day or Decimal(0)
        left = p.remaining - burn * (p.end - p.as_of).days
        amount = f"{p.currency} {money_text(left)}"  # half-up, as the PDF prints it (the one money policy)
        return w.text_of(
            "run_out_after_end", date=day_text(p.run_out, lang), end=day_text(p.end, lang), amount=amount
        )
    return w.text_of("run_out_before_end", date=day_text(p.run_out, lang), end=day_text(p.end, lang))


def _category_name(w: Writer, line: CategoryLine) -> str:
    if not line.assigned:
        return w.label("category_unassigned")
    return line.name or w.label("category_default")


def _categories(w: Writer, ws: Sheet, grant: GrantView) -> None:
    p = grant.project
    ws.append([w.text(ws, w.text_of("budget_categories", currency=p.currency), "rg heading")])
    keys = ("category", "category_budget", "period_spent", "spent", "category_remaining", "category_rate")
    ws.append(w.header(ws, keys))
    for c in p.categories:
        ws.append(
            [
                w.text(ws, _category_name(w, c), "rg alert" if c.over_budget else None),
                money_cell(w, ws, c.budget),
                money_cell(w, ws, c.period_spent),
                money_cell(w, ws, c.spent, c.over_budget),
                money_cell(w, ws, c.remaining, c.over_budget),
                None if c.share_used is None else w.cell(ws, float(c.share_used), "rg pct"),
            ]
        )
    ws.append(
        [
            w.text(ws, w.label("total"), "rg total"),
            w.money(ws, p.budget, "rg total money"),
            w.money(ws, p.period_spent, "rg total money"),
            w.money(ws, p.spent, "rg total money"),
            w.money(ws, p.remaining, "rg total money"),
            None if p.share_used is None else w.cell(ws, float(p.share_used), "rg pct"),
        ]
    )


def _claims(w: Writer, ws: Sheet, grant: GrantView) -> None:
    lang, currency = w.ctx.lang, grant.project.currency
    ws.append([w.text(ws, w.label("claims_issued"), "rg heading")])
    if not grant.claims:
        ws.append([w.text(ws, w.label("claims_none"))])
        return
    ws.append(
        [
            *w.header(ws, ("claim_number", "report_period", "claim_issued")),
            w.text(ws, w.label("amount_in").format(name=currency), "rg header"),
        ]
    )
    total = Decimal(0)
    for c in grant.claims:
        amount = c.amount if c.currency == currency else None
        total += amount or 0
        ws.append(
            [
                w.text(ws, c.number),
                w.text(ws, date_range_text(c.first, c.last, lang)),
                w.text(ws, day_text(c.issued, lang)),
                money_cell(w, ws, amount) if amount is not None else w.text(ws, w.label("not_available")),
            ]
        )
    ws.append(
        [w.text(ws, w.label("claims_total"), "rg total"), None, None, w.money(ws, total, "rg total money")]
    )


def _lines(w: Writer, ws: Sheet, grant: GrantView) -> None:
    """The period's charged spend by month, member and model, and its total (the claim's figure)."""
    p = grant.project
    amount = w.label("amount_in").format(name=p.currency)
    ws.append([w.text(ws, w.label("grant_breakdown"), "rg heading")])
    ws.append(
        w.header(ws, ("month", "member", "model", "charged_quota", "cost_usd"))
        + [w.text(ws, amount, "rg header")]
    )
    for line in grant.lines:
        ws.append(
            [
                w.text(ws, line.month),
                w.text(ws, line.member),
                w.text(ws, line.model),
                w.cell(ws, float(line.quota), "rg int"),
                w.money(ws, line.cost_usd, "rg usd6"),
                w.money(ws, line.cost),
            ]
        )
    ws.append(
        [
            w.text(ws, w.label("total"), "rg total"),
            None,
            None,
            w.cell(ws, float(sum((x.quota for x in grant.lines), Decimal(0))), "rg total int"),
            w.money(ws, sum((x.cost_usd for x in grant.lines), Decimal(0)), "rg total usd6"),
            w.money(ws, grant.spent, "rg total money"),
        ]
    )
