"""new-api's ClickHouse log table as a source: a real clickhouse-server on loopback, never mocked.

The synthetic team month is loaded into a new-api-shaped ClickHouse ``logs`` table (``id``
always 0, ``request_id``, ``other`` as JSON text); the keys, options and users stay in the
gateway's main database (``gateway.main_dsn``, here SQLite), as new-api keeps them when
``LOG_SQL_DSN`` points at ClickHouse.  A sync over the native protocol and over HTTP must
give what the management API gives: the same ``summary --json``, CSV and fingerprint.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import reportgen.sources.database as database_module
from reportgen.app.monthend import MonthEnd
from reportgen.app.sync import run_sync
from reportgen.app.syncresult import SyncResult
from reportgen.config import load_config
from reportgen.core.periods import parse_period
from reportgen.errors import DatabaseSourceError
from reportgen.sources import DatabaseSource, Retention
from reportgen.sources.retention import table_retention
from reportgen.testing.fakegateway.synthetic import SyntheticTeam
from tests import clickhouse_server, dbservers
from tests.clickhouse_server import NEWAPI_LOGS
from tests.dbservers import READER_PASSWORD, Dataset
from tests.test_database_source import (
    ENV,
    api_outputs,
    assert_same,
    dataset,
    db_config,
    invoke,
    outputs,
    rows,
)

__all__ = [
    "api_outputs",
    "dataset",
    "rows",
]  # the API path's outputs and the month, shared with the SQL sources' tests


@pytest.fixture(scope="module")
def ch(dataset: Dataset) -> Any:
    with clickhouse_server.running() as server:
        server.load_logs("newapi", dataset.newapi_rows)
        yield server


@pytest.fixture(scope="module")
def main_db(dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The gateway's main database (tokens, options, users) beside the ClickHouse logs."""
    path = dbservers.make_sqlite(tmp_path_factory.mktemp("ch-main") / "main.db", dataset)
    return f"sqlite:///{path}"


def assert_same_rows(db: dict[str, Any], api: dict[str, Any]) -> None:
    """What the API path gives; the CSV holds the same lines, but a second's rows in the table's
    key order: ClickHouse keeps no insert order for them to come newest first, as the API lists them."""
    assert_same({**db, "csv": {}}, {**api, "csv": {}})
    assert db["csv"].keys() == api["csv"].keys()
    for name, data in api["csv"].items():
        assert sorted(db["csv"][name].splitlines()) == sorted(data.splitlines()), name


def ch_config(folder: Path, team: SyntheticTeam, dsn: str, main_dsn: str, extra: str = "") -> Path:
    return db_config(folder, team, dsn, f'user_id = 42\nmain_dsn = "{main_dsn}"\n{extra}')


@pytest.mark.parametrize("scheme", ["clickhouse", "http"])
def test_clickhouse_sync_equals_api_sync(tmp_path, team, ch, main_db, api_outputs, scheme):
    dsn = ch.dsn("newapi", scheme=scheme)
    db = outputs(ch_config(tmp_path / "db", team, dsn, main_db), ENV)
    assert_same_rows(db, api_outputs["newapi"])
    # exact against ClickHouse's own sums of the month, per local day and in total
    tz = ZoneInfo("Asia/Shanghai")
    lo, hi = (int(datetime(2026, m, 1, tzinfo=tz).timestamp()) for m in (4, 5))
    by_day = ch.execute(
        "SELECT toString(toDate(toDateTime(created_at, 'Asia/Shanghai'))) AS day, countIf(type = 2), "
        "sumIf(quota, type = 2), sumIf(quota, type = 6), countIf(type = 5) FROM newapi.logs "
        f"WHERE user_id = 42 AND created_at >= {lo} AND created_at < {hi} GROUP BY day ORDER BY day"
    )
    fields = ("requests", "consumed_quota", "refunded_quota", "errors")
    days = {d["name"]: tuple(d[f] for f in fields) for d in db["summary"]["days"]}
    assert {day: tuple(map(int, sums)) for day, *sums in by_day if any(sums)} == {
        day: sums for day, sums in days.items() if any(sums)
    }
    totals = db["summary"]["totals"]
    assert tuple(totals[f] for f in fields) == tuple(sum(int(d[i + 1]) for d in by_day) for i in range(4))
    assert READER_PASSWORD not in json.dumps(db["summary"]) + db["gateway"] + db["sync"]
    assert f"from the new-api (with request_id) database {dsn}: 30 windows" in db["sync"]


def test_small_pages_and_thin_slices_give_the_same_rows(
    tmp_path, team, ch, main_db, api_outputs, monkeypatch
):
    # Pages of 7 rows split seconds and keys across pages; slices start at 1 s and adapt.
    monkeypatch.setattr(database_module, "PAGE_ROWS", 7)
    monkeypatch.setattr("reportgen.sources.clickhouse.FIRST_SLICE", 1)
    db = outputs(ch_config(tmp_path / "db", team, ch.dsn("newapi"), main_db), ENV)
    assert_same_rows(db, api_outputs["newapi"])


def test_rows_are_keyed_on_time_and_request_id_and_every_row_is_read_once(
    tmp_path, team, ch, main_db, monkeypatch
):
    """id is 0 for every row: pages cut between keys, never inside one, so rows sharing a key
    (a retry's request id, or none) are neither skipped nor read twice, and exact copies are
    kept as the table holds them (two identical requests are two charges)."""
    monkeypatch.setattr(database_module, "PAGE_ROWS", 3)
    monkeypatch.setattr("reportgen.sources.clickhouse.FIRST_SLICE", 1)
    base = 1_900_000_000  # 2030: away from the month's rows
    row = {"user_id": 42, "type": 2, "username": "acme", "token_name": "k", "model_name": "m",
           "prompt_tokens": 1, "completion_tokens": 1, "other": ""}  # fmt: skip
    rows = [
        {**row, "created_at": base, "request_id": "a", "quota": 10},
        {**row, "created_at": base, "request_id": "a", "quota": 10},  # the same row twice
        {**row, "created_at": base, "request_id": "a", "quota": 11},  # same key, another row
        {**row, "created_at": base, "request_id": "", "quota": 5},
        {**row, "created_at": base, "request_id": "", "quota": 6},
        {**row, "created_at": base, "request_id": "", "quota": 6},  # no request id: a copy
        {**row, "created_at": base + 1, "request_id": "b", "quota": 7},
        {**row, "created_at": base + 5, "request_id": "c", "quota": 8},
        {**row, "created_at": base + 5, "request_id": "d", "quota": 9},
        {**row, "created_at": base + 5, "request_id": "e", "quota": 12},
        {**row, "created_at": base + 9, "user_id": 7, "request_id": "f", "quota": 13},  # another user
    ]
    ch.load_logs("keyed", rows)
    config = load_config(ch_config(tmp_path, team, ch.dsn("keyed"), main_db), env=ENV)
    with DatabaseSource(config.gateway) as source:
        pages = list(source.iter_log_pages(base, base + 10))
    got = sorted((r.created_at, r.request_id or "", r.quota) for p in pages for r in p)
    assert got == sorted((r["created_at"], r["request_id"], r["quota"]) for r in rows if r["user_id"] == 42)
    assert sum(p.copies for p in pages) == 2  # reported by the sync (test_copies_are_reported)


def test_a_window_that_changes_while_it_is_paged_is_not_saved(tmp_path, team, ch, main_db, monkeypatch):
    """ClickHouse has no snapshot: a row inserted into a window between its pages fails the window
    (one count and sum after the pages), and the next sync reads it whole."""
    monkeypatch.setattr(database_module, "PAGE_ROWS", 2)
    base = 1_900_000_000
    row = {"user_id": 42, "type": 2, "username": "acme", "token_name": "k", "model_name": "m", "quota": 3,
           "prompt_tokens": 1, "completion_tokens": 1, "other": ""}  # fmt: skip
    ch.load_logs("moving", [{**row, "created_at": base + i, "request_id": f"r{i}"} for i in range(6)])
    pages = []

    def late_insert(_: str) -> None:
        pages.append(1)
        if len(pages) == 2:
            ch.insert("moving", [{**row, "created_at": base + 1, "request_id": "late"}])

    config = load_config(ch_config(tmp_path, team, ch.dsn("moving"), main_db), env=ENV)
    with DatabaseSource(config.gateway, on_request=late_insert) as source:
        with pytest.raises(DatabaseSourceError, match="changed while it was read"):
            list(source.iter_log_pages(base, base + 10))
        assert sum(map(len, source.iter_log_pages(base, base + 10))) == 7


def test_the_session_is_read_only(tmp_path, team, ch, main_db):
    config = load_config(ch_config(tmp_path, team, ch.dsn("newapi", dbservers.WRITER), main_db), env=ENV)
    with DatabaseSource(config.gateway) as source, pytest.raises(DatabaseSourceError) as info:
        source._logs.query("INSERT INTO logs (user_id) VALUES (1)")
    assert "readonly" in str(info.value).lower()
    assert ch.execute("SELECT count() FROM newapi.logs WHERE user_id = 1") == [(0,)]


@pytest.mark.parametrize("scheme", ["clickhouse", "http"])
def test_wrong_password_fails_in_one_line_without_it(tmp_path, team, ch, main_db, scheme):
    config = load_config(
        ch_config(tmp_path, team, ch.dsn("newapi", scheme=scheme), main_db),
        env={"REPORTGEN_DB_PASSWORD": "not-" + READER_PASSWORD},
    )
    with pytest.raises(DatabaseSourceError) as info:
        DatabaseSource(config.gateway)
    text = str(info.value)
    assert "\n" not in text and READER_PASSWORD not in text and "Stack trace" not in text
    assert text.startswith(ch.dsn("newapi", scheme=scheme))
    assert "password" in text.lower() or "authentication" in text.lower()


def test_copies_are_reported_by_the_sync(tmp_path, team, ch, main_db):
    base = 1_900_000_000
    row = {"user_id": 42, "type": 2, "username": "acme", "token_name": "k", "model_name": "m", "quota": 3,
           "prompt_tokens": 1, "completion_tokens": 1, "other": "", "request_id": "r"}  # fmt: skip
    ch.load_logs(
        "copies", [{**row, "created_at": base}, {**row, "created_at": base}, {**row, "created_at": base + 1}]
    )
    config = load_config(ch_config(tmp_path, team, ch.dsn("copies"), main_db), env=ENV)
    result = run_sync(config, parse_period("2030-03", config.tz), now=lambda: base + 30 * 86400)
    assert result.rows == 3  # kept: two identical requests are two charges
    (note,) = [w for w in result.warnings if "repeat the row before them whole" in w]
    assert note.startswith("1 row repeat")


# ----------------------------------------------------------------------------- TTL
NEWAPI_TTL_DDL = NEWAPI_LOGS.format(ttl="\nTTL toDateTime(created_at) + INTERVAL 90 DAY DELETE")


@pytest.mark.parametrize(
    "definition, expected",
    [
        (NEWAPI_TTL_DDL, Retention(90, "day", "the table's TTL")),
        # as a newer server echoes it in system.tables / SHOW CREATE TABLE
        ("ENGINE = MergeTree PARTITION BY toYYYYMM(toDateTime(created_at)) ORDER BY (created_at, request_id) "
         "TTL toDateTime(created_at) + toIntervalDay(30) SETTINGS index_granularity = 8192",
         Retention(30, "day", "the table's TTL")),
        ("... TTL toDateTime(`created_at`) + INTERVAL 6 MONTH", Retention(6, "month", "the table's TTL")),
        (NEWAPI_LOGS.format(ttl=""), None),
    ],
)  # fmt: skip
def test_the_ttl_is_read_from_the_table_definition(definition, expected):
    assert table_retention(definition) == expected


def test_the_cut_is_the_first_whole_local_day():
    tz = ZoneInfo("Asia/Shanghai")
    now = int(datetime(2026, 7, 10, 12, 0, tzinfo=tz).timestamp())
    cut = Retention(90, "day", "x").whole_since(now, tz)
    assert datetime.fromtimestamp(cut, tz) == datetime(
        2026, 4, 12, tzinfo=tz
    )  # Apr 11 12:00 + 1 h, next midnight
    six = Retention(3, "month", "x").expired_before(
        int(datetime(2026, 5, 31, tzinfo=ZoneInfo("UTC")).timestamp())
    )
    assert datetime.fromtimestamp(six, ZoneInfo("UTC")) == datetime(2026, 2, 28, tzinfo=ZoneInfo("UTC"))


def test_a_month_under_the_ttl_is_incomplete_with_the_cut_date(tmp_path, team, ch, main_db, dataset):
    """18.16 has no TTL clause: the operator's LOG_SQL_CLICKHOUSE_TTL_DAYS is given as
    gateway.log_ttl_days, and the rows the TTL would have deleted are deleted with ALTER … DELETE."""
    tz = ZoneInfo("Asia/Shanghai")
    now = int(datetime(2026, 7, 10, 12, 0, tzinfo=tz).timestamp())
    ch.load_logs("expiring", dataset.newapi_rows)
    ch.execute(f"ALTER TABLE expiring.logs DELETE WHERE created_at < {now - 90 * 86400}")
    deadline = time.monotonic() + 60
    while ch.execute("SELECT count() FROM system.mutations WHERE database = 'expiring' AND is_done = 0") != [
        (0,)
    ]:
        assert time.monotonic() < deadline, "the ALTER … DELETE mutation did not finish"
        time.sleep(0.2)
    path = ch_config(tmp_path, team, ch.dsn("expiring"), main_db, "log_ttl_days = 90\n")
    config = load_config(path, env=ENV)
    result = run_sync(config, parse_period("2026-04", tz), now=lambda: now)
    assert result.windows == 19  # April 12 .. 30: the days the TTL cut are not read
    (note,) = [w for w in result.warnings if "deletes rows after 90 days" in w]
    assert "rows before 2026-04-12 00:00 Asia/Shanghai may be gone" in note
    assert "2026-04-01 .. 2026-04-12 was not read" in note
    # what is left of April starts expiring tomorrow: closing it is suggested (month-end prints it too)
    assert result.expiring == (
        (
            "2026-04",
            "2026-04 is not closed and the log table deletes its rows from 2026-07-11 on (90 days, "
            "gateway.log_ttl_days): close it before then (reportgen month-end --period 2026-04)",
        ),
    )
    assert result.expiring[0][1] in result.warnings
    summary = invoke(path, "summary", "--period", "2026-04", "--json")
    assert summary.exit_code == 0, summary.output
    doc = json.loads(summary.output[summary.output.index("{") :])
    cut = int(datetime(2026, 4, 12, tzinfo=tz).timestamp())
    (missing,) = doc["coverage"]["missing"]
    assert missing["end"].startswith("2026-04-12T00:00:00+08:00")
    kept = [r for r in dataset.newapi_rows if r["user_id"] == 42 and cut <= r["created_at"]]
    april_end = int(datetime(2026, 5, 1, tzinfo=tz).timestamp())
    kept_quota = sum(r["quota"] for r in kept if r["created_at"] < april_end and r["type"] == 2)
    assert kept_quota > 0
    assert (
        ch.execute(
            f"SELECT sum(quota) FROM expiring.logs WHERE user_id = 42 AND type = 2 AND created_at >= {cut} "
            f"AND created_at < {april_end}"
        )[0][0]
        == kept_quota
    )


def test_month_end_suggests_closing_the_other_months_about_to_expire(tmp_path):
    tz = ZoneInfo("Asia/Shanghai")
    synced = SyncResult(
        (0, 1), 1, 0, 1, 1, 1, 0.1, "new-api", 1,
        expiring=(("2026-04", "2026-04 is not closed and ..."), ("2026-05", "2026-05 is not closed and ...")),
    )  # fmt: skip
    done = MonthEnd(parse_period("2026-05", tz), tmp_path, (), sync=synced)
    lines = done.summary().splitlines()
    assert "Suggested: 2026-04 is not closed and ..." in lines
    assert not any("2026-05 is not closed" in line for line in lines)  # the month this run closes
