"""How new-api and one-api word a credit row (log types 1 top-up, 3 admin, 4 system).

Credits carry their amount only in the row's text (quota 0 on the row), so the wallet
bridge reads it from there: :func:`parse_credit` is the built-in flavours'
``Flavor.parse_credit``.  A row whose amount cannot be read is None, never guessed.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ..core.records import LogType
from ..core.wallet import CreditRow

_USD = re.compile(r"(?:[＄$]|USD\s*)\s*(-?[0-9][0-9,]*(?:\.[0-9]+)?)")
_POINTS = re.compile(r"(-?[0-9][0-9,]*)\s*(?:点额度|点|quota points|points)")
_NEGATIVE = re.compile(r"减少|扣除|扣减|deduct|decrease|subtract|reduce", re.IGNORECASE)
_SET = re.compile(r"修改为|改为|\bto\b", re.IGNORECASE)
_REDEEM = re.compile(r"兑换码|redemption|redeem", re.IGNORECASE)


def parse_credit(row: CreditRow, quota_per_unit: Decimal) -> tuple[str, int] | None:
    """The row's credit kind and the quota it added (negative: taken away); None when unreadable."""
    amount = credit_amount(row, quota_per_unit)
    return None if amount is None else (credit_kind(row), amount)


def credit_kind(row: CreditRow) -> str:
    """``topup``, ``redemption``, ``admin`` or ``system`` (one of ``core.wallet.CREDIT_KINDS``)."""
    if row.type == LogType.TOPUP:
        return "redemption" if _REDEEM.search(row.content) else "topup"
    return "admin" if row.type == LogType.MANAGE else "system"


def credit_amount(row: CreditRow, quota_per_unit: Decimal) -> int | None:
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
    if row.type == LogType.TOPUP and "支付金额" in text:
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
