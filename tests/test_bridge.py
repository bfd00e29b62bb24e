"""The wallet bridge: balances read at sync time, credits read from the rows' text, the residual."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from reportgen.app.bridge import bridge_with_sync, run_bridge
from reportgen.app.monthend import run_month_end
from reportgen.app.sync import run_sync
from reportgen.core.periods import Period, parse_period
from reportgen.core.wallet import Bridge, BridgeLine, CreditRow, End, Flow, SourceBridge, printed_bridge
from reportgen.demo import run_demo
from reportgen.flavors.credits import credit_amount
from reportgen.templating import wording
from reportgen.testing.fakegateway import FakeGateway
from reportgen.testing.fakegateway.synthetic import expected_totals
from tests.conftest import TOKEN, fast_client, make_config
from tests.test_one_truth import late_row, quarter, runner_for, served  # noqa: F401

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
    # one sign per figure, and the USD column foots: 360.93 by its lines, 360.92 printed
    assert "Consumption billed to the wallet" in text and "− Consumption" not in text
    assert "Rounding difference" in text and "-0.01" in text


def test_a_balance_read_far_after_the_period_is_rolled_or_the_end_is_unknown_and_the_gap_named(
    tmp_path, team
):
    """A store synced once, months later: the late balance is never printed as the month's
    closing; with the logs since stored but for two hours, both ends are unknown and the two
    hours are named; ``bridge --sync`` fetches them and the late read, rolled back through every
    stored row, tells both ends (said to be one read)."""
    late = team.end_ts + 200 * 86400  # 2026-11-17
    april = parse_period("2026-04", ZoneInfo("Asia/Shanghai"))
    with _gateway(team) as gw:
        config = make_config(tmp_path, gw.url, team)
        _sync_at(config, gw, april, late)  # April's rows and the balance of November
        once = run_bridge(config, april)
        since = Period("since", april.end, datetime.fromtimestamp(late - 7200, april.tz))
        _sync_at(config, gw, since, late + 60)  # every log since, but for the two hours before the read
        gap = run_bridge(config, april)
        run = runner_for(config.path)
        strict = run("bridge", "--period", "2026-04", "--strict")
        fetched = bridge_with_sync(config, april, client_factory=fast_client, now=lambda: late + 3600)
        opening, closing = gw.balance_at(team.start_ts), gw.balance_at(team.end_ts)
    (s,) = once.sources
    assert s.opening.quota is None and s.closing.quota is None and s.residual is None
    assert s.closing.snapshot_quota == gw.balance_at(late) and s.closing.gaps == ((team.end_ts, late),)
    (g,) = gap.sources
    assert (g.opening.quota, g.closing.quota) == (None, None) and not g.unexplained
    assert g.closing.gaps == ((late - 7200, late),) and g.opening.gaps == ((late - 7200, late),)
    texts = [note.text(BRIDGE) for note in g.explanations]
    assert any(
        "opening and closing balances are not known" in t and "2026-11-16 22:00:00 – 2026-11-17 00:00:00" in t
        for t in texts
    )
    assert strict.exit_code == 12 and "opening and closing balance not known" in strict.output
    (f,) = fetched.bridge.sources
    assert [r.target for r in fetched.synced] == [(late - 7200, late - 1)]
    assert (f.opening.quota, f.closing.quota, f.residual) == (opening, closing, 0)
    assert f.one_read and any("one balance read" in n.text(BRIDGE) for n in f.explanations)
    assert f.closing.snapshot_at == late and f.closing.rolled == closing - gw.balance_at(late)


def test_an_unknown_end_is_worded_in_the_documents_language(tmp_path, team):
    with _gateway(team) as gw:
        config = make_config(tmp_path, gw.url, team)
        _sync_at(
            config, gw, parse_period("2026-04", config.tz), team.end_ts + 3600
        )  # May 1 00:00–01:00 lacking
    run = runner_for(config.path)
    for lang, said, not_said in (
        ("zh", "本地存储缺少这些日志", "which the store lacks"),
        ("en", "which the store lacks", "本地"),
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
    assert strict.exit_code == 12 and "4321 quota more than its logs" in strict.output
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
    # the payments: the logged top-up with its trade number, the one without a log row from its record
    pays = {p["ref"]: p for p in s["payments"] if p["kind"] == "topup"}
    assert pays["T1"]["text"].startswith("使用在线充值成功") and pays["T1"]["paid"] == "365.0"
    assert pays["T2"]["text"] == "" and pays["T2"]["quota"] == 500_000 and pays["T2"]["paid"] == "7.3"
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


def test_a_quarter_prints_its_closed_months_bridge_as_frozen_in_every_document(served, tmp_path):  # noqa: F811
    """April closed, then a late April row synced (an amendment): the quarter's bridge takes
    April's figures from the frozen snapshot, in ``bridge`` and in the XLSX and PDF."""
    team, gw, path = served
    run = runner_for(path)
    assert run("sync", "--period", "2026-Q2").exit_code == 0
    assert run("close", "2026-04").exit_code == 0
    frozen = json.loads(run("bridge", "--period", "2026-04", "--json").stdout)["sources"][0]
    gw.insert_rows([late_row(team, team.start_ts + 12 * 86400 + 3600)])
    assert run("sync", "--period", "2026-Q2", "--refetch").exit_code == 0

    def bridge(*period: str) -> dict:
        result = run("bridge", *period, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["sources"][0]

    assert bridge("--period", "2026-04")["consumed_wallet"] == frozen["consumed_wallet"]
    may_june = bridge("--from", "2026-05-01", "--to", "2026-06-30")
    q2 = bridge("--period", "2026-Q2")
    consumed = frozen["consumed_wallet"] + may_june["consumed_wallet"]
    assert q2["consumed_wallet"] == consumed  # not the live April's, 777,777 more
    assert q2["opening"] == frozen["opening"] and q2["closing"] == may_june["closing"]
    out = tmp_path / "q2"
    done = run("report", "--period", "2026-Q2", "--format", "xlsx,pdf", "--lang", "en", "--out", str(out))
    assert done.exit_code == 0, done.output
    sheet = openpyxl.load_workbook(next(out.glob("*.xlsx")), read_only=True)["Bridge"]
    values = [c for row in sheet.iter_rows(values_only=True) for c in row]
    assert -consumed in values and -(consumed + 777_777) not in values
    text = "".join(page.extract_text() for page in PdfReader(next(out.glob("*.pdf"))).pages)
    assert f"{consumed:,}" in text and f"{consumed + 777_777:,}" not in text


def _assert_foots(printed, column: str) -> None:
    """A column of a printed bridge re-adds to its printed subtotals, its rounding lines among its lines."""
    keys = [line.key for line in printed]
    cents = [getattr(line, column) or Decimal(0) for line in printed]
    at = keys.index("expected_closing")
    assert sum(cents[:at], Decimal(0)) == cents[at], column  # the lines above, a rounding line among them
    residual = keys.index("residual")
    before = cents[residual - 1] if keys[residual - 1] == "rounding" else Decimal(0)
    assert cents[keys.index("closing")] - cents[at] + before == cents[residual], column


@settings(max_examples=200, deadline=None)
@given(
    opening=st.integers(min_value=0, max_value=10**12),
    flows=st.lists(st.integers(min_value=0, max_value=10**11), min_size=6, max_size=6),
    closing=st.integers(min_value=0, max_value=10**12),
    rate=st.decimals(min_value=Decimal("0.1"), max_value=Decimal(20), places=6),
)
def test_the_printed_usd_and_cny_columns_foot_with_their_rounding_lines(opening, flows, closing, rate):
    topup, redemption, admin, system, consumed, refunded = flows
    credits = (("topup", topup), ("redemption", redemption), ("admin", admin), ("system", system))
    s = SourceBridge(
        "default", "", End(opening, 0, opening), Flow(credits, (), consumed, 0, refunded), End(closing)
    )
    bridge = Bridge(0, 1, QPU, (s,))
    printed = printed_bridge(bridge, s, rate)
    _assert_foots(printed, "usd")
    _assert_foots(printed, "cny")
    assert all(line.quota is None for line in printed if line.key == "rounding")
    for line in printed:  # each CNY figure is its exact USD at the rate, rounded once, half-up
        if line.key != "rounding" and line.quota is not None:
            assert line.cny == (Decimal(line.quota) / QPU * rate).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert all(line.cny is None for line in printed_bridge(bridge, s, None))  # no rate: blank, never a guess


def test_the_demo_bridge_columns_re_add_to_the_printed_figures_in_usd_and_cny(tmp_path):
    """``bridge --json``'s printed lines of the demo month: quota, USD and CNY at the source's
    rate, each column footing with its rounding lines; the terminal prints the same figures."""
    demo = run_demo(tmp_path / "demo", lang="en")
    run = runner_for(demo.config_path)
    result = run("bridge", "--period", "2026-04", "--json")
    assert result.exit_code == 0, result.output
    (s,) = json.loads(result.stdout)["sources"]
    rate = Decimal(s["cny_per_usd"])
    printed = [
        BridgeLine(
            line["line"],
            line["quota"],
            None if line["usd"] is None else Decimal(line["usd"]),
            None if line["cny"] is None else Decimal(line["cny"]),
        )
        for line in s["printed"]
    ]
    _assert_foots(printed, "usd")
    _assert_foots(printed, "cny")
    closing = next(line for line in printed if line.key == "closing")
    assert closing.quota == s["closing"]["quota"] and closing.usd == Decimal(s["closing"]["usd"]).quantize(
        Decimal("0.01"), ROUND_HALF_UP
    )
    assert closing.cny == (
        Decimal(closing.quota) / Decimal(json.loads(result.stdout)["quota_per_unit"]) * rate
    ).quantize(Decimal("0.01"), ROUND_HALF_UP)
    text = run("bridge", "--period", "2026-04").stdout
    assert "CNY" in text and f"{closing.cny:,}" in text and f"{closing.usd:,}" in text


def test_each_figure_has_one_sign():
    for lang in ("en", "zh"):
        labels = wording(lang).group("bridge_")
        for key in ("topup", "redemption", "admin", "system", "subscription", "consumed_wallet", "refunded"):
            assert labels[key][0] not in "+−-", (lang, key, labels[key])


def test_month_end_fetches_the_logs_the_bridge_needs_and_closes_both_ends(tmp_path, team):
    """April synced on May 2nd (its rows, and the balance of that day), month-end run on the 6th:
    its sync re-reads April, but the balance read reaches April's ends only through the logs
    since April, which the store lacks; month-end fetches them (``bridge --sync``'s function,
    paced by the gateway's rate limit) before it closes and issues, and the bridge frozen at
    the close tells both ends."""
    read = team.end_ts + 86400
    late = team.end_ts + 5 * 86400
    april = parse_period("2026-04", ZoneInfo("Asia/Shanghai"))
    with FakeGateway(
        team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, wallet=team.wallet
    ) as gw:  # the fake's default rate limit
        config = make_config(tmp_path, gw.url, team)
        _sync_at(config, gw, april, read)
        before = run_bridge(config, april)
        gw.clock = lambda: late
        result = run_month_end(config, april, tmp_path / "out", client_factory=fast_client, now=lambda: late)
        opening, closing = gw.balance_at(team.start_ts), gw.balance_at(team.end_ts)
        too_many = gw.too_many
    (b,) = before.sources
    assert (b.opening.quota, b.closing.quota) == (None, None) and b.closing.gaps == ((team.end_ts, read),)
    assert [r.target[0] for r in result.bridge_synced] == [team.end_ts]
    assert "the wallet bridge needs" in result.summary()
    assert too_many == 0
    frozen = run_bridge(config, april)  # as frozen at the close
    assert frozen.frozen
    (s,) = frozen.sources
    assert (s.opening.quota, s.closing.quota, s.residual) == (opening, closing, 0)
