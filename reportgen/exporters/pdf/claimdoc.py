"""The claim document (费用报销单): the claim form alone on its first page, then 附件1, the spend
it claims line by line in CNY with USD beside (a team's unmapped keys as one 未分配 line),
and the period's payments (top-ups) to match to the invoices.

Registered as the ``claim`` exporter (:mod:`reportgen.exporters.pdf`): ``reportgen report --format claim`` writes a draft
(unnumbered) claim, and every packet holds one, numbered by the register.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, PageBreak, Spacer, Table, TableStyle

from ...core.money import convert, money_text, printed_lines, usd
from ...core.split import base_quota
from ...render.statement import audit_head_text
from .builder import WIDTH, Builder
from .claim import claim_figures, claim_form, day_text, period_text
from .rows import HEAD_BG, RULE

__all__ = ["PAYMENTS_SHOWN", "claim_page", "claim_story", "detail", "payments"]

#: Payments listed on the claim's attachment page; the rest are counted (the workbook has all).
PAYMENTS_SHOWN = 20


def _head(b: Builder) -> list[Flowable]:
    """Title, then number and date on one line (the number is the register's, or 草稿)."""
    story: list[Flowable] = []
    org = b.t.letterhead_field("organisation", b.ctx.lang)
    if org and b.t.section("show_letterhead"):
        story.append(b.para(org, b.s.org))
    story.append(b.para(b.lab("claim_title"), b.s.title))
    r = b.report
    issued = day_text(b, r.generated_at.astimezone(r.period.tz).date())
    colon = b.lab("label_colon", label=b.lab("document_number"))
    facts = f"{colon} {b.number}    {b.lab('label_colon', label=b.lab('issue_date'))} {issued}"
    head = audit_head_text(r)
    if head is not None:  # rewriting the audit log contradicts the claims handed out
        facts += f"    {b.lab('label_colon', label=b.lab('audit_head'))} {head}"
    story += [b.para(facts, b.s.small), Spacer(1, 2 * mm), *b.banner()]
    return story


def _lines(b: Builder) -> list[tuple[str, Decimal, Decimal | None]]:
    """``(name, exact USD, exact CNY)`` per line of the claim: a team's members (unmapped keys as one
    未分配 line), a member's keys, a project's members."""
    r = b.report
    if r.grant is not None:
        by_member: dict[str, Decimal] = {}
        for g in r.grant.lines:
            by_member[g.member] = by_member.get(g.member, Decimal(0)) + g.cost_usd
        rate = r.exchange.rate
        return [
            (name, u, None if rate is None else convert(u, rate)) for name, u in sorted(by_member.items())
        ]
    if r.member_filter is not None:
        keys = set(r.member_keys(r.member_filter))
        out = []
        for line in r.keys:
            if line.name in keys:
                amount = usd(base_quota(line.stats, r.claim_base), r.quota_per_unit)
                rate = r.rate_of(line.name)
                out.append((line.name, amount, None if rate is None else convert(amount, rate)))
        return out
    lines: list[tuple[str, Decimal, Decimal | None]] = []
    rest_usd, rest_cny, rest = Decimal(0), Decimal(0), False
    for line in r.members:
        claimed = r.claim_amount(member=line.name)
        if not line.stats.active and not claimed.usd:
            continue
        cny = claimed.cny
        # a key no member lists is reported as a member named after itself (core.aggregate.member_map)
        unmapped = line.keys == (line.name,) and r.key_to_member.get(line.name) == line.name
        if not unmapped:
            lines.append((line.name, claimed.usd, cny))
        else:
            rest = True
            rest_usd += claimed.usd
            rest_cny += cny or Decimal(0)
    if rest:
        lines.append((b.lab("claim_unassigned"), rest_usd, rest_cny))
    return lines


def detail(b: Builder) -> list[Flowable]:
    """附件1: the claim's lines in CNY with USD beside, footed to the claim's amounts."""
    lines = _lines(b)
    figures = claim_figures(b)
    total_usd = sum((u for _, u, _ in lines), Decimal(0))
    usd_printed = printed_lines([u for _, u, _ in lines], total_usd)
    cnys = [c for _, _, c in lines]
    cny_printed = None
    if figures.cny is not None and all(c is not None for c in cnys):
        cny_printed = printed_lines(
            [c or Decimal(0) for c in cnys], sum((c or Decimal(0) for c in cnys), Decimal(0))
        )
    head = [b.lab("claim_detail_name"), b.lab("claim_detail_usd"), b.lab("claim_detail_cny")]
    rows: list[list[Any]] = [[b.para(h, b.s.cell) for h in head]]
    for i, (name, _, _) in enumerate(lines):
        cny = "" if cny_printed is None else money_text(cny_printed.lines[i])
        rows.append([b.para(name, b.s.cell), money_text(usd_printed.lines[i]), cny])
    rounding_usd = usd_printed.rounding
    rounding_cny = Decimal(0) if cny_printed is None else cny_printed.rounding
    if rounding_usd or rounding_cny:
        rows.append([b.para(b.lab("rounding"), b.s.cell), money_text(rounding_usd), money_text(rounding_cny)])
    total_cny = "" if cny_printed is None else money_text(cny_printed.total)
    rows.append([b.para(b.lab("claim_detail_total"), b.s.cell), money_text(usd_printed.total), total_cny])
    table = Table(rows, colWidths=[WIDTH - 80 * mm, 40 * mm, 40 * mm], repeatRows=1)
    table.setStyle(_style(b, len(rows)))
    out: list[Flowable] = [
        b.para(b.lab("claim_detail_title", period=period_text(b)), b.s.h2),
        b.para(b.lab(figures.base, usd=money_text(figures.left_out)), b.s.small),
        Spacer(1, 2 * mm),
        table,
    ]
    if b.report.source_rates:
        out.append(b.para(b.lab("claim_detail_rate"), b.s.small))
    return out + payments(b)


def _style(b: Builder, count: int, right_from: int = 1) -> TableStyle:
    return TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), b.font, 9),
            ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
            ("LINEBELOW", (0, 0), (-1, 0), 0.6, RULE),
            ("LINEABOVE", (0, count - 1), (-1, count - 1), 0.8, RULE),
            ("ALIGN", (right_from, 1), (-1, -1), "RIGHT"),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 2.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ]
    )


def payments(b: Builder) -> list[Flowable]:
    """The period's payments (top-ups, redemptions), to be matched to the invoices (team claims)."""
    bridge = b.report.bridge
    found = [p for s in bridge.sources for p in s.payments] if bridge is not None else []
    if not found:
        return []
    text = b.t.wording(b.ctx.lang).group("bridge_payment_")
    head = [text[k] for k in ("date", "kind", "paid", "quota", "ref", "method")]
    rows: list[list[Any]] = [[b.para(h, b.s.cell) for h in head]]
    tz = b.report.period.tz
    for p in sorted(found, key=lambda p: p.at)[:PAYMENTS_SHOWN]:
        paid = text["not_stated"] if p.paid is None else " ".join(x for x in (p.paid, p.currency) if x)
        rows.append(
            [
                day_text(b, datetime.fromtimestamp(p.at, tz).date()),
                b.para(text.get(p.kind, p.kind), b.s.cell),
                b.para(paid, b.s.cell),
                "" if p.quota is None else f"{p.quota:,}",
                b.para(p.ref or "", b.s.cell),
                b.para(p.method or "", b.s.cell),
            ]
        )
    widths = [28 * mm, 28 * mm, 30 * mm, 28 * mm, WIDTH - 144 * mm, 30 * mm]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(_style(b, len(rows), right_from=3))
    out: list[Flowable] = [Spacer(1, 5 * mm), b.para(b.lab("bridge_payments"), b.s.h2), table]
    if len(found) > PAYMENTS_SHOWN:
        out.append(b.para(b.lab("claim_payments_more", count=len(found) - PAYMENTS_SHOWN), b.s.small))
    return out


def claim_page(b: Builder) -> list[Flowable]:
    """The claim form alone on one page (a page break after it)."""
    return [*_head(b), *claim_form(b), PageBreak()]


def claim_story(b: Builder) -> list[Flowable]:
    """The claim form on page one, 附件1 from page two."""
    return [*claim_page(b), *detail(b)]
