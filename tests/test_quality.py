"""The data-quality check before export, and --strict, on synced stores over loopback HTTP."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from reportgen.app.quality import check_quality
from reportgen.app.sync import run_sync
from reportgen.cli import cli
from reportgen.core.periods import date_range_period, parse_period
from reportgen.read import Scope, open_period
from reportgen.testing.fakegateway import FakeGateway
from reportgen.testing.fakegateway.synthetic import UNPRICED_MODEL
from tests.conftest import TOKEN, fast_client, make_config


def synced(tmp_path, team, rows, period_text="2026-04", extra=""):
    with FakeGateway(rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        config = make_config(tmp_path, gw.url, team, extra=extra)
        run_sync(config, parse_period(period_text, config.tz), client_factory=fast_client)
    return config


def check(config, member=None):
    with open_period(config, parse_period("2026-04", config.tz), Scope.of(member)) as view:
        return check_quality(view)


def in_april(team, row):
    return team.start_ts <= row["created_at"] < team.end_ts and row["type"] == 2


def test_the_team_month_findings_match_its_rows(tmp_path, team):
    config = synced(tmp_path, team, team.rows)
    found = {f.code: f for f in check(config).findings}
    assert set(found) == {"unmapped_keys", "zero_quota_with_tokens", "unpriced", "subscription"}
    assert found["unmapped_keys"].items == ("ci-pipeline",)
    zero = [
        r
        for r in team.rows
        if in_april(team, r) and r["quota"] == 0 and r["prompt_tokens"] + r["completion_tokens"]
    ]
    assert found["zero_quota_with_tokens"].count == len(zero) == 3
    unpriced = [r for r in team.rows if in_april(team, r) and r["model_name"] == UNPRICED_MODEL]
    assert found["unpriced"].count == len(unpriced) > 0
    assert found["unpriced"].items == (f"{UNPRICED_MODEL} ×{len(unpriced)}",)
    subs = [r for r in team.rows if in_april(team, r) and r["other"].get("billing_source") == "subscription"]
    assert found["subscription"].count == len(subs)
    assert found["subscription"].quota == sum(r["quota"] for r in subs)
    # one member's keys: only that member's rows count
    alice = {f.code: f for f in check(config, "Alice Smith").findings}
    assert "unmapped_keys" not in alice and "unpriced" in alice and "subscription" in alice


def test_unsynced_windows_and_days_without_data_are_named(tmp_path, team):
    tz = parse_period("2026-04", make_config(tmp_path, "http://x", team).tz).tz
    quiet = date_range_period(datetime(2026, 4, 8).date(), datetime(2026, 4, 9).date(), tz)
    rows = [r for r in team.rows if not quiet.contains(r["created_at"])]
    with FakeGateway(rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        config = make_config(tmp_path, gw.url, team)
        first_20 = date_range_period(datetime(2026, 4, 1).date(), datetime(2026, 4, 20).date(), config.tz)
        run_sync(config, first_20, client_factory=fast_client)
    found = {f.code: f for f in check(config).findings}
    assert found["unsynced"].items == ("2026-04-21 00:00 .. 2026-05-01 00:00",)
    assert found["days_without_data"].items == ("2026-04-08..2026-04-09",)
    line = found["unsynced"].message("en", parse_period("2026-04", config.tz))
    assert "reportgen sync --period 2026-04" in line
    assert "从未同步" in found["unsynced"].message("zh", parse_period("2026-04", config.tz))


def test_a_key_charged_to_a_project_is_mapped(tmp_path, team):
    extra = (
        "\n[projects.ops]\nbudget = 100\nstart = 2026-01-01\nend = 2026-12-31\n"
        'charges = [{ key = "ci-pipeline" }]\n'
    )
    config = synced(tmp_path, team, team.rows, extra=extra)
    quality = check(config)
    assert "unmapped_keys" not in {f.code for f in quality.findings}
    assert quality.projects


def _clean_rows(team):
    """The team month without anything the quality check flags."""
    return [
        r
        for r in team.rows
        if r["token_name"] != "ci-pipeline"
        and r["model_name"] != UNPRICED_MODEL
        and not (r["type"] == 2 and r["quota"] == 0)
        and (r.get("other") or {}).get("billing_source") != "subscription"
    ]


@pytest.mark.parametrize("command", ["report", "packet"])
def test_strict_makes_any_finding_fatal_and_writes_nothing(tmp_path, team, command):
    config = synced(tmp_path, team, team.rows)
    out = tmp_path / "out"
    runner = CliRunner()
    args = ["--config", str(config.path), command, "--period", "2026-04", "--out", str(out)]
    strict = runner.invoke(cli, [*args, "--strict"])
    assert strict.exit_code == 7, strict.output
    assert strict.stdout == ""
    lines = strict.stderr.splitlines()
    assert sum(line.startswith("Data quality: ") for line in lines) == 4
    assert lines[-1].startswith("Error: --strict") and "nothing was written" in lines[-1]
    assert not out.exists() or not any(out.iterdir())
    relaxed = runner.invoke(cli, args)
    assert relaxed.exit_code == 0, relaxed.output
    assert "Data quality: 1 key(s) with usage are not mapped to any member: ci-pipeline" in relaxed.stderr
    assert all(Path(p).is_file() for p in relaxed.stdout.split())


def test_strict_passes_on_clean_data(tmp_path, team):
    config = synced(tmp_path, team, _clean_rows(team))
    assert not check(config)
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["--config", str(config.path), "packet", "--period", "2026-04", "--out", str(tmp_path), "--strict"],
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_packet_quality_page_lists_the_findings(tmp_path, team):
    import zipfile

    config = synced(tmp_path, team, team.rows)
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(config.path),
            "packet",
            "--period",
            "2026-04",
            "--out",
            str(tmp_path),
            "--lang",
            "en",
        ],
    )
    with zipfile.ZipFile(result.stdout.strip()) as zf:
        page = zf.read("quality.md").decode()
    assert page.startswith("# Data-quality check: 2026-04")
    assert "ci-pipeline" in page and UNPRICED_MODEL in page and page.count("\n- ") == 4
