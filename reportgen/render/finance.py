"""Wording shared by the finance sections of the workbook and the PDF."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime

from ..core.budget import Charge, ProjectLine
from ..core.money import money_text
from ..core.report import Report
from .dates import day_text


def status_key(line: ProjectLine) -> str:
    """The label key of a project's budget status."""
    if line.over_budget:
        return "over_budget"
    if line.as_of is None:
        return "not_started"
    return "within_budget"


def over_budget_text(line: ProjectLine, label: Callable[..., str]) -> str | None:
    """The claim box's warning for a project over budget (None within budget): spent since its start,
    the budget, and by how much it is over, each with the budget currency."""
    if not line.over_budget:
        return None
    cur = line.currency
    return label(
        "over_budget_warning",
        spent=f"{cur} {money_text(line.spent)}",
        budget=f"{cur} {money_text(line.budget)}",
        over=f"{cur} {money_text(line.overrun)}",
    )


def categories_text(line: ProjectLine, label: Callable[..., str]) -> str:
    """A project's named budget categories with the period's spend in each (``测试化验加工费 CNY 216.00；…``),
    what a claim's 预算科目 says when the config names none; empty for a single budget amount."""
    named = [c for c in line.categories if c.name or not c.assigned]
    if not named:
        return ""
    return label("list_separator").join(
        f"{c.name or label('category_unassigned')} {line.currency} {money_text(c.period_spent)}"
        for c in named
        if c.period_spent
    )


def reconciliation_text(report: Report, label: Callable[[str], str]) -> str:
    """The one-line status of the period's last reconciliation, in the document's language."""
    rec = report.reconciliation
    assert rec is not None
    when = datetime.fromtimestamp(rec.checked_at, report.period.tz).strftime("%Y-%m-%d %H:%M")
    if rec.ok:
        text = (label("reconciliation_ok")).format(date=when)
    else:
        keys = ", ".join(x.key if x.key is not None else (label("total")) for x in rec.unexplained)
        text = (label("reconciliation_bad")).format(date=when, keys=keys)
    current = report.provenance.fingerprint
    if rec.fingerprint and current and report.member_filter is None and rec.fingerprint != current:
        text += " " + (label("reconciliation_stale"))
    return text


def day_ranges(days: Sequence[date]) -> str:
    """``2026-04-21 – 2026-04-30, 2026-05-02``: runs of consecutive days shortened."""
    runs: list[list[date]] = []
    for day in sorted(days):
        if runs and (day - runs[-1][1]).days == 1:
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return ", ".join(a.isoformat() if a == b else f"{a.isoformat()} – {b.isoformat()}" for a, b in runs)


def charge_text(charge: Charge, label: Callable[..., str], lang: str) -> str:
    """``张三 60%，自2026年4月16日起`` / ``key-bob 60% from 2026-04-16``: a charge in the document's words."""
    text = charge.member if charge.member is not None else charge.key or ""
    if charge.share != 100:
        text += f" {format(charge.share.normalize(), 'f')}%"
    if charge.start is not None:
        text += label("charge_from", date=day_text(charge.start, lang))
    if charge.end is not None:
        text += label("charge_to", date=day_text(charge.end, lang))
    return text


def charges_text(charges: Sequence[Charge], label: Callable[..., str], lang: str) -> str:
    """Every charge of a project, joined as the language punctuates (``；`` in zh)."""
    return label("list_separator").join(charge_text(c, label, lang) for c in charges)
