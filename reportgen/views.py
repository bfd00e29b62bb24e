"""The one read path: :func:`open_period` returns a period's figures, closed or live, for any scope.

Every command and document that shows figures goes through here.  A view reads the live
store inside one read transaction, so totals, detail rows, fingerprint and coverage
agree with each other even while a sync commits windows.  A period that is exactly one
closed period reads that period's frozen snapshot with the configuration it was closed
with; a longer period (a quarter, a year, a custom range, a project) reads each closed
period inside it from its snapshot and everything else live, and says which is which
(``Report.basis``).  Reading never writes.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from .config import Config
from .core.aggregate import aggregate, member_map
from .core.corrections import changed_rows
from .core.fingerprint import FINGERPRINT_SCHEME, ROW_FIELDS, fingerprint_of
from .core.models import (
    DEFAULT_QUOTA_PER_UNIT,
    Bucket,
    Correction,
    Coverage,
    DetailTuple,
    Exchange,
    GrantView,
    Part,
    Partials,
    Period,
    ProjectLine,
    Provenance,
    Reconciliation,
    Report,
    UsageRecord,
)
from .core.periods import date_range_period, local_days
from .core.projects import Money, Project, grant_lines, member_notes, project_line
from .core.reconciliation import reconciliation_from_json
from .core.wallet import Bridge, bridge_from_json
from .errors import StoreError, UsageError
from .store import (
    BRIDGE_META,
    Amendment,
    Closure,
    Reader,
    closures,
    find_closure,
    frozen_exchange,
    frozen_source_rates,
    pending_amendment,
    snapshot_dir,
    source_rates_changed,
    uncovered,
)
from .store.wallet import bridge_of

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*\s]+')
_FAR = 2**62


@dataclass(frozen=True)
class Scope:
    """Whose figures a view shows: the team, one member, or one project's charged spend."""

    kind: str = "team"  # team | member | project
    name: str | None = None

    @classmethod
    def of(cls, member: str | None = None, project: str | None = None) -> Scope:
        if member is not None and project is not None:
            raise UsageError("give either --member or --project, not both")
        if member is not None:
            return cls("member", member)
        if project is not None:
            return cls("project", project)
        return cls()

    @property
    def filters(self) -> dict[str, str]:
        """The filters as a packet manifest records them."""
        return {} if self.name is None else {self.kind: self.name}


@dataclass(frozen=True)
class PeriodView:
    """A period's report and the facts about it every command and document shares.

    ``config`` is the configuration the figures were built with (a closed period's frozen
    mapping and rate); ``token_names`` the keys a member or project view covers (None:
    every key); ``notices`` what the user should hear before anything is written.
    """

    report: Report
    scope: Scope
    config: Config
    token_names: tuple[str, ...] | None
    row_count: int
    used_keys: tuple[str, ...]
    empty_days: tuple[date, ...]
    closure: Closure | None = None
    pending: Amendment | None = None
    notices: tuple[str, ...] = ()
    #: For a project: per key, the local days (first, last inclusive) charged to it.
    charged: dict[str, tuple[tuple[date, date], ...]] | None = None
    _timeline: Any = field(default=None, repr=False, compare=False)

    @property
    def coverage(self) -> Coverage:
        return self.report.coverage

    def canonical_rows(self) -> Iterator[tuple[bytes, str]]:
        """The fingerprinted rows in canonical form, digest order (while the view is open)."""
        p = self.report.period
        rows: Iterator[tuple[bytes, str]] = self._timeline.canonical_rows(
            p.start_ts, p.end_ts, self.token_names
        )
        return rows


# -- reading across live rows and closed snapshots ------------------------------------------


@dataclass(frozen=True)
class _Piece:
    start_ts: int
    end_ts: int
    reader: Reader
    closure: Closure | None


class _Timeline:
    """Live rows and closed snapshots laid end to end; every read is split at their edges."""

    def __init__(self, pieces: list[_Piece], tz: Any) -> None:
        self._pieces = pieces
        self._tz = tz

    def _cut(self, start: int, end: int) -> Iterator[tuple[_Piece, int, int]]:
        for piece in self._pieces:
            lo, hi = max(start, piece.start_ts), min(end, piece.end_ts)
            if lo < hi:
                yield piece, lo, hi

    def partials(self, period: Period, token_names: tuple[str, ...] | None = None) -> Partials:
        """Each piece's partials laid end to end (buckets read, if asked, while the view is open)."""
        got: list[Partials] = []
        for piece, lo, hi in self._cut(period.start_ts, period.end_ts):
            part = Period(
                period.label, datetime.fromtimestamp(lo, self._tz), datetime.fromtimestamp(hi, self._tz)
            )
            got.append(piece.reader.partials(part, token_names))
        if len(got) == 1:
            return got[0]

        def load() -> tuple[Bucket, ...]:
            return tuple(b for p in got for b in p.buckets)

        return Partials(
            None,
            tuple(lc for p in got for lc in p.latency_by_key_model),
            tuple(lc for p in got for lc in p.latency_by_day),
            key_models=tuple(
                b for p in got for b in (p.key_models if p.key_models is not None else p.buckets)
            ),
            days=tuple(b for p in got for b in (p.days if p.days is not None else p.buckets)),
            load=load,
        )

    def iter_records(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None
    ) -> Iterator[UsageRecord]:
        for piece, lo, hi in self._cut(start_ts, end_ts):
            yield from piece.reader.iter_records(lo, hi, token_names, raw=False)

    def iter_detail(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None
    ) -> Iterator[DetailTuple]:
        for piece, lo, hi in self._cut(start_ts, end_ts):
            yield from piece.reader.iter_detail(lo, hi, token_names)

    def fingerprint(self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None) -> str:
        """The same value one store holding all these rows would give (digests merged in order)."""
        cut = list(self._cut(start_ts, end_ts))
        if len(cut) == 1:  # the usual case: one store, hashed in batches
            piece, lo, hi = cut[0]
            return piece.reader.fingerprint(lo, hi, token_names)
        return fingerprint_of(heapq.merge(*(p.reader.digests(lo, hi, token_names) for p, lo, hi in cut)))

    def canonical_rows(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None
    ) -> Iterator[tuple[bytes, str]]:
        """``(digest, canonical line)`` of every row, in digest order (what the fingerprint hashes)."""
        streams = [p.reader.canonical_rows(lo, hi, token_names) for p, lo, hi in self._cut(start_ts, end_ts)]
        return heapq.merge(*streams)

    def count_rows(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None, *, rolled: bool = False
    ) -> int:
        """Rows of the span (``rolled``: whole rolled-up days counted from the rollups, the same number)."""
        return sum(
            p.reader.count_rows(lo, hi, token_names, rolled=rolled)
            for p, lo, hi in self._cut(start_ts, end_ts)
        )

    def token_names(self, start_ts: int, end_ts: int) -> set[str]:
        return {n for p, lo, hi in self._cut(start_ts, end_ts) for n in p.reader.token_names(lo, hi)}

    def missing(self, start_ts: int, end_ts: int) -> list[tuple[int, int]]:
        """The ``[start, end)`` ranges of the span no piece holds."""
        gaps: list[tuple[int, int]] = []
        for piece, lo, hi in self._cut(start_ts, end_ts):
            for a, b in uncovered(piece.reader.coverage(), lo, hi - 1):
                if gaps and gaps[-1][1] == a:
                    gaps[-1] = (gaps[-1][0], b + 1)
                else:
                    gaps.append((a, b + 1))
        return gaps

    def has_live(self, period: Period) -> bool:
        """True when some part of ``period`` is read from live rows rather than a closed snapshot."""
        return any(piece.closure is None for piece, _, _ in self._cut(period.start_ts, period.end_ts))

    def basis(self, period: Period) -> tuple[Part, ...]:
        tz = period.tz
        parts = []
        for piece, lo, hi in self._cut(period.start_ts, period.end_ts):
            c = piece.closure
            parts.append(
                Part(
                    datetime.fromtimestamp(lo, tz),
                    datetime.fromtimestamp(hi, tz),
                    None if c is None else c.period.label,
                    None if c is None else c.revision,
                    None if c is None else c.generated_at,
                )
            )
        return tuple(parts)


# -- the read path ---------------------------------------------------------------------------


@contextlib.contextmanager
def open_period(
    config: Config,
    period: Period | None,
    scope: Scope | None = None,
    *,
    generated_at: datetime | None = None,
    now: Callable[[], float] = time.time,
    fingerprint: bool = True,
) -> Iterator[PeriodView]:
    """The view of ``period`` (for a project: its whole period, or its part inside ``period``).

    Detail rows stream from the view's report while the block runs.  ``fingerprint=False``
    leaves ``report.provenance.fingerprint`` empty: it hashes every row of the period (the
    one cost that grows with rows once figures come from rollups), and a terminal summary
    or a CSV does not show it.  A closed period's snapshot is checked against its fingerprint
    anyway.
    """
    scope = scope or Scope()
    with contextlib.ExitStack() as stack:
        live = stack.enter_context(Reader.open(config.store_dir))
        live.use_sources(config.source_names())
        live.begin()
        project = None
        if scope.kind == "project":
            assert scope.name is not None
            project = find_project(config, scope.name)
            whole = project_period(project, config.tz)
            period = whole if period is None else _clip(whole, period, project)
        elif period is None:
            raise UsageError("give --period (e.g. 2026-04, 2026-Q2, 2026) or --from/--to")
        closed = closures(live)
        _check_timezone(closed, period)
        exact = next(
            (c for c in closed if (c.period.start_ts, c.period.end_ts) == (period.start_ts, period.end_ts)),
            None,
        )
        notices: list[str] = []
        pending = None
        rates: dict[str, Exchange] | None = None  # each source's CNY rate (None: one rate, as frozen)
        amended: list[tuple[Closure, Reader]] = []  # closed periods with pending amendments
        frozen_rate: Exchange | None = None
        if exact is not None:
            snap = stack.enter_context(_open_snapshot(live, exact))
            frozen_rate = frozen_exchange(snap, exact)
            rates = frozen_source_rates(snap)
            timeline = _Timeline([_Piece(-_FAR, _FAR, snap, exact)], period.tz)
            effective = exact.frozen_config(config)
            status, keys, facts = snap.latest_status(), snap.current_keys(), snap
            generated_at = exact.generated_at
            pending = pending_amendment(live, exact)
            notices.append(_closed_notice(exact, config, pending, source_rates_changed(snap, exact, config)))
            if pending is not None:
                amended.append((exact, snap))
        else:
            span_start = min([period.start_ts, *(_midnight(p.start, period) for p in config.projects)])
            pieces = _pieces(live, closed, span_start, period.end_ts, stack)
            timeline = _Timeline(pieces, period.tz)
            effective = config
            status, keys, facts = live.latest_status(), live.current_keys(), live
            frozen = [p.closure for p in pieces if p.closure is not None]
            _check_quota_unit(frozen, status)
            inside = [
                c for c in frozen if c.period.start_ts < period.end_ts and c.period.end_ts > period.start_ts
            ]
            if inside and not timeline.has_live(period):
                # Wholly inside closed periods (a project's part of a closed month, a quarter of closed
                # months): read like them, from the latest snapshot's facts and dated by its close, so
                # rebuilt documents are identical whatever later syncs do.
                latest = max(inside, key=lambda c: c.closed_at)
                snap = next(p.reader for p in pieces if p.closure is latest)
                status, keys, facts = snap.latest_status(), snap.current_keys(), snap
                generated_at = generated_at or latest.generated_at
                if len(inside) == 1:
                    effective = latest.frozen_config(config)
                    frozen_rate = frozen_exchange(snap, latest)
            # each source's rate from the same facts as the status (a closed snapshot's when wholly inside)
            rates = (
                frozen_source_rates(facts)
                if frozen_rate is not None
                else config.source_exchanges(facts.source_statuses(), period.tz, period)
            )
            if inside:
                notices.append(_mixed_notice(period, inside))
                for c in inside:
                    amendment = pending_amendment(live, c)
                    if amendment is not None:
                        notices.append(_pending_notice(c, amendment))
                        amended.append((c, next(p.reader for p in pieces if p.closure is c)))
        token_names: tuple[str, ...] | None
        if project is not None:
            report, token_names = _project_report(
                timeline, facts, effective, project, period, status, generated_at, fingerprint
            )
        else:
            report, token_names = _period_report(
                timeline, facts, effective, period, scope, status, keys, generated_at, fingerprint, rates
            )
            report = _with_projects(report, timeline, facts, effective)
        missing = timeline.missing(period.start_ts, period.end_ts)
        coverage = Coverage(
            tuple(missing),
            synced_any=not (len(missing) == 1 and missing[0] == (period.start_ts, period.end_ts)),
        )
        report = replace(
            report,
            coverage=coverage,
            basis=timeline.basis(period),
            source_accounts=tuple(sorted(facts.source_accounts().items())),
        )
        if scope.kind == "team":
            report = replace(report, bridge=_bridge(live, facts if exact is not None else None, report))
        if frozen_rate is not None and not report.source_rates:  # the rate as frozen, with its frozen date
            report = replace(report, exchange=frozen_rate)
        if amended:
            keep = None if project is None else _charged_filter(project, effective, period)
            report = replace(report, corrections=_corrections(live, amended, period, token_names, keep))
        if exact is not None and (
            exact.fingerprint_scheme != FINGERPRINT_SCHEME
            or _whole_fingerprint(report, token_names, snap, period, config.only is not None)
            != exact.fingerprint
        ):
            raise StoreError(
                f"{snapshot_dir(live, exact)}: the closed snapshot of {exact.period.label} no longer matches its "
                "recorded fingerprint; restore it from a backup"
            )
        yield PeriodView(
            report=report,
            scope=scope,
            config=effective,
            token_names=token_names,
            # Counted from the rows where they are hashed too (the documents that print both).
            row_count=timeline.count_rows(
                period.start_ts, period.end_ts, token_names, rolled=not fingerprint
            ),
            used_keys=tuple(sorted(timeline.token_names(period.start_ts, period.end_ts))),
            empty_days=_empty_days(timeline, period, missing, report),
            closure=exact,
            pending=pending,
            notices=tuple(notices),
            charged=None if project is None else _charged_days(project, effective, period, token_names or ()),
            _timeline=timeline,
        )


def _bridge(live: Reader, closed: Reader | None, report: Report) -> Bridge | None:
    """The period's wallet bridge: as frozen at the close for a closed period, else from the live store."""
    if closed is not None:
        text = closed.get_meta(BRIDGE_META)
        return None if text is None else bridge_from_json(json.loads(text))
    p = report.period
    return bridge_of(live, p.start_ts, p.end_ts, report.quota_per_unit, p.tz)


def _corrections(
    live: Reader,
    amended: list[tuple[Closure, Reader]],
    period: Period,
    token_names: tuple[str, ...] | None,
    keep: Callable[[UsageRecord], bool] | None,
) -> Callable[[], Iterator[Correction]]:
    """The rows of each amended closed period inside ``period`` that differ live from its snapshot."""

    def stream() -> Iterator[Correction]:
        found = []
        for closure, snap in amended:
            lo = max(period.start_ts, closure.period.start_ts)
            hi = min(period.end_ts, closure.period.end_ts)
            then = snap.canonical_rows(lo, hi, token_names)
            for sign, record in changed_rows(then, live.canonical_rows(lo, hi, token_names)):
                if keep is None or keep(record):
                    found.append(Correction(sign, record, closure.period, closure.revision))
        found.sort(key=lambda c: (c.record.created_at, c.sign, c.record.token_name, c.record.model_name))
        yield from found

    return stream


def _charged_filter(project: Project, config: Config, period: Period) -> Callable[[UsageRecord], bool]:
    """Whether a row is charged to ``project`` (its key, on a day the key is charged to it)."""
    members = config.key_to_member()
    tz = period.tz

    def keep(record: UsageRecord) -> bool:
        day = datetime.fromtimestamp(record.created_at, tz).date()
        return bool(project.share(record.token_name, members.get(record.token_name, record.token_name), day))

    return keep


def _charged_days(
    project: Project, config: Config, period: Period, keys: tuple[str, ...]
) -> dict[str, tuple[tuple[date, date], ...]]:
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


def _whole_fingerprint(
    report: Report, token_names: tuple[str, ...] | None, snap: Reader, period: Period, narrowed: bool
) -> str:
    """The fingerprint of every row of a closed snapshot, every source's (the report's own when it
    covers every key of every source, as the close did)."""
    if token_names is None and not narrowed and report.provenance.fingerprint:
        return report.provenance.fingerprint
    chosen = snap.sources
    snap.use_sources(None)
    try:
        return snap.fingerprint(period.start_ts, period.end_ts)
    finally:
        snap.use_sources(chosen)


def _pieces(
    live: Reader, closed: list[Closure], start: int, end: int, stack: contextlib.ExitStack
) -> list[_Piece]:
    """Live rows around every closed period that overlaps ``[start, end)``, each closed one from its snapshot."""
    pieces = []
    at = -_FAR
    for c in closed:
        if c.period.end_ts <= start or c.period.start_ts >= end:
            continue
        if c.period.start_ts > at:
            pieces.append(_Piece(at, c.period.start_ts, live, None))
        pieces.append(
            _Piece(c.period.start_ts, c.period.end_ts, stack.enter_context(_open_snapshot(live, c)), c)
        )
        at = c.period.end_ts
    pieces.append(_Piece(at, _FAR, live, None))
    return pieces


@contextlib.contextmanager
def _open_snapshot(live: Reader, closure: Closure) -> Iterator[Reader]:
    directory = snapshot_dir(live, closure)
    if not directory.is_dir():
        raise StoreError(
            f"{directory}: the closed snapshot of {closure.period.label} is missing; restore it from a "
            f"backup or re-close with `reportgen close {closure.period.label} --reopen`"
        )
    with Reader.open(directory, snapshot=True) as snap:
        snap.use_sources(live.sources)
        snap.begin()
        yield snap


def _check_timezone(closed: list[Closure], period: Period) -> None:
    for c in closed:
        if c.period.label == period.label and c.period.timezone != period.timezone:
            raise UsageError(
                f"{period.label} was closed in {c.period.timezone}, but the report timezone is now "
                f"{period.timezone}; set [report] timezone back to {c.period.timezone}"
            )


def _check_quota_unit(frozen: list[Closure], status: Any) -> None:
    qpu = status.quota_per_unit if status is not None else DEFAULT_QUOTA_PER_UNIT
    for c in frozen:
        if c.quota_per_unit != qpu:
            raise UsageError(
                f"closed {c.period.label} counts {c.quota_per_unit} quota per USD but the gateway now counts "
                f"{qpu}; report {c.period.label} and the other months separately"
            )


def _midnight(day: date, period: Period) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=period.tz).timestamp())


def _empty_days(
    timeline: _Timeline, period: Period, missing: list[tuple[int, int]], report: Report
) -> tuple[date, ...]:
    """Synced days of the period without any row (days not wholly synced are not counted)."""
    # A day the report shows requests or errors on has rows: only the others are counted.
    busy = {line.name for line in report.days if line.stats.requests or line.stats.errors}
    empty = []
    for day, start, end in local_days(period):
        if day.isoformat() in busy or any(a < end and b > start for a, b in missing):
            continue
        if timeline.count_rows(start, end, rolled=True) == 0:
            empty.append(day)
    return tuple(empty)


def _provenance(
    facts: Reader,
    timeline: _Timeline,
    period: Period,
    token_names: tuple[str, ...] | None,
    fingerprint: bool = True,
) -> Provenance:
    last = facts.last_sync()
    base_url, user_id = facts.account()
    return Provenance(
        base_url=base_url,
        user_id=user_id,
        flavor=(last or {}).get("flavor") or "",
        synced_at=None
        if not last or not last.get("finished_at")
        else datetime.fromtimestamp(last["finished_at"], UTC).astimezone(period.tz),
        fingerprint=timeline.fingerprint(period.start_ts, period.end_ts, token_names) if fingerprint else "",
    )


def _period_report(
    timeline: _Timeline,
    facts: Reader,
    config: Config,
    period: Period,
    scope: Scope,
    status: Any,
    keys: Any,
    generated_at: datetime | None,
    fingerprint: bool = True,
    rates: dict[str, Exchange] | None = None,
) -> tuple[Report, tuple[str, ...] | None]:
    token_names: tuple[str, ...] | None = None
    member = scope.name if scope.kind == "member" else None
    if member is not None:
        names = {k.name for k in keys} | timeline.token_names(period.start_ts, period.end_ts)
        _, members = member_map(config, names)
        token_names = tuple(members.get(member, ()))
    report = aggregate(
        timeline.partials(period, token_names),
        period=period,
        config=config,
        status=status,
        keys=keys,
        source=timeline,
        member=member,
        generated_at=generated_at,
        provenance=_provenance(facts, timeline, period, token_names, fingerprint),
        rates=rates,
    )
    return report, token_names


def _reconciliation(facts: Reader, period: Period) -> Reconciliation | None:
    text = facts.reconciliation_json(period.start_ts, period.end_ts)
    return None if text is None else reconciliation_from_json(json.loads(text))


def _with_projects(report: Report, timeline: _Timeline, facts: Reader, config: Config) -> Report:
    """``report`` with its per-project view and the period's last reconciliation, if any."""
    report = replace(report, reconciliation=_reconciliation(facts, report.period))
    if not config.projects:
        return report
    days = local_days(report.period)
    first, last = days[0][0], days[-1][0]
    span_start = min(first, *(p.start for p in config.projects))
    keys = sorted({k for p in config.projects for k in p.keys(config.members)})
    span = date_range_period(span_start, last, report.period.tz)
    buckets = timeline.partials(span, tuple(keys)).buckets
    key_to_member, _ = member_map(config, {b.token_name for b in buckets})
    money = Money(report.quota_per_unit, report.exchange.rate)
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


def charged_to(projects: Iterable[Project]) -> Callable[[str, str, date], str]:
    """``(key, member, day) -> "alpha=60%; beta=40%"``: the projects charged on that day, with shares."""
    projects = tuple(projects)

    def charged(key: str, member: str, day: date) -> str:
        shares = ((p.name, p.share(key, member, day)) for p in projects)
        return "; ".join(f"{name}={share.normalize():f}%" for name, share in shares if share)

    return charged


def _with_unsynced(line: ProjectLine, timeline: _Timeline, period: Period) -> ProjectLine:
    """Count the project's days up to its as-of day that the store does not wholly hold."""
    if line.as_of is None:
        return line
    span = date_range_period(line.start, line.as_of, period.tz)
    missing = timeline.missing(span.start_ts, span.end_ts)
    count = sum(1 for _, lo, hi in local_days(span) if any(a < hi and b > lo for a, b in missing))
    return replace(line, unsynced_days=count) if count else line


# -- projects --------------------------------------------------------------------------------


def find_project(config: Config, name: str) -> Project:
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


class _ChargedSource:
    """Detail rows of a project: only its keys, only on the days they are charged to it."""

    def __init__(
        self, timeline: _Timeline, project: Project, key_to_member: dict[str, str], period: Period
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


def _project_report(
    timeline: _Timeline,
    facts: Reader,
    config: Config,
    project: Project,
    period: Period,
    status: Any,
    generated_at: datetime | None,
    fingerprint: bool = True,
) -> tuple[Report, tuple[str, ...]]:
    """The grant closing report of ``project`` over ``period``.

    The usual breakdowns (members, models, days, detail rows) cover the project's keys on
    the days they are charged to it, in full; ``report.grant`` holds the charged amounts,
    where a key split by percentage counts only at its share.
    """
    keys = tuple(project.keys(config.members))
    partials = timeline.partials(period, keys)
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
        status=status,
        source=_ChargedSource(timeline, project, key_to_member, period),
        generated_at=generated_at,
        provenance=_provenance(facts, timeline, period, keys, fingerprint),
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
    line = _with_unsynced(line, timeline, period)
    notes = member_notes(config.raw.get("members"))
    grant = GrantView(
        project=line,
        lines=grant_lines(project, buckets, key_to_member, money),
        justification=project.justification,
        member_notes=tuple((m.name, notes[m.name]) for m in report.members if m.name in notes),
        charges=tuple(c.describe() for c in project.charges),
    )
    return replace(report, projects=(line,), grant=grant, charged_to=charged_to([project])), keys


def spent_total(report: Report) -> Decimal:
    """The charged total of a grant report in its budget currency (for tests and summaries)."""
    assert report.grant is not None
    return sum((line.cost for line in report.grant.lines), Decimal(0))


# -- notices ---------------------------------------------------------------------------------


def _closed_notice(closure: Closure, config: Config, pending: Amendment | None, rates: bool = False) -> str:
    label = closure.period.label
    text = (
        f"Notice: {label} is closed (revision {closure.revision}, {closure.generated_at:%Y-%m-%d %H:%M}): "
        "the figures are its frozen snapshot."
    )
    changed = closure.config_changes(config)
    if rates and "exchange rate" not in changed:
        changed.append("exchange rate")
    if changed:
        text += (
            f" The config changed since the close ({', '.join(changed)}) and does not apply to it; "
            f"`reportgen close {label} --reopen` re-closes it with the current config."
        )
    if pending is not None:
        text += " " + _pending_notice(closure, pending).removeprefix("Notice: ")
    return text


def _mixed_notice(period: Period, inside: Iterable[Closure]) -> str:
    frozen = ", ".join(f"{c.period.label} (revision {c.revision})" for c in inside)
    return f"Notice: {period.label} includes closed {frozen}: those parts are frozen snapshots, the rest is live."


def _pending_notice(closure: Closure, pending: Amendment) -> str:
    label = closure.period.label
    return (
        f"Notice: the store has changed since {label} was closed: "
        f"{pending.describe(closure.quota_per_unit)}. The documents show the closed version; "
        f"`reportgen amendments --period {label}` lists the changes and `reportgen close {label} --reopen` "
        "re-closes with them applied."
    )


# -- re-checking rows (verify) ---------------------------------------------------------------


@dataclass(frozen=True)
class RowCheck:
    """The fingerprint and count of some rows as the store holds them now, and what they were read from."""

    account: tuple[str, int | None]
    fingerprint: str
    count: int
    closure: Closure | None = None
    latest_revision: int | None = None
    pending: Amendment | None = None
    changes: tuple[str, ...] = ()  # rows that differ from the packet's, described (first ones)


def check_rows(
    store_dir: Any,
    start_ts: int,
    end_ts: int,
    token_names: tuple[str, ...] | None,
    *,
    closed: tuple[str, int] | None = None,
    packet_rows: Iterable[tuple[bytes, str]] | None = None,
    tz: Any = UTC,
) -> RowCheck:
    """Fingerprint the rows of ``[start_ts, end_ts)`` the way a view of that span reads them.

    With ``closed`` = (label, revision), the rows are read from that revision's snapshot
    (kept revisions: a packet of revision 1 still checks after a re-close).  When the
    fingerprint differs and ``packet_rows`` (the packet's ``(digest, line)`` in digest
    order) are given, ``changes`` names the rows that differ.
    """
    with contextlib.ExitStack() as stack:
        live = stack.enter_context(Reader.open(store_dir))
        live.begin()
        account = live.account()
        closure = latest = None
        pending = None
        if closed is not None:
            closure = find_closure(live, closed[0], closed[1])
            latest = find_closure(live, closed[0])
        if closure is not None and latest is not None:
            snap = stack.enter_context(_open_snapshot(live, closure))
            timeline = _Timeline([_Piece(-_FAR, _FAR, snap, closure)], UTC)
            pending = pending_amendment(live, latest)
        else:
            closure = latest = None
            timeline = _Timeline(_pieces(live, closures(live), start_ts, end_ts, stack), UTC)
        check = RowCheck(
            account,
            timeline.fingerprint(start_ts, end_ts, token_names),
            timeline.count_rows(start_ts, end_ts, token_names),
            closure,
            None if latest is None else latest.revision,
            pending,
        )
        if packet_rows is not None:
            now = timeline.canonical_rows(start_ts, end_ts, token_names)
            check = replace(check, changes=tuple(describe_changes(packet_rows, now, tz)))
        return check


_DIFF_LIMIT = 1000


def describe_changes(
    then: Iterable[tuple[bytes, str]], now: Iterable[tuple[bytes, str]], tz: Any
) -> list[str]:
    """Rows in one digest-ordered stream and not the other, paired into edits where they are the same request."""
    gone: list[tuple[Any, ...]] = []
    added: list[tuple[Any, ...]] = []
    a, b = iter(then), iter(now)
    x, y = next(a, None), next(b, None)
    while (x is not None or y is not None) and len(gone) + len(added) < _DIFF_LIMIT:
        if y is None or (x is not None and x[0] < y[0]):
            gone.append(tuple(json.loads(x[1])))  # type: ignore[index]
            x = next(a, None)
        elif x is None or y[0] < x[0]:
            added.append(tuple(json.loads(y[1])))
            y = next(b, None)
        else:
            x, y = next(a, None), next(b, None)
    out = []
    for old in gone:
        same = next((new for new in added if _same_request(old, new)), None)
        if same is None:
            out.append(f"row gone since: {_row_text(old, tz)}")
            continue
        added.remove(same)
        fields = [
            f"{name} {old[i]!r} then, {same[i]!r} now"
            for i, name in enumerate(ROW_FIELDS)
            if old[i] != same[i]
        ]
        out.append(f"row changed: {_row_text(old, tz)}: {', '.join(fields)}")
    out += [f"row added since: {_row_text(new, tz)}" for new in added]
    return out


def _same_request(old: tuple[Any, ...], new: tuple[Any, ...]) -> bool:
    if old[9] and old[9] == new[9]:  # the request id
        return True
    return (old[0], old[1], old[2], old[3]) == (new[0], new[1], new[2], new[3])


def _row_text(row: tuple[Any, ...], tz: Any) -> str:
    when = datetime.fromtimestamp(row[0], tz).strftime("%Y-%m-%d %H:%M:%S")
    request = f", request {row[9]}" if row[9] else ""
    return f"{when} type {row[1]} key {row[2]} model {row[3]} quota {row[4]}{request}"
