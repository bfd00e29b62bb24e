"""The rules on snapshots built by hand: what each kind finds, with stable identities."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from reportgen.alerts import Snapshot, evaluate
from reportgen.config import AlertRule
from reportgen.core.budget import ProjectLine

NOW = 1_780_000_000  # 2026-05-28 20:26 UTC
TODAY = date(2026, 5, 28)


def line(
    name: str, spent: str, budget: str, run_out: date | None, end: date = date(2026, 12, 31)
) -> ProjectLine:
    s, b = Decimal(spent), Decimal(budget)
    return ProjectLine(
        name=name, title=name, code="", currency="CNY", budget=b, start=date(2026, 5, 1), end=end,
        as_of=TODAY, spent=s, period_spent=s, remaining=b - s, share_used=s / b,
        burn_per_day=Decimal("2.5"), run_out=run_out,
    )  # fmt: skip


def rule(kind: str, **kw: object) -> AlertRule:
    return AlertRule(name=kind, kind=kind, to=("chat",), **kw)  # type: ignore[arg-type]


def test_budget_thresholds_each_once_and_for_the_named_projects_only() -> None:
    snap = Snapshot(NOW, TODAY, projects=(line("alpha", "85", "100", None), line("beta", "99", "100", None)))
    found = evaluate(
        (rule("budget", thresholds=(Decimal(50), Decimal(80), Decimal(100)), projects=("alpha",)),), snap
    )
    assert [e.identity for e in found] == ["budget/budget/alpha/50", "budget/budget/alpha/80"]
    assert found[1].facts["share"] == "85.0%" and found[1].facts["spent"] == "85.00 CNY"
    # crossed together: the lower one is recorded (it neither fires later nor resolves) but not announced
    assert found[0].facts["quiet"] == "1" and "quiet" not in found[1].facts


def test_runout_before_the_end_only() -> None:
    early = line("alpha", "50", "100", date(2026, 7, 1))
    late = line("beta", "50", "100", date(2027, 3, 1))
    found = evaluate((rule("runout"),), Snapshot(NOW, TODAY, projects=(early, late)))
    assert [(e.identity, e.facts["run_out"]) for e in found] == [("runout/runout/alpha", "2026-07-01")]


def test_spike_needs_a_full_window_and_the_minimum() -> None:
    days = tuple(TODAY - timedelta(days=i) for i in range(8, -1, -1))
    spend = {("member", "张三", d): Decimal(2) for d in days}
    spend[("member", "张三", TODAY)] = Decimal(9)
    spend[("member", "li", TODAY)] = Decimal("0.5")  # above 3 x its median of 0, but under min_usd
    snap = Snapshot(NOW, TODAY, day_spend=spend, days=days)
    found = evaluate((rule("spike", window_days=7, factor=Decimal(3), min_usd=Decimal(1)),), snap)
    assert [e.identity for e in found] == [f"spike/spike/member/张三/{TODAY}"]
    assert found[0].facts["median"] == "2.00 USD"
    assert evaluate((rule("spike", window_days=14),), snap) == []  # not enough history yet


def test_keys_first_use_and_idle() -> None:
    uses = {"new": (NOW - 3600, NOW - 60), "old": (NOW - 90 * 86400, NOW - 10 * 86400), "off": (0, 1)}
    snap = Snapshot(NOW, TODAY, key_use=uses, enabled_keys=frozenset({"new", "old"}))
    assert [e.identity for e in evaluate((rule("key_first_use"),), snap)] == ["key_first_use/first/new"]
    idle = evaluate((rule("key_idle", days=7),), snap)  # "off" is disabled at the gateway: meant to be idle
    assert [e.identity for e in idle] == [f"key_idle/idle/old/{NOW - 10 * 86400}"] and idle[0].facts[
        "days"
    ] == "10"


def test_wallet_below_an_amount_and_days_left() -> None:
    snap = Snapshot(
        NOW, TODAY, balances={"default": (Decimal("40"), NOW)}, daily_usd={"default": Decimal(10)}
    )
    found = evaluate((rule("wallet", below_usd=Decimal(50), days_left=7),), snap)
    assert [e.identity for e in found] == ["wallet/wallet/default/below", "wallet/wallet/default/days"]
    assert found[1].facts["days_left"] == "4.0"
    assert evaluate((rule("wallet", below_usd=Decimal(10)),), snap) == []


def test_sync_failed_stale_or_never() -> None:
    snap = Snapshot(
        NOW,
        TODAY,
        syncs={
            "default": (NOW - 600, NOW - 600, "ok"),
            "eu": (NOW - 600, NOW - 60, "failed"),
            "us": (NOW - 7 * 3600, NOW - 7 * 3600, "ok"),
            "new": None,
        },
    )
    found = evaluate((rule("sync", hours=6),), snap)
    assert {e.facts["source"]: e.facts["state"] for e in found} == {
        "eu": "failed",
        "us": "ok",
        "new": "never",
    }
