"""The money policy in ``summary --json``: each line's split, the claim, and the figures as printed.

Amounts are fixed-point strings: exact ones to six places (``money``), printed ones to the
cent (``printed``), so a tool can re-add what the documents print: the members' printed
USD plus the rounding line equal the printed total; printed USD × printed rate plus the
conversion difference equal the printed CNY.
"""

from __future__ import annotations

from typing import Any

from ..core.money import CENT, convert_for_print, convert_parts_for_print, printed_lines, rate_text
from ..core.money import fixed as money
from ..core.report import Report
from ..core.stats import Stats
from ..render import source_usd


def split_json(s: Stats, report: Report) -> dict[str, Any]:
    """A line's spend in USD, exact: consumption, refunds, net, wallet-paid, subscription-billed."""
    split = report.split(s)
    return {
        "subscription_refunded_quota": s.subscription_refunded_quota,
        "consumption_usd": money(split.consumption),
        "refunds_usd": money(split.refunds),
        "net_usd": money(split.net),
        "wallet_usd": money(split.wallet),
        "subscription_usd": money(split.subscription),
    }


def claim_json(report: Report) -> dict[str, Any]:
    """What a claim is for, on the report's claim base, and its CNY as the claim form prints it."""
    claim = report.claim_amount()
    printed = claim.printed()
    return {
        "base": claim.base,
        "usd": money(claim.usd),
        "cny": money(claim.cny),
        "left_out_usd": money(claim.left_out),
        "parts": [
            {
                "source": part.source or None,
                "usd": money(part.usd),
                "cny_per_usd": None if part.exchange.rate is None else str(part.exchange.rate),
            }
            for part in claim.parts
        ],
        "printed": None
        if printed is None
        else {
            "parts": [_conversion(c) for c in printed[0]],
            "rounding": money(printed[1].rounding, CENT),
            "cny": money(printed[1].total, CENT),
        },
    }


def printed_json(report: Report) -> dict[str, Any]:
    """The figures as the documents print them (to the cent), with their rounding lines."""
    t = report.totals
    members = printed_lines([m.stats.cost_usd for m in report.members], t.cost_usd)
    out: dict[str, Any] = {
        "members_usd": {
            "lines": [money(x, CENT) for x in members.lines],
            "rounding": money(members.rounding, CENT),
            "total": money(members.total, CENT),
        },
        "cny": None,
    }
    parts = source_usd(report)
    if parts:
        conversions, footed = convert_parts_for_print([(u, r) for _, r, u in parts])
        products = sum((c.product for c in conversions), 0 * CENT)
        out["cny"] = {
            "parts": [
                {"source": name, **_conversion(c)} for (name, _, _), c in zip(parts, conversions, strict=True)
            ],
            "conversion_difference": money(footed.total - products, CENT),
            "total": money(footed.total, CENT),
        }
    elif report.exchange.rate is not None:
        c = convert_for_print(t.cost_usd, report.exchange.rate)
        out["cny"] = {**_conversion(c), "total": money(c.amount, CENT)}
    return out


def _conversion(c: Any) -> dict[str, Any]:
    return {
        "usd": money(c.usd, CENT),
        "rate": rate_text(c.rate),
        "product": money(c.product, CENT),
        "conversion_difference": money(c.difference, CENT),
    }
