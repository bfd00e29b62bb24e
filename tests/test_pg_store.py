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
import threading
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


def test_a_reader_role_reads_and_is_refused_writes_in_one_line(tmp_path, team, pg, server):
    """The reader role of ``store init``'s GRANTs: summary and report work (a closed month's too,
    from its snapshot's schema), sync is refused in one line naming the privilege it lacks."""
    psycopg, password = pg.extra["admin"]
    database = server.dsn.rsplit("/", 1)[1]
    with FakeGateway(team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        owner = write_config(tmp_path / "owner", gw.url, team, extra=f'\n[store]\ndsn = "{server.dsn}"\n')
        assert invoke(owner, "sync", "--period", "2026-04").exit_code == 0
        init = CliRunner().invoke(
            cli,
            ["store", "init", "--dsn", server.dsn, "--reader-role", "finance_reader"],
            env={"REPORTGEN_STORE_PASSWORD": OWNER_PASSWORD},
        )
        assert init.exit_code == 0, init.output
        grants = [line for line in init.output.splitlines() if not line.startswith("--")]
        assert any("REVOKE UPDATE, DELETE" in g and "audit_log" in g for g in grants)
        with psycopg.connect(pg.dsn(database, "postgres"), password=password, autocommit=True) as conn:
            for role in ("finance_reader", "reportgen_sync", "reportgen_closer"):
                conn.execute(f"DROP ROLE IF EXISTS {role}")
                conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{OWNER_PASSWORD}'")
        with psycopg.connect(server.dsn, password=OWNER_PASSWORD, autocommit=True) as conn:
            for statement in grants:
                conn.execute(statement)
        assert invoke(owner, "close", "2026-04").exit_code == 0  # its snapshot: readable by the reader
        dsn = pg.dsn(database, "finance_reader")
        reader = write_config(tmp_path / "reader", gw.url, team, extra=f'\n[store]\ndsn = "{dsn}"\n')
        summary = invoke(reader, "summary", "--period", "2026-04", "--json")
        assert summary.exit_code == 0, summary.output
        assert "is closed" in summary.output  # read from the closed snapshot's schema
        assert json.loads(summary.output[summary.output.index("{") :])["totals"]["requests"] > 2000
        report = invoke(
            reader, "report", "--period", "2026-04", "--format", "csv", "--out", str(tmp_path / "o")
        )
        assert report.exit_code == 0, report.output
        refused = invoke(reader, "sync", "--period", "2026-04")
        assert refused.exit_code != 0
        lines = [line for line in refused.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("Error: "), refused.output
        assert "finance_reader lacks INSERT" in refused.output and OWNER_PASSWORD not in refused.output


def test_two_syncs_at_once_never_double_a_row(tmp_path, team, server):
    """Two machines syncing one gateway into one store at once: one syncs, the other is refused
    in one line (or runs after it); the store holds every row once, as one sync's would."""
    from reportgen.app.sync import run_sync
    from reportgen.core.periods import parse_period

    env = {"REPORTGEN_ACCESS_TOKEN": TOKEN, "REPORTGEN_STORE_PASSWORD": OWNER_PASSWORD}
    with FakeGateway(team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        configs = [
            load_config(
                write_config(tmp_path / name, gw.url, team, extra=f'\n[store]\ndsn = "{server.dsn}"\n'),
                env=env,
            )
            for name in ("a", "b")
        ]
        period = parse_period("2026-04", configs[0].tz)
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def one(config: Any) -> None:
            barrier.wait()
            try:
                run_sync(config, period)
                outcomes.append("synced")
            except SyncLockedError as exc:
                assert "\n" not in str(exc)
                outcomes.append("refused")

        threads = [threading.Thread(target=one, args=(c,)) for c in configs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert "synced" in outcomes and len(outcomes) == 2
        lite = load_config(write_config(tmp_path / "lite", gw.url, team), env=env)
        run_sync(lite, period)
    with Reader.open(configs[0].store) as shared, Reader.open(lite.store) as single:
        span = (period.start_ts, period.end_ts)
        assert shared.count_rows(*span) == single.count_rows(*span) > 2000
        assert shared.fingerprint(*span) == single.fingerprint(*span)


def closed_outputs(path: Path) -> dict[str, Any]:
    """Close April, then what its closed documents say: CSV bytes and summary --json."""
    closed = invoke(path, "close", "2026-04")
    assert closed.exit_code == 0, closed.output
    again = invoke(path, "close", "2026-04")  # closed already: nothing changes
    assert again.exit_code == 0 and "already closed" in again.output, again.output
    with path.open("a", encoding="utf-8") as fp:  # a member added: the month is re-closed as revision 2
        fp.write('\n[members."New Hire"]\nkeys = ["no-such-key"]\n')
    reopened = invoke(path, "close", "2026-04", "--reopen")
    assert reopened.exit_code == 0 and "revision 2" in reopened.output, reopened.output
    checked = invoke(path, "store", "check")
    assert checked.exit_code == 0, checked.output
    summary = invoke(path, "summary", "--period", "2026-04", "--json")
    assert summary.exit_code == 0, summary.output
    doc = json.loads(summary.output[summary.output.index("{") :])  # after the notice that it is closed
    out = path.parent / "closed-out"
    written = invoke(path, "report", "--period", "2026-04", "--format", "csv", "--out", str(out))
    assert written.exit_code == 0, written.output
    log = invoke(path, "log", "--verify")
    return {"summary": doc, "csv": {p.name: p.read_bytes() for p in sorted(out.glob("*.csv"))}, "log": log}


def test_a_closed_month_reads_the_same_from_both_stores(tmp_path, team, server):
    with FakeGateway(team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        paths = {
            "sqlite": write_config(tmp_path / "sqlite", gw.url, team),
            "pg": write_config(tmp_path / "pg", gw.url, team, extra=f'\n[store]\ndsn = "{server.dsn}"\n'),
        }
        for path in paths.values():
            assert invoke(path, "sync", "--period", "2026-04").exit_code == 0
        lite, shared = (closed_outputs(p) for p in paths.values())
    assert _timeless(shared["summary"]) == _timeless(lite["summary"])
    assert shared["csv"] == lite["csv"]
    assert shared["log"].exit_code == 0 and lite["log"].exit_code == 0, shared["log"].output
    assert "revision 2" in shared["log"].output or "reopen" in shared["log"].output


def _timeless(value: Any) -> Any:
    """``value`` without the moments a sync or close happened (they differ between two runs)."""
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if k not in ("closed_at", "as_of", "synced_at")}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


def test_store_copy_moves_a_closed_and_reopened_month_and_checks_it(tmp_path, team, server):
    """``store copy`` of a SQLite store with a month closed and re-closed: both revisions check
    from PostgreSQL, the audit chain is intact, and the closed month reads the same."""
    with FakeGateway(team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        path = write_config(tmp_path / "lite", gw.url, team)
        assert invoke(path, "sync", "--period", "2026-04").exit_code == 0
        lite = closed_outputs(path)
        copied = invoke(path, "store", "copy", "--to", server.dsn)
        assert copied.exit_code == 0, copied.output
        assert "2026-04.r1, 2026-04.r2" in copied.output and "fingerprints equal" in copied.output
        again = invoke(path, "store", "copy", "--to", server.dsn)
        assert again.exit_code != 0 and "already holds a store" in again.output
        moved = tmp_path / "moved"
        moved.mkdir()
        text = path.read_text(encoding="utf-8") + f'\n[store]\ndsn = "{server.dsn}"\n'
        (moved / "reportgen.toml").write_text(text, encoding="utf-8")
        (moved / "signing-key.pem").write_bytes((tmp_path / "lite" / "signing-key.pem").read_bytes())
        log = invoke(moved / "reportgen.toml", "log", "--verify")
        assert log.exit_code == 0, log.output
        assert "revision 2" in log.output
        checked = invoke(moved / "reportgen.toml", "store", "check")
        assert checked.exit_code == 0, checked.output
        summary = invoke(moved / "reportgen.toml", "summary", "--period", "2026-04", "--json")
        assert summary.exit_code == 0, summary.output
        doc = json.loads(summary.output[summary.output.index("{") :])
    assert _timeless(doc) == _timeless(lite["summary"])


def test_a_row_changed_after_the_close_is_an_amendment_diffed_against_the_schema(tmp_path, team, server):
    """A closed month's live row edited on the server: the next check records an amendment whose
    diff (live rows against the snapshot's schema) counts one row added and one removed."""
    from reportgen.store import detect_amendments, find_closure

    with FakeGateway(team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        path = write_config(tmp_path / "pg", gw.url, team, extra=f'\n[store]\ndsn = "{server.dsn}"\n')
        assert invoke(path, "sync", "--period", "2026-04").exit_code == 0
        assert invoke(path, "close", "2026-04").exit_code == 0
    with Store.open(server) as store:
        closure = find_closure(store, "2026-04")
        assert closure is not None
        store._conn.execute(
            "UPDATE logs SET quota = quota + 7 WHERE id = (SELECT MIN(id) FROM logs WHERE type = 2 "
            "AND created_at >= ? AND created_at < ?)",
            (closure.period.start_ts, closure.period.end_ts),
        )
        (found,) = detect_amendments(store, closure.closed_at + 60, label="2026-04")
    assert (found.rows_added, found.rows_removed, found.consumed_delta) == (1, 1, 7)


def test_the_database_source_syncs_into_postgresql_with_copy(tmp_path, team, server):
    """The database source's batches go into a PostgreSQL store with COPY (ids as SQLite gives
    them): the same rows, fingerprint and summary as a SQLite store synced from the same database."""
    gateway = dbservers.make_sqlite(tmp_path / "newapi.db", dbservers.build_dataset(team.rows, team.tokens))
    lines = ["[gateway]", 'source = "database"', f'dsn = "sqlite:///{gateway}"', "user_id = 42", "",
             "[report]", 'timezone = "Asia/Shanghai"', ""]  # fmt: skip
    results = []
    for name, extra in (("lite", ""), ("pg", f'\n[store]\ndsn = "{server.dsn}"\n')):
        (tmp_path / name).mkdir()
        path = tmp_path / name / "reportgen.toml"
        path.write_text("\n".join(lines) + extra, encoding="utf-8")
        assert invoke(path, "sync", "--period", "2026-04").exit_code == 0
        summary = invoke(path, "summary", "--period", "2026-04", "--json")
        assert summary.exit_code == 0, summary.output
        config = load_config(path, env={"REPORTGEN_STORE_PASSWORD": OWNER_PASSWORD})
        with Reader.open(config.store) as reader:
            reader.begin()
            store = (
                reader.row_count(),
                reader.fingerprint(0, 2**62),
                len(list(reader.iter_records(0, 2**62))),
            )
        results.append((_timeless(json.loads(summary.output)), store))
    assert results[0] == results[1]
    assert results[0][1][0] > 2000
