"""Every credit form new-api and one-api write, read through the flavour's credit parser.

The texts are the gateways' own (``controller/user.go``, ``model/topup.go``,
``model/redemption.go``, ``model/subscription.go``, ``controller/checkin.go``,
``logger.LogQuota`` / ``FormatQuota``); the fake gateway writes them in a synthetic month
(:mod:`reportgen.testing.fakegateway.credits`) and the bridge closes to the quota unit.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reportgen.app.bridge import run_bridge
from reportgen.app.sync import run_sync
from reportgen.core.payments import payments_of
from reportgen.core.periods import parse_period
from reportgen.core.wallet import NO_WALLET, Credit, CreditRow, WalletRecord, as_credit
from reportgen.flavors.credits import MAX_TEXT, NEW_API, ONE_API
from reportgen.templating import wording
from reportgen.testing.fakegateway import FakeGateway
from reportgen.testing.fakegateway.credits import credit_month, format_quota, log_quota, one_api_quota
from reportgen.testing.fakegateway.synthetic import team_month
from tests.conftest import TOKEN, fast_client, make_config
from tests.test_one_truth import runner_for

QPU = Decimal(500000)
RATE = Decimal("7.3")
BRIDGE = wording("en").group("bridge_")


def _read(parse, kind: int, text: str, rate: Decimal | None = RATE) -> Credit | None:
    return as_credit(parse(CreditRow("default", 0, kind, 0, text, rate), QPU))


# (log type, the exact text, (kind, quota) it reads as; None: unreadable)
NEW_API_TEXTS = [
    # controller/user.go since 2026-04-09: add, subtract, override (LogQuota, USD display)
    (3, "管理员增加用户额度 ＄10.000000 额度", ("admin", 5_000_000)),
    (3, "管理员减少用户额度 ＄2.500000 额度", ("admin", -1_250_000)),
    (3, "管理员覆盖用户额度从 ＄359.480372 额度 为 ＄500.000000 额度", ("admin", 70_259_814)),
    (3, "管理员覆盖用户额度从 ＄-0.500000 额度 为 ＄10.000000 额度", ("admin", 5_250_000)),
    # the legacy change (one-api, and new-api before 2026-04-09)
    (3, "管理员将用户额度从 ＄150.000000 额度修改为 ＄175.500000 额度", ("admin", 12_750_000)),
    (3, "管理员将用户额度从 ＄20.000000 额度修改为 ＄5.000000 额度", ("admin", -7_500_000)),
    # CNY display: USD × the display rate, read back at the rate; points display: quota
    (3, "管理员增加用户额度 ¥73.000000 额度", ("admin", 5_000_000)),
    (3, "管理员覆盖用户额度从 ¥2624.206716 额度 为 ¥3650.000000 额度", ("admin", 70_259_814)),
    (3, "管理员增加用户额度 5000000 点额度", ("admin", 5_000_000)),
    (3, "管理员将用户额度从 1000 点额度修改为 400 点额度", ("admin", -600)),
    # top-ups: epay (LogQuota), Stripe (FormatQuota; points: a bare number), Creem (raw quota)
    (1, "使用在线充值成功，充值金额: ＄50.000000 额度，支付金额：365.000000", ("topup", 25_000_000)),
    (1, "使用在线充值成功，充值金额: ¥365.000000 额度，支付金额：365.000000", ("topup", 25_000_000)),
    (1, "使用在线充值成功，充值金额: ＄10.000000，支付金额：10", ("topup", 5_000_000)),
    (1, "使用在线充值成功，充值金额: 5000000，支付金额：10", ("topup", 5_000_000)),
    (1, "使用Creem充值成功，充值额度: 2500000，支付金额：5.00", ("topup", 2_500_000)),
    (1, "管理员补单成功，充值金额: ＄20.000000，支付金额：146.000000", ("topup", 10_000_000)),
    (1, "Waffo充值成功，充值额度: ＄1.000000，支付金额: 7.00", ("topup", 500_000)),
    # redemption codes: new-api with the code's id, one-api's and the demo's without
    (1, "通过兑换码充值 ＄10.000000 额度，兑换码ID 12", ("redemption", 5_000_000)),
    (1, "通过兑换码充值 500 点额度，兑换码ID 12", ("redemption", 500)),
    (1, "通过兑换码充值 $200.00 额度", ("redemption", 100_000_000)),
    # subscriptions: by card moves no wallet quota, with the balance takes it
    (1, "订阅购买成功，套餐: Pro，支付金额: 9.99，支付方式: stripe", (NO_WALLET, 0)),
    (1, "通过兑换码开通订阅 Pro，兑换码ID 5", (NO_WALLET, 0)),
    (1, "使用余额购买订阅成功，套餐: Pro，支付金额: 9.99，扣除额度: 100000", ("subscription", -100_000)),
    # system: a check-in reward, gifts; a notice without an amount moves nothing
    (4, "用户签到，获得额度 ＄0.250000 额度", ("system", 125_000)),
    (4, "邀请用户赠送 ＄2.000000 额度", ("system", 1_000_000)),
    (4, "新用户注册赠送 5000 点额度", ("system", 5000)),
    (4, "开始设置两步验证", (NO_WALLET, 0)),
    (4, "查看渠道密钥信息 (渠道ID: 5)", (NO_WALLET, 0)),
    (3, "管理员强制禁用了用户的两步验证", (NO_WALLET, 0)),
    # unreadable: listed, never a zero
    (3, "管理员增加用户额度 €10.000000 额度", None),  # a custom currency: its rate is not published
    (1, "通过兑换码充值 ＄100000000000000000000000.000000 额度", None),  # beyond any wallet
    (1, "使用在线充值成功", None),
    (1, "something we cannot read", None),
    (3, "管理员增加用户额度 ＄1.000000 额度，再加 ＄2.000000 额度", None),
]


@pytest.mark.parametrize(("kind", "text", "expected"), NEW_API_TEXTS)
def test_new_api_credit_texts(kind, text, expected):
    credit = _read(NEW_API, kind, text)
    assert (None if credit is None else (credit.kind, credit.quota)) == expected


def test_a_cny_amount_needs_the_display_rate_and_states_it():
    text = "管理员增加用户额度 ¥73.000000 额度"
    assert _read(NEW_API, 3, text, rate=None) is None
    credit = _read(NEW_API, 3, text, rate=Decimal("7.3"))
    assert credit is not None and credit.unit == "cny" and credit.cny_per_usd == Decimal("7.3")


def test_the_money_paid_is_kept_as_the_text_states_it():
    epay = _read(NEW_API, 1, "使用在线充值成功，充值金额: ＄50.000000 额度，支付金额：365.000000")
    creem = _read(NEW_API, 1, "使用Creem充值成功，充值额度: 2500000，支付金额：5.00")
    card = _read(NEW_API, 1, "订阅购买成功，套餐: Pro，支付金额: 9.99，支付方式: stripe")
    assert (epay.paid, creem.paid, card.paid) == ("365.000000", "5.00", "9.99")


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        (3, "管理员将用户额度从 ＄150.000000 额度修改为 ＄175.500000 额度", ("admin", 12_750_000)),
        (3, "管理员将用户额度从 1000 点额度修改为 400 点额度", ("admin", -600)),
        (1, "通过兑换码充值 ＄10.000000 额度", ("redemption", 5_000_000)),
        (1, "通过兑换码充值 500 点额度", ("redemption", 500)),
        (4, "新用户注册赠送 ＄1.000000 额度", ("system", 500_000)),
        (4, "邀请用户赠送 500 点额度", ("system", 500)),
    ],
)
def test_one_api_credit_texts(kind, text, expected):
    credit = _read(ONE_API, kind, text)
    assert credit is not None and (credit.kind, credit.quota) == expected


def test_a_long_or_hostile_text_is_read_in_linear_time():
    for text in ("1" * 100_000, "1," * 50_000, "＄1." * 40_000, "1 点" * 40_000, "＄" + "9" * 1_999):
        started = time.perf_counter()
        assert _read(NEW_API, 1, text) is None
        assert time.perf_counter() - started < 0.5
    assert _read(NEW_API, 1, "通过兑换码充值 " + "1" * MAX_TEXT) is None


# new-api's forms as functions of (quota, display): (log type, text, quota the wallet moves)
def _forms(q: int, other: int, display: str, rate: float):
    lq = lambda v: log_quota(v, display, rate=rate)  # noqa: E731
    fq = lambda v: format_quota(v, display, rate=rate)  # noqa: E731
    return [
        (3, f"管理员增加用户额度 {lq(q)}", q),
        (3, f"管理员减少用户额度 {lq(q)}", -q),
        (3, f"管理员覆盖用户额度从 {lq(other)} 为 {lq(q)}", q - other),
        (3, f"管理员将用户额度从 {lq(other)}修改为 {lq(q)}", q - other),
        (1, f"通过兑换码充值 {lq(q)}，兑换码ID {other}", q),
        (1, f"使用在线充值成功，充值金额: {lq(q)}，支付金额：{other / 7:f}", q),
        (1, f"使用在线充值成功，充值金额: {fq(q)}，支付金额：{other}", q),
        (1, f"使用Creem充值成功，充值额度: {q}，支付金额：{other / 100:.2f}", q),
        (4, f"用户签到，获得额度 {lq(q)}", q),
    ]


@settings(max_examples=300, deadline=None)
@given(
    quota=st.integers(min_value=1, max_value=2**40),
    other=st.integers(min_value=0, max_value=2**40),
    display=st.sampled_from(("USD", "CNY", "TOKENS")),
    rate=st.decimals(min_value=Decimal("1"), max_value=Decimal("50"), places=4),
)
def test_every_form_reads_back_its_quota_in_every_display(quota, other, display, rate):
    for kind, text, moved in _forms(quota, other, display, float(rate)):
        credit = _read(NEW_API, kind, text, rate=rate)
        assert credit is not None and credit.quota == moved, text


@settings(max_examples=100, deadline=None)
@given(quota=st.integers(min_value=1, max_value=2**40), display=st.sampled_from(("USD", "TOKENS")))
def test_one_api_reads_back_its_quota(quota, display):
    credit = _read(ONE_API, 1, f"通过兑换码充值 {one_api_quota(quota, display)}")
    assert credit is not None and credit.quota == quota


def _sync_at(config, gw, period, at):
    gw.clock = lambda: at
    return run_sync(config, period, client_factory=fast_client, now=lambda: at)


@pytest.mark.parametrize(
    ("flavor", "display"),
    [
        ("new-api", "USD"),
        ("new-api", "CNY"),
        ("new-api", "TOKENS"),
        ("one-api", "USD"),
        ("one-api", "TOKENS"),
    ],
)
def test_the_bridge_closes_to_the_quota_unit_on_every_credit_form(tmp_path, flavor, display):
    month = credit_month(display, flavor)
    with FakeGateway(
        month.rows, month.tokens, flavor=flavor, status=month.status, access_token=TOKEN,
        user_id=month.user_id, rate_limit=None, wallet=month.wallet,
    ) as gw:  # fmt: skip
        config = make_config(tmp_path, gw.url, month, flavor=flavor)
        tz = config.tz
        _sync_at(config, gw, parse_period("2026-03", tz), month.start_ts)  # the opening balance
        _sync_at(config, gw, parse_period("2026-04", tz), month.end_ts + 3600)
        _sync_at(config, gw, None, month.end_ts + 86400)  # the logs after the closing read
        bridge = run_bridge(config, parse_period("2026-04", tz))
        opening, closing = gw.balance_at(month.start_ts), gw.balance_at(month.end_ts)
    (s,) = bridge.sources
    assert (s.opening.quota, s.closing.quota) == (opening, closing)
    assert s.residual == 0 and s.closes and not s.flow.unreadable, [n.text(BRIDGE) for n in s.explanations]
    credits = dict(s.flow.credits)
    moved = sum(q for _, q in month.wallet[1])
    assert sum(credits.values()) == moved
    if flavor == "new-api":
        assert credits["subscription"] == -2_495_000 and s.flow.no_wallet == 2  # by card; the 2FA notice
        override = next(r["content"] for r in month.rows if r["content"].startswith("管理员覆盖"))
        if display == "USD":
            assert override == "管理员覆盖用户额度从 ＄359.480372 额度 为 ＄500.000000 额度"
        assert (70_259_814 in {q for _, q in month.wallet[1]}) is True
    if display == "CNY":
        assert s.flow.cny_rates == ("7.3",)
        assert any("7.3 CNY per USD" in n.text(BRIDGE) for n in s.explanations) and not s.unexplained


def test_an_unreadable_credit_makes_the_balance_by_the_logs_unknown_and_names_the_row(tmp_path):
    month = credit_month("USD")
    strange = "管理员增加用户额度 €10.000000 额度"
    rows = [*month.rows, {**next(r for r in month.rows if r["type"] == 3), "content": strange}]
    with FakeGateway(
        rows, month.tokens, status=month.status, access_token=TOKEN, user_id=month.user_id,
        rate_limit=None, wallet=month.wallet,
    ) as gw:  # fmt: skip
        config = make_config(tmp_path, gw.url, month)
        tz = config.tz
        _sync_at(config, gw, parse_period("2026-03", tz), month.start_ts)
        _sync_at(config, gw, parse_period("2026-04", tz), month.end_ts + 3600)
        _sync_at(config, gw, None, month.end_ts + 86400)
        bridge = run_bridge(config, parse_period("2026-04", tz))
    (s,) = bridge.sources
    assert s.flow.unreadable == (strange,)
    assert s.expected_closing is None and s.residual is None and not s.closes
    (note,) = [n for n in s.explanations if n.kind == "unreadable"]
    assert strange in note.text(BRIDGE)


def test_the_payments_list_matches_the_top_ups_the_gateway_served(tmp_path):
    """The demo month: its 易支付 top-up as new-api records it (paid CNY 365.00 by Alipay, its
    trade number) beside the log row, the redemption code from its log row alone, the order
    never paid left out; the list in ``bridge --json`` and in the workbook's Payments sheet."""
    team = team_month(2026, 4)
    with FakeGateway(
        team.rows, team.tokens, status=team.status, access_token=TOKEN, user_id=team.user_id,
        rate_limit=None, wallet=team.wallet, topups=team.topups,
    ) as gw:  # fmt: skip
        config = make_config(tmp_path, gw.url, team)
        _sync_at(config, gw, parse_period("2026-04", config.tz), team.end_ts + 3600)
    run = runner_for(config.path)
    result = run("bridge", "--period", "2026-04", "--json")
    assert result.exit_code == 0, result.output
    (s,) = json.loads(result.stdout)["sources"]
    paid, _pending = team.topups
    redemption, topup = s["payments"]
    assert topup == {
        "at": paid["complete_time"], "kind": "topup", "quota": 25_000_000, "paid": "365.00", "currency": "CNY",
        "method": "alipay", "ref": paid["trade_no"],
        "text": "使用在线充值成功，充值金额: ＄50.000000 额度，支付金额：365.000000",
    }  # fmt: skip
    assert (redemption["kind"], redemption["quota"], redemption["ref"]) == ("redemption", 100_000_000, None)
    assert not any(n["kind"] == "records" for n in s["notes"])  # the record agrees with the logged top-up
    out = tmp_path / "docs"
    done = run("report", "--period", "2026-04", "--format", "xlsx", "--lang", "en", "--out", str(out))
    assert done.exit_code == 0, done.output
    sheet = openpyxl.load_workbook(next(out.glob("*.xlsx")), read_only=True)["Payments"]
    lines = [row for row in sheet.iter_rows(values_only=True)]
    assert lines[0][:4] == ("Source", "Date", "Kind", "Paid")
    assert ("default", "top-up", "365.00", "CNY", 25_000_000, paid["trade_no"], "alipay") == (
        lines[2][0], *lines[2][2:8],
    )  # fmt: skip


def test_a_payment_is_matched_to_its_record_by_time_or_code_id():
    rows = [
        (
            CreditRow("d", 1000, 1, 0, "使用在线充值成功，充值金额: ＄10.000000，支付金额：10"),
            Credit("topup", 5_000_000, paid="10"),
        ),
        (
            CreditRow("d", 2000, 1, 0, "通过兑换码充值 ＄1.000000 额度，兑换码ID 9"),
            Credit("redemption", 500_000),
        ),
        (
            CreditRow("d", 3000, 1, 0, "订阅购买成功，套餐: Pro，支付金额: 9.99，支付方式: stripe"),
            Credit(NO_WALLET, 0, paid="9.99"),
        ),
    ]
    records = [
        WalletRecord("topup", "T-far", 1000 + 3600, 5_000_000, "10"),  # an hour off: another payment
        WalletRecord("topup", "T-1", 1003, 5_000_000, "10", '{"method": "stripe", "trade_no": "T-1"}'),
        WalletRecord("redemption", "9", 2000, 500_000),
    ]
    got = payments_of(rows, records)
    assert [(p.kind, p.ref, p.quota, p.paid, p.method) for p in got] == [
        ("topup", "T-1", 5_000_000, "10", "stripe"),
        ("redemption", "9", 500_000, None, None),
        ("subscription", None, None, "9.99", None),
        ("topup", "T-far", 5_000_000, "10", None),
    ]
