"""Money split (consumption, refunds, net; wallet-paid vs subscription-billed) and the claim base."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from reportgen.config import load_config
from reportgen.core.records import LogType
from reportgen.errors import ConfigError
from tests.report_factory import make_report, sample_records


def test_the_split_adds_up_for_the_team_and_every_member() -> None:
    records = sample_records()
    report = make_report(records)
    qpu = report.quota_per_unit
    inside = [r for r in records if report.period.start_ts <= r.created_at < report.period.end_ts]
    subscription = sum(
        (r.quota if r.type == LogType.CONSUME else -r.quota)
        for r in inside
        if r.billing_source == "subscription" and r.type in (LogType.CONSUME, LogType.REFUND)
    )
    s = report.split(report.totals)
    assert s.consumption - s.refunds == s.net == report.totals.cost_usd
    assert s.wallet + s.subscription == s.net and s.subscription == Decimal(subscription) / qpu
    assert s.subscription and s.refunds  # the sample has both
    for name in ("wallet", "subscription", "net", "consumption", "refunds"):
        assert sum(getattr(report.split(m.stats), name) for m in report.members) == getattr(s, name)


def test_the_claim_is_wallet_paid_by_default_and_everything_on_all() -> None:
    report = make_report()
    s = report.split(report.totals)
    claim = report.claim_amount()
    assert claim.base == "wallet" and claim.usd == s.wallet and claim.left_out == s.subscription
    (part,) = claim.parts
    assert part.exchange.rate == Decimal("7.1234") and claim.cny == s.wallet * Decimal("7.1234")
    everything = replace(report, claim_base="all").claim_amount()
    assert everything.usd == s.net and everything.left_out == 0
    member = report.members[0]
    mine = report.claim_amount(member.name)
    assert mine.usd == report.split(member.stats).wallet
    conversions, footed = claim.printed() or ((), None)
    assert footed is not None and footed.total == conversions[0].amount
    assert conversions[0].product + conversions[0].difference == conversions[0].amount


def test_no_rate_no_cny_claim() -> None:
    claim = make_report(rate=None).claim_amount()
    assert claim.cny is None and claim.printed() is None and claim.usd


def _load(tmp_path, text: str):
    path = tmp_path / "reportgen.toml"
    path.write_text("[report]\n" + text, encoding="utf-8")
    return load_config(path, env={})


def test_claim_base_and_rate_date_parse(tmp_path) -> None:
    config = _load(tmp_path, 'claim_base = "all"\nexchange_rate = 7.1\nexchange_rate_date = 2026-04-30\n')
    assert config.claim_base == "all" and config.exchange_rate_date == date(2026, 4, 30)
    assert _load(tmp_path, "").claim_base == "wallet"
    with pytest.raises(ConfigError, match=r"report\.claim_base must be one of 'wallet', 'all'"):
        _load(tmp_path, 'claim_base = "everything"\n')
    with pytest.raises(ConfigError, match=r"report\.exchange_rate_date must be the rate's date"):
        _load(tmp_path, 'exchange_rate_date = "2026-04-30"\n')
