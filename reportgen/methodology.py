"""The packet's methodology note: how the figures were computed, with this report's own numbers."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from .exporters._cells import plain_decimal, totals
from .models import Report

if TYPE_CHECKING:
    from .closures import Closure

_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "# How the figures were computed: {label}",
        "period": "**Period.** {start} to {end} ({tz}; the end is exclusive). Each log row belongs to the "
        "period by its gateway timestamp (`created_at`, UTC seconds) read in {tz}; days are cut at local "
        "midnight.",
        "scope_all": "**Scope.** The whole account: every member and every key.",
        "scope_member": "**Scope.** Member {member} only: the keys {keys}.",
        "source": "**Source.** Every log row of the period was downloaded from {url} (user {user}) through "
        "the management API `/api/log/self`, one closed time window at a time, each window replaced "
        "atomically so that no row is counted twice. Last sync: {synced}.",
        "quota": "**Cost.** The gateway charges in quota units. Cost in USD = quota ÷ {qpu} (the gateway's "
        "quota per USD, from `/api/status`), computed in exact decimal arithmetic, never in floating point; "
        "the CSV's per-row cost is the same division.",
        "net": "**Net spend = consumption − refunds.** Consumption rows (type 2): {consumed} quota; refund "
        "rows (type 6): {refunded} quota; net {net} quota = USD {usd} exactly.",
        "subscription": "**Subscription-billed rows.** {sub} quota of the consumption was billed to a "
        "subscription rather than the wallet (`other.billing_source`); it is included above and shown "
        "separately in the documents.",
        "no_subscription": "**Subscription-billed rows.** None in this scope.",
        "other_types": "**Not charged.** Error rows (type 5), top-ups, administrative and system rows "
        "carry no charge and add nothing to cost; errors are counted separately.",
        "cny": "**CNY.** CNY = exact USD × {rate} (1 USD = {rate} CNY; source: {source}; as of {date}), "
        "rounded half-up to the cent in the PDF: CNY {cny}.",
        "no_cny": "**CNY.** Not computed: {source}.",
        "converted": "**{code}.** {code} = exact USD × {rate} (1 USD = {rate} {code}; source: {source}; "
        "as of {date}), rounded half-up to the cent in the PDF: {code} {amount}.",
        "rounding": "**Rounding.** Amounts stay exact until a document shows them. In the PDF the grand "
        "total is the exact total rounded half-up to the cent (USD {cents}); it is shared out to members, "
        "and each member's subtotal to its model lines, by the largest-remainder (Hamilton) method, so the "
        "printed lines add up exactly to the printed subtotals and total. The CSV carries exact amounts; "
        "the XLSX stores them as numbers and displays them rounded.",
        "closed": "**Closed period.** {label} was closed on {closed} (revision {rev}). These documents show "
        "the rows as they were at closing; later changes at the gateway are recorded as amendments "
        "(`reportgen amendments --period {label}`), not written into the closed documents.",
        "open": "**Open period.** {label} is not closed: a later sync may change these figures "
        "(`reportgen close {label}` freezes them).",
        "check": "**Re-checking.** `manifest.json` lists every file's SHA-256 and the fingerprint of the "
        "{rows} stored rows included; `reportgen verify <packet.zip>` checks both against a reportgen store.",
        "none": "none",
    },
    "zh": {
        "title": "# 计算方法说明：{label}",
        "period": "**期间。** {start} 至 {end}（{tz}；不含结束时刻）。每条日志按网关时间戳（`created_at`，"
        "UTC 秒）换算为 {tz} 时间归入期间；日期按当地午夜切分。",
        "scope_all": "**范围。** 整个账户：所有成员与所有密钥。",
        "scope_member": "**范围。** 仅成员 {member}：密钥 {keys}。",
        "source": "**数据来源。** 本期全部日志记录经管理接口 `/api/log/self` 从 {url}（用户 {user}）下载，"
        "按已结束的时间窗口逐段获取，每个窗口整体原子替换，任何记录都不会重复计算。最近同步：{synced}。",
        "quota": "**费用。** 网关以额度计费。美元费用 = 额度 ÷ {qpu}（网关 `/api/status` 给出的每美元额度），"
        "以精确十进制计算，从不使用浮点数；CSV 中每行费用按同一公式计算。",
        "net": "**净支出 = 消费 − 退款。** 消费记录（类型 2）：{consumed} 额度；退款记录（类型 6）：{refunded} "
        "额度；净额 {net} 额度 = 精确 {usd} 美元。",
        "subscription": "**订阅计费记录。** 消费中有 {sub} 额度由订阅计费而非钱包扣费（`other.billing_source`）；"
        "已包含在上述消费中，并在文件中单独列示。",
        "no_subscription": "**订阅计费记录。** 本范围内没有。",
        "other_types": "**不计费记录。** 错误记录（类型 5）、充值、管理与系统记录不产生费用，不计入费用；错误单独计数。",
        "cny": "**人民币。** 人民币 = 精确美元 × {rate}（1 美元 = {rate} 人民币；来源：{source}；日期：{date}），"
        "PDF 中四舍五入到分：{cny} 元。",
        "no_cny": "**人民币。** 未计算：{source}。",
        "converted": "**{code}。** {code} = 精确美元 × {rate}（1 美元 = {rate} {code}；来源：{source}；"
        "日期：{date}），PDF 中四舍五入到分：{code} {amount}。",
        "rounding": "**舍入。** 金额在文件展示前始终保持精确。PDF 中总计为精确总额四舍五入到分（{cents} 美元）；"
        "再按最大余额法（Hamilton 法）分摊到各成员，各成员小计再分摊到各模型行，因此各行之和恰好等于所印小计与总计。"
        "CSV 保留精确金额；XLSX 以数值保存、按舍入后显示。",
        "closed": "**已结账期间。** {label} 已于 {closed} 结账（第 {rev} 版）。本文件显示结账时的记录；"
        "之后网关上的变化记为更正（`reportgen amendments --period {label}`），不会写入已结账的文件。",
        "open": "**未结账期间。** {label} 尚未结账：之后的同步可能改变这些数字（`reportgen close {label}` 可冻结）。",
        "check": "**复核。** `manifest.json` 列出每个文件的 SHA-256 以及所含 {rows} 条存储记录的指纹；"
        "`reportgen verify <packet.zip>` 可对照 reportgen 存储复核二者。",
        "none": "无",
    },
}


def methodology_markdown(report: Report, lang: str, closure: Closure | None = None, rows: int = 0) -> str:
    """The methodology note of ``report`` in ``lang`` (zh or en), with its own figures."""
    t = _TEXT.get(lang, _TEXT["en"])
    p, prov, ex = report.period, report.provenance, report.exchange
    s = totals(report)
    fmt = "%Y-%m-%d %H:%M"
    paragraphs = [
        t["title"].format(label=p.label),
        t["period"].format(start=p.start.strftime(fmt), end=p.end.strftime(fmt), tz=p.timezone),
        t["scope_all"]
        if report.member_filter is None
        else t["scope_member"].format(
            member=report.member_filter, keys=", ".join(report.member_keys(report.member_filter)) or t["none"]
        ),
        t["source"].format(
            url=prov.base_url or t["none"],
            user=prov.user_id if prov.user_id is not None else t["none"],
            synced=prov.synced_at.strftime(fmt) if prov.synced_at else t["none"],
        ),
        t["quota"].format(qpu=plain_decimal(report.quota_per_unit)),
        t["net"].format(
            consumed=f"{s.consumed_quota:,}",
            refunded=f"{s.refunded_quota:,}",
            net=f"{s.quota:,}",
            usd=plain_decimal(s.cost_usd),
        ),
        t["subscription"].format(sub=f"{s.subscription_quota:,}")
        if s.subscription_quota
        else t["no_subscription"],
        t["other_types"],
        t["cny"].format(
            rate=plain_decimal(ex.rate),
            source=ex.source,
            date=ex.as_of.date().isoformat() if ex.as_of else t["none"],
            cny=_cents(s.cost_usd * ex.rate),
        )
        if ex.rate is not None
        else t["no_cny"].format(source=ex.source),
        *(
            t["converted"].format(
                code=c.code,
                rate=plain_decimal(c.rate),
                source=c.source,
                date=c.as_of.isoformat(),
                amount=_cents(c.convert(s.cost_usd)),
            )
            for c in report.conversions
        ),
        t["rounding"].format(cents=_cents(s.cost_usd)),
        t["open"].format(label=p.label)
        if closure is None
        else t["closed"].format(
            label=p.label, closed=closure.generated_at.strftime(fmt), rev=closure.revision
        ),
        t["check"].format(rows=f"{rows:,}"),
    ]
    return "\n\n".join(paragraphs) + "\n"


def _cents(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"
