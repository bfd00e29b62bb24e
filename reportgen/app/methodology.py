"""The packet's methodology note: how the figures were computed, with this report's own numbers."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from ..core.fingerprint import RECIPE, ROW_FIELDS
from ..core.money import convert_for_print, money_text, plain_decimal, rate_text
from ..core.periods import period_args, period_name
from ..core.rates import Exchange
from ..core.report import Report
from ..render import totals
from ..templating import wording

if TYPE_CHECKING:
    from ..read import PeriodView


def methodology_markdown(view: PeriodView, lang: str) -> str:
    """The methodology note of a view in ``lang`` (zh or en), with its own figures and scope."""
    t = wording(lang).group("method_")
    report, closure, rows = view.report, view.closure, view.row_count
    p, prov, ex = report.period, report.provenance, report.exchange
    s = totals(report)
    fmt = "%Y-%m-%d %H:%M"
    day = "%Y-%m-%d"
    if report.grant is not None:
        scope = t["scope_project"].format(
            project=view.scope.name,
            keys=", ".join(view.token_names or ()) or t["none"],
            charged=money_text(report.grant.spent),
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
        _claim_text(report, t),
        t["other_types"],
        _source_rates_text(report, t)
        if report.source_rates
        else _cny_text(s.cost_usd, ex, t)
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


def _cny_text(usd: Decimal, ex: Exchange, t: dict[str, str]) -> str:
    """How the CNY total is computed, with the printed USD × rate and the 折算差额 the statement shows."""
    assert ex.rate is not None
    c = convert_for_print(usd, ex.rate)
    return t["cny"].format(
        rate=rate_text(ex.rate),
        source=ex.source,
        date=ex.as_of.date().isoformat() if ex.as_of else t["none"],
        cny=money_text(c.amount),
        usd=money_text(c.usd),
        product=money_text(c.product),
        difference=money_text(c.difference),
    )


def _claim_text(report: Report, t: dict[str, str]) -> str:
    """Which base a claim is for (wallet-paid by default), and its amount."""
    claim = report.claim_amount()
    cny = claim.cny
    return t["claim_base"].format(
        base=t[f"base_{claim.base}"],
        usd=money_text(claim.usd),
        cny=t["none"] if cny is None else money_text(cny),
        left_out=money_text(claim.left_out),
    )


def _source_rates_text(report: Report, t: dict[str, str]) -> str:
    cny = report.cny_of(totals(report))
    rates = "; ".join(
        f"{name}: 1 USD = {t['none'] if e.rate is None else plain_decimal(e.rate)} CNY, {e.source}"
        for name, e in report.source_rates
    )
    if cny is None:
        return t["no_cny"].format(source=rates)
    return t["cny_sources"].format(rates=rates, cny=money_text(cny))
