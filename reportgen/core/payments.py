"""Top-ups as the payments they are: what was paid, when, how, for how much quota.

Pure.  Chinese 报销 reimburses payments backed by 发票; here those are the top-ups.  A
payment is read from the gateway's log row (the ``支付金额`` its text states, the quota it
credited) and, where the gateway keeps its own record (``/api/user/topup/self`` or the
``top_ups`` / ``redemptions`` tables), completed with the trade number and the payment
method; a record no log row matches is a payment too, and so is a log row no record
matches.  A subscription bought by card is a payment that credits no wallet quota.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from .wallet import NO_WALLET, Credit, CreditRow, Payment, WalletRecord

#: How far apart (seconds) a log row and the gateway's record of one payment may be dated.
MATCH_SECONDS = 600
#: Payment methods whose amount is paid in CNY (易支付: Alipay, WeChat Pay, QQ Pay).
CNY_METHODS = frozenset({"alipay", "wxpay", "qqpay", "epay"})
_CODE_ID = re.compile(r"兑换码ID ([0-9]{1,20})")


def payments_of(
    rows: Sequence[tuple[CreditRow, Credit]], records: Sequence[WalletRecord]
) -> tuple[Payment, ...]:
    """The payments of a span from its top-up log rows (type 1, each with what its parser read)
    and the gateway's own records of the same span, oldest first."""
    left = [r for r in records if r.kind in ("topup", "redemption")]
    out = []
    for row, credit in rows:
        if row.type != 1 or credit.kind not in ("topup", "redemption", NO_WALLET):
            continue
        if credit.kind == NO_WALLET and credit.paid is None:
            continue  # a subscription through a code: nothing paid
        kind = "subscription" if credit.kind == NO_WALLET else credit.kind
        quota = None if kind == "subscription" else credit.quota
        found = _CODE_ID.search(row.content) if kind == "redemption" else None
        record = _match(left, kind, row.created_at, quota, found.group(1) if found else None)
        if record is not None:
            left.remove(record)
        out.append(
            _payment(
                row.created_at,
                kind,
                quota,
                credit.paid,
                record,
                found.group(1) if found else None,
                row.content,
            )
        )
    out += [_payment(r.at, r.kind, r.quota, None, r, None, "") for r in left]
    return tuple(sorted(out, key=lambda p: (p.at, p.kind, p.ref or "")))


def _match(
    records: list[WalletRecord], kind: str, at: int, quota: int | None, ref: str | None
) -> WalletRecord | None:
    """The gateway's record of the payment a log row logged: the same code id, else the nearest in
    time (within :data:`MATCH_SECONDS`) of the same kind, one of equal quota first."""
    same = [r for r in records if r.kind == (kind if kind != "subscription" else "topup")]
    if ref is not None:
        return next((r for r in same if r.ref == ref), None)
    near = [r for r in same if abs(r.at - at) <= MATCH_SECONDS]
    return min(near, key=lambda r: (r.quota != quota, abs(r.at - at), r.ref), default=None)


def _payment(
    at: int,
    kind: str,
    quota: int | None,
    paid: str | None,
    record: WalletRecord | None,
    ref: str | None,
    text: str,
) -> Payment:
    method = None
    if record is not None:
        detail = _detail(record.detail)
        method = detail.get("method") or None
        ref = detail.get("trade_no") or record.ref
        paid = record.money or paid
    currency = "CNY" if method in CNY_METHODS else None
    return Payment(at, kind, quota, paid, currency, method, ref, text)


def _detail(text: str) -> dict[str, str]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items() if v is not None} if isinstance(value, dict) else {}
