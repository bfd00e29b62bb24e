"""Token types, cache hit rates and unit-price lines as ``summary --json`` (and the manifest) carry them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..core.money import plain_decimal
from ..core.report import Report


def tokens_json(report: Report) -> dict[str, Any]:
    """Consumption token types (None: not reported) and cache hit rates, in total, per member and per model."""
    members = {}
    for m in report.members:
        total = report.token_total(m.name)
        if total.rows:
            members[m.name] = {
                "totals": total.as_json(),
                "models": {k: v.as_json() for k, v in report.token_sums(m.name).items()},
            }
    return {
        "totals": report.token_total().as_json(),
        "models": {k: v.as_json() for k, v in report.token_sums().items()},
        "members": members,
    }


def prices_json(report: Report) -> dict[str, Any]:
    """Each model's statement lines (quantity × unit price = amount, or the amount and why) and the price list."""
    statement = report.prices(report.member_filter)
    tz = report.period.tz
    return {
        "unit": "USD per 1M tokens; USD per call for kind 'call'",
        "models": [
            {
                "model": m.model,
                "total_usd": plain_decimal(m.total),
                "lines": [
                    {
                        "kind": line.kind or None,
                        "quantity": line.quantity,
                        "unit_price": None if line.unit_price is None else plain_decimal(line.unit_price),
                        "amount_usd": plain_decimal(line.amount),
                        "note": line.note,
                        "rows": line.rows,
                    }
                    for line in m.lines
                ],
            }
            for m in statement.models
        ],
        "price_list": [
            {
                "model": e.model,
                "kind": e.kind,
                "unit_price": plain_decimal(e.unit_price),
                "group_ratio": None if e.group_ratio is None else plain_decimal(e.group_ratio),
                "first": datetime.fromtimestamp(e.first_ts, tz).isoformat(),
                "last": datetime.fromtimestamp(e.last_ts, tz).isoformat(),
                "changed": e.changed,
            }
            for e in statement.prices
        ],
    }


__all__ = ["prices_json", "tokens_json"]
