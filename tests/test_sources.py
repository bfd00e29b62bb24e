"""Several gateways and accounts in one store: rows kept per source, statements consolidated."""

from __future__ import annotations

import json
from decimal import Decimal

from click.testing import CliRunner

from reportgen.app.signing import init_key
from reportgen.cli import cli
from reportgen.fakegateway import FakeGateway
from reportgen.fakegateway.synthetic import team_month


def _config(tmp_path, main_url, legacy_url):
    init_key(tmp_path / "signing-key.pem", "Test Preparer")
    text = f"""
[gateways.main]
base_url = "{main_url}"
user_id = 42
token_env = "TOK_MAIN"

[gateways.second]
base_url = "{main_url}"
user_id = 77
token_env = "TOK_SECOND"

[gateways.legacy]
base_url = "{legacy_url}"
user_id = 9
flavor = "one-api"
token_env = "TOK_LEGACY"
requests_per_window = 100000

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
