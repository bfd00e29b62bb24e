"""new-api's own record of the caller's top-ups (``/api/user/topup/self``), for the payments list.

Each completed top-up says what was paid (``money``), how (``payment_method``, and the
``payment_provider`` newer releases add), its ``trade_no`` and when it completed.  The quota
it credited follows the provider, as new-api's ``model/topup.go`` credits it: Stripe's
``money`` × quota per unit, Creem's ``amount`` as it is, every other's (易支付 and the rest)
``amount`` × quota per unit.  new-api lists only the last 30 days; one-api has no such list.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from ..core.wallet import WalletRecord
from .amounts import MAX_AMOUNT

PATH = "/api/user/topup/self"


def wallet_records(
    items: Iterable[dict[str, Any]], start_ts: int, end_ts: int, qpu: Decimal
) -> list[WalletRecord]:
    """The completed top-ups among ``items`` that completed in ``[start_ts, end_ts]``; an item
    whose figures cannot be read is left out (the bridge then names the logged top-up alone)."""
    out = []
    for item in items:
        if str(item.get("status") or "") != "success":
            continue
        at = _int(item.get("complete_time")) or _int(item.get("create_time"))
        trade_no = str(item.get("trade_no") or "")[:200]
        if at is None or not start_ts <= at <= end_ts or not trade_no:
            continue
        method = str(item.get("payment_method") or "")[:50]
        provider = str(item.get("payment_provider") or "")[:50] or method
        amount, money = _number(item.get("amount")), _number(item.get("money"))
        if provider == "creem":
            quota = amount
        elif provider == "stripe":
            quota = None if money is None else money * qpu
        else:
            quota = None if amount is None else amount * qpu
        if quota is None or not 0 <= quota <= MAX_AMOUNT:
            continue
        detail = json.dumps(
            {"method": method, "provider": provider, "trade_no": trade_no}, ensure_ascii=False
        )
        paid = (
            None
            if money is None
            else f"{money.quantize(Decimal('0.01')) if money == money.quantize(Decimal('0.01')) else money:f}"
        )
        out.append(WalletRecord("topup", trade_no, at, int(quota), paid, detail))
    return out


def _int(value: Any) -> int | None:
    return value if type(value) is int and 0 < value < 2**40 else None


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() and abs(number) <= MAX_AMOUNT else None
