"""The data-quality check run before ``report`` and ``packet`` write anything.

Each :class:`Finding` is something finance should know before filing a document: keys
nobody is charged for, days with no data, rows that used tokens but cost nothing,
subscription-billed rows, rows without price detail, and parts of the period that were
never synced.  ``--strict`` makes any finding fatal (:func:`enforce`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from ..config import Config
from ..core.findings import CUT, DUPLICATE, WindowFinding
from ..core.partials import Bucket
from ..core.periods import Coverage, Period, period_args
from ..core.records import LogType
from ..core.wallet import Bridge
from ..errors import QualityError
from ..read import PeriodView
from ..templating import wording

#: Finding codes, in the order findings are reported.
CODES = (
    "unsynced",
    "left_out",
    "repeated",
    "cut",
    "days_without_data",
    "unmapped_keys",
    "zero_quota_with_tokens",
    "unpriced",
    "subscription",
    "missing_rate",
    "bridge_residual",
)


@dataclass(frozen=True)
class Finding:
    """One data-quality finding: a code, how many, and the items concerned (names, days, ranges)."""

    code: str
    count: int
    items: tuple[str, ...]
    quota: int = 0

    def message(self, lang: str, period: Period, projects: bool = False) -> str:
        text = wording(lang).group("quality_")
        targets = text["member_or_project"] if projects else text["member"]
        return text[self.code].format(
            count=self.count,
            items=", ".join(self.items),
            label=period.label,
            args=period_args(period),
            targets=targets,
            quota=f"{self.quota:,}",
        )


@dataclass(frozen=True)
class QualityReport:
    """The findings of one period (optionally one member's keys)."""

    period: Period
    findings: tuple[Finding, ...]
    projects: bool = False

    def __bool__(self) -> bool:
        return bool(self.findings)

    def lines(self, lang: str = "en") -> list[str]:
        return [f.message(lang, self.period, self.projects) for f in self.findings]

    def markdown(self, lang: str) -> str:
        """The packet's quality page."""
        text = wording(lang).group("quality_")
        out = [f"# {text['title']}: {self.period.label}", ""]
        lines = self.lines(lang)
        out += [f"- {line}" for line in lines] if lines else [text["none"]]
        return "\n".join(out) + "\n"


def check_quality(view: PeriodView) -> QualityReport:
    """Run every check on a view; a member or project view checks rows of its keys only.

    Coverage and days without data are about the account's data as a whole, so they
    ignore the view's keys: one member's quiet day is not a gap in the data.
    """
    config, period = view.config, view.report.period
    partials = view.report.partials
    # per-model sums only: the key × model groups give them (the per-day buckets are ~10 × as many)
    buckets = (
        ()
        if partials is None
        else partials.key_models
        if partials.key_models is not None
        else partials.buckets
    )
    consumption = [b for b in buckets if b.type == LogType.CONSUME]
    projects = _project_keys(config)
    used = set(view.used_keys)
    if view.token_names is not None:
        used &= set(view.token_names)
    found = [
        _unsynced(view.coverage, period),
        *_left_out(view.report.left_out, period),
        Finding("days_without_data", len(view.empty_days), tuple(_day_ranges(list(view.empty_days))))
        if view.empty_days
        else None,
        _unmapped(config, used, projects),
        _counted("zero_quota_with_tokens", ((b.model_name, b.zero_quota_with_tokens) for b in consumption)),
        _counted("unpriced", ((b.model_name, b.unpriced) for b in consumption)),
        _subscription(consumption),
        _missing_rate(config, view),
        bridge_finding(view.report.bridge),
    ]
    return QualityReport(period, tuple(f for f in found if f is not None), projects is not None)


def enforce(quality: QualityReport, strict: bool, notify: Callable[[str], None]) -> None:
    """Tell the user each finding (one line each, in English like every terminal message);
    with ``strict``, any finding stops the export before anything is written."""
    for line in quality.lines("en"):
        notify(f"Data quality: {line}")
    if strict and quality:
        raise QualityError(
            f"--strict: the data-quality check of {quality.period.label} found {len(quality.findings)} "
            "problem(s) (listed above); nothing was written"
        )


# -- the checks -----------------------------------------------------------------------------


def _unsynced(coverage: Coverage, period: Period) -> Finding | None:
    if coverage.complete:
        return None
    tz = period.tz
    items = tuple(
        f"{datetime.fromtimestamp(a, tz):%Y-%m-%d %H:%M} .. {datetime.fromtimestamp(b, tz):%Y-%m-%d %H:%M}"
        for a, b in coverage.missing
    )
    return Finding("unsynced", len(coverage.missing), items)


def unsynced_lines(view: PeriodView) -> list[str]:
    """What a summary should say when parts of its period were never synced, or rows the gateway
    served are in no figure or were repeated (English, stderr)."""
    period = view.report.period
    found = [_unsynced(view.coverage, period), *_left_out(view.report.left_out, period)]
    return [f"Data quality: {f.message('en', period)}" for f in found if f is not None]


def _left_out(left_out: Iterable[WindowFinding], period: Period) -> list[Finding]:
    """The rows the period's windows left out: in no figure (their days incomplete), repeats, and rows
    stored with a name cut."""
    out = []
    for code, chosen in (
        ("left_out", [f for f in left_out if f.unexplained]),
        ("repeated", [f for f in left_out if f.reason == DUPLICATE]),
        ("cut", [f for f in left_out if f.reason == CUT]),
    ):
        if chosen:
            days = sorted({datetime.fromtimestamp(f.start_ts, period.tz).date() for f in chosen})
            out.append(
                Finding(
                    code, sum(f.rows for f in chosen), tuple(_day_ranges(days)), sum(f.quota for f in chosen)
                )
            )
    return out


def _day_ranges(days: list[date]) -> Iterable[str]:
    """2026-04-05, 2026-04-11..2026-04-12: consecutive days folded into ranges."""
    start = prev = days[0]
    for d in [*days[1:], None]:
        if d is not None and (d - prev).days == 1:
            prev = d
            continue
        yield start.isoformat() if start == prev else f"{start.isoformat()}..{prev.isoformat()}"
        if d is not None:
            start = prev = d


def _unmapped(config: Config, used: set[str], projects: set[str] | None) -> Finding | None:
    mapped = set(config.key_to_member()) | (projects or set())
    unmapped = sorted(used - mapped)
    return Finding("unmapped_keys", len(unmapped), tuple(unmapped)) if unmapped else None


def _project_keys(config: Config) -> set[str] | None:
    """Every key a ``[projects.NAME]`` charge may reach; None when no project is configured."""
    if not config.projects:
        return None
    return {key for project in config.projects for key in project.keys(config.members)}


def _counted(code: str, pairs: Iterable[tuple[str, int]]) -> Finding | None:
    by_model: Counter[str] = Counter()
    for model, n in pairs:
        if n:
            by_model[model] += n
    if not by_model:
        return None
    return Finding(code, sum(by_model.values()), _model_items(by_model))


def _subscription(consumption: list[Bucket]) -> Finding | None:
    subs = [b for b in consumption if b.subscription]
    if not subs:
        return None
    by_model: Counter[str] = Counter()
    for b in subs:
        by_model[b.model_name] += b.rows
    return Finding("subscription", sum(by_model.values()), _model_items(by_model), sum(b.quota for b in subs))


def _missing_rate(config: Config, view: PeriodView) -> Finding | None:
    """Dated rates are configured but none covers the period (a closed period keeps its own rate)."""
    if not config.rates or config.dated_rate(view.report.period) is not None:
        return None
    return Finding("missing_rate", 1, (view.report.exchange.source,))


def bridge_finding(bridge: Bridge | None) -> Finding | None:
    """An unexplained residual of the wallet bridge (a missing snapshot or logs explain theirs)."""
    if bridge is None:
        return None
    bad = [s for s in bridge.sources if s.unexplained]
    if not bad:
        return None
    items = tuple(f"{s.source} residual {s.residual:+,} quota" for s in bad)
    return Finding("bridge_residual", len(bad), items)


def _model_items(by_model: Counter[str]) -> tuple[str, ...]:
    return tuple(
        f"{model or '(no model)'} ×{n}" for model, n in sorted(by_model.items(), key=lambda x: (-x[1], x[0]))
    )
