"""PDF parts for the finance views of a statement: the projects section, the reconciliation
line, the wallet bridge and the charts (the grant report is :mod:`.grant`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer, Table, TableStyle

from ...core.budget import ProjectLine
from ...core.money import money_text, percent_text
from ...core.wallet import Bridge, cny_note, printed_bridge, unexplained_text
from ...render import date_range_text, day_ranges, day_text, reconciliation_text, status_key
from .builder import WIDTH, Builder
from .charts import daily_chart, member_chart
from .rows import HEAD_BG, RULE, SUB_BG

RED = colors.HexColor("#B00020")
RED_BG = colors.HexColor("#FDE7EA")
ROWS_PER_TABLE = 40


def table_style(b: Builder, extra: Sequence[tuple[Any, ...]] = ()) -> TableStyle:
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
    """The wallet bridge in a few lines per source: quota, USD and CNY (at the source's rate, as
    the statement converts it), the rounding lines, the residual and its causes."""
    text = b.t.wording(b.ctx.lang).group("bridge_")
    rates = b.report.bridge_rates()
    head = [text["source"] if len(bridge.sources) > 1 else "", text["quota"], text["usd"], text["cny"]]
    rows: list[list[Any]] = [head]
    extra: list[tuple[Any, ...]] = [("ALIGN", (1, 0), (-1, -1), "RIGHT")]
    notes: list[Flowable] = []
    for s in bridge.sources:
        if len(bridge.sources) > 1:
            rows.append([b.para(f"{s.source} ({s.account})", b.s.cell), "", "", ""])
            extra.append(("BACKGROUND", (0, len(rows) - 1), (-1, len(rows) - 1), SUB_BG))
        for line in printed_bridge(bridge, s, rates.get(s.source)):
            key, quota = line.key, line.quota
            if key in ("topup", "redemption", "admin", "system") and not quota:
                continue
            rows.append(
                [
                    b.para(text[key], b.s.cell),
                    "" if key == "rounding" else text["unknown"] if quota is None else f"{quota:,}",
                    "" if line.usd is None else money_text(line.usd),
                    "" if line.cny is None else money_text(line.cny),
                ]
            )
            if key == "residual" and quota:
                extra.append(("TEXTCOLOR", (0, len(rows) - 1), (-1, len(rows) - 1), RED))
        notes.append(b.para(f"{s.source}: {cny_note(s.source, rates.get(s.source), text)}", b.s.small))
        if s.closes:
            notes.append(b.para(f"{s.source}: {text['closes']}", b.s.small))
        for note in s.explanations:
            notes.append(b.para(f"{s.source}: {note.text(text)}", b.s.small))
        if s.unexplained:
            notes.append(b.para(f"{s.source}: {unexplained_text(s, text)}", b.s.small))
    table = Table(rows, colWidths=[WIDTH - 96 * mm, 34 * mm, 30 * mm, 32 * mm])
    table.setStyle(table_style(b, extra))
    return [Spacer(1, 4 * mm), KeepTogether([b.para(text["title"], b.s.h2), table]), *notes]


def projects_section(b: Builder, lines: Sequence[ProjectLine]) -> list[Flowable]:
    """The projects' budget positions: one table per budget currency, so no column mixes two;
    a run-out date after a project's end says so."""
    lab = b.lab
    out: list[Flowable] = [Spacer(1, 4 * mm)]
    as_of = max((p.as_of for p in lines if p.as_of is not None), default=None)
    heading = lab("projects") + (lab("as_of_day", date=day_text(as_of, b.ctx.lang)) if as_of else "")
    currencies = list(dict.fromkeys(p.currency for p in lines))
    for n, currency in enumerate(currencies):
        group = [p for p in lines if p.currency == currency]
        table = _projects_table(b, group, currency)
        out.append(KeepTogether([b.para(heading, b.s.h2), table]) if n == 0 else table)
        if n + 1 < len(currencies):
            out.append(Spacer(1, 2 * mm))
    for p in lines:
        out += project_notes(b, p)
    return out


def project_notes(b: Builder, p: ProjectLine) -> list[Flowable]:
    """What a project's figures leave out: the days the store lacks since its start, and
    spend on its keys outside its dates (not charged)."""
    lab = b.lab
    out: list[Flowable] = []
    if p.unsynced:
        ranges = lab("list_separator").join(date_range_text(a, z, b.ctx.lang) for a, z in p.unsynced)
        out.append(b.para(lab("unsynced_spans", name=p.name, ranges=ranges), b.s.small))
    if p.outside_days:
        days = day_ranges(p.outside_days)
        text = lab(
            "name_text", name=lab("outside_dates"), text=f"{p.currency} {money_text(p.outside)} ({days})"
        )
        out.append(b.para(lab("name_text", name=p.name, text=text), b.s.small))
    return out


def _projects_table(b: Builder, lines: Sequence[ProjectLine], currency: str) -> Table:
    lab = b.lab
    money = ("budget", "spent", "remaining")
    head = [lab("project")]
    head += [lab("amount_of", name=lab(k), currency=currency) for k in money]
    head += [lab(k) for k in ("share_used", "run_out", "status")]
    rows: list[list[Any]] = [[b.para(h, b.s.cell) for h in head]]
    extra: list[tuple[Any, ...]] = [("ALIGN", (1, 1), (-2, -1), "RIGHT")]
    for i, p in enumerate(lines, 1):
        status = lab(status_key(p))
        if p.over_budget:
            status = status.upper()
            extra += [("TEXTCOLOR", (0, i), (-1, i), RED), ("BACKGROUND", (0, i), (-1, i), RED_BG)]
        run_out = "" if p.run_out is None else p.run_out.isoformat()
        if p.run_out_after_end:
            run_out = lab("run_out_after_end_cell", date=run_out)
        rows.append(
            [
                b.para(f"{p.name}: {p.title}" + (f" ({p.code})" if p.code else ""), b.s.cell),
                money_text(p.budget),
                money_text(p.spent),
                money_text(p.remaining),
                "" if p.share_used is None else percent_text(p.share_used),
                b.para(run_out, b.s.cell),
                status,
            ]
        )
    widths = [WIDTH - 6 * 22 * mm, 26 * mm, 22 * mm, 22 * mm, 16 * mm, 22 * mm, 24 * mm]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(table_style(b, extra))
    return table
