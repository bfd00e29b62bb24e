"""The data-quality check run before ``report`` and ``packet`` write anything.

Each :class:`Finding` is something finance should know before filing a document: keys
nobody is charged for, days with no data, rows that used tokens but cost nothing,
subscription-billed rows, rows without price detail, and parts of the period that were
never synced.  ``--strict`` makes any finding fatal (:func:`enforce`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from .config import Config
from .errors import QualityError
from .models import Bucket, LogType, Partials, Period
from .periods import local_days
from .store import Store, uncovered

#: Finding codes, in the order findings are reported.
CODES = (
    "unsynced",
    "days_without_data",
    "unmapped_keys",
    "zero_quota_with_tokens",
    "unpriced",
    "subscription",
)

_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "unsynced": "{count} part(s) of the period were never synced: {items}. "
        "Run `reportgen sync --period {label}` (parts still in the future cannot be synced yet).",
        "days_without_data": "{count} synced day(s) of the period have no log rows at all: {items}.",
        "unmapped_keys": "{count} key(s) with usage are not mapped to any {targets}: {items}. "
        "Each is reported as a member named after the key.",
        "zero_quota_with_tokens": "{count} consumption row(s) used tokens but were charged 0 quota: {items}.",
        "unpriced": "{count} consumption row(s) have no price detail (no model ratio or price): {items}.",
        "subscription": "{count} consumption row(s) ({quota} quota) were billed to a subscription, "
        "not the wallet; they are shown separately: {items}.",
        "member_or_project": "member or project",
        "member": "member",
        "none": "No findings: every check passed.",
        "title": "Data-quality check",
    },
    "zh": {
        "unsynced": "本期有 {count} 段时间从未同步：{items}。"
        "请运行 `reportgen sync --period {label}`（尚未到来的时间暂时无法同步）。",
        "days_without_data": "本期有 {count} 个已同步的日期没有任何日志记录：{items}。",
        "unmapped_keys": "{count} 个有用量的密钥未映射到任何{targets}：{items}。每个密钥按以其命名的成员列出。",
        "zero_quota_with_tokens": "{count} 条消费记录使用了 token 但扣费额度为 0：{items}。",
        "unpriced": "{count} 条消费记录缺少价格信息（没有模型倍率或价格）：{items}。",
        "subscription": "{count} 条消费记录（额度 {quota}）由订阅计费而非钱包扣费，已单独列示：{items}。",
        "member_or_project": "成员或项目",
        "member": "成员",
        "none": "未发现问题：所有检查均通过。",
        "title": "数据质量检查",
    },
}


@dataclass(frozen=True)
class Finding:
    """One data-quality finding: a code, how many, and the items concerned (names, days, ranges)."""

    code: str
    count: int
    items: tuple[str, ...]
    quota: int = 0

    def message(self, lang: str, period: Period, projects: bool = False) -> str:
        text = _MESSAGES.get(lang, _MESSAGES["en"])
        targets = text["member_or_project"] if projects else text["member"]
        return text[self.code].format(
            count=self.count,
            items=", ".join(self.items),
            label=period.label,
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
        text = _MESSAGES.get(lang, _MESSAGES["en"])
        out = [f"# {text['title']}: {self.period.label}", ""]
        lines = self.lines(lang)
        out += [f"- {line}" for line in lines] if lines else [text["none"]]
        return "\n".join(out) + "\n"


def check_quality(
    store: Store,
    config: Config,
    period: Period,
    token_names: Sequence[str] | None = None,
    partials: Partials | None = None,
) -> QualityReport:
    """Run every check on ``period`` in ``store``; ``token_names`` limits row checks to those keys.

    ``partials`` are the report's grouped rows when it has them (grouping a month again
    is the costliest part of the check).  Coverage and days without data are about the
    account's data as a whole, so they ignore ``token_names``: one member's quiet day is
    not a gap in the data.
    """
    keys = None if token_names is None else tuple(token_names)
    buckets = (partials or store.partials(period, keys)).buckets
    consumption = [b for b in buckets if b.type == LogType.CONSUME]
    projects = _project_keys(config)
    found = [
        _unsynced(store.coverage(), period),
        _days_without_data(store, period),
        _unmapped(store, config, period, keys, projects),
        _counted("zero_quota_with_tokens", ((b.model_name, b.zero_quota_with_tokens) for b in consumption)),
        _counted("unpriced", ((b.model_name, b.unpriced) for b in consumption)),
        _subscription(consumption),
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


def _unsynced(coverage: list[tuple[int, int]], period: Period) -> Finding | None:
    gaps = uncovered(coverage, period.start_ts, period.end_ts - 1)
    if not gaps:
        return None
    tz = period.tz
    items = tuple(
        f"{datetime.fromtimestamp(a, tz):%Y-%m-%d %H:%M} .. {datetime.fromtimestamp(b + 1, tz):%Y-%m-%d %H:%M}"
        for a, b in gaps
    )
    return Finding("unsynced", len(gaps), items)


def unsynced_lines(store: Store, period: Period) -> list[str]:
    """What a summary should say when parts of its period were never synced (English, stderr)."""
    finding = _unsynced(store.coverage(), period)
    return [] if finding is None else [f"Data quality: {finding.message('en', period)}"]


def _days_without_data(store: Store, period: Period) -> Finding | None:
    covered = store.coverage()
    empty: list[date] = []
    for day, start, end in local_days(period):
        if not any(lo <= start and end - 1 <= hi for lo, hi in covered):
            continue  # reported as never synced
        if store.count_rows(start, end) == 0:
            empty.append(day)
    if not empty:
        return None
    return Finding("days_without_data", len(empty), tuple(_day_ranges(empty)))


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


def _unmapped(
    store: Store,
    config: Config,
    period: Period,
    keys: tuple[str, ...] | None,
    projects: set[str] | None,
) -> Finding | None:
    mapped = set(config.key_to_member()) | (projects or set())
    used = {
        name
        for (name,) in store.conn.execute(
            "SELECT DISTINCT token_name FROM logs WHERE created_at >= ? AND created_at < ? AND type IN (2, 5, 6)",
            (period.start_ts, period.end_ts),
        )
    }
    if keys is not None:
        used &= set(keys)
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


def _model_items(by_model: Counter[str]) -> tuple[str, ...]:
    return tuple(
        f"{model or '(no model)'} ×{n}" for model, n in sorted(by_model.items(), key=lambda x: (-x[1], x[0]))
    )
