"""Issue 26, "Unbounded": names, credit texts and sums a hostile gateway (API or database) sends.

Each case syncs from the hostile loopback gateway (``tests/hostile_server.py``) or a hostile
gateway database table (SQLite, the same loader as the database-source tests) and then runs
the commands a user runs: one line or the safe result, no traceback, the store's figures as
they should be.  Time and memory are measured by ``bench/bounds.py``, not asserted here.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reportgen.app.sync import run_sync
from reportgen.cli import cli
from reportgen.core.text import MAX_NAME, was_cut
from reportgen.errors import GatewayProtocolError
from reportgen.gateway.parse import parse_key
from reportgen.gateway.transport import Limits
from reportgen.store import DB_NAME, Store
from reportgen.testing.fakegateway.synthetic import SyntheticTeam
from tests import dbservers

from .hostile_server import LONG_NAME, ROW_QUOTA, ROWS_PER_WINDOW, TOKEN, HostileGateway
from .test_database_source import ENV, assert_one_line_error, db_config, invoke
from .test_hostile_gateway import DAY1, Factory, make_config, snapshot, write_config

DAY = ["--from", "2026-04-01", "--to", "2026-04-01"]


def cli_run(path: Path, *args: str) -> Any:
    result = CliRunner().invoke(cli, ["--config", str(path), *args], env={"REPORTGEN_ACCESS_TOKEN": TOKEN})
    assert "Traceback" not in result.output and TOKEN not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


# ---------------------------------------------------------------------------- names past MAX_NAME
def stored_names(directory: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(directory / DB_NAME)) as conn:
        return [r[0] for r in conn.execute("SELECT DISTINCT token_name FROM logs")]


def test_a_10_mb_key_name_is_stored_cut_counted_and_kept_whole_in_the_raw_row(tmp_path: Path) -> None:
    with HostileGateway("long_name") as gw:
        config = make_config(tmp_path, gw.url)
        result = run_sync(config, DAY1, client_factory=Factory(limits=Limits()))
        path = write_config(tmp_path, gw.url)
        summary = cli_run(path, "summary", *DAY)
        as_json = cli_run(path, "summary", *DAY, "--json")
    assert result.rows == ROWS_PER_WINDOW and result.cut == 1 and not result.findings
    assert "1 row with a name longer than 1,024 characters stored with the name cut" in result.summary()
    assert snapshot(config)[1:] == (ROWS_PER_WINDOW, ROWS_PER_WINDOW * ROW_QUOTA)  # every row, every figure
    names = stored_names(config.store_dir)
    cut = [n for n in names if len(n) > 10]
    assert len(cut) == 1 and was_cut(cut[0]) and len(cut[0]) <= MAX_NAME
    assert "10,485,760 characters" in cut[0]
    with contextlib.closing(sqlite3.connect(config.store_dir / DB_NAME)) as conn:
        assert conn.execute("SELECT count(*) FROM window_findings WHERE reason = 'cut'").fetchone() == (1,)
    assert summary.exit_code == 0 and len(summary.output) < 20_000, len(summary.output)
    assert "1 row(s) of 2026-04-01 name a key, model, group or user with more than 1,024" in summary.output
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout)["left_out"]["cut"] == 1
    with Store.open(config.store_dir) as store:
        raws = [r.raw for r in store.iter_records(DAY1.start_ts, DAY1.end_ts) if was_cut(r.token_name)]
    assert len(raws) == 1 and json.loads(raws[0])["token_name"] == LONG_NAME


def test_a_long_key_name_in_the_key_list_is_cut() -> None:
    key = parse_key({"id": 7, "name": "n" * 5_000_000, "status": 1})
    assert was_cut(key.name) and len(key.name) <= MAX_NAME and "5,000,000 characters" in key.name
    other = parse_key({"id": 8, "name": "n" * 5_000_001, "status": 1})
    assert other.name != key.name  # two long names alike at first stay apart


# ---------------------------------------------------------------------------- credit texts
@pytest.mark.parametrize("mode", ["huge_credit", "long_credit"])
def test_a_hostile_credit_row_is_listed_unreadable_and_every_command_works(tmp_path: Path, mode: str) -> None:
    """``通过兑换码充值 ＄10^23 额度`` made every later summary/report/bridge fail with
    ``decimal.InvalidOperation``; 100,000 digits made summary take 111 s (a quadratic regex)."""
    with HostileGateway(mode) as gw:
        config = make_config(tmp_path, gw.url)
        result = run_sync(config, DAY1, client_factory=Factory())
        path = write_config(tmp_path, gw.url)
        for command in (
            ["summary", *DAY],
            ["bridge", *DAY],
            ["report", *DAY, "--out", str(tmp_path / "out")],
        ):
            done = cli_run(path, *command)
            assert done.exit_code == 0, (command, done.output)
        bridge = cli_run(path, "bridge", *DAY, "--json")
    assert result.rows == ROWS_PER_WINDOW
    assert snapshot(config)[1:] == (ROWS_PER_WINDOW, (ROWS_PER_WINDOW - 1) * ROW_QUOTA)
    (unreadable,) = json.loads(bridge.stdout)["sources"][0]["unreadable_credit_rows"]
    assert unreadable.startswith("通过兑换码充值 ＄") and len(unreadable) <= 200


# ---------------------------------------------------------------------------- the database source
def _hostile_db(tmp_path: Path, team: SyntheticTeam, rows: list[dict[str, Any]]) -> Path:
    dataset = dbservers.build_dataset(sorted([*team.rows, *rows], key=lambda r: r["created_at"]), team.tokens)
    return dbservers.make_sqlite(tmp_path / "gw.db", dataset)


def _base(team: SyntheticTeam, day: int) -> dict[str, Any]:
    at = team.start_ts + 86400 * day + 600
    base = next(r for r in team.rows if r["type"] == 2 and r["created_at"] > team.start_ts + 86400)
    return {**base, "created_at": at, "other": dict(base["other"])}


def test_a_10_mb_key_name_in_the_gateway_database_is_cut(tmp_path: Path, team: SyntheticTeam) -> None:
    row = {**_base(team, 3), "token_name": LONG_NAME}
    path = db_config(tmp_path / "cfg", team, f"sqlite:///{_hostile_db(tmp_path, team, [row])}")
    synced = invoke(path, "sync", "--period", "2026-04")
    assert synced.exit_code == 0, synced.output
    assert "1 row with a name longer than 1,024 characters stored with the name cut" in synced.output
    cut = [n for n in stored_names(tmp_path / "cfg" / ".reportgen") if was_cut(n)]
    assert len(cut) == 1 and len(cut[0]) <= MAX_NAME
    summary = invoke(path, "summary", "--period", "2026-04")
    assert summary.exit_code == 0 and len(summary.output) < 20_000 and "Traceback" not in summary.output


def test_the_database_path_bounds_a_windows_sums_as_the_api_path(tmp_path: Path, team: SyntheticTeam) -> None:
    """32,769 rows of quota 2^48 in a day failed sync with SQLite's integer-overflow traceback."""
    base = _base(team, 3)
    rows = [{**base, "created_at": base["created_at"] + i % 3600, "quota": 2**48} for i in range(32_769)]
    path = db_config(tmp_path / "cfg", team, f"sqlite:///{_hostile_db(tmp_path, team, rows)}")
    line = assert_one_line_error(invoke(path, "sync", "--period", "2026-04"), "sum to more than 2^48")
    assert "3 of 30 windows saved" in line and dbservers.READER_PASSWORD not in line
    summary = invoke(path, "summary", "--period", "2026-04", env=ENV)
    assert summary.exit_code == 0 and "Traceback" not in summary.output


# ---------------------------------------------------------------------------- listings without a total
class Ticking:
    """A clock that moves ``step`` seconds each time it is read: paging that takes time, instantly."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.mark.parametrize(("mode", "path"), [("endless", "/api/log/self"), ("endless_total0", "/api/log/self"),
                                            ("endless_tokens", "/api/token/")])  # fmt: skip
def test_full_pages_without_a_total_stop_at_the_time_bound(tmp_path: Path, mode: str, path: str) -> None:
    """Full pages with ``data.total`` 0 or absent stopped only at the 5,000-page bound: 262 s and
    512 MB for one day here, about 83 minutes at the default rate limit."""
    with HostileGateway("good") as gw:
        config = make_config(tmp_path, gw.url)
        run_sync(config, DAY1, client_factory=Factory())
        before = snapshot(config)
        gw.mode = mode
        factory = Factory(max_pages=5000, clock=Ticking(1.0), max_listing_seconds=120)
        with pytest.raises(GatewayProtocolError) as info:
            run_sync(config, DAY1, client_factory=factory, refetch=True)
        asked = len(gw.requests)
    message = str(info.value)
    assert "\n" not in message and TOKEN not in message
    assert re.search(rf"{re.escape(path)}: still full pages after \d+ s \([\d,]+ pages, [\d,]+ rows\) without a "
                     r"data\.total that bounds them", message), message  # fmt: skip
    assert asked < 200  # minutes of paging, not 5,000 pages
    assert snapshot(config) == before


def test_a_window_is_spooled_to_the_store_not_held(tmp_path: Path) -> None:
    """The API path's pages go to the store's spool as they come (oldest first once written)."""
    with HostileGateway("good") as gw:
        config = make_config(tmp_path, gw.url)
        run_sync(config, DAY1, client_factory=Factory())
    with contextlib.closing(sqlite3.connect(config.store_dir / DB_NAME)) as conn:
        stamps = [r[0] for r in conn.execute("SELECT created_at FROM logs ORDER BY id")]
    assert len(stamps) == ROWS_PER_WINDOW and stamps == sorted(stamps)
