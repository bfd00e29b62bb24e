"""PDF parts for the finance views: the projects section, the reconciliation line, and
the grant closing report (its own layout, used when ``report.grant`` is set).

Grant amounts are exact Decimals in the budget currency; printed, the grand total is
the exact total rounded half-up to the cent, shared out to months and each month to its
lines by largest remainder, so printed lines add up to printed month totals and the total.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer, Table, TableStyle

from ...core.budget import GrantLine, ProjectLine
from ...core.money import cents_text, money_text, percent_text, printed_lines
from ...core.wallet import Bridge, printed_bridge, unexplained_text
from ...render import charges_text, day_ranges, reconciliation_text, shorten, status_key
from .builder import NAME_LIMIT, WIDTH, Builder
from .charts import burn_down_chart, daily_chart, member_chart
from .claim import claim_form
from .rows import HEAD_BG, RULE, SUB_BG

_RED = colors.HexColor("#B00020")
_RED_BG = colors.HexColor("#FDE7EA")
ROWS_PER_TABLE = 40


def _table_style(b: Builder, extra: Sequence[tuple[Any, ...]] = ()) -> TableStyle:
    return TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), b.font, 8.5),
            ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
            ("LINEBELOW", (0, 0), (-1, 0), 0.6, RULE),
            ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#D5DBE3")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 2.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
            *extra,
        ]
    )


# -- in the statement -------------------------------------------------------------------
def finance_sections(b: Builder) -> list[Flowable]:
    """The projects table and the reconciliation line, when the report carries them."""
    out: list[Flowable] = []
    if b.report.projects:
        out += projects_section(b, b.report.projects)
    if b.report.reconciliation is not None:
        out += [Spacer(1, 3 * mm), b.para(reconciliation_text(b.report, b.ctx.label), b.s.small)]
    if b.report.bridge is not None and b.report.bridge.sources:
        out += bridge_block(b, b.report.bridge)
    return out


def charts_section(b: Builder) -> list[Flowable]:
    """Spend per day (stacked by member, or by model for one member) and per member: the
    tables' figures drawn, never in their place."""
    report = b.report
    if not any(m.stats.active for m in report.members):
        return []
    out: list[Flowable] = [Spacer(1, 4 * mm), daily_chart(report, b.ctx.lang, b.font, WIDTH)]
    if sum(1 for m in report.members if m.stats.active) > 1:
        out += [Spacer(1, 3 * mm), member_chart(report, b.ctx.lang, b.font, WIDTH)]
    return out


def bridge_block(b: Builder, bridge: Bridge) -> list[Flowable]:
    """The wallet bridge in a few lines per source: quota and USD, the residual and its causes."""
    text = b.t.wording(b.ctx.lang).group("bridge_")
    head = [text["source"] if len(bridge.sources) > 1 else "", text["quota"], text["usd"]]
    rows: list[list[Any]] = [head]
    extra: list[tuple[Any, ...]] = [("ALIGN", (1, 0), (-1, -1), "RIGHT")]
    notes: list[Flowable] = []
    for s in bridge.sources:
        if len(bridge.sources) > 1:
            rows.append([b.para(f"{s.source} ({s.account})", b.s.cell), "", ""])
            extra.append(("BACKGROUND", (0, len(rows) - 1), (-1, len(rows) - 1), SUB_BG))
        for key, quota, usd in printed_bridge(bridge, s):
            if key in ("topup", "redemption", "admin", "system") and not quota:
                continue
            rows.append(
                [
                    b.para(text[key], b.s.cell),
                    "" if key == "rounding" else text["unknown"] if quota is None else f"{quota:,}",
                    "" if usd is None else money_text(usd),
                ]
            )
            if key == "residual" and quota:
                extra.append(("TEXTCOLOR", (0, len(rows) - 1), (-1, len(rows) - 1), _RED))
        if s.closes:
            notes.append(b.para(f"{s.source}: {text['closes']}", b.s.small))
        for note in s.explanations:
            notes.append(b.para(f"{s.source}: {note.text(text)}", b.s.small))
        if s.unexplained:
            notes.append(b.para(f"{s.source}: {unexplained_text(s, text)}", b.s.small))
    table = Table(rows, colWidths=[WIDTH - 70 * mm, 38 * mm, 32 * mm])
    table.setStyle(_table_style(b, extra))
    return [Spacer(1, 4 * mm), KeepTogether([b.para(text["title"], b.s.h2), table]), *notes]


def projects_section(b: Builder, lines: Sequence[ProjectLine]) -> list[Flowable]:
    lab = b.lab
    head = [lab(k) for k in ("project", "budget", "spent", "remaining", "share_used", "run_out", "status")]
    rows: list[list[Any]] = [[b.para(h, b.s.cell) for h in head]]
    extra: list[tuple[Any, ...]] = [("ALIGN", (1, 1), (-2, -1), "RIGHT")]
    notes: list[Flowable] = []
    for i, p in enumerate(lines, 1):
        status = lab(status_key(p))
        if p.over_budget:
            status = status.upper()
            extra += [("TEXTCOLOR", (0, i), (-1, i), _RED), ("BACKGROUND", (0, i), (-1, i), _RED_BG)]
        rows.append(
            [
                b.para(f"{p.name}: {p.title}" + (f" ({p.code})" if p.code else ""), b.s.cell),
                f"{p.currency} {money_text(p.budget)}",
                money_text(p.spent),
                money_text(p.remaining),
                "" if p.share_used is None else percent_text(p.share_used),
                "" if p.run_out is None else p.run_out.isoformat(),
                status,
            ]
        )
        if p.unsynced_days and p.as_of is not None:
            text = lab("unsynced_note", name=p.name, start=p.start.isoformat(), end=p.as_of.isoformat())
            notes.append(b.para(text, b.s.small))
        if p.outside_days:
            days = day_ranges(p.outside_days)
            notes.append(
                b.para(
                    f"{p.name}: {lab('outside_dates')}: {p.currency} {money_text(p.outside)} ({days})",
                    b.s.small,
                )
            )
    widths = [WIDTH - 6 * 22 * mm, 26 * mm, 22 * mm, 22 * mm, 16 * mm, 22 * mm, 24 * mm]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(_table_style(b, extra))
    as_of = max((p.as_of for p in lines if p.as_of is not None), default=None)
    heading = lab("projects") + (f" ({lab('as_of')}: {as_of.isoformat()})" if as_of else "")
    return [Spacer(1, 4 * mm), KeepTogether([b.para(heading, b.s.h2), table]), *notes]


# -- the grant closing report -------------------------------------------------------------
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


def grant_story(b: Builder) -> list[Flowable]:
    grant = b.report.grant
    assert grant is not None
    p = grant.project
    lab = b.lab
    story: list[Flowable] = []
    if b.t.section("show_letterhead"):
        story += b.letterhead()
    story.append(b.para(b.t.title_for(b.ctx.lang), b.s.title))
    story += b.banner()
    facts = [
        (lab("document_number"), b.number),
        (lab("issue_date"), b.report.generated_at.astimezone(b.report.period.tz).date().isoformat()),
        (lab("project"), f"{p.name}: {p.title}"),
        (lab("project_code"), p.code or "-"),
        (lab("project_dates"), f"{p.start.isoformat()} – {p.end.isoformat()} ({b.report.period.timezone})"),
        (lab("charges"), charges_text(grant.charges, lab, b.ctx.lang)),
        *b.signing_facts(),
    ]
    story.append(b.facts_table(facts))
    claim = b.t.section("show_claim")
    if claim:
        story += [Spacer(1, 4 * mm), *claim_form(b)]
    story += _budget_block(b, p)
    if p.unsynced_days and p.as_of is not None:
        story.append(
            b.para(
                lab("unsynced_note", name=p.name, start=p.start.isoformat(), end=p.as_of.isoformat()),
                b.s.small,
            )
        )
    story += _breakdown(b, grant.lines, p)
    if b.t.section("show_charts") and grant.lines:
        story += [Spacer(1, 4 * mm), burn_down_chart(grant, b.ctx.lang, b.font, WIDTH)]
    if grant.justification or grant.member_notes:
        story.append(b.para(lab("justification"), b.s.h2))
        if grant.justification:
            story.append(b.para(grant.justification, b.s.body))
        for member, note in grant.member_notes:
            story.append(b.para(f"{member}: {note}", b.s.note))
    if b.t.section("show_notes"):
        story += _grant_notes(b)
    if b.t.section("show_signature") and not claim:  # a claim form holds its own signature boxes
        story += b.signature()
    return story


def _budget_block(b: Builder, p: ProjectLine) -> list[Flowable]:
    lab = b.lab
    rows = [
        [lab("budget"), f"{p.currency} {money_text(p.budget)}"],
        [lab("spent"), f"{p.currency} {money_text(p.spent)}"],
        [lab("remaining"), f"{p.currency} {money_text(p.remaining)}"],
        [lab("share_used"), "" if p.share_used is None else percent_text(p.share_used)],
        [lab("status"), lab(status_key(p))],
    ]
    table = Table(rows, colWidths=[WIDTH - 55 * mm, 55 * mm])
    style: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), b.font, 11),
        ("ALIGN", (1, 0), (1, -1), "RIGHT"),
        ("LINEABOVE", (0, 0), (-1, 0), 1.2, colors.black),
        ("LINEBELOW", (0, -1), (-1, -1), 1.2, colors.black),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if p.over_budget:
        style += [("TEXTCOLOR", (0, 1), (-1, -1), _RED), ("BACKGROUND", (0, 2), (-1, 2), _RED_BG)]
    table.setStyle(TableStyle(style))
    return [Spacer(1, 4 * mm), KeepTogether([b.para(lab("budget_line"), b.s.h2), table]), Spacer(1, 4 * mm)]


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
    out: list[Flowable] = [b.para(lab("grant_breakdown"), b.s.h2)]
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
        table.setStyle(_table_style(b, extra))
        out.append(table)
    return out


def _grant_notes(b: Builder) -> list[Flowable]:
    r = b.report
    ex = r.exchange
    items = [
        b.lab("grant_split_note"),
        b.lab("note_net"),
        b.lab("note_quota", quota_per_unit=f"{int(r.quota_per_unit):,}"),
    ]
    items.append(b.lab("note_grant_rounding"))
    if ex.rate is not None:
        as_of = ex.as_of.astimezone(r.period.tz).date().isoformat() if ex.as_of else "-"
        items.append(b.rate_text(ex.rate, ex.source, as_of, ex.applies_to))
    for c in r.conversions:
        rate = format(c.rate.normalize(), "f")
        items.append(b.lab("rate_line_in", rate=rate, code=c.code, source=c.source, date=c.as_of.isoformat()))
    out: list[Flowable] = [Spacer(1, 4 * mm), b.para(b.lab("notes"), b.s.h2)]
    out += [b.para(f"{i}. {text}", b.s.note) for i, text in enumerate(items, 1)]
    return out
