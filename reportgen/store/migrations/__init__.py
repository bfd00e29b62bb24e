"""The numbered migrations, each in its module with the DDL it runs: migration N brings schema N-1 to N.

Migration 2 creates the tables schema 2 created (schema 1 was never released); a new store
runs every migration from there, so a fresh store and a migrated one are built by the same
statements (``tests/test_schema.py`` holds them equal).  A migration also brings the closed
snapshots of the store up where it must (6 and 7 roll them up).  A new migration is one
module here and one line in :data:`MIGRATIONS`.  A snapshot closed since issue 27 keeps its
``logs`` and ``raw_blobs`` packed beside its file (:mod:`reportgen.store.packed`): a migration
that changes those tables in snapshots unpacks them, changes them, packs them again and
records the new seal (the snapshot's own file holds them empty).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from . import (
    m02_tables,
    m03_closures,
    m04_fingerprints,
    m05_sources,
    m06_rollups,
    m07_histograms,
    m08_credit_index,
    m09_window_findings,
    m10_window_prices,
    m11_credit_texts,
    m12_token_usage,
    m13_alerts,
)
from .m08_credit_index import CREDIT_TYPES_SQL

#: Migration N brings a store of schema N-1 to schema N; a new store runs them all from the first.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    2: m02_tables.to_2,
    3: m03_closures.to_3,
    4: m04_fingerprints.to_4,
    5: m05_sources.to_5,
    6: m06_rollups.to_6,
    7: m07_histograms.to_7,
    8: m08_credit_index.to_8,
    9: m09_window_findings.to_9,
    10: m10_window_prices.to_10,
    11: m11_credit_texts.to_11,
    12: m12_token_usage.to_12,
    13: m13_alerts.to_13,
}

__all__ = ["CREDIT_TYPES_SQL", "MIGRATIONS"]
