"""A store gets its tables only through the numbered migrations: a fresh store equals a migrated one."""

from __future__ import annotations

import re
import sqlite3
import tarfile
from pathlib import Path
from typing import Any

import pytest

from reportgen.errors import StoreError
from reportgen.store import DB_NAME, Reader, Store
from reportgen.store.migrations import MIGRATIONS
from reportgen.store.schema import OLDEST_MIGRATABLE, SCHEMA_VERSION

DATA = Path(__file__).parent / "data"
STORE = Path(__file__).resolve().parent.parent / "reportgen" / "store"


def _shape(db: Path) -> dict[str, Any]:
    """Everything the schema of ``db`` is made of, object by object."""
    with sqlite3.connect(db) as conn:
        shape: dict[str, Any] = {}
        for kind, name, table, sql in conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ):
            entry: dict[str, Any] = {"type": kind, "table": table, "sql": sql}
            if kind == "table":
                entry["columns"] = conn.execute(f"PRAGMA table_xinfo({name})").fetchall()
                entry["indexes"] = [r[1:] for r in conn.execute(f"PRAGMA index_list({name})")]
                entry["foreign_keys"] = conn.execute(f"PRAGMA foreign_key_list({name})").fetchall()
            elif kind == "index":
                entry["columns"] = conn.execute(f"PRAGMA index_xinfo({name})").fetchall()
            shape[name] = entry
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    shape["schema_version"] = version
    return shape


def _migrated_schema_2_store(tmp_path: Path) -> Path:
    with tarfile.open(DATA / "schema2-store.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    directory = tmp_path / ".reportgen"
    with sqlite3.connect(directory / DB_NAME) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("2",)
    Store.open(directory, create=False).close()
    return directory / DB_NAME


def test_a_fresh_store_equals_a_schema_2_store_migrated_table_by_table(tmp_path: Path) -> None:
    Store.open(tmp_path / "fresh").close()
    fresh = _shape(tmp_path / "fresh" / DB_NAME)
    migrated = _shape(_migrated_schema_2_store(tmp_path / "old"))
    assert sorted(fresh) == sorted(migrated)
    for name in fresh:
        assert fresh[name] == migrated[name], name
    assert fresh["schema_version"] == (str(SCHEMA_VERSION),)
    kinds = {e["type"] for n, e in fresh.items() if n != "schema_version"}
    assert kinds == {"table", "index", "trigger"}  # the comparison saw every kind of object


def test_the_migrations_are_numbered_without_a_gap_and_a_new_store_runs_them_all(tmp_path: Path) -> None:
    assert sorted(MIGRATIONS) == list(range(OLDEST_MIGRATABLE, SCHEMA_VERSION + 1))
    with Store.open(tmp_path) as store:
        assert store.get_meta("schema_version") == str(SCHEMA_VERSION)
        assert store.get_meta("rollup_zone") is None  # an empty store has nothing rolled up in any zone
    assert not list(tmp_path.glob("*.bak"))  # a new store is not backed up


def test_no_statement_outside_the_migrations_defines_a_table() -> None:
    """DDL is written where a migration runs it (rollups' and raw's tables are run by migrations 6 and 7)."""
    ddl = re.compile(r"\b(CREATE|DROP|ALTER)\s+(TABLE|INDEX|TRIGGER|VIEW)\b")
    where = {
        str(p.relative_to(STORE)) for p in STORE.rglob("*.py") if ddl.search(p.read_text(encoding="utf-8"))
    }
    assert {w for w in where if not w.startswith("migrations/")} == {"rollups.py", "raw.py"}


def test_a_store_newer_than_this_reportgen_is_refused(tmp_path: Path) -> None:
    Store.open(tmp_path).close()
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(StoreError, match="newer reportgen"):
        Reader.open(tmp_path)
