"""The wallet bridge: opening balance + credits − net wallet spend = closing balance, per source.

Pure.  Balances are what the gateway said at sync time (``/api/user/self`` ``quota``, or
its users table), each "after every row logged before ``read_at``"; a balance at a period
boundary is rolled from the nearest snapshot through the logged flows in between.
Credits (log types 1 top-up, 3 admin, 4 system) carry their amount only in the row's
text, so :func:`parse_credit` reads it; a row whose amount cannot be read is counted and
named, never guessed.  Where the bridge does not close, :func:`bridge_source` says how
much and what of the data could explain it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any


@dataclass(frozen=True, slots=True)
class Balance:
    """A wallet balance the gateway reported: remaining ``quota`` as of ``read_at``."""

    source: str
    read_at: int
    quota: int
    used_quota: int | None = None
    request_count: int | None = None
    origin: str = "api"  # api: /api/user/self; database: the users table


@dataclass(frozen=True, slots=True)
class WalletRecord:
    """A top-up or redemption as the gateway's own tables record it (database source)."""

    kind: str  # topup | redemption
    ref: str  # the table's id
    at: int
    quota: int
    money: str | None = None  # what was paid, as the gateway stored it
    detail: str = ""


@dataclass(frozen=True, slots=True)
class CreditRow:
    """A log row of type 1, 3 or 4 as stored (its amount is in ``content``)."""

    source: str
    created_at: int
    type: int
    quota: int
    content: str


_TOPUP, _MANAGE = 1, 3  # the log types (core.models.LogType), kept literal: models imports this module

#: Credit kinds in the order the bridge lists them.
CREDIT_KINDS = ("topup", "redemption", "admin", "system")

_USD = re.compile(r"(?:[＄$]|USD\s*)\s*(-?[0-9][0-9,]*(?:\.[0-9]+)?)")
_POINTS = re.compile(r"(-?[0-9][0-9,]*)\s*(?:点额度|点|quota points|points)")
_NEGATIVE = re.compile(r"减少|扣除|扣减|deduct|decrease|subtract|reduce", re.IGNORECASE)
_SET = re.compile(r"修改为|改为|\bto\b", re.IGNORECASE)
_REDEEM = re.compile(r"兑换码|redemption|redeem", re.IGNORECASE)


def credit_kind(row: CreditRow) -> str:
    if row.type == _TOPUP:
        return "redemption" if _REDEEM.search(row.content) else "topup"
    return "admin" if row.type == _MANAGE else "system"


def parse_credit(row: CreditRow, quota_per_unit: Decimal) -> int | None:
    """The quota a credit row added to the wallet (negative: taken away), or None when unreadable.

    new-api writes ``通过兑换码充值 ＄10.000000 额度``, ``使用在线充值成功，充值金额: ＄10.000000 额度，
    支付金额：70.000000``, ``管理员将用户额度从 ＄1.000000 额度修改为 ＄11.000000 额度`` (a change:
    the difference counts), or ``N 点额度`` when the quota is shown as points.
    """
    if row.quota:
        return -row.quota if _NEGATIVE.search(row.content) else row.quota
    text = row.content
    amounts: list[Decimal] = []
    for match in _USD.finditer(text):
        usd = _number(match.group(1))
        if usd is not None:
            amounts.append(usd * quota_per_unit)
    if not amounts:
        amounts = [a for a in (_number(m.group(1)) for m in _POINTS.finditer(text)) if a is not None]
    if not amounts:
        return None
    if row.type == _TOPUP and "支付金额" in text:
        amounts = amounts[:1]  # the second figure is the money paid, not quota
    if len(amounts) == 2 and _SET.search(text):
        value = amounts[1] - amounts[0]
    elif len(amounts) == 1:
        value = -amounts[0] if _NEGATIVE.search(text) else amounts[0]
    else:
        return None
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


@dataclass(frozen=True, slots=True)
class Flow:
    """What moved a wallet over a span: credits by kind, wallet and subscription spend, refunds."""

    credits: tuple[tuple[str, int], ...] = ()  # (kind, quota) summed, kinds in CREDIT_KINDS order
    unreadable: tuple[str, ...] = ()  # credit rows whose amount could not be read (their text)
    consumed_wallet: int = 0
    consumed_subscription: int = 0
    refunded: int = 0

    @property
    def credited(self) -> int:
        return sum(q for _, q in self.credits)

    @property
    def net_wallet(self) -> int:
        """Wallet-billed consumption minus refunds (subscription usage is not drawn from the wallet)."""
        return self.consumed_wallet - self.refunded

    @property
    def change(self) -> int:
        """How much the balance moved over the span, as far as the logs tell."""
        return self.credited - self.net_wallet


def flow_of(
    rows: Sequence[CreditRow], consumed_wallet: int, consumed_subscription: int, refunded: int, qpu: Decimal
) -> Flow:
    """A span's :class:`Flow` from its credit rows and its consumption sums."""
    sums = dict.fromkeys(CREDIT_KINDS, 0)
    unreadable = []
    for row in rows:
        amount = parse_credit(row, qpu)
        if amount is None:
            unreadable.append(row.content)
        else:
            sums[credit_kind(row)] += amount
    return Flow(
        tuple((k, sums[k]) for k in CREDIT_KINDS),
        tuple(unreadable),
        consumed_wallet,
        consumed_subscription,
        refunded,
    )


@dataclass(frozen=True, slots=True)
class End:
    """A balance at a period boundary: observed through a snapshot (rolled to the boundary), or not."""

    quota: int | None  # None: no snapshot to tell it
    snapshot_at: int | None = None
    snapshot_quota: int | None = None
    rolled: int = 0  # quota added to the snapshot's balance to reach the boundary
    gaps: tuple[tuple[int, int], ...] = ()  # [start, end) between snapshot and boundary not in the store


@dataclass(frozen=True, slots=True)
class SourceBridge:
    """One source's bridge over a period, in quota (money is quota ÷ quota per unit)."""

    source: str
    account: str
    opening: End
    flow: Flow
    closing: End
    records: tuple[tuple[str, int, int], ...] = ()  # (kind, count, quota) of the gateway's own records
    explanations: tuple[str, ...] = ()

    @property
    def expected_closing(self) -> int | None:
        if self.opening.quota is None:
            return None
        return self.opening.quota + self.flow.change

    @property
    def residual(self) -> int | None:
        """Observed closing − (opening + credits − net wallet spend); None when an end is unknown."""
        expected = self.expected_closing
        if expected is None or self.closing.quota is None:
            return None
        return self.closing.quota - expected

    @property
    def closes(self) -> bool:
        return self.residual == 0

    @property
    def unexplained(self) -> bool:
        """A residual that no known cause accounts for (``--strict`` makes it a finding)."""
        return bool(self.residual) and not self.explanations


@dataclass(frozen=True, slots=True)
class Bridge:
    """The wallet bridge of a period: one :class:`SourceBridge` per source, and their sum."""

    start_ts: int
    end_ts: int
    quota_per_unit: Decimal
    sources: tuple[SourceBridge, ...] = field(default_factory=tuple)

    def total(self, getter: Callable[[SourceBridge], int | None]) -> int | None:
        values = [getter(s) for s in self.sources]
        return None if any(v is None for v in values) else sum(v for v in values if v is not None)

    def usd(self, quota: int | None) -> Decimal | None:
        return None if quota is None else Decimal(quota) / self.quota_per_unit


def pick_snapshots(
    balances: Sequence[Balance], start: int, end: int
) -> tuple[Balance | None, Balance | None]:
    """The snapshots that tell the opening and the closing balance: the nearest to each end,
    never one snapshot for both (that would close by construction and prove nothing)."""
    ordered = sorted(balances, key=lambda b: b.read_at)
    before = [b for b in ordered if b.read_at <= start]
    after = [b for b in ordered if b.read_at >= end]
    inside = [b for b in ordered if start < b.read_at < end]
    opening = before[-1] if before else (inside[0] if inside else None)
    closing = after[0] if after else (inside[-1] if inside else None)
    if opening is not None and opening is closing:
        # one mid-period snapshot: it tells the end it is nearer to
        if opening.read_at - start <= end - opening.read_at:
            closing = None
        else:
            opening = None
    return opening, closing


def roll(
    snapshot: Balance | None,
    boundary: int,
    flow_between: Callable[[int, int], Flow],
    gaps_between: Callable[[int, int], list[tuple[int, int]]],
) -> End:
    """The balance at ``boundary`` told by ``snapshot``, rolled through the logged flows between."""
    if snapshot is None:
        return End(None)
    at = snapshot.read_at
    if at <= boundary:
        moved = flow_between(at, boundary).change
        gaps = gaps_between(at, boundary)
    else:
        moved = -flow_between(boundary, at).change
        gaps = gaps_between(boundary, at)
    return End(snapshot.quota + moved, at, snapshot.quota, moved, tuple(gaps))


def explain(bridge: SourceBridge, describe_gap: Callable[[int, int], str]) -> SourceBridge:
    """Name what could account for the bridge's residual (or for an end that cannot be told)."""
    notes: list[str] = []
    for label, end in (("opening", bridge.opening), ("closing", bridge.closing)):
        if end.quota is None:
            notes.append(
                f"no balance snapshot tells the {label} balance: sync once "
                f"{'before the period starts' if label == 'opening' else 'after the period ends'} "
                "to record one"
            )
        for lo, hi in end.gaps:
            notes.append(
                f"the store lacks the logs of {describe_gap(lo, hi)} between the {label} snapshot and the "
                "period boundary: their flows are in the residual; sync that range"
            )
    if bridge.flow.unreadable:
        shown = "; ".join(repr(t[:60]) for t in bridge.flow.unreadable[:3])
        notes.append(f"{len(bridge.flow.unreadable)} credit row(s) whose amount could not be read: {shown}")
    logged = {k: q for k, q in bridge.flow.credits}
    for kind, count, quota in bridge.records:
        if quota != logged.get(kind, 0):
            notes.append(
                f"the gateway's {kind} records ({count}, {quota} quota) differ from its {kind} log rows "
                f"({logged.get(kind, 0)} quota) by {quota - logged.get(kind, 0)}: a {kind} without a log row"
            )
    if bridge.residual is not None and bridge.residual != 0 and not notes:
        return replace(bridge, explanations=())
    return replace(bridge, explanations=tuple(notes))


def unexplained_text(bridge: SourceBridge) -> str:
    residual = bridge.residual or 0
    way = "more" if residual > 0 else "less"
    return (
        f"the balance of {bridge.source} ends {abs(residual)} quota {way} than its logs account for and no "
        "record explains it (a top-up or adjustment with no log row, or logs removed by retention)"
    )


def bridge_json(bridge: Bridge) -> dict[str, Any]:
    """The bridge as plain JSON (quota as int, money as decimal strings)."""

    def usd(q: int | None) -> str | None:
        value = bridge.usd(q)
        return None if value is None else f"{value.quantize(Decimal('0.000001'), ROUND_HALF_UP)}"

    out = []
    for s in bridge.sources:
        out.append(
            {
                "source": s.source,
                "account": s.account,
                "opening": {**asdict(s.opening), "usd": usd(s.opening.quota)},
                "credits": {k: q for k, q in s.flow.credits},
                "credited": s.flow.credited,
                "unreadable_credit_rows": list(s.flow.unreadable),
                "consumed_wallet": s.flow.consumed_wallet,
                "consumed_subscription": s.flow.consumed_subscription,
                "refunded": s.flow.refunded,
                "net_wallet": s.flow.net_wallet,
                "expected_closing": s.expected_closing,
                "closing": {**asdict(s.closing), "usd": usd(s.closing.quota)},
                "residual": s.residual,
                "residual_usd": usd(s.residual),
                "closes": s.closes,
                "records": [{"kind": k, "count": c, "quota": q} for k, c, q in s.records],
                "explanations": list(s.explanations),
                "unexplained": s.unexplained,
            }
        )
    return {
        "start_ts": bridge.start_ts,
        "end_ts": bridge.end_ts,
        "quota_per_unit": str(bridge.quota_per_unit),
        "sources": out,
        "residual": bridge.total(lambda s: s.residual),
    }


def bridge_from_json(data: dict[str, Any]) -> Bridge:
    """The inverse of :func:`bridge_json` (a closed period keeps its bridge as JSON)."""

    def end(d: dict[str, Any]) -> End:
        return End(
            d["quota"], d["snapshot_at"], d["snapshot_quota"], d["rolled"], tuple(tuple(g) for g in d["gaps"])
        )

    sources = []
    for s in data["sources"]:
        flow = Flow(
            tuple((k, int(q)) for k, q in s["credits"].items()),
            tuple(s["unreadable_credit_rows"]),
            s["consumed_wallet"],
            s["consumed_subscription"],
            s["refunded"],
        )
        sources.append(
            SourceBridge(
                s["source"],
                s["account"],
                end(s["opening"]),
                flow,
                end(s["closing"]),
                tuple((r["kind"], r["count"], r["quota"]) for r in s["records"]),
                tuple(s["explanations"]),
            )
        )
    return Bridge(data["start_ts"], data["end_ts"], Decimal(data["quota_per_unit"]), tuple(sources))


#: The bridge's lines, in order: (key, sign shown, is a subtotal).
LINES = (
    "opening", "topup", "redemption", "admin", "system", "consumed_wallet", "refunded",
    "expected_closing", "closing", "residual", "consumed_subscription",
)  # fmt: skip

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Wallet bridge",
        "opening": "Opening balance",
        "topup": "+ Top-ups",
        "redemption": "+ Redemption codes",
        "admin": "+ Admin adjustments",
        "system": "+ System credits",
        "consumed_wallet": "− Consumption billed to the wallet",
        "refunded": "+ Refunds",
        "expected_closing": "= Closing balance by the logs",
        "closing": "Closing balance reported",
        "residual": "Residual (reported − by the logs)",
        "consumed_subscription": "Subscription-billed usage (not drawn from the wallet)",
        "source": "Source",
        "quota": "Quota",
        "usd": "USD",
        "unknown": "not known",
        "closes": "closes to the quota unit",
        "snapshot": "balance read {when}, rolled {rolled:+,} quota to the boundary",
        "note": "Note",
    },
    "zh": {
        "title": "钱包余额勾稽",
        "opening": "期初余额",
        "topup": "+ 在线充值",
        "redemption": "+ 兑换码充值",
        "admin": "+ 管理员调整",
        "system": "+ 系统赠送",
        "consumed_wallet": "− 钱包扣费消费",
        "refunded": "+ 退款",
        "expected_closing": "= 按日志推算的期末余额",
        "closing": "网关报告的期末余额",
        "residual": "差额（报告 − 推算）",
        "consumed_subscription": "订阅计费用量（不从钱包扣除）",
        "source": "来源",
        "quota": "额度",
        "usd": "美元",
        "unknown": "未知",
        "closes": "勾稽相符（精确到额度单位）",
        "snapshot": "余额读取于 {when}，推算至期间边界 {rolled:+,} 额度",
        "note": "说明",
    },
}


def line_values(s: SourceBridge) -> list[tuple[str, int | None]]:
    """``(line key, quota)`` of one source's bridge, signed as it adds up (None: not known)."""
    credits = dict(s.flow.credits)
    return [
        ("opening", s.opening.quota),
        ("topup", credits.get("topup", 0)),
        ("redemption", credits.get("redemption", 0)),
        ("admin", credits.get("admin", 0)),
        ("system", credits.get("system", 0)),
        ("consumed_wallet", -s.flow.consumed_wallet),
        ("refunded", s.flow.refunded),
        ("expected_closing", s.expected_closing),
        ("closing", s.closing.quota),
        ("residual", s.residual),
        ("consumed_subscription", s.flow.consumed_subscription),
    ]
