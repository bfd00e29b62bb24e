"""A CNY budget over sources that convert at different rates (issue 22's bug): each source's
charged spend converts at its own rate, with ``[report] exchange_rate`` set as the README advises."""

from __future__ import annotations

import json
from decimal import Decimal

from click.testing import CliRunner

from reportgen.cli import cli
from reportgen.testing.fakegateway import FakeGateway
from reportgen.testing.fakegateway.synthetic import team_month
from tests.test_sources import ENV, _config

PROJECT = """
[projects.zh]
title = "Zhang's work (CNY)"
budget = 100000
budget_currency = "CNY"
start = 2026-04-01
end = 2026-04-30
charges = [{ member = "张三" }]
"""


def test_a_cny_budget_converts_each_source_at_its_own_rate(tmp_path):
    a, c = team_month(seed=7), team_month(seed=23)
    with (
        FakeGateway(a.rows, a.tokens, access_token=ENV["TOK_MAIN"], user_id=42, rate_limit=None) as main,
        FakeGateway(c.rows, c.tokens, "one-api", ENV["TOK_LEGACY"], 9, rate_limit=None) as legacy,
    ):
        main.add_account(ENV["TOK_SECOND"], 77, "beta", a.rows[:50], a.tokens)
        path = _config(tmp_path, main.url, legacy.url, "exchange_rate = 7.10")
        text = path.read_text(encoding="utf-8")
        text = text.replace('timezone = "Asia/Shanghai"', 'timezone = "Asia/Shanghai"\nexchange_rate = 7.2')
        path.write_text(text + PROJECT, encoding="utf-8")
        runner = CliRunner()

        def run(*args):
            result = runner.invoke(cli, ["--config", str(path), *args], env=ENV)
            assert result.exit_code == 0, result.output
            return result

        run("sync", "--period", "2026-04")
        whole = json.loads(run("summary", "--period", "2026-04", "--json").stdout)
        rates = {r["name"]: Decimal(r["cny_per_usd"]) for r in whole["exchange_rate"]["per_source"]}
        assert rates == {"legacy": Decimal("7.10"), "main": Decimal("7.2"), "second": Decimal("7.2")}
        keys = {k["name"]: Decimal(k["cost_usd"]) for k in whole["keys"]}
        (zhang,) = [m for m in whole["members"] if m["name"] == "张三"]
        want = sum(keys[k] * rates[k.split(":")[0]] for k in zhang["keys"])
        (line,) = whole["projects"]
        assert line["currency"] == "CNY"
        assert abs(Decimal(line["period_spent"]) - want) < Decimal("0.000001")
        run(
            "report",
            "--period",
            "2026-04",
            "--project",
            "zh",
            "--format",
            "pdf",
            "--out",
            str(tmp_path / "g"),
        )
