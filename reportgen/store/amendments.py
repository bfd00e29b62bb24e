"""Amendments: how a closed period's live rows differed from its closed version when a sync noticed.

A sync (under the sync lock) hashes the live rows of each closed period it touched; when the
hash moved since last looked at, the rows are diffed against the snapshot and the change is
recorded.  A re-close marks the pending amendments applied.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal

from ..core.records import GatewayStatus
from ..errors import StoreError
from .closures import (
    Closure,
    attached,
    closure_subject,
    closures,
    frozen_rows,
    snapshot_exists,
    snapshot_location,
)
from .evidence import recorded_seal
from .facade import Reader, Store
from .logs import ROW_COLUMNS


@dataclass(frozen=True)
class Amendment:
    """How the live rows of a closed period differed from its closed version when detected."""

    id: int
    label: str
    revision: int
    detected_at: int
    rows_then: int
    rows_now: int
    rows_added: int
    rows_removed: int
    consumed_delta: int
    refunded_delta: int
    fingerprint: str
    applied_at: int | None = None
    sync_id: int | None = None
    #: When the period was re-priced (``sync --reprice``): the quota per USD and exchange rate now.
    quota_per_unit: Decimal | None = None
    usd_exchange_rate: Decimal | None = None

    @property
    def quota_delta(self) -> int:
        """Net quota delta: consumption delta minus refund delta."""
        return self.consumed_delta - self.refunded_delta

    @property
    def pending(self) -> bool:
        return self.applied_at is None

    def describe(self, quota_per_unit: Decimal) -> str:
        if self.quota_per_unit is not None and not (self.rows_added or self.rows_removed):
            return self.repriced(quota_per_unit)
        usd = Decimal(self.quota_delta) / quota_per_unit
        return (
            f"+{self.rows_added} / -{self.rows_removed} rows ({self.rows_then} closed, {self.rows_now} now), "
            f"net quota {self.quota_delta:+d} (USD {usd:+f}; consumed {self.consumed_delta:+d}, "
            f"refunded {self.refunded_delta:+d})"
        )

    def repriced(self, quota_per_unit: Decimal) -> str:
        """``re-priced at 250000 quota per USD (closed at 500000)``, and the rate when it is stated."""
        rate = "" if self.usd_exchange_rate is None else f", {self.usd_exchange_rate} CNY per USD"
        return f"re-priced at {self.quota_per_unit} quota per USD{rate} (closed at {quota_per_unit})"


def recorded_amendments(store: Reader, label: str | None = None) -> list[Amendment]:
    """Recorded amendments, oldest first (of one period when ``label`` is given)."""
    sql = (
        "SELECT id, label, revision, detected_at, rows_then, rows_now, rows_added, rows_removed, "
        "consumed_delta, refunded_delta, fingerprint, applied_at, sync_id, quota_per_unit, usd_exchange_rate "
        "FROM amendments"
    )
    args: tuple[str, ...] = ()
    if label is not None:
        sql += " WHERE label = ?"
        args = (label,)
    return [
        Amendment(*r[:13], *(None if v is None else Decimal(v) for v in r[13:]))
        for r in store._conn.execute(sql + " ORDER BY id", args)
    ]


def pending_amendment(store: Reader, closure: Closure) -> Amendment | None:
    """The latest unapplied amendment when the live rows still differ from the closed version."""
    latest = [
        a
        for a in recorded_amendments(store, closure.period.label)
        if a.revision == closure.revision and a.pending
    ]
    if not latest:
        return None
    if latest[-1].fingerprint == closure.fingerprint and not any(
        a.quota_per_unit is not None and a.quota_per_unit != closure.quota_per_unit for a in latest
    ):
        return None
    return latest[-1]


def record_repricing(
    store: Store, closure: Closure, status: GatewayStatus, at: int, sync_id: int | None
) -> Amendment:
    """Record that ``closure``'s period is now priced at ``status`` (``sync --reprice``): pending until
    the period is closed again, its documents unchanged till then."""
    live = store.fingerprint(closure.period.start_ts, closure.period.end_ts)
    rows_now = store.count_rows(closure.period.start_ts, closure.period.end_ts)
    rate = None if status.usd_exchange_rate is None else str(status.usd_exchange_rate)
    new_id = store._conn.execute(
        "INSERT INTO amendments (label, revision, detected_at, sync_id, rows_then, rows_now, rows_added, "
        "rows_removed, consumed_delta, refunded_delta, fingerprint, quota_per_unit, usd_exchange_rate) "
        "VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, 0, ?, ?, ?) RETURNING id",
        (
            closure.period.label, closure.revision, at, sync_id, closure.rows, rows_now, live,
            str(status.quota_per_unit), rate,
        ),
    ).fetchall()[0][0]  # fmt: skip
    return Amendment(
        int(new_id), closure.period.label, closure.revision, at, closure.rows, rows_now,
        0, 0, 0, 0, live, None, sync_id, status.quota_per_unit, status.usd_exchange_rate,
    )  # fmt: skip


def edited_locally(
    store: Store, overlapping: tuple[int, int], written: Sequence[tuple[int, int]]
) -> list[tuple[str, int]]:
    """Closed periods overlapping a sync whose live rows changed where the sync read nothing from
    the gateway: (label, rows that differ from the snapshot there).  A sync replaces the windows
    it reads with the gateway's rows, so a change elsewhere was made in the store, not at the
    gateway.  A revision that already has an amendment is left to :func:`detect_amendments`
    (its snapshot no longer stands for what was last seen outside the windows read).
    """
    found = []
    spans = _merged(written)
    for closure in closures(store):
        p = closure.period
        if not (overlapping[0] < p.end_ts and overlapping[1] >= p.start_ts):
            continue
        if any(a.revision == closure.revision for a in recorded_amendments(store, p.label)):
            continue
        if store.fingerprint(p.start_ts, p.end_ts) == closure.fingerprint:
            continue
        outside = " AND ".join(["NOT (created_at BETWEEN ? AND ?)"] * len(spans)) or "TRUE"
        added, removed, _, _ = _diff(store, closure, outside, [v for span in spans for v in span])
        if added or removed:
            found.append((p.label, added + removed))
    return found


def _merged(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Inclusive spans joined where they touch (a sync's windows are mostly contiguous)."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def detect_amendments(
    store: Store,
    detected_at: int,
    *,
    overlapping: tuple[int, int] | None = None,
    label: str | None = None,
    sync_id: int | None = None,
    skip: Collection[str] = (),
) -> list[Amendment]:
    """Record an amendment for each closed period whose live rows changed since last looked at.

    ``overlapping`` (an inclusive range, e.g. what a sync just fetched) or ``label``
    limits the check to the closed periods concerned; each check hashes the period's
    live rows once, and diffs them against the snapshot only when the hash moved.
    """
    found = []
    for closure in closures(store):
        if (label is not None and closure.period.label != label) or closure.period.label in skip:
            continue
        if overlapping is not None and not (
            overlapping[0] < closure.period.end_ts and overlapping[1] >= closure.period.start_ts
        ):
            continue
        live = store.fingerprint(closure.period.start_ts, closure.period.end_ts)
        known = [
            a for a in recorded_amendments(store, closure.period.label) if a.revision == closure.revision
        ]
        last = known[-1].fingerprint if known else closure.fingerprint
        if live == last:
            continue
        found.append(_record_amendment(store, closure, live, detected_at, sync_id))
    return found


def _record_amendment(
    store: Store, closure: Closure, live_fingerprint: str, detected_at: int, sync_id: int | None
) -> Amendment:
    added, removed, consumed, refunded = _diff(store, closure)
    rows_now = store.count_rows(closure.period.start_ts, closure.period.end_ts)
    new_id = store._conn.execute(
        "INSERT INTO amendments (label, revision, detected_at, sync_id, rows_then, rows_now, rows_added, "
        "rows_removed, consumed_delta, refunded_delta, fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "RETURNING id",
        (
            closure.period.label, closure.revision, detected_at, sync_id, closure.rows, rows_now,
            added, removed, consumed, refunded, live_fingerprint,
        ),
    ).fetchall()[0][0]  # fmt: skip
    return Amendment(
        int(new_id), closure.period.label, closure.revision, detected_at, closure.rows, rows_now,
        added, removed, consumed, refunded, live_fingerprint, None, sync_id,
    )  # fmt: skip


def _diff(
    store: Store, closure: Closure, where: str = "TRUE", where_args: Sequence[int] = ()
) -> tuple[int, int, int, int]:
    """Rows added and removed (as multisets of parsed rows) and the quota deltas, live − closed
    (of the rows that also meet ``where``)."""
    if not snapshot_exists(store, closure):
        raise StoreError(
            f"{snapshot_location(store, closure)}: the closed snapshot of {closure.period.label} is missing"
        )
    cols = ROW_COLUMNS
    span = f"created_at >= ? AND created_at < ? AND ({where})"
    args = [closure.period.start_ts, closure.period.end_ts, *where_args] * 2
    seal = recorded_seal(store, closure_subject(closure.period.label, closure.revision), "rows_seal")
    with frozen_rows(store, closure, seal) as rows, attached(store, rows):
        row = store._conn.execute(
            "SELECT COALESCE(SUM(CASE WHEN d > 0 THEN d ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN d < 0 THEN -d ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN type = 2 THEN d * quota ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN type = 6 THEN d * quota ELSE 0 END), 0) FROM ("
            f"SELECT {cols}, SUM(side) AS d FROM ("
            f"SELECT {cols}, 1 AS side FROM main.logs WHERE {span} "
            f"UNION ALL SELECT {cols}, -1 AS side FROM frozen.logs WHERE {span}"
            f") AS sides GROUP BY {cols} HAVING SUM(side) <> 0) AS diffs",
            args,
        ).fetchone()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def mark_applied(store: Store, label: str, at: int) -> int:
    """Mark the pending amendments of ``label`` applied (a re-close took them in); return how many."""
    return int(
        store._conn.execute(
            "UPDATE amendments SET applied_at = ? WHERE label = ? AND applied_at IS NULL", (at, label)
        ).rowcount
    )
