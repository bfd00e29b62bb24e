"""Projects and budgets: config validation, exact allocation per day, run-out dates, documents.

The data is a hand-made April 2026 (Asia/Shanghai, 500,000 quota = 1 USD) synced over
loopback from the fake gateway, so every figure below can be checked by hand:

- key-a (Alice): $2 a day, 04-01..04-30                     -> alpha (or, in gamma.toml, gamma in CNY)
- key-shared:    $5 a day, plus 1 quota on 04-10             -> alpha 60 %, beta 40 %
- key-bob (Bob): $1 a day                                    -> beta to 04-15, alpha from 04-16

alpha runs 04-01..06-30 with $400; beta 04-01..04-20 with $50, so beta's share of
key-shared on 04-21..04-30 is outside its dates: flagged, not counted.
"""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from click.testing import CliRunner
from pypdf import PdfReader
from rich.console import Console

from reportgen.app.export import export_report
from reportgen.app.sync import run_sync
from reportgen.cli import cli
from reportgen.config import load_config, parse_config
from reportgen.console import print_summary
from reportgen.core.periods import parse_period
from reportgen.errors import ConfigError
from reportgen.gateway import GatewayClient
from reportgen.plugins import select_exporters
from reportgen.read import Scope, open_period
from reportgen.testing.fakegateway import FakeGateway
from tests.conftest import TOKEN
from tests.report_factory import open_project_report, open_report

TZ = ZoneInfo("Asia/Shanghai")
USD = 500_000
MAY_3 = datetime(2026, 5, 3, 9, 0, tzinfo=TZ)

PROJECTS = """
[report]
timezone = "Asia/Shanghai"
exchange_rate = 7.2
exchange_rate_source = "test rate"

[members.Alice]
keys = ["key-a"]
justification = "Evaluation runs for work package 2"

[members.Bob]
keys = ["key-bob"]

[projects.alpha]
title = "Grant Alpha"
code = "NSFC-2026-001"
budget = 400.00
budget_currency = "USD"
start = 2026-04-01
end = 2026-06-30
justification = "Benchmarking LLMs for the alpha study"
charges = [
  { member = "Alice" },
  { key = "key-shared", share = 60 },
  { key = "key-bob", from = 2026-04-16 },
]

[projects.beta]
title = "Cost centre Beta"
code = "CC-42"
budget = 50
start = 2026-04-01
end = 2026-04-20
charges = [
  { key = "key-shared", share = 40 },
  { key = "key-bob", to = 2026-04-15 },
]
"""

GAMMA = """
[report]
timezone = "Asia/Shanghai"
exchange_rate = 7.2

[projects.gamma]
title = "Gamma (CNY)"
budget = 1000
budget_currency = "CNY"
start = 2026-04-01
end = 2026-04-30
charges = [{ key = "key-a", from = 2026-04-01, to = 2026-04-30, share = 100 }]
"""


def _row(day: int, key: str, quota: int, model: str = "gpt-5-mini") -> dict:
    ts = int(datetime(2026, 4, day, 12, 0, tzinfo=TZ).timestamp())
    return {
        "created_at": ts,
        "type": 2,
        "token_name": key,
        "token_id": {"key-a": 1, "key-shared": 2, "key-bob": 3}[key],
        "model_name": model,
        "quota": quota,
        "prompt_tokens": 100,
        "completion_tokens": 10,
        "use_time": 1,
        "is_stream": False,
        "channel": 1,
        "group": "default",
        "request_id": f"r{day}{key}{quota}",
        "other": {"model_ratio": 1, "group_ratio": 1, "completion_ratio": 1, "model_price": -1},
    }


def month_rows() -> list[dict]:
    rows = []
    for day in range(1, 31):
        rows += [_row(day, "key-a", 2 * USD), _row(day, "key-shared", 5 * USD, "claude-sonnet-4-5")]
        rows.append(_row(day, "key-bob", USD, "deepseek-v3"))
    rows.append(_row(10, "key-shared", 1, "claude-sonnet-4-5"))  # 0.6 and 0.4 quota after the split
    return rows


@pytest.fixture(scope="module")
def synced(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("projects")
    with FakeGateway(month_rows(), access_token=TOKEN, user_id=42, rate_limit=None) as gw:
        path = directory / "reportgen.toml"
        path.write_text(f'[gateway]\nbase_url = "{gw.url}"\nuser_id = 42\n' + PROJECTS, encoding="utf-8")
        config = load_config(path, env={"REPORTGEN_ACCESS_TOKEN": TOKEN})
        run_sync(
            config,
            parse_period("2026-04", config.tz),
            client_factory=lambda g, on_request=None: GatewayClient(
                g, sleep=lambda s: None, on_request=on_request
            ),
        )
    return path


def _config(path: Path):
    return load_config(path, env={})


def _lines(path: Path, generated_at: datetime = MAY_3) -> dict:
    config = _config(path)
    with open_report(config, parse_period("2026-04", config.tz), generated_at=generated_at) as report:
        return {p.name: p for p in report.projects}


# -- allocation and budget figures -----------------------------------------------------
def test_project_that_gains_a_key_mid_period_and_shares_another(synced):
    alpha = _lines(synced)["alpha"]
    # Alice 30 x $2 + 60 % of (30 x $5 + 1 quota) + Bob from 04-16: 15 x $1
    spent = Decimal(60) + Decimal(90) + Decimal("0.6") / USD + Decimal(15)
    assert alpha.spent == spent == Decimal("165.0000012")
    assert alpha.period_spent == spent
    assert alpha.remaining == Decimal(400) - spent
    assert alpha.share_used == spent / 400
    assert alpha.as_of == date(2026, 4, 30)
    assert alpha.burn_per_day == spent / 30
    # 234.9999988 / 5.50000004 = 42.7..., so the budget is gone 43 days after 04-30
    assert alpha.run_out == date(2026, 4, 30) + timedelta(days=43) == date(2026, 6, 12)
    assert not alpha.over_budget
    assert alpha.outside == 0 and alpha.outside_days == ()


def test_project_with_40_percent_of_a_shared_key_runs_over_and_flags_spend_after_its_end(synced):
    beta = _lines(synced)["beta"]
    # 40 % of key-shared on 04-01..04-20 (+ 0.4 quota) and Bob on 04-01..04-15
    spent = Decimal(40) + Decimal("0.4") / USD + Decimal(15)
    assert beta.spent == spent
    assert beta.over_budget and beta.remaining == Decimal(50) - spent < 0
    # $3 a day to 04-15 ($45), then $2 a day: 04-18 is the first day at or over $50
    assert beta.run_out == date(2026, 4, 18)
    assert beta.as_of == date(2026, 4, 20) and beta.burn_per_day == spent / 20
    # after its end, its 40 % of key-shared is flagged, never counted
    assert beta.outside == Decimal(20)
    assert beta.outside_days == tuple(date(2026, 4, d) for d in range(21, 31))


def test_split_shares_add_up_to_the_key_exactly(synced):
    lines = _lines(synced)
    shared_alpha = lines["alpha"].spent - 60 - 15
    shared_beta_in_dates = lines["beta"].spent - 15
    assert shared_alpha + shared_beta_in_dates + lines["beta"].outside == Decimal(150) + Decimal(1) / USD


def test_cny_budget_uses_the_report_rate(synced):
    other = synced.parent / "gamma.toml"  # the same store, another config: key-a is all gamma's
    store = synced.parent / ".reportgen"
    other.write_text(f'[store]\npath = "{store}"\n' + GAMMA, encoding="utf-8")
    gamma = _lines(other)["gamma"]
    assert gamma.currency == "CNY"
    assert gamma.spent == Decimal(60) * Decimal("7.2") == Decimal("432.0")
    assert gamma.remaining == Decimal("568.0")


def test_burn_rate_counts_only_the_elapsed_part(synced):
    # A report generated on 04-10 (the month still running): 10 days elapsed, not 30.
    alpha = _lines(synced, datetime(2026, 4, 10, 18, 0, tzinfo=TZ))["alpha"]
    spent = 10 * (Decimal(2) + Decimal(3)) + Decimal("0.6") / USD
    assert alpha.as_of == date(2026, 4, 10) and alpha.spent == spent
    assert alpha.burn_per_day == spent / 10


# -- config validation -------------------------------------------------------------------
def _parse(toml_projects: str, members: str = "") -> None:
    import tomllib

    parse_config(tomllib.loads(members + toml_projects), Path("/etc/rg/reportgen.toml"), {})


BASE = "[projects.p]\nbudget = 10\nstart = 2026-01-01\nend = 2026-12-31\n"


@pytest.mark.parametrize(
    ("text", "members", "expected"),
    [
        (BASE + 'charges = [{ key = "k", share = 60 }]\n[projects.q]\nbudget = 1\nstart = 2026-06-01\n'
         'end = 2026-06-30\ncharges = [{ key = "k", share = 50 }]\n', "",
         "key 'k' is charged 110% on 2026-06-01 (p 60%, q 50%)"),
        (BASE + 'charges = [{ member = "Ann", share = 70 }, { key = "k-ann", share = 40, from = 2026-03-01 }]\n',
         '[members.Ann]\nkeys = ["k-ann"]\n', "key 'k-ann' is charged 110% on 2026-03-01"),
        (BASE + 'colour = "red"\ncharges = [{ key = "k" }]\n', "", "unknown setting projects.p.colour"),
        (BASE + 'charges = [{ key = "k", pct = 5 }]\n', "", "unknown setting projects.p.charges[0].pct"),
        ('[projects.p]\nbudget = 10\nstart = 2026-05-01\nend = 2026-04-30\ncharges = [{ key = "k" }]\n', "",
         "projects.p.end 2026-04-30 is before projects.p.start 2026-05-01"),
        (BASE + 'budget_currency = "EUR"\ncharges = [{ key = "k" }]\n', "",
         "projects.p.budget_currency must be one of USD, CNY, not 'EUR'"),
        (BASE + 'charges = [{ key = "k", share = 0 }]\n', "", "projects.p.charges[0].share must be a percentage"),
        (BASE + 'charges = [{ key = "k", member = "m" }]\n', "", "projects.p.charges[0] needs exactly one of"),
        (BASE + 'charges = []\n', "", "projects.p.charges must be a list"),
        ('[projects.p]\nstart = 2026-01-01\nend = 2026-12-31\ncharges = [{ key = "k" }]\n', "",
         "projects.p.budget is missing"),
        (BASE + 'charges = [{ key = "k" }]\n', '[members.Ann]\nkeys = ["k"]\njustification = 3\n',
         'members."Ann".justification must be a string'),
        (BASE + 'charges = [{ key = "k" }]\n', '[members.Ann]\nkeys = ["k"]\nnote = "x"\n',
         'unknown setting members."Ann".note'),
    ],
)  # fmt: skip
def test_project_config_errors_are_one_line_naming_file_and_key(text, members, expected):
    with pytest.raises(ConfigError) as info:
        _parse(text, members)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("/etc/rg/reportgen.toml: ")
    assert expected in message


def test_shares_may_meet_100_percent_and_a_key_may_move_on_a_date():
    _parse(
        BASE + 'charges = [{ key = "k", share = 60 }, { key = "m", to = 2026-04-15 }]\n'
        "[projects.q]\nbudget = 1\nstart = 2026-01-01\nend = 2026-12-31\n"
        'charges = [{ key = "k", share = 40 }, { key = "m", from = 2026-04-16 }]\n'
    )


# -- documents -------------------------------------------------------------------------------
def test_summary_shows_projects_in_the_terminal_and_in_json(synced):
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(synced), "summary", "--period", "2026-04", "--json"], env={})
    assert result.exit_code == 0, result.output
    projects = {p["name"]: p for p in json.loads(result.output)["projects"]}
    assert projects["beta"]["over_budget"] is True and projects["alpha"]["over_budget"] is False
    assert projects["beta"]["spent"] == "55.000001"  # 55.0000008 as a 6-place decimal string
    assert projects["beta"]["outside_dates"]["amount"] == "20.000000"
    assert len(projects["beta"]["outside_dates"]["days"]) == 10
    result = runner.invoke(cli, ["--config", str(synced), "summary", "--period", "2026-04"], env={})
    assert result.exit_code == 0, result.output
    assert "Projects" in result.output and "OVER BUDGET" in result.output
    assert "spent on its keys outside its dates" in result.output


def test_xlsx_projects_sheet_fills_over_budget_and_pdf_marks_it(synced, tmp_path):
    config = _config(synced)
    with open_report(config, parse_period("2026-04", config.tz), generated_at=MAY_3) as report:
        paths = export_report(report, select_exporters("xlsx,pdf"), tmp_path, lang="en")
    wb = openpyxl.load_workbook(paths[0])
    assert "Projects" in wb.sheetnames
    ws = wb["Projects"]
    rows = {r[0].value: r for r in ws.iter_rows(min_row=2) if r[0].value}
    assert rows["beta"][0].fill.fgColor.rgb.endswith("FFC7CE")
    assert rows["alpha"][0].fill.fgColor.rgb in (None, "00000000")
    assert rows["alpha"][6].value == pytest.approx(165.0000012)
    text = "".join(page.extract_text() for page in PdfReader(paths[1]).pages)
    assert "Projects" in text and "Over budget".upper() in text and "Grant Alpha" in text
    assert "2026-06-12" in text  # alpha's run-out date


def test_a_share_prints_half_up_in_the_pdf_and_the_terminal(synced, tmp_path):
    """0.1225 used prints 12.3 % (the money policy's half-up), not half-even's 12.2 %."""
    config = _config(synced)
    with open_report(config, parse_period("2026-04", config.tz), generated_at=MAY_3) as report:
        alpha = next(p for p in report.projects if p.name == "alpha")
        tie = dataclasses.replace(
            report, projects=(dataclasses.replace(alpha, share_used=Decimal("0.1225")),)
        )
        (pdf,) = export_report(tie, select_exporters("pdf"), tmp_path, lang="en")
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "12.3%" in text and "12.2%" not in text
    console = Console(file=io.StringIO(), width=200)
    print_summary(tie, "member", console)
    assert "12.3%" in console.file.getvalue()


def test_grant_closing_report_counts_only_charged_spend(synced, tmp_path):
    config = _config(synced)
    with open_project_report(config, "alpha", generated_at=datetime(2026, 7, 2, 10, 0, tzinfo=TZ)) as report:
        assert report.grant.spent == Decimal("165.0000012")
        grant = report.grant
        assert grant is not None
        lines = {(x.month, x.member, x.model): x.cost for x in grant.lines}
        assert lines == {
            ("2026-04", "Alice", "gpt-5-mini"): Decimal(60),
            ("2026-04", "Bob", "deepseek-v3"): Decimal(15),  # from 04-16 only
            ("2026-04", "key-shared", "claude-sonnet-4-5"): Decimal(90) + Decimal("0.6") / USD,
        }
        line = grant.project
        assert (line.start, line.end, line.as_of) == (date(2026, 4, 1), date(2026, 6, 30), date(2026, 6, 30))
        assert line.remaining == Decimal("234.9999988")
        assert grant.member_notes == (("Alice", "Evaluation runs for work package 2"),)
        # the usual breakdowns cover charged keys on charged days (Bob: 15 days, not 30)
        members = {m.name: m.stats for m in report.members}
        assert members["Bob"].requests == 15
        paths = export_report(report, select_exporters("xlsx,pdf"), tmp_path, lang="zh", template="grant")
    assert paths[0].name.startswith("reportgen-alpha_2026-04-01_2026-06-30")
    wb = openpyxl.load_workbook(paths[0])
    assert wb.sheetnames[:2] == ["经费", "汇总"]  # the charged figures first
    cells = [c for row in wb["经费"].iter_rows(values_only=True) for c in row if c is not None]
    assert "Benchmarking LLMs for the alpha study" in cells
    assert pytest.approx(165.0000012) in cells
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(paths[1].read_bytes())).pages)
    assert "科研经费 API 使用结题报告" in text
    assert "NSFC-2026-001" in text and "Benchmarking LLMs for the alpha study" in text
    assert "Evaluation runs for work package 2" in text
    assert "165.00" in text and "400.00" in text and "235.00" in text
    assert "60.00" in text and "15.00" in text and "90.00" in text


def test_unknown_project_names_the_known_ones(synced):
    from reportgen.errors import UsageError

    with (
        pytest.raises(UsageError, match="no project named 'zeta' .*alpha, beta"),
        open_project_report(_config(synced), "zeta"),
    ):
        pass


def test_cli_report_project_writes_the_grant_documents(synced, tmp_path):
    runner = CliRunner()
    args = [
        "--config",
        str(synced),
        "report",
        "--project",
        "beta",
        "--format",
        "xlsx,pdf",
        "--out",
        str(tmp_path),
    ]
    result = runner.invoke(cli, [*args, "--lang", "en"], env={})
    assert result.exit_code == 0, result.output
    paths = [line for line in result.output.split() if line.endswith((".xlsx", ".pdf"))]
    assert [p.rsplit(".", 1)[1] for p in paths] == ["xlsx", "pdf"]
    text = "".join(page.extract_text() for page in PdfReader(paths[1]).pages)
    assert "Grant Final Report" in text and "Over budget" in text and "-5.00" in text
    result = runner.invoke(cli, [*args, "--period", "2026-04"], env={})  # the project's part of April
    assert result.exit_code == 0, result.output
    assert "reportgen-beta_2026-04.pdf" in result.output
    result = runner.invoke(cli, [*args, "--member", "Bob"], env={})
    assert result.exit_code == 2 and "either --member or --project" in result.output


def test_days_missing_from_the_store_are_flagged(synced, tmp_path):
    other = synced.parent / "march.toml"  # the same store: only April is synced
    store = synced.parent / ".reportgen"
    other.write_text(
        f'[store]\npath = "{store}"\n[report]\ntimezone = "Asia/Shanghai"\n'
        "[projects.m]\nbudget = 100\nstart = 2026-03-01\nend = 2026-05-31\n"
        'charges = [{ key = "key-a" }]\n',
        encoding="utf-8",
    )
    line = _lines(other)["m"]
    assert line.unsynced_days == 31 and line.spent == 60
    assert line.unsynced == ((date(2026, 3, 1), date(2026, 3, 31)),)  # named, not silently zero
    assert line.burn_per_day == Decimal(60) / 61  # the elapsed part, March included
    config = _config(other)
    with open_period(
        config, parse_period("2026-04", config.tz), Scope.of(project="m"), generated_at=MAY_3
    ) as view:
        (pdf,) = export_report(view.report, select_exporters("pdf"), tmp_path, lang="zh", template="grant")
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages).replace("\n", "")
    assert "本地数据缺少 2026年3月1日至3月31日" in text  # the April report names the unsynced March


def test_project_packet_for_a_month_verifies_clean_and_names_a_changed_file(synced, tmp_path):
    import hashlib
    import zipfile

    runner = CliRunner()
    base = ["--config", str(synced)]
    out = tmp_path / "packets"
    made = runner.invoke(cli, [*base, "keys", "init", "--owner", "Grant Office"])  # in $XDG_CONFIG_HOME
    assert made.exit_code == 0 and "Key fingerprint:" in made.output, made.output
    result = runner.invoke(
        cli, [*base, "packet", "--period", "2026-04", "--project", "alpha", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip().splitlines()[-1])
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert manifest["request"]["filters"] == {"project": "alpha"}
        assert manifest["request"]["template"] == "grant"
        for entry in manifest["files"]:
            assert hashlib.sha256(zf.read(entry["name"])).hexdigest() == entry["sha256"]
        pdf = next(n for n in zf.namelist() if n.endswith(".pdf"))
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(zf.read(pdf))).pages)
    assert "NSFC-2026-001" in text and "165.00" in text  # alpha's April, charged spend only
    verified = runner.invoke(cli, [*base, "verify", str(path)])
    assert verified.exit_code == 0 and "OK" in verified.output, verified.output
    assert "Grant Office" in verified.output and "project alpha" in verified.output
    assert "exactly the packet's consumption and refund rows" not in verified.output  # counts, not lines
    both = runner.invoke(
        cli, [*base, "packet", "--period", "2026-04", "--project", "alpha", "--member", "Bob"]
    )
    assert both.exit_code == 2 and "either --member or --project" in both.output
    outside = runner.invoke(cli, [*base, "packet", "--period", "2026-09", "--project", "beta"])
    assert outside.exit_code == 2 and "nothing of it falls in 2026-09" in outside.output
