"""The embedded store, the only owner of SQL: log rows, coverage, gateway facts, closed periods.

:class:`Reader` reads (one read transaction per view); :class:`Store` also writes and is
opened only by sync, close and reconcile, under the folder's :func:`sync_lock`.
:mod:`.schema` defines every table and migrates older stores; :mod:`.closures` keeps
closed periods, their snapshots and amendments.
"""

from .closures import (
    BRIDGE_META,
    Amendment,
    Closure,
    closures,
    detect_amendments,
    find_closure,
    freeze,
    frozen_exchange,
    frozen_source_rates,
    mark_applied,
    pending_amendment,
    recorded_amendments,
    snapshot_dir,
    source_rates_changed,
)
from .db import DB_NAME, ROW_COLUMNS, Reader, Store, qualified_key, sync_lock, uncovered

__all__ = [
    "BRIDGE_META",
    "DB_NAME",
    "ROW_COLUMNS",
    "Amendment",
    "Closure",
    "Reader",
    "Store",
    "closures",
    "detect_amendments",
    "find_closure",
    "freeze",
    "frozen_exchange",
    "frozen_source_rates",
    "mark_applied",
    "pending_amendment",
    "qualified_key",
    "recorded_amendments",
    "snapshot_dir",
    "source_rates_changed",
    "sync_lock",
    "uncovered",
]
