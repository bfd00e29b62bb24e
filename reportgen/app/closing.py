"""Closing a period: freeze its rows, gateway status, exchange rate and time; list later changes.

:func:`close_period` copies the period's rows, with the ``/api/status`` snapshot, key list
and last sync that describe them, into a snapshot store (see :mod:`reportgen.store.closures`)
and records the closure.  Reading a closed period goes through :func:`reportgen.read.open_period`
like any other period.  A sync that changes a closed period's rows records an amendment;
``close --reopen`` re-closes the period as a new revision (earlier revisions are kept).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ..config import Config
from ..core.periods import Period, period_name
from ..core.records import DEFAULT_QUOTA_PER_UNIT
from ..errors import UsageError
from ..read.closed import config_changes, rows_since, source_rates_changed
from ..read.wallet import bridge_of
from ..store import (
    Amendment,
    Closure,
    Reader,
    Store,
    closure_subject,
    closures,
    detect_amendments,
    find_closure,
    freeze,
    mark_applied,
    new_snapshot,
    pending_amendment,
    recorded_amendments,
    rows_seal,
    snapshot_exists,
    snapshot_location,
    snapshot_seal,
    sync_lock,
    uncovered,
)
from ..store import evidence as audit
from .signing import who


@dataclass(frozen=True)
class CloseResult:
    closure: Closure
    already_closed: bool = False
    reopened_from: int | None = None
    applied: int = 0
    pending: tuple[Amendment, ...] = ()
    unchanged: bool = False

    def summary(self) -> str:
        c = self.closure
        what = f"{c.period.label} ({c.period.start:%Y-%m-%d} .. {c.period.end:%Y-%m-%d} {c.period.timezone})"
        facts = f"{c.rows:,} rows, fingerprint {c.fingerprint[:16]}…, closed at {c.generated_at:%Y-%m-%d %H:%M %Z}"
        if self.unchanged:
            return (
                f"{what} is closed as revision {c.revision} ({facts}) and its rows have not changed since; "
                "nothing to re-close."
            )
        if self.already_closed:
            text = f"{what} is already closed (revision {c.revision}: {facts}); nothing changed."
            if self.pending:
                text += (
                    f" {len(self.pending)} amendment(s) since: `reportgen close {c.period.label} --reopen` "
                    "re-closes it with them applied."
                )
            return text
        if self.reopened_from is not None:
            return (
                f"Re-closed {what} as revision {c.revision} ({facts}); {self.applied} amendment(s) applied; "
                f"revision {self.reopened_from} is kept."
            )
        return f"Closed {what}: {facts}."


def close_period(
    config: Config, period: Period, *, reopen: bool = False, now: Callable[[], float] = time.time
) -> CloseResult:
    """Close ``period`` (or, with ``reopen``, re-close it from the live rows as a new revision).

    A period is closed for the team, so for every source at once: a ``--source`` that
    leaves out a configured source is refused.  Holds the sync lock so that no sync
    changes the rows while they are copied.
    """
    refuse_partial_close(config, period)
    at = int(now())
    if period.end_ts > at:
        raise UsageError(f"{period.label} has not ended yet ({period.end:%Y-%m-%d %H:%M %Z}); close it after")
    with (
        sync_lock(config.store, f"close {period.label}"),
        Store.open(config.store, create=False) as store,
    ):
        existing = find_closure(store, period.label)
        if existing is not None and existing.period.timezone != period.timezone:
            raise UsageError(
                f"{period.label} was closed in {existing.period.timezone}, but the report timezone is now "
                f"{period.timezone}; set [report] timezone back to {existing.period.timezone}"
            )
        if existing is None:
            _refuse_overlap(store, period)
        missing = uncovered(store.coverage(), period.start_ts, period.end_ts - 1)
        if missing and (existing is None or reopen):
            first = datetime.fromtimestamp(missing[0][0], period.tz)
            raise UsageError(
                f"{period.label} is not fully synced ({len(missing)} part(s) missing, the first from "
                f"{first:%Y-%m-%d %H:%M}); run `reportgen sync --period {period.label}` before closing it"
            )
        if existing is not None:
            detect_amendments(store, at, label=period.label)  # under the sync lock, like a sync
        if existing is not None and not reopen:
            pending = pending_amendment(store, existing)
            return CloseResult(existing, already_closed=True, pending=(pending,) if pending else ())
        if existing is None and reopen:
            raise UsageError(
                f"{period.label} is not closed; run `reportgen close {period.label}` to close it"
            )
        if (
            existing is not None
            and pending_amendment(store, existing) is None
            and not config_changes(existing, config)
            and not _source_rates_changed(store, existing, config)
        ):
            return CloseResult(existing, unchanged=True)
        revision = 1 if existing is None else existing.revision + 1
        closure = freeze_period(store, config, period, revision, at)
        applied = mark_applied(store, period.label, at) if existing is not None else 0
        audit.append(
            store,
            at,
            who(),
            "close" if existing is None else "reopen",
            closure_subject(period.label, revision),
            closure.fingerprint,
            # the snapshot's file sealed (its store is closed: the file is final): reads check it
            {"rows": closure.rows, "applied_amendments": applied, "snapshot": closure.snapshot,
             "seal": snapshot_seal(store, closure), "rows_seal": rows_seal(store, closure)},
        )  # fmt: skip
        return CloseResult(
            closure, reopened_from=None if existing is None else existing.revision, applied=applied
        )


def freeze_period(store: Store, config: Config, period: Period, revision: int, at: int) -> Closure:
    """Freeze ``period`` as ``revision``: its snapshot, and what ``config`` computes for it recorded.

    The snapshot keeps the rows the period's views read (a project's from its start, see
    :func:`reportgen.read.closed.rows_since`); the exchange rates are those of the snapshot's
    ``/api/status``; the wallet bridge is frozen for every configured source.
    """
    with new_snapshot(store, period, revision, rows_since(config, period)) as snap:
        status = snap.priced_status(period.start_ts, period.end_ts)
        store.use_sources(tuple(g.name for g in config.gateways or (config.gateway,)))
        qpu = status.quota_per_unit if status is not None else DEFAULT_QUOTA_PER_UNIT
        bridge = bridge_of(store, period.start_ts, period.end_ts, qpu, period.tz)
        store.use_sources(None)
        return freeze(
            store,
            snap,
            period,
            revision,
            at,
            exchange=config.exchange(status, period.tz, period),
            source_rates=config.source_exchanges(
                snap.priced_statuses(period.start_ts, period.end_ts), period.tz, period
            ),
            bridge=bridge,
            members=config.members,
            projects=config.projects_table if config.projects else None,
            conversions=config.currencies,
        )


def _source_rates_changed(store: Reader, closure: Closure, config: Config) -> bool:
    if not snapshot_exists(store, closure):
        return False
    with Reader.open(snapshot_location(store, closure), snapshot=True) as snapshot:
        return source_rates_changed(snapshot, closure, config)


def refuse_partial_close(config: Config, period: Period) -> None:
    """A close covers every source; say so when ``--source`` chose only some of them."""
    every = config.gateways or (config.gateway,)
    if len(config.sources()) < len(every):
        raise UsageError(
            f"a period is closed for every source together ({', '.join(g.name for g in every)}), so "
            f"--source does not apply: run it without --source to close {period.label}"
        )


def _refuse_overlap(store: Reader, period: Period) -> None:
    for c in closures(store):
        if c.period.start_ts < period.end_ts and c.period.end_ts > period.start_ts:
            raise UsageError(
                f"{period.label} overlaps {c.period.label}, which is already closed; close periods that do "
                f"not overlap (a quarter or year made of closed months is reported from their snapshots)"
            )


def list_amendments(config: Config, period: Period | None = None) -> list[str]:
    """One line per recorded amendment (recorded by the sync that found the change)."""
    with Reader.open(config.store) as store:
        store.begin()
        label = None if period is None else period.label
        by_label = {c.period.label: c for c in closures(store)}
        if label is not None and label not in by_label:
            raise UsageError(
                f"{label} is not closed, so it has no amendments; `reportgen close {label}` closes it"
                if period_name(period) is not None  # type: ignore[arg-type]
                else f"{label} is not a closed period (close takes a month, quarter or year)"
            )
        lines = []
        for a in recorded_amendments(store, label):
            closure = by_label.get(a.label)
            qpu = closure.quota_per_unit if closure is not None else Decimal(500000)
            tz = closure.period.tz if closure is not None else None
            when = datetime.fromtimestamp(a.detected_at, tz).strftime("%Y-%m-%d %H:%M")
            state = (
                "pending"
                if a.pending
                else f"applied {datetime.fromtimestamp(a.applied_at or 0, tz):%Y-%m-%d}"
            )
            lines.append(f"{a.label}  r{a.revision}  detected {when}  {a.describe(qpu)}  [{state}]")
        return lines
