"""Closing a period: freeze its rows, gateway status, exchange rate and time; track later changes.

:func:`close_period` copies the period's rows, with the ``/api/status`` snapshot, key list
and last sync that describe them, into a snapshot store ``<store>/closed/<label>.r<N>/``
(see :mod:`reportgen.closures`) and records the closure.  :func:`open_view` reads a
closed period from that snapshot with the frozen generated_at, member and project
mapping and exchange rate, so its documents come out byte-identical however the live
store changes.

A later sync keeps what the gateway now says in the live store; when that differs from
the closed version, :mod:`reportgen.amendments` records an amendment (rows added and
removed, quota deltas, when detected).  ``close --reopen`` re-closes the period from the
live rows and marks its pending amendments applied.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from .amendments import Amendment, detect_amendments, pending_amendment
from .closures import Closure, closed_dir, ensure_schema, find_closure, freeze
from .config import Config
from .errors import StoreError, UsageError
from .models import Period, Report
from .reports import build_report
from .store import DB_NAME, Store, sync_lock, uncovered


@dataclass(frozen=True)
class CloseResult:
    closure: Closure
    already_closed: bool = False
    reopened_from: int | None = None
    applied: int = 0
    pending: tuple[Amendment, ...] = ()

    def summary(self) -> str:
        c = self.closure
        what = f"{c.period.label} ({c.period.start:%Y-%m-%d} .. {c.period.end:%Y-%m-%d} {c.period.timezone})"
        facts = f"{c.rows:,} rows, fingerprint {c.fingerprint[:16]}…, closed at {c.generated_at:%Y-%m-%d %H:%M %Z}"
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
                f"Re-closed {what} as revision {c.revision} ({facts}); {self.applied} amendment(s) applied."
            )
        return f"Closed {what}: {facts}."


# -- closing --------------------------------------------------------------------------------


def close_period(
    config: Config, period: Period, *, reopen: bool = False, now: Callable[[], float] = time.time
) -> CloseResult:
    """Close ``period`` (or, with ``reopen``, re-close it from the live rows).

    Holds the sync lock so that no sync changes the rows while they are copied.
    """
    at = int(now())
    if period.end_ts > at:
        raise UsageError(f"{period.label} has not ended yet ({period.end:%Y-%m-%d %H:%M %Z}); close it after")
    with sync_lock(config.store_dir), Store.open(config.store_dir, create=False) as store:
        ensure_schema(store)
        existing = find_closure(store, period.label)
        if existing is not None and existing.period.timezone != period.timezone:
            raise UsageError(
                f"{period.label} was closed in {existing.period.timezone}, but the report timezone is now "
                f"{period.timezone}; set [report] timezone back to {existing.period.timezone}"
            )
        missing = uncovered(store.coverage(), period.start_ts, period.end_ts - 1)
        if missing and (existing is None or reopen):
            first = datetime.fromtimestamp(missing[0][0], period.tz)
            raise UsageError(
                f"{period.label} is not fully synced ({len(missing)} part(s) missing, the first from "
                f"{first:%Y-%m-%d %H:%M}); run `reportgen sync --period {period.label}` before closing it"
            )
        if existing is not None and not reopen:
            detect_amendments(store, at, label=period.label)
            pending = pending_amendment(store, existing)
            return CloseResult(existing, already_closed=True, pending=(pending,) if pending else ())
        if existing is None and reopen:
            raise UsageError(
                f"{period.label} is not closed; run `reportgen close {period.label}` to close it"
            )
        if existing is not None:
            detect_amendments(store, at, label=period.label)  # record what the re-close takes in
        revision = 1 if existing is None else existing.revision + 1
        closure = freeze(store, config, period, revision, at)
        applied = 0
        if existing is not None:
            applied = store.conn.execute(
                "UPDATE amendments SET applied_at = ? WHERE label = ? AND applied_at IS NULL",
                (at, period.label),
            ).rowcount
            shutil.rmtree(closed_dir(store) / existing.snapshot, ignore_errors=True)
        return CloseResult(
            closure, reopened_from=None if existing is None else existing.revision, applied=applied
        )


# -- reading a period, closed or live --------------------------------------------------------


@dataclass(frozen=True)
class PeriodView:
    """A period's report and where it was read from.

    ``store`` is the store the report reads (a closed period's snapshot), ``config`` the
    config it was built with (a closed period's frozen member mapping and rate),
    ``token_names`` the keys a filtered report covers (None: every key), and ``notices``
    what the user should hear before documents are written.
    """

    report: Report
    store: Store
    config: Config
    token_names: tuple[str, ...] | None
    closure: Closure | None = None
    pending: Amendment | None = None
    notices: tuple[str, ...] = ()

    @property
    def row_count(self) -> int:
        p = self.report.period
        return self.store.count_rows(p.start_ts, p.end_ts, self.token_names)


@contextlib.contextmanager
def open_view(
    config: Config,
    period: Period,
    member: str | None = None,
    generated_at: datetime | None = None,
    now: Callable[[], float] = time.time,
) -> Iterator[PeriodView]:
    """Aggregate ``period`` from the store, or from its frozen snapshot when it is closed."""
    store = Store.open(config.store_dir, create=False)
    try:
        closure = find_closure(store, period.label)
        if closure is None:
            report = build_report(store, config, period, member, generated_at)
            yield PeriodView(report, store, config, _scope_keys(report, member))
            return
        if closure.period.start_ts != period.start_ts or closure.period.end_ts != period.end_ts:
            raise UsageError(
                f"{period.label} was closed in {closure.period.timezone}, but the report timezone is now "
                f"{period.timezone}; set [report] timezone back to {closure.period.timezone}"
            )
        detect_amendments(store, int(now()), label=period.label)
        pending = pending_amendment(store, closure)
        with _open_snapshot(store, closure) as snap:
            frozen = closure.frozen_config(config)
            report = build_report(snap, frozen, closure.period, member, closure.generated_at)
            report = replace(report, exchange=closure.exchange)
            p = closure.period
            whole = (
                report.provenance.fingerprint if member is None else snap.fingerprint(p.start_ts, p.end_ts)
            )
            if whole != closure.fingerprint:
                raise StoreError(
                    f"{snap.directory}: the closed snapshot of {p.label} no longer matches its recorded "
                    "fingerprint; restore it from a backup"
                )
            notices = () if pending is None else (_pending_notice(closure, pending),)
            yield PeriodView(report, snap, frozen, _scope_keys(report, member), closure, pending, notices)
    finally:
        store.close()


@contextlib.contextmanager
def _open_snapshot(store: Store, closure: Closure) -> Iterator[Store]:
    directory = closed_dir(store) / closure.snapshot
    if not (directory / DB_NAME).is_file():
        raise StoreError(
            f"{directory}: the closed snapshot of {closure.period.label} is missing; "
            f"restore it from a backup or re-close with `reportgen close {closure.period.label} --reopen`"
        )
    snap = Store.open(directory, create=False)
    try:
        yield snap
    finally:
        snap.close()


def _scope_keys(report: Report, member: str | None) -> tuple[str, ...] | None:
    return None if member is None else report.member_keys(member)


def _pending_notice(closure: Closure, pending: Amendment) -> str:
    label = closure.period.label
    return (
        f"Notice: {label} is closed (revision {closure.revision}, {closure.generated_at:%Y-%m-%d %H:%M}); "
        f"the store has changed since: {pending.describe(closure.quota_per_unit)}. The documents show the "
        f"closed version; `reportgen amendments --period {label}` lists the changes and "
        f"`reportgen close {label} --reopen` re-closes with them applied."
    )
