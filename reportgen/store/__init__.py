"""The embedded store, the only owner of SQL: log rows, coverage, gateway facts, closed periods.

:class:`Reader` reads (one read transaction per view); :class:`Store` also writes and is
opened only by sync, close and reconcile, under the folder's :func:`sync_lock`
(:mod:`.facade`).  Each table family keeps its queries in a module of its own: :mod:`.logs`
(rows, detail, digests, counts), :mod:`.windows` (writing them), :mod:`.coverage`,
:mod:`.facts` (meta, accounts, status, keys, syncs), :mod:`.rollups` and :mod:`.partials`,
:mod:`.raw`, :mod:`.wallet`, :mod:`.reconcile`, :mod:`.evidence`, :mod:`.closures` (a closed
snapshot's rows packed beside it: :mod:`.packed`) and :mod:`.amendments`.  :mod:`.schema` runs the numbered :mod:`.migrations`, the only DDL.
"""

from .amendments import (
    Amendment,
    detect_amendments,
    edited_locally,
    mark_applied,
    pending_amendment,
    record_repricing,
    recorded_amendments,
)
from .closures import (
    BRIDGE_META,
    Closure,
    closure_subject,
    closures,
    find_closure,
    freeze,
    frozen_exchange,
    frozen_source_rates,
    new_snapshot,
    rows_seal,
    seal_kind,
    snapshot_dir,
    snapshot_exists,
    snapshot_location,
    snapshot_seal,
)
from .connection import DB_NAME, qualified_key
from .copy import CopyResult, copy_store
from .coverage import uncovered
from .facade import Reader, Store, init_server, sync_lock
from .logs import ROW_COLUMNS

__all__ = [
    "BRIDGE_META",
    "DB_NAME",
    "ROW_COLUMNS",
    "Amendment",
    "Closure",
    "CopyResult",
    "Reader",
    "Store",
    "closure_subject",
    "closures",
    "copy_store",
    "detect_amendments",
    "edited_locally",
    "record_repricing",
    "find_closure",
    "init_server",
    "freeze",
    "frozen_exchange",
    "frozen_source_rates",
    "mark_applied",
    "new_snapshot",
    "pending_amendment",
    "qualified_key",
    "recorded_amendments",
    "rows_seal",
    "snapshot_dir",
    "snapshot_exists",
    "snapshot_location",
    "seal_kind",
    "snapshot_seal",
    "sync_lock",
    "uncovered",
]
