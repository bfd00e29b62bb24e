"""The gateway's own database as a source: real PostgreSQL, MariaDB and SQLite, never mocked.

The same synthetic month is served by the fake gateway over loopback HTTP and loaded into
new-api- and one-api-shaped tables; a database sync and an API sync must give identical
``summary --json`` (but for where the rows came from and when), byte-identical CSV and
identical fingerprints.  Bad input fails in one line naming the DSN, never its password.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import reportgen.sources.database as database_module
import reportgen.sources.drivers as drivers_module
from reportgen.app.sync import run_sync
from reportgen.cli import cli
from reportgen.config import load_config
from reportgen.core.periods import parse_period
from reportgen.errors import ConfigError, DatabaseSourceError
from reportgen.sources import DatabaseSource
from reportgen.sources.schema import detect_log_schema
from reportgen.store import Store, evidence
from reportgen.testing.fakegateway import FakeGateway
from reportgen.testing.fakegateway.synthetic import SyntheticTeam
from tests import dbservers
from tests.conftest import TOKEN, write_config
from tests.dbservers import NO_RIGHTS, READER_PASSWORD, Dataset, Server

HOSTILE_NAMES = ("=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "key\twith tab",
                 "名字🙂 'q\"", "line\nbreak", "; DROP TABLE logs; --")  # fmt: skip
ENV = {"REPORTGEN_DB_PASSWORD": READER_PASSWORD}


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def rows(team: SyntheticTeam) -> list[dict[str, Any]]:
    """The team month plus rows under hostile key and model names (CSV/SQL injection, tabs, emoji)."""
    base = next(r for r in team.rows if r["type"] == 2 and team.start_ts + 86400 < r["created_at"])
    hostile = [
        {**base, "token_name": name, "model_name": name, "created_at": base["created_at"] + i, "other": dict(base["other"])}
        for i, name in enumerate(HOSTILE_NAMES)
    ]  # fmt: skip
    return sorted([*team.rows, *hostile], key=lambda r: r["created_at"])


@pytest.fixture(scope="session")
def dataset(rows: list[dict[str, Any]], team: SyntheticTeam) -> Dataset:
    return dbservers.build_dataset(rows, team.tokens)


@pytest.fixture(scope="session")
def pg(dataset: Dataset) -> Any:
    with dbservers.running(dbservers.start_postgres, dataset) as server:
        yield server


@pytest.fixture(scope="session")
def maria(dataset: Dataset) -> Any:
    with dbservers.running(dbservers.start_mariadb, dataset) as server:
        yield server


@pytest.fixture(scope="session")
def sqlite_dbs(dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sqlite-gateway")
    return {db: dbservers.make_sqlite(folder / f"{db}.db", dataset, db) for db in dbservers.DATABASES}


def dsn_for(request: pytest.FixtureRequest, dialect: str, database: str, user: str = dbservers.READER) -> str:
    if dialect == "sqlite":
        return f"sqlite:///{request.getfixturevalue('sqlite_dbs')[database]}"
    server: Server = request.getfixturevalue("pg" if dialect == "postgresql" else "maria")
    dsn = server.dsn(database, user)
    return dialect + dsn[dsn.index(":") :] if dialect.startswith("mysql+") else dsn  # a driver named


def db_config(folder: Path, team: SyntheticTeam, dsn: str, gateway: str = "user_id = 42\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        "[gateway]",
        'source = "database"',
        f'dsn = "{dsn}"',
        gateway,
        "[report]",
        'timezone = "Asia/Shanghai"',
        "",
    ]
    for name, keys in team.members.items():
        lines += [f'[members."{name}"]', "keys = [" + ", ".join(f'"{k}"' for k in keys) + "]", ""]
    path = folder / "reportgen.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def invoke(path: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, ["--config", str(path), *args], env=env if env is not None else ENV)


def outputs(path: Path, env: dict[str, str]) -> dict[str, Any]:
    """Sync April, then what a user compares: summary JSON, CSV bytes, store fingerprint."""
    synced = invoke(path, "sync", "--period", "2026-04", env=env)
    assert synced.exit_code == 0, synced.output
    summary = invoke(path, "summary", "--period", "2026-04", "--json", env=env)
    assert summary.exit_code == 0, summary.output
    doc = json.loads(summary.output)
    source = doc.pop("source")
    doc["exchange_rate"].pop("as_of")  # when the rate was read: legitimately differs per sync
    out = path.parent / "out"
    written = invoke(path, "report", "--period", "2026-04", "--format", "csv", "--out", str(out), env=env)
    assert written.exit_code == 0, written.output
    csv = {p.name: p.read_bytes() for p in sorted(out.glob("*.csv"))}
    assert csv
    with Store.open(path.parent / ".reportgen", create=False) as store:
        whole = store.fingerprint(0, 2**62)
        count = store.row_count()
        # the database sync's from its pages' digests, the API sync's from the store: the same
        (audited,) = [e.fingerprint for e in evidence.entries(store) if e.action == "sync"]
    return {
        "audited": audited,
        "summary": doc,
        "fingerprint": source["fingerprint"],
        "flavor": source["flavor"],
        "user_id": source["user_id"],
        "gateway": source["gateway"],
        "csv": csv,
        "store": (whole, count),
        "sync": synced.output,
    }


@pytest.fixture(scope="session")
def api_outputs(
    rows: list[dict[str, Any]], team: SyntheticTeam, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The API path's outputs for each gateway shape, synced through the fake gateway over HTTP."""
    results = {}
    for shape, flavor in (("newapi", "new-api"), ("oneapi", "one-api")):
        served = rows if shape == "newapi" else [dbservers.oneapi_api_row(r) for r in rows]
        tokens = team.tokens if shape == "newapi" else [dbservers.oneapi_api_token(t) for t in team.tokens]
        with FakeGateway(
            served, tokens, flavor=flavor, access_token=TOKEN, user_id=team.user_id, rate_limit=None
        ) as gw:
            path = write_config(
                tmp_path_factory.mktemp(f"api-{shape}"), gw.url, team, requests_per_window=1_000_000
            )
            results[shape] = outputs(path, {"REPORTGEN_ACCESS_TOKEN": TOKEN})
    return results


def assert_same(db: dict[str, Any], api: dict[str, Any], same_user: bool = True) -> None:
    assert db["summary"] == api["summary"]
    assert db["fingerprint"] == api["fingerprint"]
    assert db["audited"] == api["audited"]
    assert db["store"] == api["store"]
    assert db["flavor"] == api["flavor"]
    if same_user:
        assert db["user_id"] == api["user_id"]
    assert db["csv"].keys() == api["csv"].keys()
    for name in api["csv"]:
        assert db["csv"][name] == api["csv"][name], name


# ----------------------------------------------------------------------------- identical results
@pytest.mark.parametrize("dialect", ["postgresql", "mysql", "mysql+pymysql", "sqlite"])
@pytest.mark.parametrize("shape", ["newapi", "oneapi"])
def test_database_sync_equals_api_sync(request, tmp_path, team, api_outputs, dialect, shape):
    dsn = dsn_for(request, dialect, shape)
    db = outputs(db_config(tmp_path / "db", team, dsn), ENV)
    assert_same(db, api_outputs[shape])
    assert db["gateway"].startswith(dsn.split("@")[0].split(":")[0])  # the summary names the database
    assert READER_PASSWORD not in json.dumps(db["summary"]) + db["gateway"] + db["sync"]
    assert db["summary"]["totals"]["requests"] > 2000
    looks = "new-api (with request_id)" if shape == "newapi" else "one-api v0.6 or later (elapsed_time in ms)"
    assert f"from the {looks} database {dsn}: 30 windows" in db["sync"]


def test_logs_may_be_a_view(tmp_path, team, dataset, api_outputs):
    gateway_db = dbservers.make_sqlite(tmp_path / "gw.db", dataset)
    with sqlite3.connect(gateway_db) as conn:
        conn.execute("ALTER TABLE logs RENAME TO logs_2026")
        conn.execute("CREATE VIEW logs AS SELECT * FROM logs_2026")
    assert_same(
        outputs(db_config(tmp_path / "cfg", team, f"sqlite:///{gateway_db}"), ENV), api_outputs["newapi"]
    )


def test_the_audited_fingerprint_comes_from_the_pages_digests(tmp_path, team, dataset, monkeypatch):
    """A database sync that wrote its whole span records the fingerprint merged from the pages'
    digests (the store is not asked), equal to the store's own; a sync that skips covered days
    asks the store."""
    gateway_db = dbservers.make_sqlite(tmp_path / "gw.db", dataset)
    config = load_config(db_config(tmp_path / "cfg", team, f"sqlite:///{gateway_db}"), env=ENV)
    april = parse_period("2026-04", config.tz)
    asked: list[tuple[int, int]] = []
    real = Store.fingerprint

    def counted(self: Store, start_ts: int, end_ts: int, token_names: Any = None) -> str:
        asked.append((start_ts, end_ts))
        return real(self, start_ts, end_ts, token_names)

    monkeypatch.setattr(Store, "fingerprint", counted)
    run_sync(config, april)
    assert asked == []
    with Store.open(config.store_dir, create=False) as store:
        (audited,) = [e.fingerprint for e in evidence.entries(store) if e.action == "sync"]
        assert audited == real(store, april.start_ts, april.end_ts)
    run_sync(config, april)  # every day already there: nothing written, the store computes it
    assert asked == [(april.start_ts, april.end_ts)]


@pytest.mark.parametrize("dialect, page", [("postgresql", 7), ("mysql", 7), ("sqlite", 1), ("sqlite", 2)])
def test_small_keyset_pages_and_usernames_give_the_same_rows(
    request, tmp_path, team, api_outputs, dialect, page, monkeypatch
):
    # Small pages split same-second twins across pages: keyset on (created_at, type, id) keeps
    # both, and a second's rows wait for the next page to be put newest first, as the API lists them.
    monkeypatch.setattr(database_module, "PAGE_ROWS", page)
    dsn = dsn_for(request, dialect, "newapi")
    db = outputs(db_config(tmp_path / "db", team, dsn, 'usernames = ["acme"]\n'), ENV)
    assert_same(db, api_outputs["newapi"], same_user=False)  # selected by name: no single user id


@pytest.mark.parametrize(
    "dialect, page",
    [("sqlite", 1), ("sqlite", 2), ("sqlite", 3), ("sqlite", 10_000), ("postgresql", 1), ("postgresql", 3),
     ("mysql", 1), ("mysql", 3)],
)  # fmt: skip
def test_each_seconds_rows_come_newest_first_whatever_the_pages(
    request, tmp_path, team, dialect, page, monkeypatch
):
    """Pages follow the gateway's (created_at, type, id) index; each second's rows still reach the
    store newest insert first, as the API lists them, when a second spans pages or types, and
    none is skipped or read twice, rows without a type (NULL) included."""
    monkeypatch.setattr(database_module, "PAGE_ROWS", page)
    base = 1_900_000_000  # in 2030: no other row of the shared servers' data is there
    seconds = [(100, 2), (100, 6), (100, None), (100, 2), (101, 5), (101, None), (101, None), (101, 2),
               (102, None), (102, 2), (100, 2)]  # fmt: skip  # the last one committed late
    inserts = [
        "INSERT INTO logs (user_id, created_at, type, username, token_name, model_name, quota, prompt_tokens, "
        f"completion_tokens, request_id) VALUES (42, {base + ts}, {'NULL' if kind is None else kind}, 'acme', "
        f"'order-key', 'm', 1, 1, 1, 'r{i}')"
        for i, (ts, kind) in enumerate(seconds, 1)
    ]
    server: Server | None = None
    if dialect == "sqlite":
        gateway_db = dbservers.make_sqlite(tmp_path / "gw.db", dbservers.Dataset([], [], []))
        with sqlite3.connect(gateway_db) as conn:
            for sql in inserts:
                conn.execute(sql)
        dsn = f"sqlite:///{gateway_db}"
    else:
        server = request.getfixturevalue("pg" if dialect == "postgresql" else "maria")
        for sql in inserts:
            _admin_exec(server, sql)
        dsn = dsn_for(request, dialect, "newapi")
    try:
        config = load_config(db_config(tmp_path / "cfg", team, dsn), env=ENV)
        with DatabaseSource(config.gateway) as source:
            got = [r.request_id for p in source.iter_log_pages(base, base + 999) for r in p]
    finally:
        if server is not None:
            _admin_exec(server, "DELETE FROM logs WHERE token_name = 'order-key'")
    assert got == ["r11", "r4", "r3", "r2", "r1", "r8", "r7", "r6", "r5", "r10", "r9"]


def test_detected_schema_is_named(request, team):
    for shape, flavor, looks in (("newapi", "new-api", "request_id"), ("oneapi", "one-api", "elapsed_time")):
        config = load_config(db_config(Path(request.getfixturevalue("tmp_path")) / shape, team,
                                       dsn_for(request, "postgresql", shape)), env=ENV)  # fmt: skip
        with DatabaseSource(config.gateway) as source:
            assert source.flavor == flavor
            assert looks in source.schema.looks_like
            assert source.status().version == f"database: {source.schema.looks_like}"
            names = {k.name for k in source.keys()}  # noqa: SIM118 - a source, not a dict
            assert "deleted-key" not in names and "stranger-key" not in names
            assert {t["name"] for t in team.tokens} <= names


@pytest.mark.parametrize("dialect", ["postgresql", "mysql", "mysql+pymysql", "sqlite"])
def test_the_connection_is_read_only(request, team, tmp_path, dialect):
    dsn = dsn_for(request, dialect, "newapi", dbservers.WRITER)  # a user who may write
    config = load_config(db_config(tmp_path, team, dsn), env=ENV)
    with DatabaseSource(config.gateway) as source, pytest.raises(DatabaseSourceError) as info:
        conn = source._logs
        with conn.snapshot():
            conn.query("DELETE FROM logs")
    assert "read" in str(info.value).lower()  # "read-only transaction" / "READ ONLY" / "readonly"


@pytest.mark.parametrize("dialect", ["postgresql", "mysql", "mysql+pymysql"])
def test_a_window_is_one_snapshot(request, team, tmp_path, dialect, monkeypatch):
    """Rows committed while a window is being paged are not half-seen: the window reads one snapshot."""
    monkeypatch.setattr(database_module, "PAGE_ROWS", 5)
    config = load_config(db_config(tmp_path, team, dsn_for(request, dialect, "newapi")), env=ENV)
    lo, hi = team.start_ts, team.start_ts + 86400 * 3 - 1
    server: Server = request.getfixturevalue("pg" if dialect == "postgresql" else "maria")
    with DatabaseSource(config.gateway) as source:
        before = sum(len(p) for p in source.iter_log_pages(lo, hi))
        pages = source.iter_log_pages(lo, hi)
        seen = len(next(pages))
        _insert_row(server, lo + 10)  # committed by another connection after the first page
        seen += sum(len(p) for p in pages)
        assert seen == before
        after = sum(len(p) for p in source.iter_log_pages(lo, hi))
    _delete_row(server, lo + 10)
    assert after == before + 1


@pytest.mark.parametrize("dialect", ["postgresql", "mysql"])
def test_a_row_committed_late_is_caught_by_the_next_sync(request, team, tmp_path, dialect):
    """A row committed after its window was read, with an old created_at, is caught by the next
    sync's look-back (the real ids differ), and the closed period it lands in gets an amendment."""
    server: Server = request.getfixturevalue("pg" if dialect == "postgresql" else "maria")
    path = db_config(tmp_path, team, dsn_for(request, dialect, "newapi"))
    assert invoke(path, "sync", "--period", "2026-04").exit_code == 0
    closed = invoke(path, "close", "2026-04")
    assert closed.exit_code == 0, closed.output
    with Store.open(tmp_path / ".reportgen", create=False) as store:
        end = store.source_coverage("default")[-1][1]
        rows, ids = store.row_count(), store.gateway_ids(end - 3599, end, "default")
    assert ids and None not in ids  # the database's own ids, kept in each row's raw JSON
    unchanged = invoke(path, "sync", "--period", "2026-04")
    assert unchanged.exit_code == 0 and "read again" not in unchanged.output, unchanged.output
    _insert_row(server, end - 60)  # committed now, logged as of a minute before the window's end
    try:
        again = invoke(path, "sync", "--period", "2026-04")
        assert again.exit_code == 0, again.output
        assert "1 window read again" in again.output, again.output
        assert "closed period(s) 2026-04 changed" in again.output, again.output
        with Store.open(tmp_path / ".reportgen", create=False) as store:
            assert store.row_count() == rows + 1
            now = store.gateway_ids(end - 3599, end, "default")
        assert len(now) == len(ids) + 1 and set(ids) < set(now)
        amendments = invoke(path, "amendments", "--period", "2026-04")
        assert amendments.exit_code == 0 and "+1" in amendments.output.replace(" ", ""), amendments.output
        assert "read again" not in invoke(path, "sync", "--period", "2026-04").output
    finally:
        _delete_row(server, end - 60)


def _admin_exec(server: Server, sql: str) -> None:
    if server.dialect == "postgresql":
        psycopg, password = server.extra["admin"]
        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{server.port}/newapi", password=password
        ) as conn:
            conn.execute(sql)
    else:
        conn = server.extra["admin"]("newapi")
        with conn.cursor() as cur:
            cur.execute(sql)
        conn.commit()
        conn.close()


def _insert_row(server: Server, ts: int) -> None:
    _admin_exec(server, f"INSERT INTO logs (user_id, created_at, type, username, token_name, model_name, quota, "
                        f"prompt_tokens, completion_tokens) VALUES (42, {ts}, 2, 'acme', 'late-key', 'm', 1, 1, 1)")  # fmt: skip


def _delete_row(server: Server, ts: int) -> None:
    _admin_exec(server, f"DELETE FROM logs WHERE token_name = 'late-key' AND created_at = {ts}")


# ----------------------------------------------------------------------------- bad input
def assert_one_line_error(result: Any, *needles: str, code: int = 3) -> str:
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert READER_PASSWORD not in result.output and dbservers.ADMIN_PASSWORD not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    "dialect, database, user, needles",
    [
        ("postgresql", "nologs", dbservers.READER, ("no logs table",)),
        ("mysql", "nologs", dbservers.READER, ("no logs table",)),
        ("sqlite", "nologs", dbservers.READER, ("no logs table",)),
        ("postgresql", "missingcol", dbservers.READER, ("no column 'quota'",)),
        ("mysql", "missingcol", dbservers.READER, ("no column 'quota'",)),
        ("sqlite", "missingcol", dbservers.READER, ("no column 'quota'",)),
        ("postgresql", "badtypes", dbservers.READER, ("logs.created_at is", "timestamp")),
        ("mysql", "badtypes", dbservers.READER, ("logs.created_at is", "timestamp")),
        ("postgresql", "newapi", NO_RIGHTS, ("may not SELECT",)),
        ("mysql", "newapi", NO_RIGHTS, ("Access denied", NO_RIGHTS)),
        ("mysql+pymysql", "nologs", dbservers.READER, ("no logs table",)),
        ("mysql+pymysql", "missingcol", dbservers.READER, ("no column 'quota'",)),
        ("mysql+pymysql", "badtypes", dbservers.READER, ("logs.created_at is", "timestamp")),
        ("mysql+pymysql", "newapi", NO_RIGHTS, ("Access denied", NO_RIGHTS)),
        ("postgresql", "nosuchdb", dbservers.READER, ("cannot connect", "nosuchdb")),
    ],
)
def test_bad_databases_fail_in_one_line(request, tmp_path, team, dialect, database, user, needles):
    dsn = dsn_for(request, dialect, database if database != "nosuchdb" else "newapi", user)
    dsn = dsn.replace("/newapi", "/nosuchdb") if database == "nosuchdb" else dsn
    line = assert_one_line_error(
        invoke(db_config(tmp_path, team, dsn), "sync", "--period", "2026-04"), *needles
    )
    assert dsn.split("?")[0] in line  # names the DSN (there is no password in it to hide)


@pytest.mark.parametrize("dialect", ["postgresql", "mysql", "mysql+pymysql"])
def test_wrong_password_and_refused_connection(request, tmp_path, team, dialect):
    dsn = dsn_for(request, dialect, "newapi")
    wrong = invoke(db_config(tmp_path / "a", team, dsn), "sync", "--period", "2026-04",
                   env={"REPORTGEN_DB_PASSWORD": "not-the-password-123"})  # fmt: skip
    line = assert_one_line_error(wrong, "cannot connect", dsn)
    assert "not-the-password-123" not in line
    assert ("password authentication failed" if dialect == "postgresql" else "Access denied") in line
    closed = dsn.replace(f":{request.getfixturevalue('pg' if dialect == 'postgresql' else 'maria').port}/",
                         f":{dbservers.free_port()}/")  # fmt: skip
    assert_one_line_error(invoke(db_config(tmp_path / "b", team, closed), "sync", "--period", "2026-04"),
                          "cannot connect", closed)  # fmt: skip


def test_the_driver_is_the_fastest_installed_or_the_one_named(request, team):
    """``mysql://`` reads through MySQL Connector/Python's C extension (installed by the extra and
    the tests), ``mysql+pymysql://`` through PyMySQL; an unknown one is one line naming both."""
    folder = Path(request.getfixturevalue("tmp_path"))
    for dialect, driver in (("mysql", "mysqlconnector"), ("mysql+pymysql", "pymysql"),
                            ("mysql+mysqlconnector", "mysqlconnector")):  # fmt: skip
        config = load_config(db_config(folder / dialect, team, dsn_for(request, dialect, "newapi")), env=ENV)
        with DatabaseSource(config.gateway) as source:
            assert source.driver == driver
            names = {k.name for k in source.keys()}  # noqa: SIM118 - a source, not a dict
            assert source.flavor == "new-api" and {t["name"] for t in team.tokens} <= names
    dsn = dsn_for(request, "mysql", "newapi").replace("mysql://", "mysql+mysqldb://")
    assert_one_line_error(invoke(db_config(folder / "x", team, dsn), "sync", "--period", "2026-04"),
                          "unknown MySQL driver 'mysqldb'", "mysql+mysqlconnector", "mysql+pymysql")  # fmt: skip
    # PostgreSQL as SQLAlchemy spells it too
    dsn = dsn_for(request, "postgresql", "newapi").replace("postgresql://", "postgresql+psycopg://")
    config = load_config(db_config(folder / "pg", team, dsn), env=ENV)
    with DatabaseSource(config.gateway) as source:
        assert source.driver == "psycopg" and source.flavor == "new-api"
    dsn = dsn.replace("+psycopg://", "+asyncpg://")
    assert_one_line_error(invoke(db_config(folder / "y", team, dsn), "sync", "--period", "2026-04"),
                          "unknown PostgreSQL driver 'asyncpg'")  # fmt: skip


def test_password_in_the_file_is_refused_and_never_printed(tmp_path, team):
    path = db_config(tmp_path, team, "postgresql://reportgen:s3cret-in-file@127.0.0.1:1/newapi")
    result = invoke(path, "sync", "--period", "2026-04")
    line = assert_one_line_error(result, "contains a password", "REPORTGEN_DB_PASSWORD", code=2)
    assert "s3cret-in-file" not in line
    go_style = db_config(tmp_path / "go", team, "reportgen:s3cret-in-file@tcp(127.0.0.1:3306)/newapi")
    line = assert_one_line_error(invoke(go_style, "sync", "--period", "2026-04"), "must be a URL", code=2)
    assert "s3cret-in-file" not in line


def test_config_errors(tmp_path, team):
    assert_one_line_error(
        invoke(db_config(tmp_path / "a", team, "oracle://x@h/db"), "sync"), "unknown database type", code=2
    )
    no_user = db_config(tmp_path / "b", team, f"sqlite:///{tmp_path / 'x.db'}", gateway="")
    sqlite3.connect(tmp_path / "x.db").close()
    assert_one_line_error(
        invoke(no_user, "sync", "--period", "2026-04"), "user_id or gateway.usernames", code=2
    )
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "reportgen.toml").write_text('[gateway]\nsource = "database"\nuser_id = 42\n')
    assert_one_line_error(invoke(tmp_path / "c" / "reportgen.toml", "sync"), "gateway.dsn is not set", code=2)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "reportgen.toml").write_text('[gateway]\nsource = "db"\n')
    with pytest.raises(ConfigError, match="gateway.source must be one of"):
        load_config(tmp_path / "d" / "reportgen.toml", env={})


def test_missing_driver_names_the_extra(tmp_path, team, monkeypatch):
    real = drivers_module.importlib.import_module

    def no_psycopg(name: str, *args: Any) -> Any:
        if name == "psycopg":
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(drivers_module.importlib, "import_module", no_psycopg)
    path = db_config(tmp_path, team, "postgresql://reportgen@127.0.0.1:5432/newapi")
    assert_one_line_error(
        invoke(path, "sync", "--period", "2026-04"),
        "pip install 'psycopg[binary]>=3.1' (reportgen's [postgres]",
    )


def test_mysql_without_the_c_extension_reads_through_pymysql(request, tmp_path, team, monkeypatch):
    real = drivers_module.importlib.import_module
    missing: set[str] = {"mysql.connector.connection_cext"}  # as when the C extension does not load

    def without(name: str, *args: Any) -> Any:
        if name in missing:
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(drivers_module.importlib, "import_module", without)
    config = load_config(db_config(tmp_path / "a", team, dsn_for(request, "mysql", "newapi")), env=ENV)
    with DatabaseSource(config.gateway) as source:
        assert source.driver == "pymysql"
    named = dsn_for(request, "mysql+mysqlconnector", "newapi")
    assert_one_line_error(invoke(db_config(tmp_path / "b", team, named), "sync", "--period", "2026-04"),
                          "needs MySQL Connector/Python with its C extension", "[mysql]")  # fmt: skip
    missing.add("pymysql")
    path = db_config(tmp_path / "c", team, dsn_for(request, "mysql", "newapi"))
    assert_one_line_error(
        invoke(path, "sync", "--period", "2026-04"),
        "PyMySQL",
        "pip install 'mysql-connector-python>=9.0,<26'",
    )


def test_a_locked_sqlite_file_fails_and_the_store_keeps_its_rows(
    tmp_path, team, sqlite_dbs, dataset, monkeypatch
):
    monkeypatch.setattr(drivers_module, "SQLITE_BUSY_TIMEOUT", 0.2)
    gateway_db = dbservers.make_sqlite(tmp_path / "gw.db", dataset)
    path = db_config(tmp_path / "cfg", team, f"sqlite:///{gateway_db}")
    assert invoke(path, "sync", "--period", "2026-04").exit_code == 0
    with Store.open(tmp_path / "cfg" / ".reportgen", create=False) as store:
        before = (store.fingerprint(0, 2**62), store.row_count())
    writer = sqlite3.connect(gateway_db, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")  # the gateway in the middle of a write
    try:
        line = assert_one_line_error(
            invoke(path, "sync", "--period", "2026-04", "--refetch"), "database is locked"
        )
        assert str(gateway_db) in line
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    with Store.open(tmp_path / "cfg" / ".reportgen", create=False) as store:
        assert (store.fingerprint(0, 2**62), store.row_count()) == before


class _FailsAtWindow4(DatabaseSource):
    """A database that fails on the fourth window it is asked for (in the process that reads it)."""

    windows_asked = 0

    def iter_log_pages(self, start_ts: int, end_ts: int) -> Any:
        type(self).windows_asked += 1
        if type(self).windows_asked == 4:
            raise DatabaseSourceError(f"{self.dsn.shown}: connection lost")
        return super().iter_log_pages(start_ts, end_ts)


def test_failure_mid_sync_keeps_completed_windows(request, tmp_path, team):
    """A database that fails after some windows leaves them committed, and nothing else changed."""
    path = db_config(tmp_path, team, dsn_for(request, "postgresql", "newapi"))
    config = load_config(path, env=ENV)
    with pytest.raises(DatabaseSourceError) as failed:
        run_sync(config, parse_period("2026-04", config.tz), client_factory=_FailsAtWindow4)
    message = str(failed.value)
    assert "connection lost" in message and "3 of 30 windows saved" in message and "\n" not in message
    assert READER_PASSWORD not in message
    with Store.open(tmp_path / ".reportgen", create=False) as store:
        assert len(store.coverage()) == 1 and store.row_count() > 0


def test_a_value_that_cannot_be_true_stops_at_its_window(tmp_path, team, dataset):
    """The fast path refuses what the API path refuses, naming the real row id; the windows
    before it stay saved, the window holding it is not half-written."""
    gateway_db = dbservers.make_sqlite(tmp_path / "gw.db", dataset)
    at = team.start_ts + 86400 * 3 + 600  # in the fourth window (the fourth local day)
    with sqlite3.connect(gateway_db) as conn:  # SQLite keeps a REAL in an INTEGER column
        row_id = conn.execute(
            "INSERT INTO logs (user_id, created_at, type, username, token_name, model_name, quota, "
            "prompt_tokens, completion_tokens) VALUES (42, ?, 2, 'acme', 'k', 'm', 1.5, 1, 1)",
            (at,),
        ).lastrowid
    path = db_config(tmp_path / "cfg", team, f"sqlite:///{gateway_db}")
    line = assert_one_line_error(
        invoke(path, "sync", "--period", "2026-04"), f"row id {row_id}", "fractional"
    )
    assert "3 of 30 windows saved" in line
    with Store.open(tmp_path / "cfg" / ".reportgen", create=False) as store:
        day = team.start_ts + 86400 * 3  # windows are cut at local midnights: the failed one is this day
        assert store.source_coverage("default") == [(team.start_ts, day - 1)]
        assert store.count_rows(day, day + 86400) == 0


def test_schema_detection_names_versions_and_missing_columns():
    base = {
        c: "bigint"
        for c in ("id", "user_id", "created_at", "type", "quota", "prompt_tokens", "completion_tokens")
    }
    base |= {c: "varchar(191)" for c in ("username", "token_name", "model_name")}
    assert (
        detect_log_schema({**base, "use_time": "int", "other": "text"}, "x").looks_like
        == "new-api (before request_id)"
    )
    old = detect_log_schema(dict(base), "x")
    assert old.flavor == "one-api" and "no latency" in old.looks_like
    with pytest.raises(DatabaseSourceError, match="no column 'model_name'"):
        detect_log_schema({k: v for k, v in base.items() if k != "model_name"}, "sqlite:///x")
