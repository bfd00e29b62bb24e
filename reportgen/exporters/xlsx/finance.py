"""Workbook sheets for the finance views a Report may carry: bridge, projects, reconciliation.

Called by :func:`reportgen.exporters.xlsx.write_xlsx` after the summary sheet;
each sheet appears only when the report carries its data.  Over-budget projects and
unexplained reconciliation lines get a red fill.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ...core.budget import ProjectLine
from ...core.reconciliation import ReconcileLine
from ...core.wallet import cny_note, printed_bridge, unexplained_text
from ...render import day_ranges, reconciliation_text, status_key
from .book import Sheet
from .names import SheetNames
from .sheets import Writer


def add_finance_sheets(w: Writer, names: SheetNames) -> None:
    """The Bridge, Projects and Reconciliation sheets, each when the report has its data (a grant
    report's Grant sheet comes first in the workbook: :func:`reportgen.exporters.xlsx.grant.grant_sheet`)."""
    report = w.report
    if report.bridge is not None and report.bridge.sources:
        _bridge_sheet(w, names)
        if any(s.payments for s in report.bridge.sources):
            _payments_sheet(w, names)
    if report.projects:
        _projects_sheet(w, names)
    if report.reconciliation is not None:
        _reconciliation_sheet(w, names)


def money_cell(w: Writer, ws: Sheet, value: Decimal | None, alert: bool = False) -> Any:
    return w.money(ws, value, "rg alert money" if alert else "rg money")


def _day(w: Writer, ws: Sheet, value: date | None, alert: bool = False) -> Any:
    return None if value is None else w.cell(ws, value, "rg alert date" if alert else "rg date")


_PROJECT_KEYS = (
    "project",
    "project_title",
    "project_code",
    "currency",
    "budget",
    "period_spent",
    "spent",
    "remaining",
    "share_used",
    "burn_rate",
    "run_out",
    "project_start",
    "project_end",
    "as_of",
    "status",
    "outside_amount",
)


def project_status(w: Writer, line: ProjectLine) -> str:
    return w.label(status_key(line))


def header_width(text: str) -> float:
    """Column width that fits a header on one line (CJK characters are two columns wide)."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text) + 3


def _project_row(w: Writer, ws: Sheet, line: ProjectLine) -> list[Any]:
    over = line.over_budget
    share = (
        None
        if line.share_used is None
        else w.cell(ws, float(line.share_used), "rg alert pct" if over else "rg pct")
    )
    return [
        w.text(ws, line.name, "rg alert" if over else None),
        w.text(ws, line.title),
        w.text(ws, line.code),
        line.currency,
        money_cell(w, ws, line.budget),
        money_cell(w, ws, line.period_spent),
        money_cell(w, ws, line.spent, over),
        money_cell(w, ws, line.remaining, over),
        share,
        money_cell(w, ws, line.burn_per_day),
        _day(w, ws, line.run_out, over or (line.run_out is not None and line.run_out <= line.end)),
        _day(w, ws, line.start),
        _day(w, ws, line.end),
        _day(w, ws, line.as_of),
        w.text(ws, project_status(w, line), "rg alert" if over else None),
        money_cell(w, ws, line.outside, line.outside != 0) if line.outside_days else None,
    ]


_MONEY_KEYS = {"budget", "period_spent", "spent", "remaining", "burn_rate", "outside_amount"}


def _projects_sheet(w: Writer, names: SheetNames) -> None:
    """One block per budget currency, its amount headers naming it: no column mixes two currencies."""
    base = (16, 26, 14, 9, 12, 12, 12, 12, 9, 12, 12, 12, 12, 12, 14, 14)
    widths = [max(b, header_width(w.label(k)) + 6) for b, k in zip(base, _PROJECT_KEYS, strict=True)]
    ws = w.book.sheet(names.claim(w.label("sheet_projects"), "Projects"), widths)
    lines = w.report.projects
    for n, currency in enumerate(dict.fromkeys(line.currency for line in lines)):
        if n:
            ws.append([])
        ws.append(
            [
                w.text(
                    ws,
                    w.text_of("amount_of", name=w.label(k), currency=currency)
                    if k in _MONEY_KEYS
                    else w.label(k),
                    "rg header",
                )
                for k in _PROJECT_KEYS
            ]
        )
        for line in lines:
            if line.currency == currency:
                ws.append(_project_row(w, ws, line))
    flagged = [line for line in lines if line.outside_days or line.unsynced or line.run_out_after_end]
    if flagged:
        ws.append([])
    for line in flagged:
        if line.outside_days:
            days = day_ranges(line.outside_days)
            ws.append([w.text(ws, line.name, "rg alert"), w.text(ws, f"{w.label('outside_dates')}: {days}")])
        if line.unsynced:
            ranges = ", ".join(
                a.isoformat() if a == z else f"{a.isoformat()} – {z.isoformat()}" for a, z in line.unsynced
            )
            note = w.text_of("unsynced_spans", name=line.name, ranges=ranges)
            ws.append([w.text(ws, line.name, "rg alert"), w.text(ws, note)])
        if line.run_out_after_end and line.run_out is not None:
            note = w.text_of("run_out_after_end_cell", date=line.run_out.isoformat())
            ws.append([w.text(ws, line.name), w.text(ws, f"{w.label('run_out')}: {note}")])
    ws.close()


_REC_KEYS = ("key", "consumed_quota", "refunded_quota", "net_quota", "store_current_user", "gateway_stat")


def _rec_row(w: Writer, ws: Sheet, line: ReconcileLine) -> list[Any]:
    bad = line.status == "unexplained"
    num = "rg alert int" if bad else "rg int"
    return [
        w.text(ws, line.key if line.key is not None else w.label("total"), "rg alert" if bad else None),
        w.cell(ws, line.store_consumed, num),
        w.cell(ws, line.store_refunded, num),
        w.cell(ws, line.store_net, num),
        w.cell(ws, line.store_current_user, num),
        None if line.gateway_stat is None else w.cell(ws, line.gateway_stat, num),
        w.text(ws, w.label(f"rec_{line.status}"), "rg alert" if bad else None),
        w.text(ws, "; ".join(line.notes)),
    ]


def _reconciliation_sheet(w: Writer, names: SheetNames) -> None:
    rec = w.report.reconciliation
    assert rec is not None
    base = (24, 14, 14, 14, 16, 14, 14, 90)
    widths = [
        max(b, header_width(w.label(k))) for b, k in zip(base, (*_REC_KEYS, "status", "notes"), strict=True)
    ]
    ws = w.book.sheet(names.claim(w.label("sheet_reconciliation"), "Reconciliation"), widths)
    ws.append(w.header(ws, (*_REC_KEYS, "status", "notes")))
    for line in (*rec.keys, rec.total):
        ws.append(_rec_row(w, ws, line))
    ws.append([])
    ws.append([w.text(ws, reconciliation_text(w.report, w.label))])
    for note in rec.notes:
        ws.append([w.text(ws, note)])
    ws.close()


def _bridge_sheet(w: Writer, names: SheetNames) -> None:
    """The wallet bridge: one block per source, each line in quota (exact), USD and CNY (at the
    source's rate) as printed, with the rounding lines that make each column foot."""
    bridge = w.report.bridge
    assert bridge is not None
    text = w.ctx.template.wording(w.ctx.lang).group("bridge_")
    rates = w.report.bridge_rates()
    ws = w.book.sheet(names.claim(w.label("sheet_bridge"), "Bridge"), (56, 18, 16, 16, 90))
    for s in bridge.sources:
        ws.append([w.text(ws, f"{text['source']}: {s.source}"), w.text(ws, s.account)])
        ws.append(
            [w.text(ws, ""), w.text(ws, text["quota"]), w.text(ws, text["usd"]), w.text(ws, text["cny"])]
        )
        for line in printed_bridge(bridge, s, rates.get(s.source)):
            alert = line.key == "residual" and bool(line.quota)
            ws.append(
                [
                    w.text(ws, text[line.key]),
                    None
                    if line.key == "rounding"
                    else w.text(ws, text["unknown"])
                    if line.quota is None
                    else line.quota,
                    None if line.usd is None else money_cell(w, ws, line.usd, alert=alert),
                    None if line.cny is None else money_cell(w, ws, line.cny, alert=alert),
                ]
            )
        ws.append([w.text(ws, cny_note(s.source, rates.get(s.source), text))])
        if s.closes:
            ws.append([w.text(ws, text["closes"])])
        unexplained = [unexplained_text(s, text)] if s.unexplained else []
        for note in (*(n.text(text) for n in s.explanations), *unexplained):
            ws.append([w.text(ws, f"{text['note']}: {note}")])
        ws.append([])
    ws.close()


def _payments_sheet(w: Writer, names: SheetNames) -> None:
    """The top-ups as payments, one line each, to be matched to invoices (发票)."""
    bridge = w.report.bridge
    assert bridge is not None
    text = w.ctx.template.wording(w.ctx.lang).group("bridge_")
    ws = w.book.sheet(
        names.claim(w.label("sheet_payments"), "Payments"), (14, 20, 26, 14, 10, 18, 30, 14, 60)
    )
    keys = ("date", "kind", "paid", "currency", "quota", "ref", "method", "text")
    ws.append([w.text(ws, text["source"]), *(w.text(ws, text[f"payment_{k}"]) for k in keys)])
    for s in bridge.sources:
        for p in s.payments:
            ws.append(
                [
                    w.text(ws, s.source),
                    w.cell(
                        ws,
                        datetime.fromtimestamp(p.at, w.report.period.tz).replace(tzinfo=None),
                        "rg datetime",
                    ),
                    w.text(ws, text.get(f"payment_{p.kind}", p.kind)),
                    w.text(ws, p.paid or text["payment_not_stated"]),
                    w.text(ws, p.currency or ""),
                    p.quota,
                    w.text(ws, p.ref or ""),
                    w.text(ws, p.method or ""),
                    w.text(ws, p.text),
                ]
            )
    ws.close()
