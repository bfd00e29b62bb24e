"""Issue 26, critical: a later ``/api/status`` never re-prices a period already synced.

A hostile loopback gateway (tests/hostile_server.py) changes ``quota_per_unit`` (250000, 1,
0.5) or states an implausible exchange rate after April's first days were synced.  The
stored months keep the price they were synced at, the change is told in one line naming
the old and new value and the months concerned, and only ``sync --reprice`` prices a month
again (a closed one through an amendment: its documents stay as closed until re-closed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reportgen.cli import cli
from reportgen.store import Store, recorded_amendments

from .hostile_server import ROW_QUOTA, ROWS_PER_WINDOW, TOKEN, HostileGateway
from .test_hostile_gateway import make_config, write_config

DAY_QUOTA = ROWS_PER_WINDOW * ROW_QUOTA  # 150,000 quota a day
APRIL_1 = ("--from", "2026-04-01", "--to", "2026-04-01")
APRIL_2 = ("--from", "2026-04-02", "--to", "2026-04-02")
BOTH = ("--from", "2026-04-01", "--to", "2026-04-02")


def _cli(path: Path, *args: str) -> Result:
    result = CliRunner().invoke(cli, ["--config", str(path), *args], env={"REPORTGEN_ACCESS_TOKEN": TOKEN})
    assert "Traceback" not in result.output and TOKEN not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def _summary(path: Path, *period: str) -> dict[str, Any]:
    result = _cli(path, "summary", *period, "--json")
    assert result.exit_code == 0, result.output
    figures = dict(json.loads(result.stdout))
    figures.pop("source")  # when it was synced
    return figures


def _warnings(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("Warning: ")]


@pytest.mark.parametrize(("qpu", "shown"), [(250000, "250000"), (1, "1"), (0.5, "0.5")])
def test_a_later_quota_per_unit_keeps_the_months_already_synced_and_says_so(
    tmp_path: Path, qpu: float, shown: str
) -> None:
    with HostileGateway("good") as gw:
        path = write_config(tmp_path, gw.url)
        assert _cli(path, "sync", *APRIL_1).exit_code == 0
        before = _summary(path, *APRIL_1)
        assert before["quota_per_unit"] == 500000 and before["totals"]["cost_usd"] == "0.300000"
        gw.status = {"quota_per_unit": qpu}
        synced = _cli(path, "sync", *APRIL_2)
    assert synced.exit_code == 0, synced.output
    assert _warnings(synced) == [
        f"Warning: the gateway's quota_per_unit is now {shown} (was 500000): 2026-04 keep 500000, as priced "
        "when their rows were synced; `reportgen sync --period MONTH --reprice` prices one at what the "
        "gateway says now"
    ]
    assert _summary(path, *APRIL_1) == before  # figures, rate and all: nothing re-priced
    both = _summary(path, *BOTH)  # the day synced after the change is priced as its month was
    assert both["quota_per_unit"] == 500000
    assert (both["totals"]["quota"], both["totals"]["cost_usd"]) == (2 * DAY_QUOTA, "0.600000")
    assert both["exchange_rate"]["cny_per_usd"] == "7.3" and both["totals"]["cost_cny"] == "4.380000"


def test_reprice_prices_the_month_at_what_the_gateway_says_now(tmp_path: Path) -> None:
    with HostileGateway("good") as gw:
        path = write_config(tmp_path, gw.url)
        assert _cli(path, "sync", *APRIL_1).exit_code == 0
        gw.status = {"quota_per_unit": 250000}
        repriced = _cli(path, "sync", *BOTH, "--reprice")
        assert repriced.exit_code == 0, repriced.output
        assert _warnings(repriced) == []
        both = _summary(path, *BOTH)
        assert both["quota_per_unit"] == 250000 and both["totals"]["cost_usd"] == "1.200000"

        gw.status = {"quota_per_unit": 500000}  # a new month is priced by what holds when it is synced
        may = _cli(path, "sync", "--from", "2026-05-01", "--to", "2026-05-01")
        assert may.exit_code == 0, may.output
        assert _warnings(may)[0].startswith(
            "Warning: the gateway's quota_per_unit is now 500000 (was 250000): 2026-04 keep 250000"
        )
    assert _summary(path, "--period", "2026-05")["totals"]["cost_usd"] == "0.300000"
    quarter = _cli(path, "summary", "--period", "2026-Q2")  # two units cannot be summed: one line
    assert quarter.exit_code == 4
    assert [line for line in quarter.output.splitlines() if line.startswith("Error: ")] == [
        "Error: the rows of source 'default' in this period were priced differently when they were synced "
        "(250000 quota per USD for 2026-04-01 .. 2026-04-02; 500000 quota per USD for 2026-05-01 .. "
        "2026-05-01, UTC): report those parts separately, or run `reportgen sync` for the period with "
        "--reprice to price all of it at what the gateway says now"
    ]


def test_an_implausible_rate_is_ignored_and_earlier_months_keep_their_cny(tmp_path: Path) -> None:
    with HostileGateway("good") as gw:
        path = write_config(tmp_path, gw.url)
        assert _cli(path, "sync", *APRIL_1).exit_code == 0
        gw.status = {"usd_exchange_rate": 1e300}
        synced = _cli(path, "sync", *APRIL_2)
    assert synced.exit_code == 0, synced.output
    assert _warnings(synced) == [
        "Warning: ignored the gateway's usd_exchange_rate 1e+300 from /api/status (not a plausible CNY-per-USD "
        "rate); set report.exchange_rate in reportgen.toml"
    ]
    for period in (APRIL_1, BOTH):
        figures = _summary(path, *period)
        assert figures["exchange_rate"]["cny_per_usd"] == "7.3"
        assert figures["totals"]["cost_cny"] == ("2.190000" if period == APRIL_1 else "4.380000")


def test_a_rate_change_is_told_and_the_synced_month_keeps_its_rate(tmp_path: Path) -> None:
    with HostileGateway("good") as gw:
        path = write_config(tmp_path, gw.url)
        assert _cli(path, "sync", *APRIL_1).exit_code == 0
        gw.status = {"usd_exchange_rate": 7.1}
        synced = _cli(path, "sync", *APRIL_2)
    assert _warnings(synced) == [
        "Warning: the gateway's usd_exchange_rate is now 7.1 (was 7.3): 2026-04 keep 7.3, as priced when their "
        "rows were synced; `reportgen sync --period MONTH --reprice` prices one at what the gateway says now"
    ]
    assert _summary(path, *BOTH)["exchange_rate"]["cny_per_usd"] == "7.3"


def test_repricing_a_closed_month_is_an_amendment_and_its_documents_stay_closed(tmp_path: Path) -> None:
    with HostileGateway("good") as gw:
        path = write_config(tmp_path, gw.url)
        assert _cli(path, "sync", "--period", "2026-03").exit_code == 0
        closed = _cli(path, "close", "2026-03")
        assert closed.exit_code == 0, closed.output
        frozen = _summary(path, "--period", "2026-03")
        gw.status = {"quota_per_unit": 250000}
        plain = _cli(path, "sync", "--from", "2026-03-30", "--to", "2026-03-31", "--refetch")
        assert _warnings(plain) == []  # a closed month is frozen: nothing to tell
        repriced = _cli(path, "sync", "--period", "2026-03", "--reprice")
        assert repriced.exit_code == 0, repriced.output
        assert "closed period(s) 2026-03 changed at the gateway: kept as amendments" in repriced.output
    config = make_config(tmp_path, gw.url)
    with Store.open(config.store_dir) as store:
        (amendment,) = recorded_amendments(store, "2026-03")
    assert amendment.quota_per_unit == 250000 and amendment.rows_added == amendment.rows_removed == 0
    summary = _cli(path, "summary", "--period", "2026-03", "--json")
    assert "re-priced at 250000 quota per USD, 7.3 CNY per USD (closed at 500000)" in summary.output
    assert json.loads(summary.stdout)["totals"] == frozen["totals"]  # the closed documents as closed
    reopened = _cli(path, "close", "2026-03", "--reopen")
    assert reopened.exit_code == 0, reopened.output
    after = _summary(path, "--period", "2026-03")
    assert after["quota_per_unit"] == 250000
    assert after["totals"]["quota"] == frozen["totals"]["quota"] == 31 * DAY_QUOTA
    assert after["totals"]["cost_usd"] == "18.600000" and frozen["totals"]["cost_usd"] == "9.300000"
