"""The grant report (its own layout, used when ``report.grant`` is set): what a funder files.

Titled by its period (月度/季度/年度报告; 结题报告 only when it reaches the project's end),
it holds the claim box, the budget by category (预算数 / 本期支出 / 累计支出 / 结余 / 执行率),
spend per day and the run-out date, the claims already issued, the period's charged spend
by month, member and model, the burn-down, the notes and the seal block.

Amounts are exact Decimals in the budget currency; each printed amount is its exact amount
rounded half-up, and where printed lines miss a printed subtotal or total the difference
is a rounding row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer, Table, TableStyle

from ...core.budget import CategoryLine, GrantLine, GrantView, ProjectLine
from ...core.money import cents_text, money_text, percent_text, printed_lines
from ...render import (
    charges_text,
    date_range_text,
    day_text,
    shorten,
    status_key,
)
from .builder import NAME_LIMIT, WIDTH, Builder
from .charts import burn_down_chart
from .claim import claim_form
from .finance import RED, RED_BG, ROWS_PER_TABLE, project_notes, table_style
from .rows import SUB_BG
from .totals import conversion_text, exchange_text


def grant_amounts(
    lines: Sequence[GrantLine], total: Decimal
) -> tuple[list[tuple[str, int, list[tuple[GrantLine, int]], int]], int]:
    """Months with their cents, their lines' cents and their rounding row, and the total's rounding row.

    Every amount is its exact amount rounded half-up (the one money policy); a rounding row
    carries what the printed lines miss of the printed subtotal or total.
    """
    months: dict[str, list[GrantLine]] = {}
    for line in lines:
        months.setdefault(line.month, []).append(line)
    exact = [sum((x.cost for x in ls), Decimal(0)) for ls in months.values()]
    whole = printed_lines(exact, total)
    out = []
    for (month, ls), month_exact in zip(months.items(), exact, strict=True):
        printed = printed_lines([x.cost for x in ls], month_exact)
        out.append(
            (
                month,
                int(printed.total * 100),
                list(zip(ls, (int(c * 100) for c in printed.lines), strict=True)),
                int(printed.rounding * 100),
            )
        )
    return out, int(whole.rounding * 100)


def grant_title(b: Builder, grant: GrantView) -> str:
    """The template's title with ``{kind}`` as the period makes it: 月度报告 … 结题报告."""
    return b.t.title_for(b.ctx.lang, b.lab(f"grant_kind_{grant.kind}"))


def grant_story(b: Builder) -> list[Flowable]:
    grant = b.report.grant
    assert grant is not None
    p = grant.project
    lab, lang = b.lab, b.ctx.lang
    period = b.report.period
    first, last = period.start.date(), (period.end - timedelta(days=1)).date()
    story: list[Flowable] = []
    if b.t.section("show_letterhead"):
        story += b.letterhead()
    story.append(b.para(grant_title(b, grant), b.s.title))
    story += b.banner()
    facts = [
        (lab("document_number"), b.number),
        (lab("issue_date"), day_text(b.report.generated_at.astimezone(period.tz).date(), lang)),
        (lab("project"), lab("name_text", name=p.name, text=p.title)),
        (lab("project_code"), p.code or "-"),
        (
            lab("project_dates"),
            lab("dates_in_zone", range=date_range_text(p.start, p.end, lang), tz=period.timezone),
        ),
        (lab("report_period"), date_range_text(first, last, lang)),
        (lab("charges"), charges_text(grant.charges, lab, lang)),
        *b.signing_facts(),
    ]
    story.append(b.facts_table(facts))
    claim = b.t.section("show_claim")
    if claim:
        story += [Spacer(1, 4 * mm), *claim_form(b)]  # an over-budget project warns inside its box
    story += budget_block(b, p)
    story += run_out_lines(b, p)
    story += claims_block(b, grant)
    story += _breakdown(b, grant.lines, p)
    if b.t.section("show_charts") and grant.daily:
        story += [Spacer(1, 4 * mm), burn_down_chart(grant, lang, b.font, WIDTH)]
    if grant.justification or grant.member_notes:
        story.append(b.para(lab("justification"), b.s.h2))
        if grant.justification:
            story.append(b.para(grant.justification, b.s.body))
        for member, note in grant.member_notes:
            story.append(b.para(lab("name_text", name=member, text=note), b.s.note))
    if b.t.section("show_notes"):
        story += _grant_notes(b)
    if b.t.section("show_signature") and not claim:  # a claim form holds its own signature boxes
        story += b.signature()
    if b.t.section("show_seal") and b.t.seal:
        story += seal_block(b)
    return story


def _category_name(b: Builder, line: CategoryLine) -> str:
    if not line.assigned:
        return b.lab("category_unassigned")
    return line.name or b.lab("category_default")


def budget_block(b: Builder, p: ProjectLine) -> list[Flowable]:
    """预算数 / 本期支出 / 累计支出 / 结余 / 执行率 per category, one currency, and the total."""
    lab = b.lab
    head = [
        lab(k)
        for k in (
            "category",
            "category_budget",
            "period_spent",
            "spent",
            "category_remaining",
            "category_rate",
        )
    ]
    rows: list[list[Any]] = [[b.para(h, b.s.cell) for h in head]]
    cats = p.categories
    period = printed_lines([c.period_spent for c in cats], p.period_spent)
    spent = printed_lines([c.spent for c in cats], p.spent)
    extra: list[tuple[Any, ...]] = [("ALIGN", (1, 1), (-1, -1), "RIGHT")]
    for c, period_cents, spent_cents in zip(cats, period.lines, spent.lines, strict=True):
        rows.append(
            [
                b.para(_category_name(b, c), b.s.cell),
                money_text(c.budget),
                money_text(period_cents),
                money_text(spent_cents),
                money_text(c.budget - spent_cents),
                "" if c.share_used is None else percent_text(c.share_used),
            ]
        )
        if c.over_budget:
            extra += [("TEXTCOLOR", (0, len(rows) - 1), (-1, len(rows) - 1), RED)]
    if period.has_rounding or spent.has_rounding:
        rows.append(
            [
                b.para(lab("rounding"), b.s.cell),
                "",
                money_text(period.rounding),
                money_text(spent.rounding),
                "",
                "",
            ]
        )
    rows.append(
        [
            b.para(lab("total"), b.s.cell),
            money_text(p.budget),
            money_text(period.total),
            money_text(spent.total),
            money_text(p.budget - spent.total),
            "" if p.share_used is None else percent_text(p.share_used),
        ]
    )
    extra += [("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black)]
    if p.over_budget:
        extra += [("TEXTCOLOR", (0, -1), (-1, -1), RED), ("BACKGROUND", (0, -1), (-1, -1), RED_BG)]
    widths = [WIDTH - 5 * 25 * mm, 25 * mm, 25 * mm, 25 * mm, 25 * mm, 25 * mm]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(table_style(b, extra))
    heading = lab("budget_categories", currency=p.currency)
    if p.as_of is not None:
        heading += lab("as_of_day", date=day_text(p.as_of, b.ctx.lang))
    out: list[Flowable] = [Spacer(1, 4 * mm), KeepTogether([b.para(heading, b.s.h2), table])]
    unassigned = next((c for c in cats if not c.assigned), None)
    if unassigned is not None:
        note = lab(
            "category_unassigned_note", amount=f"{p.currency} {money_text(unassigned.spent)}", name=p.name
        )
        out.append(b.para(note, b.s.small))
    return out + project_notes(b, p)


def run_out_lines(b: Builder, p: ProjectLine) -> list[Flowable]:
    """Spend per day since the start, the run-out date and whether it falls after the project's end."""
    lab, lang = b.lab, b.ctx.lang
    if p.as_of is None:
        return [b.para(lab("run_out_none"), b.s.body)]
    days = (p.as_of - p.start).days + 1
    burn = Decimal(0) if p.burn_per_day is None else p.burn_per_day
    lines = [lab("burn_line", amount=f"{p.currency} {money_text(burn)}", count=days)]
    status = lab(status_key(p))
    if p.run_out is None:
        lines.append(lab("run_out_none"))
    elif p.run_out <= p.as_of:
        lines.append(lab("run_out_past", date=day_text(p.run_out, lang)))
    elif p.run_out_after_end:
        left = p.remaining - burn * (p.end - p.as_of).days
        lines.append(
            lab(
                "run_out_after_end",
                date=day_text(p.run_out, lang),
                end=day_text(p.end, lang),
                amount=f"{p.currency} {money_text(left)}",
            )
        )
    else:
        lines.append(lab("run_out_before_end", date=day_text(p.run_out, lang), end=day_text(p.end, lang)))
    style = b.s.body
    out: list[Flowable] = [Spacer(1, 2 * mm)]
    out += [b.para(lab("name_text", name=lab("status"), text=status), style)]
    out += [b.para(text, style) for text in lines]
    return out


def claims_block(b: Builder, grant: GrantView) -> list[Flowable]:
    """The project's claims issued before this report (from the register), and their total."""
    lab, lang = b.lab, b.ctx.lang
    out: list[Flowable] = [Spacer(1, 4 * mm), b.para(lab("claims_issued"), b.s.h2)]
    if not grant.claims:
        return [*out, b.para(lab("claims_none"), b.s.body)]
    currency = grant.project.currency
    head = [
        lab("claim_number"),
        lab("report_period"),
        lab("claim_issued"),
        lab("amount_in").format(name=currency),
    ]
    rows: list[list[Any]] = [[b.para(h, b.s.cell) for h in head]]
    total = Decimal(0)
    for c in grant.claims:
        same = c.currency == currency and c.amount is not None
        rows.append(
            [
                c.number,
                b.para(date_range_text(c.first, c.last, lang), b.s.cell),
                day_text(c.issued, lang),
                money_text(c.amount) if same and c.amount is not None else lab("not_available"),
            ]
        )
        total += c.amount if same and c.amount is not None else 0
    rows.append([b.para(lab("claims_total"), b.s.cell), "", "", money_text(total)])
    table = Table(rows, colWidths=[40 * mm, WIDTH - 105 * mm, 35 * mm, 30 * mm], repeatRows=1)
    table.setStyle(
        table_style(
            b, [("ALIGN", (3, 1), (3, -1), "RIGHT"), ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black)]
        )
    )
    out += [table, b.para(_claims_line(b, grant, total), b.s.small)]
    return out


def _claims_line(b: Builder, grant: GrantView, claimed: Decimal) -> str:
    """How the claims already issued meet this report: before it, or inside its period (a final report)."""
    p, cur = grant.project, grant.project.currency
    period = b.report.period
    first, last = period.start.date(), (period.end - timedelta(days=1)).date()
    inside = sum(
        (
            c.amount
            for c in grant.claims
            if c.amount is not None and c.currency == cur and first <= c.first and c.last <= last
        ),
        Decimal(0),
    )
    if inside:
        return b.lab(
            "claims_overlap",
            charged=f"{cur} {money_text(grant.spent)}",
            amount=f"{cur} {money_text(inside)}",
            difference=f"{cur} {money_text(grant.spent - inside)}",
        )
    return b.lab(
        "claims_reconcile",
        amount=f"{cur} {money_text(claimed)}",
        charged=f"{cur} {money_text(grant.spent)}",
        total=f"{cur} {money_text(claimed + grant.spent)}",
        spent=f"{cur} {money_text(p.spent)}",
    )


def seal_block(b: Builder) -> list[Flowable]:
    """The template's stamp and signature boxes (单位公章, 财务负责人 …), each a labelled empty box."""
    boxes = b.t.seal
    width = WIDTH / len(boxes)
    cells = [[b.para(b.lab(f"seal_{name}"), b.s.body) for name in boxes], ["" for _ in boxes]]
    table = Table(cells, colWidths=[width] * len(boxes), rowHeights=[None, 32 * mm])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.6, colors.HexColor("#4B5563")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return [Spacer(1, 8 * mm), KeepTogether([table])]


def _breakdown(b: Builder, lines: Sequence[GrantLine], p: ProjectLine) -> list[Flowable]:
    lab = b.lab
    amount = lab("amount_in").format(name=p.currency)
    head = [b.para(lab(k), b.s.cell) for k in ("month", "member", "model")] + [b.para(amount, b.s.cell_right)]
    body: list[list[Any]] = []
    subtotal_rows: list[int] = []
    spent = sum((x.cost for x in lines), Decimal(0))
    months, rounding = grant_amounts(lines, spent)
    for month, month_cents, items, month_rounding in months:
        for line, c in items:
            body.append(
                [
                    month,
                    b.para(shorten(line.member, NAME_LIMIT), b.s.cell),
                    b.para(shorten(line.model, NAME_LIMIT), b.s.cell),
                    cents_text(c),
                ]
            )
        if month_rounding:
            body.append([month, b.para(lab("rounding"), b.s.cell), "", cents_text(month_rounding)])
        subtotal_rows.append(len(body))
        body.append([b.para(f"{month} {lab('subtotal')}", b.s.cell), "", "", cents_text(month_cents)])
    if rounding:
        body.append([b.para(lab("rounding"), b.s.cell), "", "", cents_text(rounding)])
    body.append([b.para(lab("total"), b.s.cell), "", "", money_text(spent)])
    widths = [22 * mm, (WIDTH - 52 * mm) / 2, (WIDTH - 52 * mm) / 2, 30 * mm]
    out: list[Flowable] = [Spacer(1, 4 * mm), b.para(lab("grant_breakdown"), b.s.h2)]
    if not lines:
        return [*out, b.para(lab("no_usage"), b.s.body)]
    for start in range(0, len(body), ROWS_PER_TABLE):
        chunk = body[start : start + ROWS_PER_TABLE]
        extra: list[tuple[Any, ...]] = [("ALIGN", (3, 1), (3, -1), "RIGHT")]
        for r in subtotal_rows:
            if start <= r < start + ROWS_PER_TABLE:
                at = r - start + 1
                extra += [("BACKGROUND", (0, at), (-1, at), SUB_BG), ("SPAN", (0, at), (2, at))]
        if start + ROWS_PER_TABLE >= len(body):
            extra += [("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black), ("SPAN", (0, -1), (2, -1))]
        table = Table([head, *chunk], colWidths=widths, repeatRows=1)
        table.setStyle(table_style(b, extra))
        out.append(table)
    return out


def _grant_notes(b: Builder) -> list[Flowable]:
    r = b.report
    ex = r.exchange
    items = [
        b.lab("grant_split_note"),
        b.lab("grant_category_note"),
        b.lab("note_net"),
        b.lab("note_quota", quota_per_unit=f"{int(r.quota_per_unit):,}"),
    ]
    items.append(b.lab("note_grant_rounding"))
    if ex.rate is not None:
        items.append(exchange_text(b, ex))
    items += [conversion_text(b, c) for c in r.conversions]
    out: list[Flowable] = [Spacer(1, 4 * mm), b.para(b.lab("notes"), b.s.h2)]
    out += [b.para(f"{i}. {text}", b.s.note) for i, text in enumerate(items, 1)]
    return out
