"""The packet's methodology note: how the figures were computed, with this report's own numbers."""

from __future__ import annotations

from ..core.fingerprint import RECIPE, ROW_FIELDS
from ..core.money import money_text, plain_decimal
from ..core.periods import period_args, period_name
from ..core.report import Report
from ..read import PeriodView, spent_total
from ..render import totals

_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "# How the figures were computed: {label}",
        "period": "**Period.** {start} to {end} ({tz}; the end is exclusive). Each log row belongs to the "
        "period by its gateway timestamp (`created_at`, UTC seconds) read in {tz}; days are cut at local "
        "midnight.",
        "scope_all": "**Scope.** The whole account: every member and every key.",
        "scope_member": "**Scope.** Member {member} only: the keys {keys}.",
        "scope_project": "**Scope.** Project {project} only: its keys {keys}, on the days they are charged "
        "to it. The figures below are those keys' rows in full; the project is charged its share of them: "
        "{charged} {currency} (each charge's percentage share applied per day, see the statement).",
        "incomplete": "**INCOMPLETE.** Parts of the period were never synced ({missing}); every figure here "
        "is a floor. `reportgen sync {args}` fetches them.",
        "basis": "**Frozen and live parts.** {parts}.",
        "frozen_part": "{start} – {end}: closed {label}, revision {rev}",
        "live_part": "{start} – {end}: live rows",
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
        "cny_sources": "**CNY.** Each source's spend is converted at its own rate ({rates}): CNY = the sum over "
        "the sources of each one's exact USD × its rate, rounded half-up to the cent in the PDF: CNY {cny}.",
        "dated": " The rate is the official rate set for {label} in `[report.rates]`, not the gateway's rate "
        "on the day of the sync.",
        "converted": "**{code}.** {code} = exact USD × {rate} (1 USD = {rate} {code}; source: {source}; "
        "as of {date}), rounded half-up to the cent in the PDF: {code} {amount}.",
        "rounding": "**Rounding.** Amounts stay exact until a document shows them. Every printed amount "
        "is its exact amount rounded half-up to the cent, the same string in the terminal, the CSV summary, "
        "the XLSX and every PDF (grand total: USD {cents}). Where the printed lines of a table do not add up "
        "to its printed total, the difference is printed as a rounding line. The CSV detail carries exact "
        "amounts; the XLSX stores them as numbers and displays them rounded.",
        "closed": "**Closed period.** {label} was closed on {closed} (revision {rev}). These documents show "
        "the rows as they were at closing; later changes at the gateway are recorded as amendments "
        "(`reportgen amendments --period {label}`), not written into the closed documents.",
        "open": "**Open period.** {label} is not closed: a later sync may change these figures{close}.",
        "close_hint": " (`reportgen close {name}` freezes them)",
        "check": "**Re-checking.** `manifest.json` lists every file's SHA-256 and size, the totals, the "
        "statement number and the fingerprint of the {rows} stored rows included; `manifest.sig` is an "
        "Ed25519 signature over the exact bytes of `manifest.json` by the key the manifest names. "
        "`reportgen verify <packet.zip>` checks all of it on any machine (add `--key <the preparer's .pub "
        "file or key fingerprint>` to insist on the preparer's key), and against a reportgen store that "
        "holds the rows, that they are unchanged.",
        "fingerprint": "**Fingerprint.** `rows.jsonl` holds every row included, one per line, as a compact "
        "JSON array of these fields in this order: {fields} (`json.dumps(row, ensure_ascii=False, "
        'separators=(",", ":"))`; 0/1 for the two flags, `null` when missing). A row\'s digest is the '
        "SHA-256 of its line's UTF-8 bytes; the fingerprint is the SHA-256 of all row digests (32 bytes "
        "each) joined in ascending order: {fingerprint}. Every field that reaches a figure is in the line, "
        "so changing any stored row changes the fingerprint. To recompute it from the packet:",
        "none": "none",
    },
    "zh": {
        "title": "# 计算方法说明：{label}",
        "period": "**期间。** {start} 至 {end}（{tz}；不含结束时刻）。每条日志按网关时间戳（`created_at`，"
        "UTC 秒）换算为 {tz} 时间归入期间；日期按当地午夜切分。",
        "scope_all": "**范围。** 整个账户：所有成员与所有密钥。",
        "scope_member": "**范围。** 仅成员 {member}：密钥 {keys}。",
        "scope_project": "**范围。** 仅项目 {project}：其密钥 {keys}，限计入该项目的日期。以下数字为这些密钥的全部记录；"
        "项目按份额计费：{charged} {currency}（每项计费的百分比份额按日计算，见报表）。",
        "incomplete": "**不完整。** 本期部分时间从未同步（{missing}）；此处所有数字均为下限。"
        "`reportgen sync {args}` 可补齐。",
        "basis": "**冻结与实时部分。** {parts}。",
        "frozen_part": "{start} – {end}：已结账 {label}，第 {rev} 版",
        "live_part": "{start} – {end}：实时记录",
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
        "cny_sources": "**人民币。** 各来源按各自的汇率折算（{rates}）：人民币 = 各来源精确美元 × 其汇率之和，"
        "PDF 中四舍五入到分：{cny} 元。",
        "dated": "该汇率为 `[report.rates]` 中为 {label} 设定的官方汇率，而非同步当天网关的汇率。",
        "converted": "**{code}。** {code} = 精确美元 × {rate}（1 美元 = {rate} {code}；来源：{source}；"
        "日期：{date}），PDF 中四舍五入到分：{code} {amount}。",
        "rounding": "**舍入。** 金额在文件展示前始终保持精确。每个印出的金额都是其精确金额四舍五入到分，"
        "在终端、CSV 汇总、XLSX 与各 PDF 中完全相同（总计 {cents} 美元）。若表中各行之和与所印总计不一致，"
        "差额单列为舍入行。CSV 明细保留精确金额；XLSX 以数值保存、按舍入后显示。",
        "closed": "**已结账期间。** {label} 已于 {closed} 结账（第 {rev} 版）。本文件显示结账时的记录；"
        "之后网关上的变化记为更正（`reportgen amendments --period {label}`），不会写入已结账的文件。",
        "open": "**未结账期间。** {label} 尚未结账：之后的同步可能改变这些数字{close}。",
        "close_hint": "（`reportgen close {name}` 可冻结）",
        "check": "**复核。** `manifest.json` 列出每个文件的 SHA-256 与大小、合计、单据编号以及所含 {rows} "
        "条存储记录的指纹；`manifest.sig` 是清单所列密钥对 `manifest.json` 原始字节的 Ed25519 签名。"
        "`reportgen verify <packet.zip>` 可在任何电脑上复核以上全部内容（加 `--key <编制人的 .pub 文件或密钥指纹>` "
        "可要求必须是编制人的密钥）；若有保存这些记录的 reportgen 存储，还会核对记录未被改动。",
        "fingerprint": "**数据指纹。** `rows.jsonl` 每行一条所含记录，为以下字段按此顺序组成的紧凑 JSON 数组：{fields}"
        '（`json.dumps(row, ensure_ascii=False, separators=(",", ":"))`；两个标志为 0/1，缺失为 `null`）。'
        "每条记录的摘要为该行 UTF-8 字节的 SHA-256；指纹为全部记录摘要（各 32 字节）按升序拼接后的 SHA-256："
        "{fingerprint}。影响任何数字的字段都在行内，因此改动任何存储记录都会改变指纹。可用以下代码从数据包重新计算：",
        "none": "无",
    },
}


def methodology_markdown(view: PeriodView, lang: str) -> str:
    """The methodology note of a view in ``lang`` (zh or en), with its own figures and scope."""
    t = _TEXT.get(lang, _TEXT["en"])
    report, closure, rows = view.report, view.closure, view.row_count
    p, prov, ex = report.period, report.provenance, report.exchange
    s = totals(report)
    fmt = "%Y-%m-%d %H:%M"
    day = "%Y-%m-%d"
    if report.grant is not None:
        scope = t["scope_project"].format(
            project=view.scope.name,
            keys=", ".join(view.token_names or ()) or t["none"],
            charged=money_text(spent_total(report)),
            currency=report.grant.project.currency,
        )
    elif report.member_filter is not None:
        scope = t["scope_member"].format(
            member=report.member_filter, keys=", ".join(report.member_keys(report.member_filter)) or t["none"]
        )
    else:
        scope = t["scope_all"]
    name = period_name(p)
    paragraphs = [
        t["title"].format(label=p.label),
        t["period"].format(start=p.start.strftime(fmt), end=p.end.strftime(fmt), tz=p.timezone),
        *(
            [t["incomplete"].format(missing=", ".join(report.coverage.ranges(p.tz)), args=period_args(p))]
            if not report.coverage.complete
            else []
        ),
        scope,
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
        _source_rates_text(report, t)
        if report.source_rates
        else t["cny"].format(
            rate=plain_decimal(ex.rate),
            source=ex.source,
            date=ex.as_of.date().isoformat() if ex.as_of else t["none"],
            cny=money_text(s.cost_usd * ex.rate),
        )
        + ("" if ex.applies_to is None else t["dated"].format(label=ex.applies_to))
        if ex.rate is not None
        else t["no_cny"].format(source=ex.source),
        *(
            t["converted"].format(
                code=c.code,
                rate=plain_decimal(c.rate),
                source=c.source,
                date=c.as_of.isoformat(),
                amount=money_text(c.convert(s.cost_usd)),
            )
            for c in report.conversions
        ),
        t["rounding"].format(cents=money_text(s.cost_usd)),
        *(
            [
                t["basis"].format(
                    parts="; ".join(
                        t["frozen_part" if part.frozen else "live_part"].format(
                            start=part.start.strftime(day),
                            end=part.end.strftime(day),
                            label=part.closed_label,
                            rev=part.revision,
                        )
                        for part in report.basis
                    )
                )
            ]
            if any(part.frozen for part in report.basis) and closure is None
            else []
        ),
        t["open"].format(label=p.label, close="" if name is None else t["close_hint"].format(name=name))
        if closure is None
        else t["closed"].format(
            label=p.label, closed=closure.generated_at.strftime(fmt), rev=closure.revision
        ),
        t["check"].format(rows=f"{rows:,}"),
        t["fingerprint"].format(
            fields=", ".join(f"`{f}`" for f in ROW_FIELDS), fingerprint=prov.fingerprint or t["none"]
        ),
        f"```python\n{RECIPE}\n```",
    ]
    return "\n\n".join(paragraphs) + "\n"


def _source_rates_text(report: Report, t: dict[str, str]) -> str:
    cny = report.cny_of(totals(report))
    rates = "; ".join(
        f"{name}: 1 USD = {t['none'] if e.rate is None else plain_decimal(e.rate)} CNY, {e.source}"
        for name, e in report.source_rates
    )
    if cny is None:
        return t["no_cny"].format(source=rates)
    return t["cny_sources"].format(rates=rates, cny=money_text(cny))
