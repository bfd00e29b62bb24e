"""The command line as a user meets it: one-line errors, exit codes, JSON shape, files."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from reportgen.cli import cli
from reportgen.testing.fakegateway import FakeGateway
from reportgen.testing.fakegateway.synthetic import expected_totals
from tests.conftest import TOKEN, write_config


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def synced(tmp_path, team, runner):
    """A folder with a config and a store holding the synced team month."""
    with FakeGateway(team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        path = write_config(tmp_path, gw.url, team)
        result = runner.invoke(
            cli, ["--config", str(path), "sync", "--period", "2026-04"], env={"REPORTGEN_ACCESS_TOKEN": TOKEN}
        )
        assert result.exit_code == 0, result.output
        assert "30 windows" in result.output and TOKEN not in result.output
    return path


def run(runner, path, *args, env=None):
    return runner.invoke(cli, ["--config", str(path), *args], env=env or {})


def test_summary_json_has_the_documented_shape_and_exact_totals(runner, synced, team):
    result = run(runner, synced, "summary", "--period", "2026-04", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["period"] == {
        "label": "2026-04",
        "start": "2026-04-01T00:00:00+08:00",
        "end": "2026-05-01T00:00:00+08:00",
        "timezone": "Asia/Shanghai",
    }
    assert doc["quota_per_unit"] == 500000
    want = expected_totals(team.rows, team.start_ts, team.end_ts)
    totals = doc["totals"]
    assert totals["quota"] == want.net_quota
    assert totals["consumed_quota"] == want.consumed and totals["refunded_quota"] == want.refunded
    assert isinstance(totals["cost_usd"], str)
    assert Decimal(totals["cost_usd"]) == Decimal(want.net_quota) / 500000
    members = {m["name"]: m for m in doc["members"]}
    assert set(team.members) <= set(members)
    assert members["王五"]["quota"] == 0 and members["王五"]["cost_usd"] == "0.000000"
    assert members["张三"]["keys"] == team.members["张三"]
    assert sum(m["quota"] for m in doc["members"]) == totals["quota"]
    assert sum(m["quota"] for m in doc["models"]) == totals["quota"]
    for field in ("requests", "errors", "prompt_tokens", "completion_tokens"):
        assert field in members["张三"]


@pytest.mark.parametrize("by", ["member", "model", "day", "key"])
def test_summary_tables(runner, synced, by):
    result = run(runner, synced, "summary", "--period", "2026-04", "--by", by)
    assert result.exit_code == 0, result.output
    assert f"By {by}" in result.output and "78.08" in result.output


def test_report_writes_every_format_and_prints_paths(runner, synced, tmp_path):
    out = tmp_path / "docs"
    result = run(
        runner, synced, "report", "--period", "2026-04", "--format", "csv,xlsx,pdf", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    paths = result.stdout.split()  # stderr carries the data-quality findings
    assert [p.rsplit(".", 1)[1] for p in paths] == ["csv", "xlsx", "pdf"]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.rsplit("/", 1)[1] for p in paths)


def test_unknown_format_suggests(runner, synced):
    result = run(runner, synced, "report", "--period", "2026-04", "--format", "pdff")
    assert result.exit_code == 2
    assert result.output.startswith("Error: unknown format 'pdff' (did you mean 'pdf'?)")


def test_member_filter_and_unknown_member(runner, synced):
    result = run(runner, synced, "summary", "--period", "2026-04", "--member", "张三", "--json")
    doc = json.loads(result.output)
    assert [m["name"] for m in doc["members"]] == ["张三"]
    result = run(runner, synced, "summary", "--period", "2026-04", "--member", "Nobody")
    assert result.exit_code == 2 and "no member named 'Nobody'" in result.output


def test_summary_before_any_sync_says_what_to_do(runner, tmp_path, team):
    path = write_config(tmp_path, "http://127.0.0.1:9", team)
    result = run(runner, path, "summary", "--period", "2026-04")
    assert result.exit_code != 0
    assert "run `reportgen sync` first" in result.output


@pytest.mark.parametrize(
    "args,env,match",
    [
        (["summary"], {}, "give --period"),
        (["summary", "--period", "2026-13"], {}, "month must be 01-12"),
        (["sync"], {"REPORTGEN_ACCESS_TOKEN": "sk-abcdef"}, "sk- model key"),
        (["sync"], {}, "REPORTGEN_ACCESS_TOKEN is not set"),
        (["report", "--period", "2026-04", "--option", "bom"], {}, "NAME=VALUE"),
    ],
)
def test_bad_input_is_one_line_without_traceback(runner, tmp_path, team, args, env, match):
    path = write_config(tmp_path, "http://127.0.0.1:9", team)
    result = run(runner, path, *args, env=env)
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and match in lines[0], result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_wrong_token_and_user_id_over_http(tmp_path, team, runner):
    with FakeGateway(team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        path = write_config(tmp_path, gw.url, team)
        wrong = "wrong-token-value-123456"
        result = run(runner, path, "sync", "--period", "2026-04", env={"REPORTGEN_ACCESS_TOKEN": wrong})
        assert result.exit_code != 0
        assert result.output.count("\n") == 1 and result.output.startswith("Error: ")
        assert wrong not in result.output and "access token" in result.output
        result = run(runner, path, "sync", "--period", "2026-04",
                     env={"REPORTGEN_ACCESS_TOKEN": TOKEN, "REPORTGEN_USER_ID": "43"})  # fmt: skip
        assert result.exit_code != 0 and "NUMERIC user id" in result.output and TOKEN not in result.output


def test_init_writes_a_commented_example_once(runner, tmp_path):
    target = tmp_path / "reportgen.toml"
    assert runner.invoke(cli, ["init", str(target)]).exit_code == 0
    assert "REPORTGEN_ACCESS_TOKEN" in target.read_text(encoding="utf-8")
    again = runner.invoke(cli, ["init", str(target)])
    assert again.exit_code == 2 and "already exists" in again.output


def test_exporters_json_lists_builtins(runner):
    rows = json.loads(runner.invoke(cli, ["exporters", "--json"]).output)
    names = {r["name"]: r for r in rows}
    assert {"csv", "csv-summary", "xlsx", "pdf"} <= set(names)
    assert names["pdf"]["plugin"] == "reportgen" and names["pdf"]["description"]


def test_a_real_process_prints_no_traceback(tmp_path, team):
    path = write_config(tmp_path, "http://127.0.0.1:9", team).read_text(encoding="utf-8")
    (tmp_path / "reportgen.toml").write_text(
        path.replace("user_id = 42", 'user_id = "acme"'), encoding="utf-8"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "reportgen", "sync"], cwd=tmp_path, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "REPORTGEN_ACCESS_TOKEN": TOKEN},
    )  # fmt: skip
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert (
        proc.stderr.startswith("Error: ") and "gateway.user_id" in proc.stderr and "username" in proc.stderr
    )


def test_documents_are_readable_by_others_as_any_new_file(runner, synced, tmp_path):
    out = tmp_path / "shared"
    old = os.umask(0o022)
    try:
        result = run(runner, synced, "report", "--period", "2026-04", "--format", "csv", "--out", str(out))
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    (path,) = out.iterdir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_summary_of_a_period_not_synced_says_so(runner, synced):
    result = runner.invoke(cli, ["--config", str(synced), "summary", "--period", "2026-05"])
    assert result.exit_code == 0
    assert "never synced" in result.output and "reportgen sync --period 2026-05" in result.output


def test_a_period_not_fully_synced_cannot_be_closed(runner, synced):
    result = run(runner, synced, "close", "2026-05")
    assert result.exit_code == 2
    assert (
        "2026-05 is not fully synced" in result.output and "reportgen sync --period 2026-05" in result.output
    )
    assert run(runner, synced, "close", "2026-04").exit_code == 0


def test_sync_without_a_base_url_is_a_config_error(runner, tmp_path):
    (tmp_path / "reportgen.toml").write_text('[report]\ntimezone = "UTC"\n', encoding="utf-8")
    result = run(runner, tmp_path / "reportgen.toml", "sync", env={"REPORTGEN_ACCESS_TOKEN": TOKEN})
    assert result.exit_code == 2 and "gateway.base_url is not set" in result.output


def test_help_is_in_workflow_order_with_examples_and_exit_codes() -> None:
    runner = CliRunner()
    top = runner.invoke(cli, ["-h"])
    assert top.exit_code == 0
    listed = [
        line.split()[0]
        for line in top.output.split("Commands:")[1].split("Exit codes")[0].splitlines()
        if line.startswith("  ") and line.strip()
    ]
    assert listed[:4] == ["init", "keys", "sync", "summary"] and listed[-1] == "demo"
    assert "reportgen sync --period 2026-04" in top.output
    assert "10 period not (fully) synced" in top.output
    sync = runner.invoke(cli, ["sync", "-h"])
    flat_sync = " ".join(sync.output.split())
    assert "REPORTGEN_ACCESS_TOKEN" in flat_sync and "continues from where the last sync" in flat_sync
    report = runner.invoke(cli, ["report", "--help"])
    flat = " ".join(report.output.split())
    assert "csv, csv-summary, xlsx, pdf, html, focus" in flat and "--allow-partial" in flat
    close = runner.invoke(cli, ["close", "-h"])
    assert "--period" in close.output and "--reopen" in close.output


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        yield " ".join((*prefix, name)), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


def test_every_command_and_option_is_documented() -> None:
    """As sqlite-utils does: a command the README does not name, or without help, fails here."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    found = dict(_commands(cli))
    assert {"sync", "summary", "report", "packet", "verify", "keys init", "month-end"} <= set(found)
    for name, command in found.items():
        assert command.help and command.help.strip(), f"`reportgen {name}` has no help"
        assert f"reportgen {name}" in readme, f"the README never names `reportgen {name}`"
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert param.help, f"`reportgen {name} {param.opts[0]}` has no help"
