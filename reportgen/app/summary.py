"""A report as JSON: the one serializer of ``summary --json`` and of the packet manifest's figures.

``summary --json`` is :func:`report_json`, a stable shape other tools can rely on; the
manifest (:mod:`reportgen.app.packet`) states the same period, exchange rate, totals and
basis through the same functions (:func:`period_json`, :func:`exchange_json`,
:func:`totals_json`, :func:`basis_json`), so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..core.budget import ProjectLine
from ..core.corrections import correction_totals
from ..core.findings import CUT, DUPLICATE, by_reason
from ..core.money import SHARE_PLACES, plain_decimal, usd
from ..core.money import fixed as money
from ..core.periods import Part, Period
from ..core.report import Report
from ..core.stats import Line, Stats
from .moneyjson import claim_json, printed_json, split_json
from .tokensjson import prices_json, tokens_json

#: The whole-number totals a report states, in order; ``cost_usd`` follows them.
COUNTS = (
    "requests",
    "errors",
    "consumed_quota",
    "refunded_quota",
    "subscription_quota",
    "quota",
    "prompt_tokens",
    "completion_tokens",
)


def counts_json(s: Stats) -> dict[str, int]:
    """The whole-number totals of ``s`` (see :data:`COUNTS`)."""
    return {name: getattr(s, name) for name in COUNTS}


def totals_json(s: Stats) -> dict[str, Any]:
    """The totals a packet manifest states (and a verifier re-derives from the rows): USD exact."""
    return {**counts_json(s), "cost_usd": plain_decimal(s.cost_usd)}


def stats_json(s: Stats, report: Report) -> dict[str, Any]:
    """A line's figures in ``summary --json``: the totals (USD to six places), CNY, latency and success."""
    return {
        **counts_json(s),
        "cost_usd": money(s.cost_usd),
        "cost_cny": money(report.cny_of(s)),
        "latency_p50_ms": s.latency_p50_ms,
        "latency_p95_ms": s.latency_p95_ms,
        "success_rate": money(s.success_rate, SHARE_PLACES),
        **split_json(s, report),
    }


def basis_json(part: Part) -> dict[str, Any]:
    """One part of a period and where its figures come from."""
    return {
        "start": part.start.isoformat(),
        "end": part.end.isoformat(),
        "frozen": part.frozen,
        "closed_period": part.closed_label,
        "revision": part.revision,
        "closed_at": None if part.closed_at is None else part.closed_at.isoformat(),
    }


def report_json(report: Report) -> dict[str, Any]:
    """The report as plain JSON types; ``end`` is exclusive."""
    p = report.period
    prov = report.provenance
    closed = report.closed

    def line(item: Line, **extra: Any) -> dict[str, Any]:
        return {"name": item.name, **extra, **stats_json(item.stats, report)}

    return {
        "period": period_json(p),
        "quota_per_unit": int(report.quota_per_unit)
        if report.quota_per_unit == report.quota_per_unit.to_integral_value()
        else str(report.quota_per_unit),
        "exchange_rate": exchange_json(report),
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
        "coverage": {
            "complete": report.coverage.complete,
            "missing": [
                {
                    "start": datetime.fromtimestamp(a, p.tz).isoformat(),
                    "end": datetime.fromtimestamp(b, p.tz).isoformat(),
                }
                for a, b in report.coverage.missing
            ],
        },
        **({"left_out": left_out_json(report)} if report.left_out else {}),
        "closed": None
        if closed is None
        else {
            "revision": closed.revision,
            "closed_at": None if closed.closed_at is None else closed.closed_at.isoformat(),
        },
        "basis": [basis_json(part) for part in report.basis],
        "source": {
            "gateway": prov.base_url,
            "user_id": prov.user_id,
            "flavor": prov.flavor,
            "synced_at": None if prov.synced_at is None else prov.synced_at.isoformat(),
            "fingerprint": prov.fingerprint,
        },
        "totals": stats_json(report.totals, report),
        "claim": claim_json(report),
        "printed": printed_json(report),
        "members": [line(m, keys=list(m.keys)) for m in report.members],
        "keys": [line(k, member=k.keys[0] if k.keys else k.name) for k in report.keys],
        "models": [line(m) for m in report.models],
        "days": [line(d) for d in report.days],
        "member_models": [
            {"member": mm.name, "model": mm.model, **stats_json(mm.stats, report)}
            for mm in report.member_models
        ],
        "projects": [project_json(p) for p in report.projects],
        "corrections": corrections_json(report),
        **({"tokens": tokens_json(report), "prices": prices_json(report)} if report.price_groups else {}),
    }


def period_json(p: Period, *, end_exclusive: bool = False) -> dict[str, Any]:
    """A period: label, start and end (exclusive; ``end_exclusive`` says so in the JSON), timezone."""
    return {
        "label": p.label,
        "start": p.start.isoformat(),
        "end": p.end.isoformat(),
        **({"end_exclusive": True} if end_exclusive else {}),
        "timezone": p.timezone,
    }


def exchange_json(report: Report) -> dict[str, Any]:
    """The CNY rate of a report, where it came from, and each source's when they differ."""
    ex = report.exchange
    return {
        "cny_per_usd": None if ex.rate is None else str(ex.rate),
        "source": ex.source,
        "as_of": None if ex.as_of is None else ex.as_of.isoformat(),
        "applies_to": ex.applies_to,
        **({"per_source": source_rates_json(report)} if report.source_rates else {}),
    }


def left_out_json(report: Report) -> dict[str, Any]:
    """The rows the gateway served for the period that are not stored as rows: how many, why, where."""
    tz = report.period.tz
    return {
        "rows": sum(f.rows for f in report.left_out if f.unexplained),
        "repeated": sum(f.rows for f in report.left_out if f.reason == DUPLICATE),
        "cut": sum(f.rows for f in report.left_out if f.reason == CUT),
        "by_reason": by_reason(report.left_out),
        "windows": [
            {
                "start": datetime.fromtimestamp(f.start_ts, tz).isoformat(),
                "end": datetime.fromtimestamp(f.end_ts + 1, tz).isoformat(),
                "reason": f.reason,
                "rows": f.rows,
                "quota": f.quota,
                "example": f.example,
            }
            for f in report.left_out
        ],
    }


def source_rates_json(report: Report) -> list[dict[str, Any]]:
    """Each source's CNY rate, when the sources convert at different rates (``cny_per_usd`` is then null)."""
    return [
        {
            "name": name,
            "cny_per_usd": None if e.rate is None else str(e.rate),
            "source": e.source,
            "as_of": None if e.as_of is None else e.as_of.isoformat(),
        }
        for name, e in report.source_rates
    ]


def corrections_json(report: Report) -> dict[str, Any] | None:
    """What changed in the closed periods of the report since their close (None: nothing).

    ``totals`` + this = the live figures; the FOCUS file carries the same rows as
    ``ChargeClass = Correction``.
    """
    if report.corrections is None:
        return None
    t = correction_totals(report.corrections(), report.rate_of)
    if not (t.rows_added or t.rows_removed):  # the amendments concern sources or keys not shown
        return None
    cost = usd(t.quota, report.quota_per_unit)
    cny = report.cny(cost) if not report.source_rates else t.cny(report.quota_per_unit)
    return {
        "rows_added": t.rows_added,
        "rows_removed": t.rows_removed,
        "requests": t.requests,
        "consumed_quota": t.consumed_quota,
        "refunded_quota": t.refunded_quota,
        "quota": t.quota,
        "subscription_quota": t.subscription_quota,
        "cost_usd": money(cost),
        "cost_cny": money(cny),
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
        "share_used": money(p.share_used, SHARE_PLACES),
        "burn_per_day": money(p.burn_per_day),
        "run_out": None if p.run_out is None else p.run_out.isoformat(),
        "run_out_after_end": p.run_out_after_end,
        "over_budget": p.over_budget,
        "outside_dates": {"amount": money(p.outside), "days": [d.isoformat() for d in p.outside_days]},
        "unsynced_days": p.unsynced_days,
        "unsynced": [[a.isoformat(), z.isoformat()] for a, z in p.unsynced],
        "categories": [
            {
                "category": c.name,  # "" for a single budget amount or the unassigned line
                "assigned": c.assigned,
                "budget": money(c.budget),
                "period_spent": money(c.period_spent),
                "spent": money(c.spent),
                "remaining": money(c.remaining),
                "share_used": money(c.share_used, SHARE_PLACES),
            }
            for c in p.categories
        ],
    }
