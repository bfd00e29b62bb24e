"""Project and grant views: a project's period, its charged rows and grant report, and the
per-project lines a team report carries."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ..config import Config
from ..core.aggregate import aggregate, member_map
from ..core.budget import GrantView, IssuedClaim, ProjectLine
from ..core.partials import Bucket, Partials
from ..core.periods import Period, date_range_period, local_days
from ..core.projects import (
    Money,
    Project,
    charged_usd_by_source,
    daily_spend,
    grant_kind,
    grant_lines,
    project_line,
)
from ..core.rates import Exchange
from ..core.records import UsageRecord
from ..core.report import Report
from ..errors import UsageError
from ..store import Reader, evidence
from .report import provenance
from .timeline import Timeline

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*\s]+')


def find_project(config: Config, name: str) -> Project:
    """The configured project named ``name`` (a usage error naming the known ones, if none)."""
    for project in config.projects:
        if project.name == name:
            return project
    known = (
        ", ".join(p.name for p in config.projects) or "none configured; add [projects.NAME] to reportgen.toml"
    )
    raise UsageError(f"no project named {name!r} (projects: {known})")


def project_period(project: Project, tz: Any) -> Period:
    """The project's whole period, labelled ``NAME_START_END`` (safe in a file name)."""
    period = date_range_period(project.start, project.end, tz)
    safe = _UNSAFE.sub("_", project.name).strip(" ._") or "project"
    return replace(period, label=f"{safe[:60]}_{project.start.isoformat()}_{project.end.isoformat()}")


def project_part(whole: Period, within: Period, project: Project) -> Period:
    """The part of a project's period inside ``within``, labelled ``PROJECT_LABEL``."""
    start, end = max(whole.start, within.start), min(whole.end, within.end)
    if start >= end:
        raise UsageError(
            f"project {project.name!r} runs {project.start} .. {project.end}: "
            f"nothing of it falls in {within.label}"
        )
    prefix = whole.label.rsplit("_", 2)[0]
    return Period(f"{prefix}_{within.label}", start, end)


class _ChargedSource:
    """Detail rows of a project: only its keys, only on the days they are charged to it."""

    def __init__(
        self, timeline: Timeline, project: Project, key_to_member: dict[str, str], period: Period
    ) -> None:
        self._timeline = timeline
        self._project = project
        self._members = key_to_member
        self._tz = period.tz

    def iter_records(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None
    ) -> Iterator[UsageRecord]:
        for record in self._timeline.iter_records(start_ts, end_ts, token_names):
            day = datetime.fromtimestamp(record.created_at, self._tz).date()
            member = self._members.get(record.token_name, record.token_name)
            if self._project.share(record.token_name, member, day):
                yield record


def project_report(
    timeline: Timeline,
    facts: Reader,
    config: Config,
    project: Project,
    period: Period,
    status: Any,
    generated_at: datetime | None,
    fingerprint: bool = True,
    rates: Mapping[str, Exchange] | None = None,
    register: Reader | None = None,
) -> tuple[Report, tuple[str, ...]]:
    """The grant report of ``project`` over ``period`` (a month of it, a quarter, or all of it).

    The usual breakdowns (members, models, days, detail rows) cover the project's keys on
    the days they are charged to it, in full; ``report.grant`` holds the charged amounts,
    where a key split by percentage counts only at its share: the period's lines, and the
    budget position per category since the project's start (read from the timeline, so
    closed months from their snapshots).  ``register`` is the store whose issue register
    lists the project's claims issued before this report.
    """
    keys = tuple(project.keys(config.members))
    partials = timeline.partials(period, keys)
    first, last = local_days(period)[0][0], local_days(period)[-1][0]
    earlier: tuple[Bucket, ...] = ()
    if project.start < first:
        earlier = timeline.partials(
            date_range_period(project.start, first - timedelta(days=1), period.tz), keys
        ).buckets
    key_to_member, members = member_map(config, {b.token_name for b in partials.buckets} | set(keys))
    key_to_member, _ = member_map(config, {b.token_name for b in earlier} | set(key_to_member))

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
        status=status,
        source=_ChargedSource(timeline, project, key_to_member, period),
        generated_at=generated_at,
        provenance=provenance(facts, timeline, period, keys, fingerprint),
        rates=rates,  # each source's spend at its own rate, as in the team's statement
    )
    money = _money(report)
    since_start = (*(b for b in earlier if charged(b.token_name, b.day)), *buckets)
    line = project_line(
        project,
        since_start,
        key_to_member=key_to_member,
        money=money,
        period_days=(first, last),
        today=report.generated_at.astimezone(period.tz).date(),
    )
    line = _with_unsynced(line, timeline, period)
    notes = config.member_notes
    grant = GrantView(
        project=line,
        lines=grant_lines(project, buckets, key_to_member, money),
        justification=project.justification,
        member_notes=tuple((m.name, notes[m.name]) for m in report.members if m.name in notes),
        charges=project.charges,
        kind=grant_kind(project, first, last),
        daily=()
        if line.as_of is None
        else daily_spend(project, since_start, key_to_member, money, line.as_of),
        claims=() if register is None else issued_claims(register, project, period, report.generated_at),
        usd_by_source=charged_usd_by_source(project, buckets, key_to_member, money, report.source_of)
        if report.source_rates
        else (),
    )
    return replace(report, projects=(line,), grant=grant, charged_to=charged_to([project])), keys


def issued_claims(
    register: Reader, project: Project, period: Period, before: datetime
) -> tuple[IssuedClaim, ...]:
    """The project's claims (packets) issued up to ``before`` for periods ending by ``period``'s end,
    other than ``period`` itself, from the audit log's packet entries, one per number, oldest first."""
    scope = f"project {project.name}"
    first, last = local_days(period)[0][0], local_days(period)[-1][0]
    out: dict[str, IssuedClaim] = {}
    for entry in evidence.entries(register):
        if entry.action != "packet" or entry.at > before.timestamp():
            continue
        try:
            details = json.loads(entry.details)
            if details.get("scope") != scope:
                continue
            lo, hi = (date.fromisoformat(d) for d in details["period"])
            amount = None if details.get("charged") is None else Decimal(details["charged"])
        except (ValueError, KeyError, TypeError, InvalidOperation):
            continue  # an entry from before packets recorded their period and amount
        number = str(details.get("statement", ""))
        if hi > last or (lo, hi) == (first, last) or not number or number in out:
            continue
        issued = datetime.fromtimestamp(entry.at, period.tz).date()
        out[number] = IssuedClaim(
            number, lo, hi, issued, amount, str(details.get("currency", project.currency))
        )
    return tuple(sorted(out.values(), key=lambda c: (c.first, c.issued, c.number)))


def with_projects(report: Report, timeline: Timeline, config: Config) -> Report:
    """``report`` with its per-project view, if any project is configured."""
    if not config.projects:
        return report
    days = local_days(report.period)
    first, last = days[0][0], days[-1][0]
    span_start = min(first, *(p.start for p in config.projects))
    keys = sorted({k for p in config.projects for k in p.keys(config.members)})
    span = date_range_period(span_start, last, report.period.tz)
    buckets = timeline.partials(span, tuple(keys)).buckets
    key_to_member, _ = member_map(config, {b.token_name for b in buckets})
    money = _money(report)
    today = report.generated_at.astimezone(report.period.tz).date()
    lines = tuple(
        project_line(
            p, buckets, key_to_member=key_to_member, money=money, period_days=(first, last), today=today
        )
        for p in config.projects
    )
    return replace(
        report,
        projects=tuple(_with_unsynced(line, timeline, report.period) for line in lines),
        charged_to=charged_to(config.projects),
    )


def _money(report: Report) -> Money:
    """Charged quota to money at the report's rate, or each key's source's when the sources' rates differ."""
    return Money(report.quota_per_unit, report.exchange.rate, report.rate_of if report.source_rates else None)


def _with_unsynced(line: ProjectLine, timeline: Timeline, period: Period) -> ProjectLine:
    """Name the project's days up to its as-of day that the store does not wholly hold (spent is a floor)."""
    if line.as_of is None:
        return line
    span = date_range_period(line.start, line.as_of, period.tz)
    missing = timeline.missing(span.start_ts, span.end_ts)
    days = [day for day, lo, hi in local_days(span) if any(a < hi and b > lo for a, b in missing)]
    if not days:
        return line
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and (day - runs[-1][1]).days == 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return replace(line, unsynced_days=len(days), unsynced=tuple(runs))


def charged_to(projects: Iterable[Project]) -> Callable[[str, str, date], tuple[tuple[str, Decimal], ...]]:
    """``(key, member, day) -> (("alpha", 60), ("beta", 40))``: the projects charged on that day,
    each with its percent of the key's spend."""
    projects = tuple(projects)

    def charged(key: str, member: str, day: date) -> tuple[tuple[str, Decimal], ...]:
        shares = ((p.name, p.share(key, member, day)) for p in projects)
        return tuple((name, share) for name, share in shares if share)

    return charged


def charged_filter(project: Project, config: Config, period: Period) -> Callable[[UsageRecord], bool]:
    """Whether a row is charged to ``project`` (its key, on a day the key is charged to it)."""
    members = config.key_to_member()
    tz = period.tz

    def keep(record: UsageRecord) -> bool:
        day = datetime.fromtimestamp(record.created_at, tz).date()
        return bool(project.share(record.token_name, members.get(record.token_name, record.token_name), day))

    return keep


def charged_days(
    project: Project, config: Config, period: Period, keys: tuple[str, ...]
) -> dict[str, tuple[tuple[date, date], ...]]:
    """Per key, the runs of local days of ``period`` (first, last inclusive) it is charged to ``project``."""
    key_to_member = config.key_to_member()
    days = [day for day, _, _ in local_days(period)]
    out: dict[str, tuple[tuple[date, date], ...]] = {}
    for key in keys:
        runs: list[tuple[date, date]] = []
        for day in days:
            if not project.share(key, key_to_member.get(key, key), day):
                continue
            if runs and (day - runs[-1][1]).days == 1:
                runs[-1] = (runs[-1][0], day)
            else:
                runs.append((day, day))
        out[key] = tuple(runs)
    return out
