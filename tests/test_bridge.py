"""The wallet bridge: balances read at sync time, credits read from the rows' text, the residual."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal

import openpyxl
import pytest
from pypdf import PdfReader

from reportgen.app.bridge import run_bridge
from reportgen.app.sync import run_sync
from reportgen.core.periods import parse_period, resolve_period
from reportgen.core.wallet import CreditRow
from reportgen.flavors.credits import credit_amount
from reportgen.templating import wording
from reportgen.testing.fakegateway import FakeGateway
from reportgen.testing.fakegateway.synthetic import expected_totals
from tests.conftest import TOKEN, fast_client, make_config
from tests.test_one_truth import runner_for

BRIDGE = wording("en").group("bridge_")

QPU = Decimal(500000)


@pytest.mark.parametrize(
    ("kind", "text", "quota"),
    [
        (1, "通过兑换码充值 $200.00 额度", 100_000_000),
        (1, "通过兑换码充值 ＄10.000000 额度，兑换码ID 12", 5_000_000),
        (1, "使用在线充值成功，充值金额: ＄50.000000 额度，支付金额：365.000000", 25_000_000),
        (3, "管理员将用户额度从 ＄150.000000 额度修改为 ＄175.500000 额度", 12_750_000),
        (3, "管理员将用户额度从 ＄20.000000 额度修改为 ＄5.000000 额度", -7_500_000),
        (3, "管理员将用户额度从 1000 点额度修改为 400 点额度", -600),
        (4, "邀请用户赠送 ＄2.000000 额度", 1_000_000),
        (4, "新用户注册赠送 5000 点额度", 5000),
        (1, "something we cannot read", None),
    ],
)
def test_credit_amounts_are_read_from_the_text(kind, text, quota):
    assert credit_amount(CreditRow("default", 0, kind, 0, text), QPU) == quota


def _gateway(team):
    return FakeGateway(
        team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None, wallet=team.wallet
    )


def _sync_at(config, gw, period, at):
    gw.clock = lambda: at
    return run_sync(config, period, client_factory=fast_client, now=lambda: at)


def test_the_bridge_closes_to_the_quota_unit_with_snapshots_at_both_ends(tmp_path, team):
    with _gateway(team) as gw:
        config = make_config(tmp_path, gw.url, team)
        tz = config.tz
        _sync_at(
            config, gw, parse_period("2026-03", tz), team.start_ts
        )  # opening balance read at 04-01 00:00
        _sync_at(config, gw, parse_period("2026-04", tz), team.end_ts + 3600)
        _sync_at(config, gw, None, team.end_ts + 86400)  # continues: the logs after the closing snapshot
        bridge = run_bridge(config, parse_period("2026-04", tz))
        opening, closing = gw.balance_at(team.start_ts), gw.balance_at(team.end_ts)
    (s,) = bridge.sources
    totals = expected_totals(team.rows, team.start_ts, team.end_ts)
    assert s.opening.quota == opening and s.opening.rolled == 0
    assert s.closing.quota == closing and s.closing.snapshot_at == team.end_ts + 3600
    assert dict(s.flow.credits) == {
        "topup": 25_000_000,
        "redemption": 100_000_000,
        "admin": 12_750_000,
        "system": 1_000_000,
        "subscription": 0,
    }
    assert s.flow.consumed_wallet == totals.consumed - totals.subscription_quota
    assert s.flow.consumed_subscription == totals.subscription_quota > 0
    assert s.flow.refunded == totals.refunded > 0
    assert s.residual == 0 and s.closes and not s.explanations

    run = runner_for(config.path)
    result = run("bridge", "--period", "2026-04", "--json", "--strict")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["residual"] == 0 and data["sources"][0]["closing"]["quota"] == closing
    text = run("bridge", "--period", "2026-04").stdout
    assert "closes to the quota unit" in text and f"{closing:,}" in text


def test_a_missing_snapshot_is_said_and_a_snapshot_across_unsynced_logs_gives_the_exact_residual(
    tmp_path, team
):
    before = team.start_ts - 5 * 86400  # a snapshot read on 03-27, the days up to 04-01 never synced
    with _gateway(team) as gw:
        config = make_config(tmp_path, gw.url, team)
        tz = config.tz
        _sync_at(config, gw, parse_period("2026-04", tz), team.end_ts + 3600)
        _sync_at(config, gw, resolve_period(tz, None, "2026-05-01", "2026-05-01"), team.end_ts + 2 * 86400)
        missing = run_bridge(config, parse_period("2026-04", tz))
        _sync_at(config, gw, parse_period("2026-03", tz), before)
        gap = run_bridge(config, parse_period("2026-04", tz))
    (s,) = missing.sources
    assert s.opening.quota is None and s.residual is None and not s.unexplained
    assert any("opening balance" in note.text(BRIDGE) for note in s.explanations)
    (g,) = gap.sources
    # what the logs of [03-27, 04-01) moved the wallet by is exactly the residual, and is named
    unsynced = [r for r in team.rows if before <= r["created_at"] < team.start_ts]
    moved = -sum(r["quota"] for r in unsynced if r["type"] == 2) + sum(
        r["quota"] for r in unsynced if r["type"] == 6
    )
    assert g.residual == moved != 0
    assert g.residual == g.closing.quota - (g.opening.quota + g.flow.change)
    assert any("lacks the logs" in note.text(BRIDGE) for note in g.explanations) and not g.unexplained
    # a zh document words the notes in Chinese, an en one in English (the bridge's zh/en labels)
    run = runner_for(config.path)
    for lang, said, not_said in (
        ("zh", "本地存储缺少期初快照", "lacks the logs"),
        ("en", "lacks the logs", "本地"),
    ):
        out = tmp_path / lang
        done = run("report", "--period", "2026-04", "--format", "xlsx,pdf", "--lang", lang, "--out", str(out))
        assert done.exit_code == 0, done.output
        book = openpyxl.load_workbook(next(out.glob("*.xlsx")), read_only=True)
        sheet = book["余额勾稽" if lang == "zh" else "Bridge"]
        cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
        assert any(said in c for c in cells) and not any(not_said in c for c in cells)
        text = "".join(page.extract_text() for page in PdfReader(next(out.glob("*.pdf"))).pages)
        assert said in text.replace("\n", "") and not_said not in text


def test_an_unexplained_residual_is_a_finding_under_strict(tmp_path, team):
    with _gateway(team) as gw:
        config = make_config(tmp_path, gw.url, team)
        tz = config.tz
        _sync_at(config, gw, parse_period("2026-03", tz), team.start_ts)
        gw.wallet = (gw.wallet[0], [*gw.wallet[1], (team.start_ts + 86400, 4321)])  # credited, never logged
        _sync_at(config, gw, parse_period("2026-04", tz), team.end_ts + 3600)
        _sync_at(config, gw, None, team.end_ts + 86400)
    run = runner_for(config.path)
    result = run("bridge", "--period", "2026-04", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["residual"] == 4321
    strict = run("bridge", "--period", "2026-04", "--strict")
    assert strict.exit_code == 7 and "4321 quota more than its logs" in strict.output
    report = run("report", "--period", "2026-04", "--format", "csv", "--strict", "--out", str(tmp_path / "r"))
    assert report.exit_code == 7 and "wallet bridge does not close" in report.output


def test_database_top_ups_and_redemptions_reach_the_bridge(tmp_path, team):
    """The gateway's own top_ups and redemptions tables (SQLite source) beside its credit log rows."""
    from reportgen.testing.fakegateway.synthetic import CREDITS
    from tests import dbservers
    from tests.test_database_source import db_config, invoke

    gateway_db = dbservers.make_sqlite(
        tmp_path / "one-api.db", dbservers.build_dataset(team.rows, team.tokens), "newapi"
    )
    redeemed_at, topped_at = CREDITS[0][0], CREDITS[1][0]  # seconds after the month's start
    with sqlite3.connect(gateway_db) as conn:
        conn.execute(
            "CREATE TABLE top_ups (id INTEGER PRIMARY KEY, user_id INTEGER, amount INTEGER, money REAL, "
            "trade_no TEXT, create_time INTEGER, complete_time INTEGER, status TEXT)"
        )
        conn.execute(
            "CREATE TABLE redemptions (id INTEGER PRIMARY KEY, user_id INTEGER, quota INTEGER, "
            "redeemed_time INTEGER, used_user_id INTEGER)"
        )
        at = team.start_ts + topped_at
        conn.executemany(
            "INSERT INTO top_ups VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (1, 42, 50, 365.0, "T1", at - 60, at, "success"),  # the top-up its log row records
                (2, 42, 1, 7.3, "T2", at + 60, at + 90, "success"),  # USD 1 credited, no log row
                (3, 42, 9, 65.7, "T3", at + 120, at + 150, "pending"),  # never completed: not counted
                (4, 7, 5, 36.5, "T4", at, at, "success"),  # another user's
            ],
        )
        conn.execute(
            "INSERT INTO redemptions VALUES (1, 1, 100000000, ?, 42)", (team.start_ts + redeemed_at,)
        )
    path = db_config(tmp_path / "db", team, f"sqlite:///{gateway_db}")
    synced = invoke(path, "sync", "--period", "2026-04")
    assert synced.exit_code == 0, synced.output
    result = invoke(path, "bridge", "--period", "2026-04", "--json")
    assert result.exit_code == 0, result.output
    (s,) = json.loads(result.stdout)["sources"]
    assert {r["kind"]: (r["count"], r["quota"]) for r in s["records"]} == {
        "redemption": (1, 100_000_000),
        "topup": (2, 25_500_000),
    }
    assert s["credits"]["topup"] == 25_000_000 and s["credits"]["redemption"] == 100_000_000
    # the top-up without a log row is named, the redemption agrees (users has no balance here: no snapshot)
    assert {n["kind"] for n in s["notes"]} == {"records", "no_snapshot_opening", "no_snapshot_closing"}
    (note,) = [n for n in s["notes"] if n["kind"] == "records"]
    assert note == {
        "kind": "records", "credit": "topup", "count": "2", "quota": "25500000",
        "logged": "25000000", "difference": "500000",
    }  # fmt: skip
    assert any("differ from its top-up log rows (25000000 quota) by 500000" in t for t in s["explanations"])
    out = tmp_path / "zh"
    written = invoke(
        path, "report", "--period", "2026-04", "--format", "xlsx", "--lang", "zh", "--out", str(out)
    )
    assert written.exit_code == 0, written.output
    sheet = openpyxl.load_workbook(next(out.glob("*.xlsx")), read_only=True)["余额勾稽"]
    cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert any("网关的在线充值记录（2 笔，25500000 额度）" in c and "相差 500000" in c for c in cells)
