"""Credit rows worded exactly as new-api and one-api write them, for a synthetic month.

:func:`log_quota` and :func:`format_quota` are new-api's ``logger.LogQuota`` and
``logger.FormatQuota`` (Go's ``%.6f`` of a float64 is Python's); :func:`credit_month` is the
demo team's month with its credits replaced by one row of every form a gateway of that
flavour and display writes — admin add, subtract and override (new-api since 2026-04-09),
the legacy change before that date, epay, Stripe, Creem, a redemption code, a subscription
bought by card and one bought with the balance, check-in rewards, a 2FA notice — and the
wallet the gateway keeps beside them, so the bridge can be checked to the quota unit.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .profiles import profile_for
from .synthetic import CREDITS, OPENING_QUOTA, SyntheticTeam, credit_row, team_month

#: new-api's ``quota_display_type`` values this module writes (``CUSTOM`` cannot be read back).
DISPLAYS = ("USD", "CNY", "TOKENS")
DAY = 86400


def log_quota(quota: int, display: str = "USD", qpu: float = 500000, rate: float = 7.3) -> str:
    """new-api's ``logger.LogQuota``: ``＄%.6f 额度``, ``¥%.6f 额度`` or ``%d 点额度``."""
    if display == "TOKENS":
        return f"{quota} 点额度"
    return format_quota(quota, display, qpu, rate) + " 额度"


def format_quota(quota: int, display: str = "USD", qpu: float = 500000, rate: float = 7.3) -> str:
    """new-api's ``logger.FormatQuota``: LogQuota without `` 额度``, a bare integer for points."""
    if display == "TOKENS":
        return str(quota)
    usd = quota / qpu
    return f"¥{usd * rate:.6f}" if display == "CNY" else f"＄{usd:.6f}"


def one_api_quota(quota: int, display: str = "USD", qpu: float = 500000) -> str:
    """one-api's ``common.LogQuota``: ``＄%.6f 额度`` in currency display, else ``%d 点额度``."""
    return f"{quota} 点额度" if display == "TOKENS" else f"＄{quota / qpu:.6f} 额度"


def _balance(team: SyntheticTeam, opening: int, credits: list[tuple[int, int]], ts: int) -> int:
    """What the fake gateway's wallet holds just before ``ts`` (its ``balance_at``)."""
    balance = opening + sum(q for at, q in credits if at < ts)
    for row in team.rows:
        if row["created_at"] >= ts:
            continue
        if row["type"] == 2 and (row.get("other") or {}).get("billing_source") != "subscription":
            balance -= row["quota"]
        elif row["type"] == 6:
            balance += row["quota"]
    return balance


def credit_month(
    display: str = "USD",
    flavor: str = "new-api",
    *,
    rate: float = 7.3,
    override_from: int = 179_740_186,
    year: int = 2026,
    month: int = 4,
) -> SyntheticTeam:
    """The team month with one credit row of every form ``flavor`` (a profile's name) writes in ``display``.

    new-api's override sets the balance from what it was (``override_from`` quota just
    before it, ＄359.480372 by default: the opening balance is chosen so) to ＄500.
    """
    base = team_month(year, month)
    texts = {text for _, _, text, _ in CREDITS}
    profile = profile_for(flavor)
    one_api = profile.credit_forms == "legacy"  # one-api's few forms, and no subscriptions
    rows = [r for r in base.rows if r["content"] not in texts or r["type"] not in (1, 3, 4)]
    if one_api:  # one-api has no subscriptions: every consumption row is billed to the wallet
        rows = [
            {**r, "other": {k: v for k, v in (r.get("other") or {}).items() if k != "billing_source"}}
            for r in rows
        ]
    base = replace(base, rows=rows)
    zone = ZoneInfo(base.tz)
    at = {d: int(datetime(year, month, d, 10, tzinfo=zone).timestamp()) for d in range(1, 29)}

    def lq(quota: int) -> str:
        return one_api_quota(quota, display) if one_api else log_quota(quota, display, rate=rate)

    def fq(quota: int) -> str:
        return format_quota(quota, display, rate=rate)

    # (when, type, text or a function of the balance before it giving (text, quota moved), quota moved)
    plan: list[tuple[int, int, Any, int]] = [
        (at[3], 3, "change", 12_750_000),  # the legacy change: new-api before 2026-04-09, one-api always
        (at[6], 1, f"通过兑换码充值 {lq(5_000_000)}" + ("" if one_api else "，兑换码ID 17"), 5_000_000),
    ]
    if not one_api:
        plan += [
            (
                at[2],
                1,
                f"使用在线充值成功，充值金额: {lq(25_000_000)}，支付金额：{365.0:f}",
                25_000_000,
            ),  # epay
            (at[4], 1, f"使用在线充值成功，充值金额: {fq(10_000_000)}，支付金额：{20}", 10_000_000),  # Stripe
            (at[5], 1, f"使用Creem充值成功，充值额度: {2_500_000}，支付金额：{5.0:.2f}", 2_500_000),
            (at[10], 3, f"管理员增加用户额度 {lq(15_000_000)}", 15_000_000),
            (at[11], 3, f"管理员减少用户额度 {lq(2_500_000)}", -2_500_000),
            (at[12], 3, "override", 0),
            (at[14], 1, f"订阅购买成功，套餐: Pro，支付金额: {9.99:.2f}，支付方式: stripe", 0),
            (
                at[15],
                1,
                f"使用余额购买订阅成功，套餐: Lite，支付金额: {4.99:.2f}，扣除额度: {2_495_000}",
                -2_495_000,
            ),
            (at[16], 4, f"用户签到，获得额度 {lq(125_000)}", 125_000),
            (at[17], 4, f"用户签到，获得额度 {lq(250_000)}", 250_000),
            (at[18], 4, "开始设置两步验证", 0),
        ]
    plan.sort(key=lambda p: p[0])
    # the opening balance that makes the balance just before the override exactly override_from
    opening = OPENING_QUOTA
    credits: list[tuple[int, int]] = []
    if not one_api:
        before = [(ts, q) for ts, _, text, q in plan if ts < at[12] and text != "change"] + [
            (at[3], 12_750_000)
        ]
        opening = override_from - (_balance(base, 0, before, at[12]))
    for ts, kind, text, quota in plan:
        if text in ("change", "override"):
            was = _balance(base, opening, credits, ts)
            new = was + quota if text == "change" else 250_000_000
            quota = new - was
            if text == "change":
                text = f"管理员将用户额度从 {lq(was)}修改为 {lq(new)}"
            else:
                text = f"管理员覆盖用户额度从 {lq(was)} 为 {lq(new)}"
        rows.append(credit_row(ts, kind, text))
        if quota:
            credits.append((ts, quota))
    rows.sort(key=lambda r: r["created_at"])
    if one_api:
        status = {**profile.status_for(500000), "display_in_currency": display != "TOKENS"}
    else:
        status = {**base.status, "quota_display_type": display, "usd_exchange_rate": rate}
    return replace(base, rows=rows, status=status, wallet=(opening, credits))
