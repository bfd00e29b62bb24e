"""Issue 26, critical: no row the gateway serves is dropped or doubled without a word.

A hostile loopback gateway (tests/hostile_server.py) dates rows unreadably or outside the
window asked for, repeats rows across pages without a request id, or has its list grow
during a crawl.  Every row is stored, or counted by reason: sync names the count, a window
with rows in no figure is not complete (and is read again by the next sync), and the
summary and the documents name the count.  Genuine twins (two requests logged alike) are
both kept.
"""

from __future__ import annotations

import contextlib
import csv
import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result

from reportgen.app.sync import run_sync
from reportgen.cli import cli
from reportgen.config import Config, load_config
from reportgen.core.periods import date_range_period
from reportgen.errors import GatewayDataError
from reportgen.gateway.guards import RowIdentity, content_digest
from reportgen.store import DB_NAME, Store
from reportgen.testing.fakegateway import FakeGateway

from .hostile_server import ROW_QUOTA, ROWS_PER_WINDOW, TOKEN, HostileGateway
from .test_hostile_gateway import Factory, make_config, write_config

UTC = ZoneInfo("UTC")
DAY1 = date_range_period(date(2026, 4, 1), date(2026, 4, 1), UTC)
RANGE = ("--from", "2026-04-01", "--to", "2026-04-01")
SYNC_DAY1 = ["sync", *RANGE]


def _figures(config: Config) -> tuple[list[tuple[int, int]], int, int, list[tuple[Any, ...]]]:
    """The store's complete ranges, rows, quota, and its window findings (reason, rows, quota, example)."""
    with Store.open(config.store_dir) as store:
        covered = store.coverage()
    with contextlib.closing(sqlite3.connect(config.store_dir / DB_NAME)) as conn:
        count, total = conn.execute("SELECT count(*), coalesce(sum(quota), 0) FROM logs").fetchone()
        found = conn.execute(
            "SELECT reason, rows, quota, example FROM window_findings ORDER BY reason"
        ).fetchall()
    return covered, count, total, found


def _cli(config_path: Path, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["--config", str(config_path), *args], env={"REPORTGEN_ACCESS_TOKEN": TOKEN}
    )


def _error_lines(result: Result) -> list[str]:
    assert "Traceback" not in result.output and TOKEN not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return [line for line in result.output.splitlines() if line.startswith("Error: ")]


# ---------------------------------------------------------------------------- rows that cannot be placed
def test_a_window_of_iso_dated_rows_is_not_complete_and_sync_says_so_in_one_line(tmp_path: Path) -> None:
    with HostileGateway("iso_time") as gw:
        path = write_config(tmp_path, gw.url)
        result = _cli(path, *SYNC_DAY1)
    assert result.exit_code == 3, result.output
    errors = _error_lines(result)
    assert errors == [
        "Error: 150 rows the gateway served could not be placed (150 rows with an unreadable created_at "
        "(e.g. '2026-04-01T23:59:59Z')): not stored, and the 1 window from 2026-04-01 00:00 UTC left "
        "incomplete; the figures of those days miss them: run `reportgen sync` again once the gateway "
        "serves them readably dated"
    ]
    assert "0 rows" in result.output  # the sync's own summary came first
    config = make_config(tmp_path, gw.url)
    covered, count, total, found = _figures(config)
    assert (covered, count, total) == ([], 0, 0)  # not complete: the day reads as not synced
    assert found == [("unreadable", 150, ROWS_PER_WINDOW * ROW_QUOTA, "'2026-04-01T23:59:59Z'")]

    summary = _cli(path, "summary", "--from", "2026-04-01", "--to", "2026-04-01")
    assert summary.exit_code == 0, summary.output
    assert (
        "Data quality: 150 row(s) the gateway served for 2026-04-01 are in no figure (150,000 quota): "
        "their created_at was unreadable or outside the window asked for" in summary.output
    )
    as_json = json.loads(_cli(path, "summary", "--from", "2026-04-01", "--to", "2026-04-01", "--json").stdout)
    assert as_json["left_out"]["rows"] == 150 and as_json["left_out"]["by_reason"] == {"unreadable": 150}
    assert as_json["coverage"]["complete"] is False and as_json["totals"]["quota"] == 0


def test_one_bad_row_among_many_leaves_the_window_incomplete_until_the_gateway_is_fixed(
    tmp_path: Path,
) -> None:
    with HostileGateway("bad_times") as gw:
        config = make_config(tmp_path, gw.url)
        result = run_sync(config, DAY1, client_factory=Factory())
        assert result.rows == ROWS_PER_WINDOW - 3
        with pytest.raises(GatewayDataError) as info:
            result.check()
        message = str(info.value)
        assert "\n" not in message
        assert message.startswith(
            "3 rows the gateway served could not be placed (2 rows with an unreadable created_at (e.g. -1); "
            "1 row dated outside the window (e.g. 2026-05-01 "
        )
        assert "3 rows the gateway served could not be placed" in result.summary()
        covered, count, total, found = _figures(config)
        assert covered == [] and (count, total) == (147, 147 * ROW_QUOTA)
        assert [(r, n, q) for r, n, q, _ in found] == [
            ("outside", 1, ROW_QUOTA),
            ("unreadable", 2, 2 * ROW_QUOTA),
        ]

        gw.mode = "good"  # fixed: a plain sync reads the incomplete window again, and it is complete
        again = run_sync(config, DAY1, client_factory=Factory())
        again.check()
        assert again.windows == 1 and again.rows == ROWS_PER_WINDOW
    covered, count, total, found = _figures(config)
    assert covered == [(DAY1.start_ts, DAY1.end_ts - 1)]
    assert (count, total, found) == (ROWS_PER_WINDOW, ROWS_PER_WINDOW * ROW_QUOTA, [])


def test_documents_name_the_rows_in_no_figure(tmp_path: Path) -> None:
    with HostileGateway("bad_times") as gw:
        path = write_config(tmp_path, gw.url)
        assert _cli(path, *SYNC_DAY1).exit_code == 3
    out = tmp_path / "out"
    result = _cli(
        path,
        "report",
        "--from",
        "2026-04-01",
        "--to",
        "2026-04-01",
        "--format",
        "csv-summary",
        "--lang",
        "en",
        "--out",
        str(out),
        "--allow-partial",
    )
    assert result.exit_code == 0, result.output
    assert (
        "Data quality: 3 row(s) the gateway served for 2026-04-01 are in no figure (3,000 quota)"
        in result.output
    )
    (written,) = out.glob("*.csv")
    lines = list(csv.reader(written.read_text(encoding="utf-8-sig").splitlines()))
    assert lines[0] == ["INCOMPLETE: 2026-04-01 not synced; every figure is a floor."]
    assert lines[1] == [
        "3 row(s) the gateway served for 2026-04-01 are in no figure: their time was unreadable or outside "
        "the window asked for."
    ]
    assert lines[-1][:2] == ["Total", ""] and "147000" in lines[-1]


# ---------------------------------------------------------------------------- rows repeated, rows alike
def test_rows_repeated_across_pages_without_a_request_id_are_stored_once_and_counted(tmp_path: Path) -> None:
    with HostileGateway("repeat_no_rid") as gw:
        path = write_config(tmp_path, gw.url)
        result = _cli(path, *SYNC_DAY1)
    assert result.exit_code == 0, result.output
    assert _error_lines(result) == []
    assert "100 rows, " in result.output and "; 50 rows repeated across pages kept once" in result.output
    covered, count, total, found = _figures(make_config(tmp_path, gw.url))
    assert covered == [(DAY1.start_ts, DAY1.end_ts - 1)]  # repeats are explained: the window is complete
    assert (count, total) == (100, 100 * ROW_QUOTA)
    assert found == [("duplicate", 50, 50 * ROW_QUOTA, "")]
    out = tmp_path / "out"
    report = _cli(
        path,
        "report",
        "--from",
        "2026-04-01",
        "--to",
        "2026-04-01",
        "--format",
        "csv-summary",
        "--lang",
        "en",
        "--out",
        str(out),
    )
    assert report.exit_code == 0, report.output
    assert (
        "Data quality: 50 row(s) the gateway repeated across pages on 2026-04-01 were stored once."
        in report.output
    )
    (written,) = out.glob("*.csv")
    first = next(csv.reader(written.read_text(encoding="utf-8-sig").splitlines()))
    assert first == ["50 row(s) the gateway repeated across pages are counted once."]


def test_a_row_pushed_onto_the_next_page_by_a_growing_list_is_stored_once(tmp_path: Path) -> None:
    """Offset paging: a row written at the top between two pages moves every row one place down."""
    with HostileGateway("shifted") as gw:
        config = make_config(tmp_path, gw.url)
        result = run_sync(config, DAY1, client_factory=Factory())
    result.check()
    assert (result.rows, result.duplicates) == (ROWS_PER_WINDOW, 1)
    assert _figures(config)[1:3] == (ROWS_PER_WINDOW, ROWS_PER_WINDOW * ROW_QUOTA)


def test_genuine_twins_without_a_request_id_both_count(tmp_path: Path) -> None:
    """Two requests logged alike in the same second: new-api lists them at two places."""
    with HostileGateway("twins") as gw:
        config = make_config(tmp_path, gw.url)
        result = run_sync(config, DAY1, client_factory=Factory())
    assert (result.rows, result.duplicates, result.findings) == (ROWS_PER_WINDOW, 0, ())
    assert _figures(config)[1:] == (ROWS_PER_WINDOW, ROWS_PER_WINDOW * ROW_QUOTA, [])


def test_one_api_twins_on_one_page_both_count(tmp_path: Path) -> None:
    """one-api rows carry no id (0) and no request id: rows alike on one page are two requests."""
    base = DAY1.start_ts + 3600
    row = {"created_at": base, "type": 2, "token_name": "k", "model_name": "m", "quota": 500, "use_time": 1}
    rows = [row, dict(row), *({**row, "created_at": base + i, "quota": i} for i in range(1, 16))]
    with FakeGateway(rows, flavor="one-api", rate_limit=None) as gw:
        (tmp_path / "reportgen.toml").write_text(
            f'[gateway]\nbase_url = "{gw.url}"\nuser_id = 42\nflavor = "one-api"\nrequests_per_window = 100000\n'
            '[report]\ntimezone = "UTC"\n',
            encoding="utf-8",
        )
        config = load_config(tmp_path / "reportgen.toml", env={"REPORTGEN_ACCESS_TOKEN": gw.access_token})
        result = run_sync(config, DAY1, client_factory=Factory())
    assert (result.rows, result.duplicates) == (17, 0)
    assert _figures(config)[1:3] == (17, 1000 + sum(range(1, 16)))


@pytest.mark.parametrize(
    ("row_ids", "pages", "repeats"),
    [
        # one-api: alike on one page are twins; a page starting as the one before ended cannot tell
        # (None: read that page again); alike a row elsewhere on an earlier page, the row again
        ("none", [([{"a": 1, "id": 0}, {"a": 1, "id": 0}], None), ([{"a": 1, "id": 0}], None)], [0, 0, None]),
        ("none", [([{"a": 1}, {"b": 1}], None), ([{"a": 1}, {"c": 1}], None)], [0, 0, 1, 0]),
        ("none", [([{"a": 1}], None), ([{"b": 1}], None), ([{"a": 1}, {"a": 1}], None)], [0, 0, 1, 0]),
        # new-api: the same place again is a repeat; a place further on is a twin unless the list grew
        ("position", [([{"a": 1, "id": 1}, {"a": 1, "id": 2}], 2), ([{"a": 1, "id": 1}], 2)], [0, 0, 1]),
        ("position", [([{"a": 1, "id": 2}], 5), ([{"a": 1, "id": 3}], 5)], [0, 0]),
        ("position", [([{"a": 1, "id": 2}], 5), ([{"a": 1, "id": 3}], 6)], [0, 1]),
        ("position", [([{"a": 1, "id": 2}], 5), ([{"a": 1, "id": 4}], 6)], [0, 0]),
        # stable ids: another id is another row, however the list grew
        ("stable", [([{"a": 1, "id": 7}], 5), ([{"a": 1, "id": 8}, {"a": 1, "id": 7}], 6)], [0, 0, 1]),
    ],
)
def test_what_identifies_a_row_follows_the_flavours_ids(
    row_ids: str, pages: list[tuple[list[dict[str, Any]], int | None]], repeats: list[int | None]
) -> None:
    identity = RowIdentity(row_ids)
    seen = []
    for items, total in pages:
        digests = [content_digest(item) for item in items]
        run = identity.next_page(total, digests)
        seen += [
            identity.repeat(item, d, i < run) for i, (item, d) in enumerate(zip(items, digests, strict=True))
        ]
    assert seen == repeats
