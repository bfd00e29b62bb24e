"""What every document shows of a report: the member lines, the totals, CNY by source, the banner."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from ..core.findings import CUT, DUPLICATE
from ..core.money import cents, convert
from ..core.report import Report
from ..core.stats import Line, Stats
from .dates import days_in_words

__all__ = [
    "FOCUS_COVERAGE",
    "banner_lines",
    "claim_cny",
    "coverage_marker",
    "member_models",
    "members",
    "source_cny",
    "source_usd",
    "totals",
]

#: The FOCUS extension column an incomplete period's lines carry (see :func:`coverage_marker`).
FOCUS_COVERAGE = "x_Coverage"


def members(report: Report) -> tuple[Line, ...]:
    """The member lines the documents show (one member when the report is filtered)."""
    if report.member_filter is None:
        return report.members
    return tuple(line for line in report.members if line.name == report.member_filter)


def member_models(report: Report) -> tuple[Line, ...]:
    if report.member_filter is None:
        return report.member_models
    return tuple(line for line in report.member_models if line.name == report.member_filter)


def totals(report: Report) -> Stats:
    """The report's totals, or the filtered member's figures."""
    if report.member_filter is not None:
        for line in report.members:
            if line.name == report.member_filter:
                return line.stats
    return report.totals


def source_usd(report: Report) -> list[tuple[str, Decimal, Decimal]]:
    """``(source, rate, exact USD)`` of each source's part of the totals, when the sources convert
    at different rates; empty otherwise or without every rate."""
    if not report.source_rates or any(e.rate is None for _, e in report.source_rates):
        return []
    keys = report.member_keys(report.member_filter) if report.member_filter is not None else None
    usd = {name: Decimal(0) for name, _ in report.source_rates}
    for line in report.keys:
        if keys is None or line.name in keys:
            usd[report.source_of(line.name)] += line.stats.cost_usd
    return [(name, e.rate, usd[name]) for name, e in report.source_rates if e.rate is not None]


def source_cny(report: Report) -> list[tuple[str, Decimal, Decimal]]:
    """``(source, rate, exact CNY)`` of each source's part of the totals, when the sources convert
    at different rates (their sum is the CNY total exactly); empty otherwise or without every rate."""
    return [(name, rate, usd * rate) for name, rate, usd in source_usd(report)]


def coverage_marker(report: Report, label: Callable[..., str]) -> str | None:
    """What each line of a CSV of an incomplete period carries in its last column (None: complete).

    A column, not a comment line: spreadsheet tools and ``csv`` readers take it as one more
    field, and a line copied out of the file keeps it.
    """
    if report.coverage.complete:
        return None
    return label("incomplete", ranges=", ".join(report.coverage.ranges(report.period.tz)))


def banner_lines(report: Report, label: Callable[..., str]) -> list[str]:
    """What every document says above its figures: INCOMPLETE when parts were never synced,
    and which parts are frozen closed snapshots when some are (``label(key, **values)``)."""
    p = report.period
    out = []
    if not report.coverage.complete:
        out.append(label("incomplete", ranges=", ".join(report.coverage.ranges(p.tz))))
    lost = [f for f in report.left_out if f.unexplained]
    if lost:
        days = sorted({datetime.fromtimestamp(f.start_ts, p.tz).date().isoformat() for f in lost})
        out.append(label("left_out", count=f"{sum(f.rows for f in lost):,}", ranges=", ".join(days)))
    repeated = sum(f.rows for f in report.left_out if f.reason == DUPLICATE)
    if repeated:
        out.append(label("repeated", count=f"{repeated:,}"))
    cut = sum(f.rows for f in report.left_out if f.reason == CUT)
    if cut:
        out.append(label("cut", count=f"{cut:,}"))
    if any(part.frozen for part in report.basis):
        parts = []
        for part in report.basis:
            span = days_in_words(part.start.date(), (part.end - timedelta(days=1)).date(), label)
            if part.frozen:
                parts.append(
                    label("basis_frozen", range=span, label=part.closed_label, revision=part.revision)
                )
            else:
                parts.append(label("basis_live", range=span))
        out.append(label("basis", parts=label("list_separator").join(parts)))
    return out


def claim_cny(report: Report) -> Decimal | None:
    """The CNY amount a claim form is for, rounded half-up to the cent; None without a CNY rate.

    A grant's claim is its charged total; any other claim is on the report's claim base
    (:meth:`~reportgen.core.report.Report.claim_amount`: wallet-paid spend by default),
    each source's part at its own rate, the exact sum rounded once.
    """
    if report.grant is not None:
        lines = report.grant.lines
        if report.grant.project.currency == "CNY":
            return cents(sum((line.cost for line in lines), Decimal(0)))
        cny = report.cny(sum((line.cost_usd for line in lines), Decimal(0)))
        if cny is None and report.grant.usd_by_source:  # each source's part at its own rate
            rates = dict(report.source_rates)
            parts = [(usd, rates[s].rate) for s, usd in report.grant.usd_by_source if s in rates]
            if len(parts) == len(report.grant.usd_by_source) and all(r is not None for _, r in parts):
                cny = sum((convert(u, r) for u, r in parts if r is not None), Decimal(0))
    else:
        cny = report.claim_amount().cny
    return None if cny is None else cents(cny)
