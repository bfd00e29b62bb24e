"""Gateway flavours as objects: the registry, detection, and a new flavour added through the hook."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
import requests

from reportgen import flavors, plugins
from reportgen.app.bridge import run_bridge
from reportgen.app.sync import run_sync
from reportgen.config import GatewayConfig, Secret
from reportgen.core.periods import parse_period
from reportgen.errors import ConfigError, PluginError
from reportgen.gateway import GatewayClient
from reportgen.sources import DatabaseSource
from reportgen.testing.fakegateway import PROFILES, FakeGateway, Profile
from reportgen.testing.fakegateway.profiles import other_as_object
from reportgen.testing.fakegateway.synthetic import CREDITS, expected_totals
from tests.conftest import TOKEN, fast_client, make_config
from tests.test_sync import assert_matches_gateway

BUILTIN = ["new-api", "crazyrouter", "one-api"]


def test_builtins_register_through_the_hook(fresh_plugins):  # noqa: F811
    found = flavors.registered()
    assert list(found) == BUILTIN
    assert {f.plugin for f in found.values()} == {"reportgen"}
    assert "reportgen.flavors.builtin" in [plugins.pm.get_name(p) for p in plugins.pm.get_plugins()]


@pytest.mark.parametrize("name", list(PROFILES))
def test_each_fake_profile_is_told_as_its_flavour(name):
    profile = PROFILES[name]
    with FakeGateway(rows=[_row()], flavor=name, access_token=TOKEN, rate_limit=None) as gw:
        cfg = GatewayConfig(base_url=gw.url, user_id=42, access_token=Secret(TOKEN))
        with GatewayClient(cfg, sleep=lambda s: None) as told_by_status, GatewayClient(cfg) as told_by_row:
            told_by_status.status()
            assert told_by_status.flavor == profile.flavor
            list(told_by_row.iter_log_pages(0, 2**31))  # the first row decides, no status read
            assert told_by_row.flavor == profile.flavor
            assert [r.path for r in gw.requests].count("/api/status") == 1


def test_a_misspelt_flavour_is_one_line_listing_the_known_names():
    for name, setting in (("default", "gateway.flavor"), ("lab", "gateways.lab.flavor")):
        with pytest.raises(ConfigError) as info:
            GatewayClient(GatewayConfig(base_url="http://127.0.0.1:9", flavor="newapi", name=name))
        message = str(info.value)
        assert message == f"{setting} must be one of auto, new-api, crazyrouter, one-api, not 'newapi'"


def test_rate_limit_and_page_size_default_to_the_flavour():
    def client(**kw: Any) -> GatewayClient:
        return GatewayClient(GatewayConfig(base_url="http://127.0.0.1:9", **kw))

    with (
        client(flavor="one-api") as one,
        client() as auto,
        client(flavor="one-api", window_seconds=60) as own,
    ):
        assert (one.limiter.limit, one.limiter.window) == (480, 180)
        assert (auto.limiter.limit, auto.limiter.window) == (180, 180)  # the strictest until told
        assert (own.limiter.limit, own.limiter.window) == (480, 60)
    assert flavors.page_sizes(flavors.named("one-api")) == (10, 10)
    assert flavors.page_sizes(None) == (100, 10)


def test_a_flavour_without_a_database_is_refused_for_a_database_source(tmp_path):
    dsn = f"sqlite:///{tmp_path / 'gateway.db'}"
    sqlite3.connect(tmp_path / "gateway.db").close()
    with pytest.raises(ConfigError, match="crazyrouter' has no database to read"):
        DatabaseSource(GatewayConfig(source="database", dsn=dsn, user_id=1, flavor="crazyrouter"))


def test_two_flavours_with_one_name_name_both_plugins(fresh_plugins):  # noqa: F811
    fresh_plugins(
        "rg_dup",
        """
        from reportgen.flavors.builtin import NEW_API
        from reportgen.hookspecs import hookimpl

        @hookimpl
        def register_flavors(register):
            register(NEW_API)
        """,
    )
    with pytest.raises(PluginError, match="'new-api' is registered by both 'reportgen' and 'rg_dup'"):
        flavors.registered()


def test_a_plugin_raising_in_register_flavors_costs_one_line(fresh_plugins, capsys):  # noqa: F811
    fresh_plugins(
        "rg_bad",
        """
        from reportgen.hookspecs import hookimpl

        @hookimpl
        def register_flavors(register):
            raise RuntimeError("no flavour today")
        """,
    )
    assert list(flavors.registered()) == BUILTIN
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "rg_bad" in err[0] and "no flavour today" in err[0]


# ---------------------------------------------------------------------------- a new flavour
#: A gateway the built-ins know nothing of: it says so in /api/status, marks every row with
#: ``acme_cost``, pages zero-based in bare lists of a fixed 25, allows 90 requests a minute
#: and words its credits its own way.
ACME = """
import re
from decimal import ROUND_HALF_UP, Decimal

from reportgen.hookspecs import Flavor, Paging, hookimpl

KINDS = {"voucher": "redemption", "card": "topup", "adjust": "admin", "gift": "system"}
CREDIT = re.compile(r"^ACME (voucher|card|adjust|gift) ([+-][0-9]+[.][0-9]+) USD$")


def parse_credit(row, quota_per_unit):
    found = CREDIT.match(row.content)
    if found is None:
        return None
    quota = (Decimal(found.group(2)) * quota_per_unit).quantize(Decimal(1), ROUND_HALF_UP)
    return KINDS[found.group(1)], int(quota)


@hookimpl
def register_flavors(register):
    register(
        Flavor(
            name="acme-router",
            description="Acme Router",
            status_score=lambda data: 3 * (data.get("system_name") == "Acme Router"),
            row_score=lambda row: 3 * ("acme_cost" in row),
            parse_credit=parse_credit,
            paging=Paging(first=0, size=25, fixed=True, wrapped=False),
            requests_per_window=90,
            window_seconds=60,
        )
    )
"""
_ACME_WORDS = {1: "card", 3: "adjust", 4: "gift"}


def _acme_row(row: dict[str, Any], seq: int, quota_per_unit: float) -> dict[str, Any]:
    """Crazyrouter-like rows, marked with acme_cost."""
    out = other_as_object(row, seq, quota_per_unit)
    out["acme_cost"] = out.pop("cost_usd")
    return out


#: The fake side of the new flavour: its /api/status and row shape (paging is the Flavor's).
ACME_PROFILE = Profile(
    "acme-router",
    status={"version": "acme-2.1", "system_name": "Acme Router", "quota_per_unit": 500000},
    user_header=False,
    render=_acme_row,
    row_id=lambda seq, k: seq + 1,
)


def _acme_rows(team) -> list[dict[str, Any]]:
    """The team month with its credit rows worded the Acme way."""
    by_text = {text: (kind, quota) for _, kind, text, quota in CREDITS}
    rows = []
    for row in team.rows:
        if row["content"] in by_text and row["type"] in _ACME_WORDS:
            kind, quota = by_text[row["content"]]
            word = "voucher" if "兑换码" in row["content"] else _ACME_WORDS[kind]
            row = {**row, "content": f"ACME {word} +{quota / 500000:.6f} USD"}
        rows.append(row)
    return rows


def test_a_new_flavour_registered_through_the_hook_syncs_from_the_fake_serving_it(
    fresh_plugins,  # noqa: F811
    tmp_path,
    team,
):
    fresh_plugins("rg_acme", ACME)
    assert list(flavors.registered()) == [*BUILTIN, "acme-router"]
    acme = flavors.named("acme-router")
    assert acme is not None and acme.plugin == "rg_acme"
    rows = _acme_rows(team)
    assert sum(1 for r in rows if r["content"].startswith("ACME ")) == len(CREDITS)
    with FakeGateway(
        rows, team.tokens, flavor=ACME_PROFILE, access_token=TOKEN, user_id=team.user_id,
        rate_limit=None, wallet=team.wallet,
    ) as gw:  # fmt: skip
        config = make_config(tmp_path, gw.url, team)  # flavor = "auto": told from what it answers
        tz = config.tz
        for period, at in (
            (parse_period("2026-03", tz), team.start_ts),  # the opening balance
            (parse_period("2026-04", tz), team.end_ts + 3600),  # the month and the closing one
            (None, team.end_ts + 86400),  # continues: the logs after the closing snapshot
        ):
            gw.clock = lambda at=at: at
            result = run_sync(config, period, client_factory=fast_client, now=lambda at=at: at)
            assert result.flavor == "acme-router"
        pages = [r.query.get("p") for r in gw.requests if r.path == "/api/log/self"]
        bridge = run_bridge(config, parse_period("2026-04", tz))
        closing = gw.balance_at(team.end_ts)
    assert pages[0] == "0"  # the client starts at p=0, the first page of a zero-based gateway
    # every row once, exact totals
    assert_matches_gateway(config, team)
    want = expected_totals(team.rows, team.start_ts, team.end_ts)
    # the wallet bridge read the credit rows with the flavour's own parser
    (s,) = bridge.sources
    assert dict(s.flow.credits) == {
        "topup": 25_000_000,
        "redemption": 100_000_000,
        "admin": 12_750_000,
        "system": 1_000_000,
        "subscription": 0,
    }
    assert not s.flow.unreadable and s.flow.refunded == want.refunded
    assert s.closing.quota == closing and s.residual == 0


def test_a_registered_flavour_without_a_profile_is_served_with_its_own_paging(
    fresh_plugins,  # noqa: F811
    tmp_path,
    team,
):
    fresh_plugins("rg_acme", ACME)
    with FakeGateway(
        team.rows,
        team.tokens,
        flavor="acme-router",
        access_token=TOKEN,
        user_id=team.user_id,
        rate_limit=None,
    ) as gw:
        config = make_config(tmp_path, gw.url, team, flavor="acme-router")
        result = run_sync(config, parse_period("2026-04", config.tz), client_factory=fast_client)
        page = requests.get(
            gw.url + "/api/log/self",
            params={"p": 0, "page_size": 100},
            headers={"Authorization": f"Bearer {TOKEN}", "New-Api-User": str(team.user_id)},
            timeout=10,
        ).json()["data"]
    assert result.flavor == "acme-router"
    assert isinstance(page, list) and len(page) == 25  # a bare list of the flavour's fixed 25
    assert_matches_gateway(config, team)


def _row() -> dict[str, Any]:
    return {
        "created_at": 1_775_100_000,
        "type": 2,
        "token_name": "k",
        "token_id": 1,
        "model_name": "m",
        "quota": 10,
        "request_id": "r1",
        "other": {"model_ratio": 1, "client": "curl"},
    }
