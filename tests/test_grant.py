"""The grant report a funder files (issue 23): budget categories, cumulative since the project's
start, the claims already issued, spend per day and the run-out date, titled by its period.

A hand-made quarter (April–June 2026, Asia/Shanghai, 500,000 quota = 1 USD, 7.2 CNY per USD)
synced over loopback from the fake gateway:

- key-a (Alice):  gpt-5-mini $1 a day, and claude-sonnet-4-5 $0.50 on even days
- key-crawl:      deepseek-v3 $2 a day
- key-misc:       o3 $0.25 a day

Project omega (CNY, 2026-04-01 .. 2026-12-31) budgets 测试化验加工费 (models gpt-*), 数据采集费
(key-crawl) and 其他费用 (the rest); project tight (CNY 50, to 2026-06-30) runs over.
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from pypdf import PdfReader

from reportgen.app.documents import write_packet
from reportgen.app.export import export_report
from reportgen.app.sync import run_sync
from reportgen.config import load_config, parse_config
from reportgen.core.periods import parse_period
from reportgen.errors import ConfigError
from reportgen.gateway import GatewayClient
from reportgen.plugins import select_exporters
from reportgen.read import Scope, open_period
from reportgen.testing.fakegateway import FakeGateway
from tests.conftest import TOKEN

TZ = ZoneInfo("Asia/Shanghai")
USD = 500_000
JULY_2 = datetime(2026, 7, 2, 9, 0, tzinfo=TZ)
KEY_IDS = {"key-a": 1, "key-crawl": 2, "key-misc": 3}

PROJECTS = """
[report]
timezone = "Asia/Shanghai"
exchange_rate = 7.2
exchange_rate_source = "test rate"

[members.Alice]
keys = ["key-a"]

[projects.omega]
title = "Grant Omega"
code = "NSFC-2026-777"
budget_currency = "CNY"
start = 2026-04-01
end = 2026-12-31
charges = [{ member = "Alice" }, { key = "key-crawl" }, { key = "key-misc", from = 2026-05-01 }]

[projects.omega.budget]
items = [
  { category = "测试化验加工费", amount = 1500.00, models = ["gpt-*"] },
  { category = "数据采集费", amount = 2000.00, keys = ["key-crawl"] },
  { category = "其他费用", amount = 500.00 },
]

[projects.tight]
title = "Tight pilot"
budget = 50
budget_currency = "CNY"
start = 2026-04-01
end = 2026-06-30
charges = [{ key = "key-misc", to = 2026-04-30 }]
"""


def _row(day: date, key: str, usd: Decimal, model: str) -> dict:
    ts = int(datetime(day.year, day.month, day.day, 12, 0, tzinfo=TZ).timestamp())
    return {
        "created_at": ts,
        "type": 2,
        "token_name": key,
        "token_id": KEY_IDS[key],
        "model_name": model,
        "quota": int(usd * USD),
        "prompt_tokens": 100,
        "completion_tokens": 10,
        "use_time": 1,
        "is_stream": False,
        "channel": 1,
        "group": "default",
        "request_id": f"r{day}{key}{model}",
        "other": {"model_ratio": 1, "group_ratio": 1, "completion_ratio": 1, "model_price": -1},
    }


def quarter_rows() -> list[dict]:
    rows = []
    day = date(2026, 4, 1)
    while day <= date(2026, 6, 30):
        rows += [
            _row(day, "key-a", Decimal(1), "gpt-5-mini"),
            _row(day, "key-crawl", Decimal(2), "deepseek-v3"),
        ]
        rows.append(_row(day, "key-misc", Decimal("0.25"), "o3"))
        if day.day % 2 == 0:
            rows.append(_row(day, "key-a", Decimal("0.5"), "claude-sonnet-4-5"))
        day = date.fromordinal(day.toordinal() + 1)
    return rows


@pytest.fixture(scope="module")
def synced(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("grant")
    with FakeGateway(quarter_rows(), access_token=TOKEN, user_id=42, rate_limit=None) as gw:
        path = directory / "reportgen.toml"
        path.write_text(f'[gateway]\nbase_url = "{gw.url}"\nuser_id = 42\n' + PROJECTS, encoding="utf-8")
        config = load_config(path, env={"REPORTGEN_ACCESS_TOKEN": TOKEN})
        run_sync(
            config,
            parse_period("2026-Q2", config.tz),
            client_factory=lambda g, on_request=None: GatewayClient(
                g, sleep=lambda s: None, on_request=on_request
            ),
        )
    return path


def _grant(path: Path, period: str | None, project: str = "omega"):
    config = load_config(path, env={})
    chosen = None if period is None else parse_period(period, config.tz)
    with open_period(config, chosen, Scope.of(project=project), generated_at=JULY_2) as view:
        assert view.report.grant is not None
        return view.report.grant


def _categories(grant) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    return {c.name: (c.budget, c.period_spent, c.spent) for c in grant.project.categories}


def test_third_month_is_cumulative_per_category_and_equals_the_monthly_reports(synced):
    months = {m: _grant(synced, m) for m in ("2026-04", "2026-05", "2026-06")}
    june = months["2026-06"]
    assert [c.name for c in june.project.categories] == ["测试化验加工费", "数据采集费", "其他费用"]
    for c in june.project.categories:
        monthly = [next(x for x in g.project.categories if x.name == c.name) for g in months.values()]
        assert c.spent == sum((x.period_spent for x in monthly), Decimal(0))
        assert c.period_spent == monthly[-1].period_spent
    # 91 days of gpt $1; key-crawl $2; the rest: claude $0.50 on 45 even days and o3 $0.25 from May 1 (61 days)
    assert _categories(june) == {
        "测试化验加工费": (Decimal(1500), Decimal(30) * Decimal("7.2"), Decimal(91) * Decimal("7.2")),
        "数据采集费": (Decimal(2000), Decimal(60) * Decimal("7.2"), Decimal(182) * Decimal("7.2")),
        "其他费用": (
            Decimal(500),
            (Decimal("7.5") + Decimal("7.5")) * Decimal("7.2"),
            (Decimal("22.5") + Decimal("15.25")) * Decimal("7.2"),
        ),
    }
    p = june.project
    assert p.budget == 4000 and p.spent == sum((c.spent for c in p.categories), Decimal(0))
    assert p.period_spent == sum((c.period_spent for c in p.categories), Decimal(0))
    assert june.spent == p.period_spent  # the breakdown lines are the month's
    assert june.kind == "month" and _grant(synced, "2026-Q2").kind == "quarter"
    assert _grant(synced, None).kind == "final"
    # spend per day since the start and the run-out date at that rate, before the project's end
    assert p.burn_per_day == p.spent / 91
    assert p.run_out is not None and date(2026, 6, 30) < p.run_out <= p.end and not p.run_out_after_end
    assert len(june.daily) == 91 and sum((v for _, v in june.daily), Decimal(0)) == p.spent


def test_budget_config_errors_name_the_key():
    base = '[projects.x]\nstart = 2026-01-01\nend = 2026-12-31\ncharges = [{ key = "k" }]\n'
    cases = {
        "[projects.x.budget]\nitems = []\n": "projects.x.budget.items must be a list",
        '[projects.x.budget]\nitems = [{ category = "a" }]\n': "projects.x.budget.items[0].amount is missing",
        '[projects.x.budget]\nitems = [{ category = "a", amount = 1 }, { category = "b", amount = 2 }]\n': (
            "only one category may name no keys"
        ),
        '[projects.x.budget]\nitems = [{ category = "a", amount = 1, models = "gpt" }]\n': "models must be a list",
        "[projects.x.budget]\nrest = 1\n": "unknown setting projects.x.budget.rest",
    }
    for text, message in cases.items():
        with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
            parse_config(tomllib.loads(base + text), Path("/etc/rg/reportgen.toml"), {})


def test_spend_no_category_takes_is_shown_unassigned(synced, tmp_path):
    text = synced.read_text(encoding="utf-8").replace('  { category = "其他费用", amount = 500.00 },\n', "")
    other = tmp_path / "reportgen.toml"
    other.write_text(
        text.replace("[store]", "") + f'\n[store]\npath = "{synced.parent / ".reportgen"}"\n',
        encoding="utf-8",
    )
    june = _grant(other, "2026-06")
    last = june.project.categories[-1]
    assert (last.name, last.assigned, last.budget) == ("", False, 0)
    assert last.spent == (Decimal("22.5") + Decimal("15.25")) * Decimal("7.2")


def test_claims_issued_before_are_listed_with_their_amounts(synced, tmp_path):
    config = load_config(synced, env={})
    amounts = {}
    for i, month in enumerate(("2026-04", "2026-05")):
        write_packet(
            config,
            parse_period(month, config.tz),
            tmp_path / month,
            project="omega",
            unsigned=True,
            now=lambda i=i: JULY_2.timestamp() - 3600 + i,
        )
        amounts[month] = _grant(synced, month).spent
    claims = _grant(synced, "2026-06").claims
    assert [(c.first, c.last, c.amount, c.currency) for c in claims] == [
        (date(2026, 4, 1), date(2026, 4, 30), amounts["2026-04"], "CNY"),
        (date(2026, 5, 1), date(2026, 5, 31), amounts["2026-05"], "CNY"),
    ]
    assert all(c.number for c in claims) and claims[0].number != claims[1].number
    assert _grant(synced, "2026-04").claims == ()  # nothing before April


def test_over_budget_project(synced):
    tight = _grant(synced, "2026-06", "tight")
    p = tight.project
    assert p.over_budget and p.overrun == p.spent - 50 and p.run_out is not None and p.run_out < p.end
    assert tight.kind == "final"


def _pdf_text(path: Path, period: str | None, project: str, lang: str, out: Path) -> str:
    config = load_config(path, env={})
    chosen = None if period is None else parse_period(period, config.tz)
    with open_period(config, chosen, Scope.of(project=project), generated_at=JULY_2) as view:
        (pdf,) = export_report(view.report, select_exporters("pdf"), out, lang=lang, template="grant")
    return "".join(page.extract_text() for page in PdfReader(pdf).pages)


def test_the_pdf_is_titled_by_its_period_and_prints_categories_claims_and_run_out(synced, tmp_path):
    config = load_config(synced, env={})
    write_packet(
        config, parse_period("2026-04", config.tz), tmp_path / "p", project="omega", unsigned=True,
        now=lambda: JULY_2.timestamp() - 60,
    )  # fmt: skip
    june = _grant(synced, "2026-06")
    zh = _pdf_text(synced, "2026-06", "omega", "zh", tmp_path / "zh")
    assert "科研经费 API 使用月度报告" in zh and "结题报告" not in zh
    assert "2026年6月1日至6月30日" in zh and "from" not in zh
    for c in june.project.categories:
        assert c.name in zh and f"{c.spent:,.2f}" in zh
    assert "执行率" in zh and "结余" in zh and "单位公章" in zh and "财务负责人" in zh
    assert june.claims[0].number in zh and "本项目已开具的报销" in zh
    assert june.project.run_out is not None
    assert f"{june.project.run_out.year}年{june.project.run_out.month}月{june.project.run_out.day}日" in zh
    claimed = sum((c.amount for c in june.claims if c.amount is not None), Decimal(0))
    line = f"已报销 CNY {claimed:,.2f} + 本期 CNY 756.00 = CNY {claimed + 756:,.2f}；自项目开始累计支出 CNY 2,237.40。"
    assert line in zh.replace("\n", "")
    final = _pdf_text(synced, None, "omega", "zh", tmp_path / "final").replace("\n", "")
    assert "结题报告" in final and f"CNY {claimed:,.2f} 已开具报销（见上表）" in final  # inside its period
    en = _pdf_text(synced, "2026-06", "omega", "en", tmp_path / "en")
    assert "Grant Monthly Report" in en and "Budget by category (CNY)" in en
    box = "".join(zh.split("预算执行情况")[0].split())  # the claim box: its 预算科目 names the categories
    assert "测试化验加工费CNY216.00；数据采集费CNY432.00；其他费用CNY108.00" in box
    tight = _pdf_text(synced, "2026-06", "tight", "zh", tmp_path / "tight")
    inside = tight.split("预算执行情况")[0]  # the warning is inside the claim box, before the budget table
    assert "超出预算" in inside and "超支 CNY 4.00" in inside and "结题报告" in tight


def test_the_workbook_opens_on_the_charged_figures(synced, tmp_path):
    config = load_config(synced, env={})
    with open_period(
        config, parse_period("2026-06", config.tz), Scope.of(project="omega"), generated_at=JULY_2
    ) as view:
        grant = view.report.grant
        (xlsx,) = export_report(view.report, select_exporters("xlsx"), tmp_path, lang="zh", template="grant")
    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames[0] == "经费" and wb.active.title == "经费"
    rows = [[c for c in row if c is not None] for row in wb["经费"].iter_rows(values_only=True)]
    cells = [c for row in rows for c in row]
    assert "科研经费 API 使用月度报告" in cells and "预算执行情况（CNY）" in cells
    for c in grant.project.categories:
        assert [c.name, float(c.budget), float(c.period_spent), float(c.spent)] == [
            pytest.approx(v) if isinstance(v, float) else v
            for v in next(r for r in rows if r and r[0] == c.name)[:4]
        ]
    assert rows[-1][-1] == pytest.approx(float(grant.spent))  # the claim's figure closes the sheet
    summary = [c for row in wb["汇总"].iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert any(c.startswith("非报销金额") for c in summary)


def test_closed_months_are_read_as_closed_in_a_later_closed_month(tmp_path):
    """June closed after a late April row arrived: June's cumulative takes April as April was closed."""
    from reportgen.app.closing import close_period

    late = _row(date(2026, 4, 15), "key-crawl", Decimal(100), "deepseek-v3")
    late["request_id"] = "late-april"
    clock = JULY_2.timestamp()
    path = tmp_path / "reportgen.toml"

    gw = FakeGateway(quarter_rows(), access_token=TOKEN, user_id=42, rate_limit=None).start()

    def sync(period: str) -> None:
        config = load_config(path, env={"REPORTGEN_ACCESS_TOKEN": TOKEN})
        run_sync(
            config,
            parse_period(period, config.tz),
            refetch=True,
            client_factory=lambda g, on_request=None: GatewayClient(
                g, sleep=lambda s: None, on_request=on_request
            ),
            now=lambda: clock,
        )

    path.write_text(f'[gateway]\nbase_url = "{gw.url}"\nuser_id = 42\n' + PROJECTS, encoding="utf-8")
    try:
        sync("2026-Q2")
        config = load_config(path, env={})
        close_period(config, parse_period("2026-04", config.tz), now=lambda: clock)
        april = _grant(path, "2026-04")
        gw.insert_rows([late])
        sync("2026-04")  # a late row: April's close is amended, not changed
        for month in ("2026-05", "2026-06"):
            close_period(config, parse_period(month, config.tz), now=lambda: clock)
    finally:
        gw.close()
    months = [april, _grant(path, "2026-05"), _grant(path, "2026-06")]
    assert _grant(path, "2026-04").project.period_spent == april.project.period_spent  # April as closed
    june = months[-1].project
    assert june.spent == sum((g.project.period_spent for g in months), Decimal(0))
    crawl = next(c for c in june.categories if c.name == "数据采集费")
    assert crawl.spent == Decimal(182) * Decimal("7.2")  # without the late $100 in April


def test_summary_json_gives_each_category(synced):
    from reportgen.app.summary import project_json

    june = _grant(synced, "2026-06").project
    data = project_json(june)
    assert [c["category"] for c in data["categories"]] == ["测试化验加工费", "数据采集费", "其他费用"]
    assert data["categories"][1]["spent"] == f"{Decimal(182) * Decimal('7.2'):.6f}"
    assert data["run_out_after_end"] is False and data["unsynced"] == []
