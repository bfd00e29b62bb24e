"""The store's schema version, and the one way a store gets its tables: the numbered migrations.

A store records its version in ``meta.schema_version``.  :func:`migrate` runs, in order,
each migration of :mod:`.migrations` above that version, each in its own transaction; a
new store runs every one of them, an older store is first copied to
``reportgen.sqlite3.schema<N>.bak``; a store newer than this reportgen is refused.
Nothing outside :mod:`reportgen.store` defines a table.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..errors import StoreError
from .dialect import dialect_of, upsert
from .migrations import CREDIT_TYPES_SQL, MIGRATIONS

#: The schema this reportgen writes.
SCHEMA_VERSION = max(MIGRATIONS)
#: The oldest schema that can be migrated (1 had no per-row digest and was never released).
OLDEST_MIGRATABLE = min(MIGRATIONS)

__all__ = ["CREDIT_TYPES_SQL", "OLDEST_MIGRATABLE", "SCHEMA_VERSION", "migrate", "version_of"]


def version_of(conn: sqlite3.Connection) -> int | None:
    """The store's schema version, or None for an empty database."""
    if not dialect_of(conn).has_table(conn, "meta"):
        return None
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return None if row is None else int(row[0])


def migrate(conn: sqlite3.Connection, db: Path) -> int | None:
    """Bring the store in ``db`` up to :data:`SCHEMA_VERSION`; return the version it had (None: new)."""
    version = version_of(conn)
    if version is None:
        foreign = dialect_of(conn).tables(conn)[:3]
        if foreign:  # another program's database: never add our tables to it
            raise StoreError(
                f"{db}: not a reportgen store (it holds tables {', '.join(foreign)}); move it aside, "
                "or point [store] elsewhere, and run `reportgen sync`"
            )
    if version is not None and version > SCHEMA_VERSION:
        raise StoreError(
            f"{db}: store schema {version} was written by a newer reportgen (this one reads up to "
            f"{SCHEMA_VERSION}); upgrade reportgen"
        )
    if version is not None and version < OLDEST_MIGRATABLE:
        raise StoreError(
            f"{db}: store schema {version} is too old to migrate; move {db.parent} aside and run "
            "`reportgen sync` again: the gateway still has the logs"
        )
    if version == SCHEMA_VERSION:
        return version
    if version is not None:
        backup = db.with_name(f"{db.name}.schema{version}.bak")
        with sqlite3.connect(backup) as target:
            conn.backup(target)
        target.close()
    for number in range((version or OLDEST_MIGRATABLE - 1) + 1, SCHEMA_VERSION + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[number](conn)
            conn.execute(upsert("meta", ("key", "value"), ("key",)), ("schema_version", str(number)))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    if version is not None and version < 7:
        conn.execute("VACUUM")  # schemas 6 and 7 compressed the raw JSON and the latency rollup
    return version
