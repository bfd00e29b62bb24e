"""``reportgen month-end``: sync, check, close, packets per member, project and team; idempotent."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from reportgen.app.monthend import INDEX, month_period, run_month_end
from reportgen.app.packet import manifest_of
from reportgen.app.sync import run_sync
from reportgen.app.verify import verify_packet
from reportgen.cli import cli
from reportgen.core.periods import parse_period
from reportgen.demo import DEMO_PROJECTS
from reportgen.errors import UsageError
from reportgen.read import open_period
from reportgen.store import Reader, find_closure
from tests.conftest import TOKEN, fast_client, make_config


@pytest.fixture
def config(tmp_path, team, gateway):
    return make_config(tmp_path, gateway.url, team, extra=DEMO_PROJECTS)


def closed(config) -> bool:
    with Reader.open(config.store_dir) as store:
        return find_closure(store, "2026-04") is not None


def test_dry_run_lists_and_touches_nothing(config, tmp_path, team):
    april = parse_period("2026-04", config.tz)
    run_sync(config, april, client_factory=fast_client)
    result = run_month_end(config, april, tmp_path / "me", dry_run=True)
    assert {i.status for i in result.issues} == {"would issue"}
    assert [i.who for i in result.issues[:1]] == ["team"]
    assert {i.who for i in result.issues} >= {"member 张三", "project nlp-grant", "project platform"}
    assert not (tmp_path / "me").exists() and not closed(config)
    assert "would be issued" in result.summary() and "nothing written" in result.summary()


def test_month_end_issues_every_packet_once(config, tmp_path, team):
    april = parse_period("2026-04", config.tz)
    out = tmp_path / "me"
    said: list[str] = []
    first = run_month_end(config, april, out, client_factory=fast_client, notify=said.append)
    assert closed(config) and first.sync is not None and first.sync.rows > 0
    members = {i.scope.name for i in first.issues if i.scope.kind == "member"}
    with open_period(config, april) as view:
        active = {line.name for line in view.report.members if line.stats.active}
    assert members == active and {"张三", "ci-pipeline"} <= members  # an unmapped key is its own member
    assert {i.scope.name for i in first.issues if i.scope.kind == "project"} == {"nlp-grant", "platform"}
    assert {i.status for i in first.issues} == {"issued"}
    folder = out / "2026-04"
    packets = sorted(folder.glob("*.zip"))
    assert len(packets) == len(first.issues)
    for path in packets:
        check = verify_packet(path, config.store_dir)
        assert check.ok, check.differences
        manifest = manifest_of(path)
        if manifest["request"]["filters"].get("project"):  # a project's part of the month: from the snapshot
            assert [b["revision"] for b in manifest["basis"]] == [1]
        else:
            assert manifest["closed"]["revision"] == 1
    index = (folder / INDEX).read_text(encoding="utf-8")
    for issue in first.issues:
        assert issue.path.name in index and issue.number in index
    assert_one_number(folder, index)
    team_issue = first.issues[0]
    assert f"{team_issue.usd:,.2f}" in index
    assert_members_foot(first, index)
    assert any(line.startswith("Data quality:") for line in said)
    assert "Issued" in first.summary()

    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}
    second = run_month_end(config, april, out, client_factory=fast_client)
    assert {i.status for i in second.issues} == {"unchanged"}
    assert second.close is not None and second.close.already_closed
    assert "Nothing new" in second.summary()
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()} == before


def assert_members_foot(result, index: str) -> None:
    """index.md: the members' printed USD and CNY, plus the rounding row, are the team's (issue 22)."""
    rows = [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in index.splitlines()
        if line.startswith("| ")
    ]
    by_file = {row[1]: row for row in rows[1:]}
    team = by_file[result.issues[0].path.name]
    mine = [by_file[i.path.name] for i in result.issues if i.scope.kind == "member"]
    rounding = [row for row in rows[1:] if not row[1]]
    for column in (4, 5):  # USD, CNY
        amounts = [Decimal(row[column].replace(",", "") or "0") for row in (*mine, *rounding, team)]
        assert sum(amounts[:-1]) == amounts[-1]


def assert_one_number(folder: Path, index: str) -> None:
    """index.md, every PDF's footer and the manifest name the register's one number per packet."""
    table = (line.split(" | ") for line in index.splitlines())
    rows = {cells[1]: cells[2] for cells in table if len(cells) > 3 and cells[1].endswith(".zip")}
    numbers = set()
    for path in sorted(folder.glob("*.zip")):
        number = manifest_of(path)["statement"]["number"]
        assert re.fullmatch(r"[A-Z]+-\d{6}", number) and rows[path.name] == number
        numbers.add(number)
        with zipfile.ZipFile(path) as zf:
            pdfs = [n for n in zf.namelist() if n.endswith(".pdf") and not n.startswith("invoices/")]
            assert pdfs
            for name in pdfs:
                pages = PdfReader(io.BytesIO(zf.read(name))).pages
                assert all(number in page.extract_text() for page in pages), (path.name, name)
    assert len(numbers) == len(rows)


def test_cli_exit_codes_fit_cron(config, tmp_path):
    env = {"REPORTGEN_ACCESS_TOKEN": TOKEN}
    out = tmp_path / "me"
    args = ["--config", str(config.path), "month-end", "--period", "2026-04", "--out", str(out)]
    first = CliRunner().invoke(cli, args, env=env)
    assert first.exit_code == 0, first.output
    assert "Issued" in first.stdout
    again = CliRunner().invoke(cli, args, env=env)
    assert again.exit_code == 0 and "Nothing new" in again.stdout
    # an issued packet that no longer matches what the month gives is kept and reported
    victim = next((out / "2026-04").glob("*张三*.zip"))
    victim.write_bytes(b"not the issued packet")
    changed = CliRunner().invoke(cli, args, env=env)
    assert changed.exit_code == 1 and "differ" in changed.stdout
    assert victim.read_bytes() == b"not the issued packet"
    dry = CliRunner().invoke(cli, [*args, "--dry-run"], env=env)
    assert dry.exit_code == 0 and "already issued" in dry.stdout


def test_last_month_and_unfinished_months(config):
    may = datetime(2026, 5, 3, 12, tzinfo=UTC).timestamp()
    assert month_period("last-month", config, now=lambda: may).label == "2026-04"
    assert month_period(None, config, now=lambda: may).label == "2026-04"
    assert month_period("2026-03", config).label == "2026-03"
    with pytest.raises(UsageError, match="has not ended yet"):
        run_month_end(config, parse_period("2026-05", config.tz), Path("x"), now=lambda: may)
