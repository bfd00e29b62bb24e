"""The ``summary --json`` document: a stable shape other tools can rely on."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from .models import Line, ProjectLine, Report, Stats

USD_PLACES = Decimal("0.000001")


def money(value: Decimal | None, places: Decimal = USD_PLACES) -> str | None:
    """A Decimal as a fixed-point string (``"12.345600"``); money is never a float in JSON."""
    if value is None:
        return None
    return str(value.quantize(places, rounding=ROUND_HALF_EVEN))


def stats_json(s: Stats) -> dict[str, Any]:
    return {
        "requests": s.requests,
        "errors": s.errors,
        "consumed_quota": s.consumed_quota,
        "refunded_quota": s.refunded_quota,
        "quota": s.quota,
        "subscription_quota": s.subscription_quota,
        "prompt_tokens": s.prompt_tokens,
        "completion_tokens": s.completion_tokens,
        "cost_usd": money(s.cost_usd),
        "cost_cny": money(s.cost_cny),
        "latency_p50_ms": s.latency_p50_ms,
        "latency_p95_ms": s.latency_p95_ms,
        "success_rate": None if s.success_rate is None else str(s.success_rate.quantize(Decimal("0.0001"))),
    }


def _line(line: Line, **extra: Any) -> dict[str, Any]:
    return {"name": line.name, **extra, **stats_json(line.stats)}


def report_json(report: Report) -> dict[str, Any]:
    """The report as plain JSON types; ``end`` is exclusive."""
    p = report.period
    ex = report.exchange
    prov = report.provenance
    return {
        "period": {
            "label": p.label,
            "start": p.start.isoformat(),
            "end": p.end.isoformat(),
            "timezone": p.timezone,
        },
        "quota_per_unit": int(report.quota_per_unit)
        if report.quota_per_unit == report.quota_per_unit.to_integral_value()
        else str(report.quota_per_unit),
        "exchange_rate": {
            "cny_per_usd": None if ex.rate is None else str(ex.rate),
            "source": ex.source,
            "as_of": None if ex.as_of is None else ex.as_of.isoformat(),
        },
        "currencies": [
            {
                "code": c.code,
                "rate": str(c.rate),
                "source": c.source,
                "date": c.as_of.isoformat(),
                "total": money(c.convert(report.totals.cost_usd)),
            }
            for c in report.conversions
        ],
        "member": report.member_filter,
        "source": {
            "gateway": prov.base_url,
            "user_id": prov.user_id,
            "flavor": prov.flavor,
            "synced_at": None if prov.synced_at is None else prov.synced_at.isoformat(),
            "fingerprint": prov.fingerprint,
        },
        "totals": stats_json(report.totals),
        "members": [_line(m, keys=list(m.keys)) for m in report.members],
        "keys": [_line(k, member=k.keys[0] if k.keys else k.name) for k in report.keys],
        "models": [_line(m) for m in report.models],
        "days": [_line(d) for d in report.days],
        "member_models": [
            {"member": line.name, "model": line.model, **stats_json(line.stats)}
            for line in report.member_models
        ],
        "projects": [project_json(p) for p in report.projects],
    }


def project_json(p: ProjectLine) -> dict[str, Any]:
    """One project's budget position; money in the budget currency as decimal strings."""
    return {
        "name": p.name,
        "title": p.title,
        "code": p.code,
        "currency": p.currency,
        "start": p.start.isoformat(),
        "end": p.end.isoformat(),
        "as_of": None if p.as_of is None else p.as_of.isoformat(),
        "budget": money(p.budget),
        "spent": money(p.spent),
        "period_spent": money(p.period_spent),
        "remaining": money(p.remaining),
        "share_used": None if p.share_used is None else str(p.share_used.quantize(Decimal("0.0001"))),
        "burn_per_day": money(p.burn_per_day),
        "run_out": None if p.run_out is None else p.run_out.isoformat(),
        "over_budget": p.over_budget,
        "outside_dates": {"amount": money(p.outside), "days": [d.isoformat() for d in p.outside_days]},
        "unsynced_days": p.unsynced_days,
    }
