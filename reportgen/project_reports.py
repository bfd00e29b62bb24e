"""Projects from the store: the per-project view of a report, and the grant closing report.

:mod:`reportgen.projects` does the arithmetic on buckets; this module fetches the buckets
a project needs (from the earliest project start through the report period, not only the
period: a budget is spent over the whole project) and puts the results on the Report.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from .aggregate import aggregate, member_map
from .config import Config
from .errors import UsageError
from .models import GrantView, Partials, Period, ProjectLine, Report, UsageRecord
from .periods import date_range_period, local_days
from .projects import Money, Project, grant_lines, member_notes, project_line
from .store import Store

if TYPE_CHECKING:
    from .closing import PeriodView

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*\s]+')


def with_projects(report: Report, store: Store, config: Config) -> Report:
    """``report`` with its per-project view and the period's last reconciliation, if any."""
    from .reconcile import load_reconciliation

    report = replace(report, reconciliation=load_reconciliation(store, report.period))
    if not config.projects:
        return report
    days = local_days(report.period)
    first, last = days[0][0], days[-1][0]
    span_start = min(first, *(p.start for p in config.projects))
    keys = sorted({k for p in config.projects for k in p.keys(config.members)})
    span = date_range_period(span_start, last, report.period.tz)
    buckets = store.partials(span, tuple(keys)).buckets
    key_to_member, _ = member_map(config, {b.token_name for b in buckets})
    money = Money(report.quota_per_unit, report.exchange.rate)
    today = report.generated_at.astimezone(report.period.tz).date()
    lines = tuple(
        project_line(
            p, buckets, key_to_member=key_to_member, money=money, period_days=(first, last), today=today
        )
        for p in config.projects
    )
    coverage = store.coverage()
    return replace(report, projects=tuple(_with_unsynced(line, coverage, report.period.tz) for line in lines))


def _with_unsynced(line: ProjectLine, coverage: list[tuple[int, int]], tz: ZoneInfo) -> ProjectLine:
    """Count the project's days up to its as-of day that the store does not wholly hold."""
    if line.as_of is None:
        return line
    missing = sum(
        1
        for _, lo, hi in local_days(date_range_period(line.start, line.as_of, tz))
        if not any(a <= lo and hi - 1 <= b for a, b in coverage)
    )
    return replace(line, unsynced_days=missing) if missing else line


def find_project(config: Config, name: str) -> Project:
    for project in config.projects:
        if project.name == name:
            return project
    known = (
        ", ".join(p.name for p in config.projects) or "none configured; add [projects.NAME] to reportgen.toml"
    )
    raise UsageError(f"no project named {name!r} (projects: {known})")


def project_period(project: Project, tz: ZoneInfo) -> Period:
    """The project's whole period, labelled ``NAME_START_END`` (safe in a file name)."""
    period = date_range_period(project.start, project.end, tz)
    safe = _UNSAFE.sub("_", project.name).strip(" ._") or "project"
    return replace(period, label=f"{safe[:60]}_{project.start.isoformat()}_{project.end.isoformat()}")


class _ChargedSource:
    """Detail rows of a project: only its keys, only on the days they are charged to it."""

    def __init__(self, store: Store, project: Project, key_to_member: dict[str, str], period: Period) -> None:
        self._store = store
        self._project = project
        self._members = key_to_member
        self._tz = period.tz

    def iter_records(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None
    ) -> Iterator[UsageRecord]:
        for record in self._store.iter_records(start_ts, end_ts, token_names):
            day = datetime.fromtimestamp(record.created_at, self._tz).date()
            member = self._members.get(record.token_name, record.token_name)
            if self._project.share(record.token_name, member, day):
                yield record


def build_project_report(
    store: Store,
    config: Config,
    name: str,
    generated_at: datetime | None = None,
    within: Period | None = None,
) -> Report:
    """The grant closing report of project ``name`` over its whole period (or its part ``within``).

    The usual breakdowns (members, models, days, detail rows) cover the project's keys on
    the days they are charged to it, in full; ``report.grant`` holds the charged amounts,
    where a key split by percentage counts only at its share.
    """
    from .reports import provenance

    project = find_project(config, name)
    period = project_period(project, config.tz)
    if within is not None:
        period = _clip(period, within, project)
    keys = project.keys(config.members)
    partials = store.partials(period, keys)
    key_to_member, members = member_map(config, {b.token_name for b in partials.buckets} | set(keys))

    def charged(token: str, day: date) -> bool:
        return bool(project.share(token, key_to_member.get(token, token), day))

    buckets = tuple(b for b in partials.buckets if charged(b.token_name, b.day))
    used = {b.token_name for b in buckets} | {k for k in keys if k in key_to_member}
    scoped = replace(
        config,
        members={m: tuple(k for k in ks if k in used) for m, ks in members.items() if set(ks) & used},
    )
    report = aggregate(
        Partials(buckets),
        period=period,
        config=scoped,
        status=store.latest_status(),
        source=_ChargedSource(store, project, key_to_member, period),
        generated_at=generated_at,
        provenance=provenance(store, period, keys),
    )
    money = Money(report.quota_per_unit, report.exchange.rate)
    line = project_line(
        project,
        buckets,
        key_to_member=key_to_member,
        money=money,
        period_days=(project.start, project.end),
        today=report.generated_at.astimezone(period.tz).date(),
    )
    line = _with_unsynced(line, store.coverage(), period.tz)
    notes = member_notes(config.raw.get("members"))
    grant = GrantView(
        project=line,
        lines=grant_lines(project, buckets, key_to_member, money),
        justification=project.justification,
        member_notes=tuple((m.name, notes[m.name]) for m in report.members if m.name in notes),
        charges=tuple(c.describe() for c in project.charges),
    )
    return replace(report, projects=(line,), grant=grant)


def _clip(whole: Period, within: Period, project: Project) -> Period:
    """The part of a project's period inside ``within``, labelled ``PROJECT_LABEL``."""
    start, end = max(whole.start, within.start), min(whole.end, within.end)
    if start >= end:
        raise UsageError(
            f"project {project.name!r} runs {project.start} .. {project.end}: "
            f"nothing of it falls in {within.label}"
        )
    prefix = whole.label.rsplit("_", 2)[0]
    return Period(f"{prefix}_{within.label}", start, end)


@contextlib.contextmanager
def open_project_view(
    config: Config, name: str, within: Period | None = None, generated_at: datetime | None = None
) -> Iterator[PeriodView]:
    """:func:`build_project_report` on the configured store, as a view of the project's keys."""
    from .closing import PeriodView  # closing builds reports, which add project views: import late

    store = Store.open(config.store_dir, create=False)
    try:
        report = build_project_report(store, config, name, generated_at, within)
        keys = find_project(config, name).keys(config.members)
        yield PeriodView(report, store, config, tuple(keys))
    finally:
        store.close()


@contextlib.contextmanager
def open_project_report(config: Config, name: str, generated_at: datetime | None = None) -> Iterator[Report]:
    """:func:`build_project_report` on the configured store; rows stream while the block runs."""
    with open_project_view(config, name, generated_at=generated_at) as view:
        yield view.report


def spent_total(report: Report) -> Decimal:
    """The charged total of a grant report in its budget currency (for tests and summaries)."""
    assert report.grant is not None
    return sum((line.cost for line in report.grant.lines), Decimal(0))
