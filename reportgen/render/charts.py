"""What a statement's charts draw, for every format that draws them (the PDF and the HTML page).

A chart never replaces a number: every value here is one the tables print, taken from the
same :class:`~reportgen.core.report.Report`, exact (the formats round when they label).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from ..core.records import LogType
from ..core.report import Report
from ..templating import wording

__all__ = ["MAX_BARS", "MAX_SERIES", "PALETTE", "chart_labels", "daily_values", "member_bars"]

#: Series colours (colour-blind friendly, then greys for the rest).
PALETTE = (
    "#4E79A7", "#F28E2B", "#59A14F", "#E15759", "#76B7B2", "#EDC948", "#B07AA1", "#FF9DA7", "#9C755F",
)  # fmt: skip
#: At most this many series are drawn; the rest are summed into "other".
MAX_SERIES = 8
#: Bars of the per-member chart (it must fit a page); more members are summed into one "other" bar.
MAX_BARS = 25


def chart_labels(lang: str) -> dict[str, str]:
    """The charts' wording (labels.toml's ``chart_`` labels) in ``lang``."""
    return wording(lang).group("chart_")


def daily_values(report: Report, lang: str = "en") -> tuple[str, dict[str, dict[str, Decimal]]]:
    """``(by, {series: {ISO day: USD}})``: each day's net spend split by member (or by model
    when there is one member), exact; the series of a day add up to that day's table line."""
    buckets = report.partials.buckets if report.partials is not None else ()
    by = "member" if len({report.member_of(b.token_name) for b in buckets}) > 1 else "model"
    quota: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for b in buckets:
        sign = 1 if b.type == LogType.CONSUME else -1 if b.type == LogType.REFUND else 0
        if sign:
            name = report.member_of(b.token_name) if by == "member" else b.model_name
            quota[name][b.day.isoformat()] += sign * b.quota
    values = {
        name: {day: Decimal(q) / report.quota_per_unit for day, q in days.items()}
        for name, days in quota.items()
    }
    return by, _top(values, chart_labels(lang)["other"])


def _top(values: dict[str, dict[str, Decimal]], other: str) -> dict[str, dict[str, Decimal]]:
    """The largest series, and the rest summed into one: a legend of 30 names helps nobody."""
    ranked = sorted(values, key=lambda n: (-sum(values[n].values()), n))
    if len(ranked) <= MAX_SERIES:
        return {n: values[n] for n in ranked}
    out = {n: values[n] for n in ranked[: MAX_SERIES - 1]}
    rest: dict[str, Decimal] = defaultdict(Decimal)
    for n in ranked[MAX_SERIES - 1 :]:
        for day, v in values[n].items():
            rest[day] += v
    out[other] = dict(rest)
    return out


def member_bars(report: Report, lang: str) -> list[tuple[str, Decimal]]:
    """Net spend per member, largest first (the members table's figures): a bar per member up to
    MAX_BARS, the rest as one summed bar."""
    ranked = sorted((m for m in report.members if m.stats.active), key=lambda m: (-m.stats.cost_usd, m.name))
    bars: list[tuple[str, Decimal]] = [(m.name, m.stats.cost_usd) for m in ranked[: MAX_BARS - 1]]
    if len(ranked) > MAX_BARS - 1:
        rest = ranked[MAX_BARS - 1 :]
        if len(rest) == 1:
            bars.append((rest[0].name, rest[0].stats.cost_usd))
        else:
            label = chart_labels(lang)["other"] + f" ({len(rest)})"
            bars.append((label, sum((m.stats.cost_usd for m in rest), Decimal(0))))
    return bars
