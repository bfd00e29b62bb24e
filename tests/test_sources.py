"""Several gateways and accounts in one store: rows kept per source, statements consolidated."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import zipfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from urllib.parse import urlsplit

import openpyxl
from click.testing import CliRunner
from pypdf import PdfReader

from reportgen.app.signing import init_key
from reportgen.cli import cli
from reportgen.testing.fakegateway import FakeGateway
from reportgen.testing.fakegateway.synthetic import team_month


def _config(tmp_path, main_url, legacy_url, legacy_extra=""):
    init_key(tmp_path / "signing-key.pem", "Test Preparer")
    text = f"""
[gateways.main]
base_url = "{main_url}"
user_id = 42
token_env = "TOK_MAIN"
requests_per_window = 100000

[gateways.second]
base_url = "{main_url}"
user_id = 77
token_env = "TOK_SECOND"
requests_per_window = 100000

[gateways.legacy]
base_url = "{legacy_url}"
user_id = 9
flavor = "one-api"
token_env = "TOK_LEGACY"
requests_per_window = 100000
{legacy_extra}

[report]
timezone = "Asia/Shanghai"

[signing]
key = "signing-key.pem"

[members."张三"]
keys = ["main:key-zhangsan", "second:key-zhangsan", "legacy:key-zhangsan"]
"""
    path = tmp_path / "reportgen.toml"
    path.write_text(text, encoding="utf-8")
    return path


ENV = {
    "TOK_MAIN": "main-token-0123456789",
    "TOK_SECOND": "second-token-012345",
    "TOK_LEGACY": "legacy-token-0123",
}


def test_two_gateways_and_two_accounts_consolidate_exactly_and_the_packet_verifies(tmp_path):
    a, b, c = team_month(seed=7), team_month(seed=11), team_month(seed=23)
    with (
        FakeGateway(a.rows, a.tokens, access_token=ENV["TOK_MAIN"], user_id=42, rate_limit=None) as main,
        FakeGateway(c.rows, c.tokens, "one-api", ENV["TOK_LEGACY"], 9, rate_limit=None) as legacy,
    ):
        main.add_account(ENV["TOK_SECOND"], 77, "beta", b.rows, b.tokens)
        path = _config(tmp_path, main.url, legacy.url)
        runner = CliRunner()

        def run(*args):
            return runner.invoke(cli, ["--config", str(path), *args], env=ENV)

        synced = run("sync", "--period", "2026-04")
        assert synced.exit_code == 0, synced.output
        assert "[main]" in synced.stdout and "[legacy]" in synced.stdout and "one-api" in synced.stdout
        whole = json.loads(run("summary", "--period", "2026-04", "--json").stdout)
        parts = {
            name: json.loads(run("summary", "--period", "2026-04", "--json", "--source", name).stdout)
            for name in ("main", "second", "legacy")
        }
        for field in (
            "requests",
            "errors",
            "consumed_quota",
            "refunded_quota",
            "quota",
            "subscription_quota",
        ):
            assert whole["totals"][field] == sum(p["totals"][field] for p in parts.values()), field
        assert Decimal(whole["totals"]["cost_usd"]) == sum(
            Decimal(p["totals"]["cost_usd"]) for p in parts.values()
        )
        # one key name on three sources is three keys, each named with its source; one member holds them
        names = {k["name"] for k in whole["keys"]}
        assert {"main:key-alice", "second:key-alice", "legacy:key-alice"} <= names
        (zhang,) = [m for m in whole["members"] if m["name"] == "张三"]
        assert zhang["quota"] == sum(k["quota"] for k in whole["keys"] if k["name"].endswith(":key-zhangsan"))
        # a re-fetch of one source replaces only its rows
        assert run("sync", "--period", "2026-04", "--source", "second", "--refetch").exit_code == 0
        again = json.loads(run("summary", "--period", "2026-04", "--json").stdout)
        assert again["totals"] == whole["totals"]
        bridge = json.loads(run("bridge", "--period", "2026-04", "--json").stdout)
        assert [s["source"] for s in bridge["sources"]] == ["main", "second", "legacy"]

        packet = run("packet", "--period", "2026-04", "--out", str(tmp_path / "p"))
        assert packet.exit_code == 0, packet.output
        verified = run("verify", packet.stdout.strip())
        assert verified.exit_code == 0, verified.output
        unknown = run("summary", "--period", "2026-04", "--source", "nope")
        assert unknown.exit_code == 2 and "configured: main, second, legacy" in unknown.output


@contextlib.contextmanager
def _served(tmp_path, legacy_extra=""):
    """The three sources of the test above, served and synced for 2026-04; yields ``run`` and the data."""
    a, b, c = team_month(seed=7), team_month(seed=11), team_month(seed=23)
    with (
        FakeGateway(a.rows, a.tokens, access_token=ENV["TOK_MAIN"], user_id=42, rate_limit=None) as main,
        FakeGateway(c.rows, c.tokens, "one-api", ENV["TOK_LEGACY"], 9, rate_limit=None) as legacy,
    ):
        second = main.add_account(ENV["TOK_SECOND"], 77, "beta", b.rows, b.tokens)
        path = _config(tmp_path, main.url, legacy.url, legacy_extra)
        runner = CliRunner()

        def run(*args):
            return runner.invoke(cli, ["--config", str(path), *args], env=ENV)

        assert run("sync", "--period", "2026-04").exit_code == 0
        yield run, {"main": (main, a), "second": (second, b), "legacy": (legacy, c)}


def _focus(run, out: Path, *args: str) -> list[dict[str, str]]:
    done = run("report", "--period", "2026-04", "--format", "focus", "--out", str(out), *args)
    assert done.exit_code == 0, done.output
    (path,) = out.glob("*-focus.csv")
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_each_source_reconciles_with_its_own_account_and_bills_its_own_rows(tmp_path):
    with _served(tmp_path) as (run, served):
        whole = run("reconcile", "--period", "2026-04", "--json")
        assert whole.exit_code == 0, whole.output
        data = json.loads(whole.stdout)
        assert data["ok"] and data["unexplained"] == []
        lines = {line["key"]: line for line in data["keys"]}
        assert {"main:key-alice", "second:key-alice", "legacy:key-alice"} <= set(lines)
        for name in ("main", "second", "legacy"):  # each source's rows against its own gateway's stat
            mine = [line for key, line in lines.items() if key.startswith(f"{name}:")]
            assert all(line["gateway_stat"] == line["store_current_user"] for line in mine)
            assert all(line["status"] != "unexplained" for line in mine)
        assert data["total"]["gateway_stat"] == sum(line["gateway_stat"] for line in lines.values())
        assert data["total"]["store_consumed"] == sum(line["store_consumed"] for line in lines.values())
        summary = json.loads(run("summary", "--period", "2026-04", "--json").stdout)
        assert data["total"]["store_net"] == summary["totals"]["quota"]

        # a difference on one source is named on that source's key only
        served["legacy"][0].stat_adjust = {"key-alice": 1234}
        one = run("reconcile", "--period", "2026-04", "--json", "--source", "legacy")
        assert one.exit_code == 9
        part = json.loads(one.stdout)
        assert part["unexplained"] == ["legacy:key-alice", "(total)"]
        assert {line["key"].split(":")[0] for line in part["keys"]} == {"legacy"}
        assert "not kept for the documents" in one.stderr
        served["legacy"][0].stat_adjust = {}

        # FOCUS: every row billed to the account of its own source, its port kept; one service per source
        rows = _focus(run, tmp_path / "focus")
        accounts = {(r["x_Source"], r["BillingAccountId"], r["ServiceName"]) for r in rows}
        main_at, legacy_at = (urlsplit(served[name][0].url).netloc for name in ("main", "legacy"))
        assert accounts == {
            ("main", f"{main_at}#42", f"{main_at} LLM API (main)"),
            ("second", f"{main_at}#77", f"{main_at} LLM API (second)"),
            ("legacy", f"{legacy_at}#9", f"{legacy_at} LLM API (legacy)"),
        }
        assert all(r["ResourceId"].startswith(r["x_Source"] + ":") for r in rows)
        assert {json.loads(r["Tags"])["source"] for r in rows} == {"main", "second", "legacy"}
        totals = {name: Decimal(0) for name in served}
        for r in rows:
            totals[r["ResourceId"].split(":")[0]] += Decimal(r["EffectiveCost"])
        for name in served:
            part = json.loads(run("summary", "--period", "2026-04", "--json", "--source", name).stdout)
            assert totals[name].quantize(Decimal("0.000001")) == Decimal(part["totals"]["cost_usd"])

        refused = run("close", "2026-04", "--source", "main")
        assert refused.exit_code == 2
        assert "closed for every source together (main, second, legacy)" in refused.output
        assert len(refused.output.strip().splitlines()) == 1


def test_a_closed_period_of_several_sources_takes_a_late_row_on_one_as_an_amendment(tmp_path):
    with _served(tmp_path) as (run, served):
        closed = run("close", "2026-04")
        assert closed.exit_code == 0, closed.output
        frozen = json.loads(run("summary", "--period", "2026-04", "--json").stdout)
        frozen_legacy = json.loads(
            run("summary", "--period", "2026-04", "--json", "--source", "legacy").stdout
        )
        # the closed period's bridge, frozen, of the one source asked for
        legacy_bridge = json.loads(
            run("bridge", "--period", "2026-04", "--json", "--source", "legacy").stdout
        )
        assert [s["source"] for s in legacy_bridge["sources"]] == ["legacy"]
        first = run("packet", "--period", "2026-04", "--out", str(tmp_path / "p1"))
        assert first.exit_code == 0, first.output

        gateway, team = served["legacy"]
        base = next(
            r for r in team.rows if r["type"] == 2 and r["token_name"] == "key-alice" and r["quota"] > 0
        )
        late = {
            **base,
            "other": dict(base["other"]),
            "created_at": team.start_ts + 9 * 86400,
            "quota": 424_242,
        }
        gateway.insert_rows([late])
        synced = run("sync", "--period", "2026-04", "--source", "legacy", "--refetch")
        assert synced.exit_code == 0, synced.output
        listed = run("amendments", "--period", "2026-04")
        assert "+1 / -0 rows" in listed.output and "pending" in listed.output

        again = json.loads(run("summary", "--period", "2026-04", "--json").stdout)
        fix = again.pop("corrections")
        assert frozen.pop("corrections") is None
        assert again == frozen  # the frozen figures do not move
        assert (fix["rows_added"], fix["quota"]) == (1, 424_242)
        legacy = json.loads(run("summary", "--period", "2026-04", "--json", "--source", "legacy").stdout)
        assert legacy["totals"] == frozen_legacy["totals"] and legacy["corrections"]["quota"] == 424_242
        main = json.loads(run("summary", "--period", "2026-04", "--json", "--source", "main").stdout)
        assert main["corrections"] is None  # the late row is on legacy only

        rows = _focus(run, tmp_path / "focus")
        (added,) = [r for r in rows if r["ChargeClass"] == "Correction"]
        legacy_at = urlsplit(served["legacy"][0].url).netloc
        assert added["ResourceId"] == "legacy:key-alice" and added["BillingAccountId"] == f"{legacy_at}#9"

        second = run("packet", "--period", "2026-04", "--out", str(tmp_path / "p2"))
        assert second.exit_code == 0, second.output
        for packet in (first.stdout.strip(), second.stdout.strip()):
            verified = run("verify", packet)
            assert verified.exit_code == 0, verified.output
        with zipfile.ZipFile(first.stdout.strip()) as one, zipfile.ZipFile(second.stdout.strip()) as two:
            assert one.read("rows.jsonl") == two.read("rows.jsonl")  # the closed version, unchanged

        reclosed = run("close", "2026-04", "--reopen")
        assert reclosed.exit_code == 0 and "1 amendment(s) applied" in reclosed.output
        now = json.loads(run("summary", "--period", "2026-04", "--json").stdout)
        assert now["totals"]["quota"] == frozen["totals"]["quota"] + 424_242


MICRO = Decimal("0.000001")


def test_each_source_converts_at_its_own_rate_and_the_statement_says_which(tmp_path):
    """main and second at their gateway's 7.3, legacy at its own configured 7.10: every CNY figure is
    the exact sum of each source's USD × its rate, and the documents name each rate."""
    legacy_rate = 'exchange_rate = 7.10\nexchange_rate_source = "Legacy contract rate"'
    with _served(tmp_path, legacy_rate) as (run, _):
        whole = json.loads(run("summary", "--period", "2026-04", "--json").stdout)
        rates = {r["name"]: r for r in whole["exchange_rate"]["per_source"]}
        assert {n: r["cny_per_usd"] for n, r in rates.items()} == {
            "legacy": "7.1",
            "main": "7.3",
            "second": "7.3",
        }
        assert rates["legacy"]["source"] == "Legacy contract rate"
        assert whole["exchange_rate"]["cny_per_usd"] is None  # no one rate converts the consolidated figures
        parts = {
            n: json.loads(run("summary", "--period", "2026-04", "--json", "--source", n).stdout)
            for n in rates
        }
        exact = sum(
            Decimal(p["totals"]["cost_usd"]) * Decimal(rates[n]["cny_per_usd"]) for n, p in parts.items()
        )
        assert Decimal(whole["totals"]["cost_cny"]) == exact.quantize(MICRO, ROUND_HALF_UP)
        for n, p in parts.items():  # one source: its own rate, as a single-rate report
            assert (
                p["exchange_rate"]["cny_per_usd"] == rates[n]["cny_per_usd"]
                and "per_source" not in p["exchange_rate"]
            )
        keys = {k["name"]: k for k in whole["keys"]}
        (zhang,) = [m for m in whole["members"] if m["name"] == "张三"]
        mine = sum(
            Decimal(keys[k]["cost_usd"]) * Decimal(rates[k.split(":")[0]]["cny_per_usd"])
            for k in zhang["keys"]
        )
        assert Decimal(zhang["cost_cny"]) == mine.quantize(MICRO, ROUND_HALF_UP)

        out = tmp_path / "docs"
        done = run(
            "report",
            "--period",
            "2026-04",
            "--format",
            "pdf,xlsx,csv-summary",
            "--lang",
            "en",
            "--out",
            str(out),
        )
        assert done.exit_code == 0, done.output
        text = "".join(page.extract_text() for page in PdfReader(next(out.glob("*.pdf"))).pages)
        flat = " ".join(text.split())
        assert (
            "Exchange rate for source legacy: 1 USD = 7.1000 CNY. Source: Legacy contract rate. "
            "Rate date: not stated." in flat
        )
        assert "Exchange rate for source main: 1 USD = 7.3000 CNY" in flat
        block = flat.split("Grand total (USD) ", 1)[1].split("Exchange rate for source", 1)[0]
        products = Decimal(0)
        for name, rate in (("legacy", "7.1000"), ("main", "7.3000"), ("second", "7.3000")):
            usd, _, _, _, product = block.split(f"CNY, source {name}: ", 1)[1].split()[:5]
            usd_printed = Decimal(usd.replace(",", ""))
            assert usd_printed == Decimal(parts[name]["totals"]["cost_usd"]).quantize(
                Decimal("0.01"), ROUND_HALF_UP
            )
            # printed USD × printed rate, to the cent, is the line's figure
            assert Decimal(product.replace(",", "")) == (usd_printed * Decimal(rate)).quantize(
                Decimal("0.01"), ROUND_HALF_UP
            )
            products += Decimal(product.replace(",", ""))
        grand = Decimal(block.split("Grand total (CNY) ", 1)[1].split()[0].replace(",", ""))
        assert grand == exact.quantize(Decimal("0.01"), ROUND_HALF_UP)
        difference = (
            block.split("Conversion difference (CNY) ", 1)[1].split()[0] if "difference" in block else "0"
        )
        assert products + Decimal(difference) == grand  # the lines add up, a conversion difference if not
        book = openpyxl.load_workbook(next(out.glob("*.xlsx")), read_only=True)
        cells = [
            str(c) for ws in book.worksheets[:1] for row in ws.iter_rows(values_only=True) for c in row if c
        ]
        assert any(c.startswith("legacy: 1 USD = 7.1000 CNY (Legacy contract rate") for c in cells)

        packet = run("packet", "--period", "2026-04", "--out", str(tmp_path / "p"))
        assert packet.exit_code == 0, packet.output
        with zipfile.ZipFile(packet.stdout.strip()) as zf:
            manifest = json.loads(zf.read("manifest.json"))
        assert [r["name"] for r in manifest["source"]["exchange_rate"]["per_source"]] == [
            "legacy",
            "main",
            "second",
        ]
        verified = run("verify", packet.stdout.strip())
        assert verified.exit_code == 0, verified.output

        # closing freezes each source's rate: a later change of the configured rate does not apply
        assert run("close", "2026-04").exit_code == 0
        closed = json.loads(run("summary", "--period", "2026-04", "--json").stdout)
        assert closed["totals"]["cost_cny"] == whole["totals"]["cost_cny"]
        assert closed["exchange_rate"]["per_source"][0]["cny_per_usd"] == "7.1"
        config = tmp_path / "reportgen.toml"
        config.write_text(config.read_text(encoding="utf-8").replace("7.10", "7.20"), encoding="utf-8")
        later = run("summary", "--period", "2026-04", "--json")
        assert json.loads(later.stdout)["totals"]["cost_cny"] == whole["totals"]["cost_cny"]  # as closed
        assert "The config changed since the close (exchange rate)" in later.stderr
        reclosed = run("close", "2026-04", "--reopen")
        assert reclosed.exit_code == 0 and "revision 2" in reclosed.output, reclosed.output
        again = json.loads(run("summary", "--period", "2026-04", "--json").stdout)
        assert again["exchange_rate"]["per_source"][0]["cny_per_usd"] == "7.2"
        live = json.loads(run("summary", "--from", "2026-04-20", "--to", "2026-05-05", "--json").stdout)
        assert {r["name"]: r["cny_per_usd"] for r in live["exchange_rate"]["per_source"]}["legacy"] == "7.2"
