"""The store on PostgreSQL (issue 29): the same documents as SQLite's for the same rows.

A real PostgreSQL server is started once for the module on loopback (``tests/dbservers.py``,
skipped when missing unless ``REPORTGEN_REQUIRE_DB_SERVERS=1``); each test gets a database of
its own.  The fake gateway is synced over HTTP into a SQLite store and into a PostgreSQL
store, and what a user compares must be equal: the CSV bytes, ``summary --json``, the
fingerprints, the row counts.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reportgen.cli import cli
from reportgen.config import StoreServer, load_config
from reportgen.errors import ConfigError, SyncLockedError
from reportgen.store import Reader, Store, sync_lock
from reportgen.testing.fakegateway import FakeGateway
from reportgen.testing.fakegateway.synthetic import SyntheticTeam

from . import dbservers
from .conftest import TOKEN, write_config

OWNER = "reportgen_store"
OWNER_PASSWORD = "store-pw-7c1e"  # the tests assert it never appears in any message
HOSTILE_NAMES = ("=1+2", "@SUM(A1)", "tab\there", "名字🙂 'q\"", "line\nbreak", "back\\slash %s ?")
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def pg(team: SyntheticTeam) -> Iterator[dbservers.Server]:
    # the server's gateway databases get a few rows: the store's databases are made per test
    with dbservers.running(
        dbservers.start_postgres, dbservers.build_dataset(team.rows[:20], team.tokens)
    ) as server:
        psycopg, password = server.extra["admin"]
        admin = f"postgresql://postgres@127.0.0.1:{server.port}/postgres"
        with psycopg.connect(admin, password=password, autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {OWNER} LOGIN PASSWORD '{OWNER_PASSWORD}'")
        yield server


@pytest.fixture
def server(pg: dbservers.Server) -> StoreServer:
    """A new, empty database of the store's owner, as ``[store] dsn`` names it."""
    name = f"store_{next(_numbers)}"
    psycopg, password = pg.extra["admin"]
    with psycopg.connect(
        f"postgresql://postgres@127.0.0.1:{pg.port}/postgres", password=password, autocommit=True
    ) as conn:
        conn.execute(f"CREATE DATABASE {name} OWNER {OWNER}")
    return StoreServer(pg.dsn(name, OWNER), password=OWNER_PASSWORD)


@pytest.fixture(scope="module")
def rows(team: SyntheticTeam) -> list[dict[str, Any]]:
    """The team month plus rows under hostile key and model names (quotes, tabs, newlines, %, ?)."""
    base = next(r for r in team.rows if r["type"] == 2 and team.start_ts + 86400 < r["created_at"])
    hostile = [
        {**base, "token_name": name, "model_name": name, "created_at": base["created_at"] + i}
        for i, name in enumerate(HOSTILE_NAMES)
    ]
    return sorted([*team.rows, *hostile], key=lambda r: r["created_at"])


def invoke(path: Path, *args: str) -> Any:
    env = {"REPORTGEN_ACCESS_TOKEN": TOKEN, "REPORTGEN_STORE_PASSWORD": OWNER_PASSWORD}
    return CliRunner().invoke(cli, ["--config", str(path), *args], env=env)


def outputs(path: Path) -> dict[str, Any]:
    """Sync April, then what a user compares: summary JSON, CSV bytes, fingerprints."""
    synced = invoke(path, "sync", "--period", "2026-04")
    assert synced.exit_code == 0, synced.output
    summary = invoke(path, "summary", "--period", "2026-04", "--json")
    assert summary.exit_code == 0, summary.output
    doc = json.loads(summary.output)
    doc["exchange_rate"].pop("as_of")  # when the rate was read: differs per sync
    doc["source"].pop("synced_at", None)
    out = path.parent / "out"
    written = invoke(path, "report", "--period", "2026-04", "--format", "csv", "--out", str(out))
    assert written.exit_code == 0, written.output
    csv = {p.name: p.read_bytes() for p in sorted(out.glob("*.csv"))}
    assert csv
    config = load_config(path, env={"REPORTGEN_STORE_PASSWORD": OWNER_PASSWORD})
    with Reader.open(config.store) as reader:
        reader.begin()
        store = (reader.fingerprint(0, 2**62), reader.row_count(), list(reader.canonical_rows(0, 2**62))[:50])
    return {"summary": doc, "csv": csv, "store": store, "sync": synced.output}


def test_postgresql_store_gives_the_sqlite_stores_documents(tmp_path, team, rows, server):
    with FakeGateway(rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        lite = outputs(write_config(tmp_path / "sqlite", gw.url, team))
        shared = outputs(
            write_config(tmp_path / "pg", gw.url, team, extra=f'\n[store]\ndsn = "{server.dsn}"\n')
        )
    assert shared["summary"] == lite["summary"]
    assert shared["store"] == lite["store"]
    assert shared["csv"].keys() == lite["csv"].keys()
    for name in lite["csv"]:
        assert shared["csv"][name] == lite["csv"][name], name
    assert shared["summary"]["totals"]["requests"] > 2000
    assert OWNER_PASSWORD not in json.dumps(shared["summary"]) + shared["sync"]
    assert not (tmp_path / "pg" / ".reportgen" / "reportgen.sqlite3").exists()  # the rows are on the server


def test_a_password_in_the_dsn_is_refused_and_never_shown(tmp_path):
    path = tmp_path / "reportgen.toml"
    path.write_text('[store]\ndsn = "postgresql://sync:pw-in-file-9@db/reportgen"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert "REPORTGEN_STORE_PASSWORD" in str(err.value)
    assert "pw-in-file-9" not in str(err.value)


def test_a_second_writer_is_refused_in_one_line(server):
    Store.open(server).close()
    with sync_lock(server, "close 2026-04"), pytest.raises(SyncLockedError) as err, sync_lock(server, "sync"):
        pass  # pragma: no cover - refused
    message = str(err.value)
    assert "\n" not in message and "close 2026-04" in message and OWNER_PASSWORD not in message
    with sync_lock(server, "sync"):  # released when its holder's session ended
        pass


def test_a_reader_sees_one_snapshot_while_a_sync_commits(server):
    with Store.open(server) as store:
        store.replace_window(1000, 1999, [], pages=1, fetched_at=2000)
    with Reader.open(server) as reader, Store.open(server) as writer:
        reader.begin()
        before = (reader.coverage(), reader.row_count())
        writer.replace_window(2000, 2999, [], pages=1, fetched_at=3000)
        assert (reader.coverage(), reader.row_count()) == before
    with Reader.open(server) as reader:
        assert reader.coverage() == [(1000, 2999)]


def test_a_new_postgresql_store_has_the_sqlite_stores_tables_and_columns(tmp_path, server):
    """The PostgreSQL schema is the migrations' SQLite schema in PostgreSQL's types: the same
    tables, the same columns in the same order (and ``rowid`` where reads order by it)."""
    with Store.open(tmp_path) as lite, Store.open(server) as shared:
        for table in lite._dialect.tables(lite._conn):
            expected = lite._dialect.columns(lite._conn, table)
            if table in ("status_snapshots", "balances"):
                expected.append("rowid")
            assert shared._dialect.columns(shared._conn, table) == expected, table
        version = lite.get_meta("schema_version")
        assert shared.get_meta("schema_version") == version
    with Store.open(server) as again:  # opening it again migrates nothing
        assert again.get_meta("schema_version") == version
