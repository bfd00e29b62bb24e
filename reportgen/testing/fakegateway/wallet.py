"""The fake gateway's wallet: its balance over time (``/api/user/self``) and the caller's own
top-up records (new-api's ``/api/user/topup/self``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: The balance a fake without a wallet reports, whatever the rows.
FIXED_BALANCE = 50_000_000


def balance_at(
    rows: Iterable[dict[str, Any]], wallet: tuple[int, list[tuple[int, int]]] | None, ts: int
) -> int:
    """The balance after every row logged before ``ts``: the opening, the credits before it, less
    the wallet-billed consumption, plus the refunds."""
    if wallet is None:
        return FIXED_BALANCE
    opening, credits = wallet
    balance = opening + sum(q for at, q in credits if at < ts)
    for row in rows:
        if int(row.get("created_at") or 0) >= ts:
            continue
        kind, quota = row.get("type"), int(row.get("quota") or 0)
        if kind == 2 and (row.get("other") or {}).get("billing_source") != "subscription":
            balance -= quota
        elif kind == 6:
            balance += quota
    return balance


def user_self(rows: list[dict[str, Any]], user_id: int, username: str, quota: int) -> dict[str, Any]:
    """``/api/user/self`` data: the user, its balance ``quota``, what it used and how often."""
    return {
        "id": user_id,
        "username": username,
        "display_name": username,
        "role": 1,
        "status": 1,
        "email": "",
        "group": "default",
        "quota": quota,
        "used_quota": sum(int(r.get("quota") or 0) for r in rows if r.get("type") == 2),
        "request_count": sum(1 for r in rows if r.get("type") == 2),
    }


def topup_page(topups: list[dict[str, Any]], page: int, size: int) -> dict[str, Any]:
    """One page of the caller's top-ups, newest first, as new-api pages them (``p`` from 1)."""
    ordered = sorted(topups, key=lambda t: -int(t.get("id") or 0))
    page, size = max(page, 1), max(1, min(size, 100))
    items = ordered[(page - 1) * size : page * size]
    return {"page": page, "page_size": size, "total": len(ordered), "items": items}
