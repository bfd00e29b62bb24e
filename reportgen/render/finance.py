"""Wording shared by the finance sections of the workbook and the PDF."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime

from ..core.budget import ProjectLine
from ..core.report import Report


def status_key(line: ProjectLine) -> str:
    """The label key of a project's budget status."""
    if line.over_budget:
        return "over_budget"
    if line.as_of is None:
        return "not_started"
    return "within_budget"


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
