"""The one read path: :func:`open_period` returns a period's figures, closed or live, for any scope."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, datetime

from ..config import Config
from ..core.corrections import Correction, changed_rows
from ..core.fingerprint import FINGERPRINT_SCHEME
from ..core.periods import Coverage, Period, local_days
from ..core.rates import Exchange
from ..core.records import UsageRecord
from ..core.report import Report
from ..errors import StoreError, UsageError
from ..store import (
    Closure,
    Reader,
    closure_subject,
    closures,
    evidence,
    frozen_exchange,
    frozen_source_rates,
    pending_amendment,
    seal_kind,
    snapshot_location,
    snapshot_seal,
)
from ..store.evidence import recorded_seal
from .closed import frozen_config, rows_since, source_rates_changed
from .notices import check_quota_unit, check_timezone, closed_notice, mixed_notice, pending_notice
from .projects import (
    charged_days,
    charged_filter,
    find_project,
    project_part,
    project_period,
    project_report,
    with_projects,
)
from .report import period_report
from .timeline import Timeline, frozen_history, open_snapshot, pieces_around
from .view import PeriodView, Scope
from .wallet import period_bridge


@contextlib.contextmanager
def open_period(
    config: Config,
    period: Period | None,
    scope: Scope | None = None,
    *,
    generated_at: datetime | None = None,
    now: Callable[[], float] = time.time,
    fingerprint: bool = True,
    with_bridge: bool = True,
    latency: bool = True,
    prices: bool = True,
) -> Iterator[PeriodView]:
    """The view of ``period`` (for a project: its whole period, or its part inside ``period``).

    Detail rows stream from the view's report while the block runs.  ``fingerprint=False``
    leaves ``report.provenance.fingerprint`` empty: it hashes every row of the period (the
    one cost that grows with rows once figures come from rollups), and a terminal summary
    or a CSV does not show it.  A closed period's snapshot is checked against its fingerprint
    anyway.  ``with_bridge=False`` leaves ``report.bridge`` None: ``summary`` prints no wallet
    bridge (documents do, and the data-quality check of every document run reads it).
    ``latency=False`` leaves out the latency percentiles (their histograms are most of the cost
    of a month's figures) and ``prices=False`` the price groups: a detail CSV prints neither,
    the terminal summary no unit price.
    """
    scope = scope or Scope()
    with contextlib.ExitStack() as stack:
        live = stack.enter_context(Reader.open(config.store))
        live.use_sources(config.source_names())
        live.begin()
        project = None
        if scope.kind == "project":
            assert scope.name is not None
            project = find_project(config, scope.name)
            whole = project_period(project, config.tz)
            period = whole if period is None else project_part(whole, period, project)
        elif period is None:
            raise UsageError("give --period (e.g. 2026-04, 2026-Q2, 2026) or --from/--to")
        span = (period.start_ts, period.end_ts)  # priced as its rows were when synced (store.prices)
        closed = closures(live)
        check_timezone(closed, period)
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
            evidence.check_on_record(live, exact)
            snap = stack.enter_context(open_snapshot(live, exact))
            frozen_rate = frozen_exchange(snap, exact)
            rates = frozen_source_rates(snap)
            timeline = (
                Timeline.of_snapshot(snap, exact, period.tz)
                if project is None  # a project's spend since its start: earlier closed months as closed
                else Timeline(frozen_history(live, closed, exact, snap, stack), period.tz)
            )
            effective = frozen_config(exact, config)
            status, keys, facts = snap.priced_status(*span), snap.current_keys(), snap
            generated_at = exact.generated_at
            pending = pending_amendment(live, exact)
            notices.append(closed_notice(exact, config, pending, source_rates_changed(snap, exact, config)))
            if pending is not None:
                amended.append((exact, snap))
        else:
            span_start = rows_since(config, period)
            pieces = pieces_around(live, closed, span_start, period.end_ts, stack)
            timeline = Timeline(pieces, period.tz)
            effective = config
            status, keys, facts = live.priced_status(*span), live.current_keys(), live
            frozen = [p.closure for p in pieces if p.closure is not None]
            check_quota_unit(frozen, status)
            inside = [
                c for c in frozen if c.period.start_ts < period.end_ts and c.period.end_ts > period.start_ts
            ]
            if inside and not timeline.has_live(period):
                # Wholly inside closed periods (a project's part of a closed month, a quarter of closed
                # months): read like them, from the latest snapshot's facts and dated by its close, so
                # rebuilt documents are identical whatever later syncs do.
                latest = max(inside, key=lambda c: c.closed_at)
                snap = next(p.reader for p in pieces if p.closure is latest)
                status, keys, facts = snap.priced_status(*span), snap.current_keys(), snap
                generated_at = generated_at or latest.generated_at
                if len(inside) == 1:
                    effective = frozen_config(latest, config)
                    frozen_rate = frozen_exchange(snap, latest)
            # each source's rate from the same facts as the status (a closed snapshot's when wholly inside)
            rates = (
                frozen_source_rates(facts)
                if frozen_rate is not None
                else config.source_exchanges(facts.priced_statuses(*span), period.tz, period)
            )
            if inside:
                notices.append(mixed_notice(period, inside))
                for c in inside:
                    amendment = pending_amendment(live, c)
                    if amendment is not None:
                        notices.append(pending_notice(c, amendment))
                        amended.append((c, next(p.reader for p in pieces if p.closure is c)))
        token_names: tuple[str, ...] | None
        if project is not None:
            report, token_names = project_report(
                timeline,
                facts,
                effective,
                project,
                period,
                status,
                generated_at,
                fingerprint,
                rates,
                register=live,
            )
        else:
            report, token_names = period_report(
                timeline, facts, effective, period, scope, status, keys, generated_at, fingerprint, rates,
                latency=latency,
            )  # fmt: skip
            report = with_projects(report, timeline, effective)
            if prices:
                groups = timeline.price_groups(period.start_ts, period.end_ts, token_names)
                report = replace(report, price_groups=tuple(groups))
        missing = timeline.missing(period.start_ts, period.end_ts)
        left_out = tuple(facts.window_findings(period.start_ts, period.end_ts))
        coverage = Coverage(
            tuple(missing),  # a window fetched with rows it could not place was synced, incompletely
            synced_any=bool(left_out)
            or not (len(missing) == 1 and missing[0] == (period.start_ts, period.end_ts)),
        )
        report = replace(
            report,
            coverage=coverage,
            left_out=left_out,
            basis=timeline.basis(period),
            source_accounts=tuple(sorted(facts.source_accounts().items())),
        )
        if scope.kind == "team" and with_bridge:
            p = report.period
            bridge = period_bridge(
                timeline, p.start_ts, p.end_ts, report.quota_per_unit, p.tz, config.source_names()
            )
            report = replace(report, bridge=bridge)
        if frozen_rate is not None and not report.source_rates:  # the rate as frozen, with its frozen date
            report = replace(report, exchange=frozen_rate)
        if amended:
            keep = None if project is None else charged_filter(project, effective, period)
            report = replace(report, corrections=_corrections(live, amended, period, token_names, keep))
        if exact is not None and not _intact(live, exact, report, token_names, snap, config.only is not None):
            raise StoreError(
                f"{snapshot_location(live, exact)}: the closed snapshot of {exact.period.label} no longer matches its "
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
            charged=None if project is None else charged_days(project, effective, period, token_names or ()),
            timeline=timeline,
        )


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


def _intact(
    live: Reader,
    exact: Closure,
    report: Report,
    token_names: tuple[str, ...] | None,
    snap: Reader,
    narrowed: bool,
) -> bool:
    """Whether a closed snapshot is as closed: its rows' fingerprint where the view hashed every
    row anyway, else its file against the seal its close recorded in the audit log (I/O speed:
    the rollups and facts; its packed rows are checked against theirs if a read unpacks them),
    else (closed before closes were sealed) every row hashed."""
    if exact.fingerprint_scheme != FINGERPRINT_SCHEME:
        return False
    if token_names is None and not narrowed and report.provenance.fingerprint:
        return report.provenance.fingerprint == exact.fingerprint
    subject = closure_subject(exact.period.label, exact.revision)
    seal = recorded_seal(live, subject)
    # packed rows are checked against their own seal when a read unpacks them (open_snapshot);
    # a close's seal of another engine (a store copied to PostgreSQL) is not compared: hashed
    if (
        seal is not None
        and seal.startswith(seal_kind(live))
        and (not snap.packed or recorded_seal(live, subject, "rows_seal") is not None)
    ):
        return snapshot_seal(live, exact) == seal
    return _whole_fingerprint(snap, exact.period) == exact.fingerprint


def _whole_fingerprint(snap: Reader, period: Period) -> str:
    """The fingerprint of every row of a closed snapshot, every source's."""
    chosen = snap.sources
    snap.use_sources(None)
    try:
        return snap.fingerprint(period.start_ts, period.end_ts)
    finally:
        snap.use_sources(chosen)


def _empty_days(
    timeline: Timeline, period: Period, missing: list[tuple[int, int]], report: Report
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
