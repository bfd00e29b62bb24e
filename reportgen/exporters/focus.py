"""FOCUS 1.2 (with 1.3's additive columns): the FinOps Open Cost and Usage Specification, so
FinOps tools load gateway spend beside cloud bills.

One row per consumption or refund log row (``--option grain=row``, the default), or per
local day × key × model × billing source (``--option grain=day``, from the report's grouped
rows); :mod:`.focus_charges` lists them.  Costs are in USD, exact (quota ÷ quota per unit, never
a float); a refund is negative Usage; a subscription-billed row is billed 0 (``BilledCost``) but
costs its value (``EffectiveCost``), like usage drawn from a prepaid commitment, so Σ BilledCost
+ Σ EffectiveCost of the subscription rows = Σ EffectiveCost = the statement.  Each source is its
own billing account and service, and a row's allocation (member, key, source, projects) is its
``Tags`` (:mod:`.focus_accounts`).  Reportgen's own fields are ``x_`` columns, and a registered
detail column that names one (``DetailColumn.focus``) is written after them.  Rows stream from
the store, so memory stays flat.  The README lists the mapping and the conformance gaps;
:mod:`.focus_spec` the columns.

Values are written as they are (control characters removed): this is a feed for cost
tools, not a spreadsheet; ``--option safe=true`` prefixes text that a spreadsheet would
evaluate, as the ``csv`` exporter always does.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import IO

from .. import plugins
from ..core.columns import DetailColumn
from ..core.report import Report
from ..errors import PluginError, UsageError
from ..hookspecs import ExportContext, Exporter, RegisterExporter, hookimpl
from ..render import QuotientText, clean_text, csv_text, plain_decimal
from .focus_accounts import Account, accounts, tags
from .focus_charges import Charge, charges
from .focus_spec import (
    COLUMNS,
    PRICING_CURRENCY,
    QUOTA_UNIT,
    REQUESTS,
    SERVICE_CATEGORY,
    SERVICE_SUBCATEGORY,
    publisher,
)

GRAINS = ("row", "day")
_FLUSH_EVERY = 2000


@dataclass(frozen=True)
class _Shared:
    """What every row shares: the billing period, the quota unit, the fingerprint, the accounts."""

    period_start: str
    period_end: str
    unit_price: str
    qpu: str
    fingerprint: str
    accounts: dict[str, Account]
    source_of: Callable[[str], str]

    def account(self, key: str) -> Account:
        """The billing account of the source ``key`` belongs to."""
        return self.accounts.get(self.source_of(key)) or next(iter(self.accounts.values()))


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _shared(report: Report) -> _Shared:
    return _Shared(
        period_start=_utc(report.period.start),
        period_end=_utc(report.period.end),
        unit_price=plain_decimal(Decimal(1) / report.quota_per_unit),
        qpu=plain_decimal(report.quota_per_unit),
        fingerprint=report.provenance.fingerprint,
        accounts=accounts(report),
        source_of=report.source_of,
    )


def write_focus(report: Report, fp: IO[bytes], ctx: ExportContext) -> None:
    """Write the report's charges as a FOCUS 1.2 CSV (UTF-8, no BOM, RFC 4180)."""
    grain = (ctx.option("grain", "row") or "row").strip().lower()
    if grain not in GRAINS:
        raise UsageError(f"--option grain={grain!r}: the FOCUS exporter writes grain=row or grain=day")
    text: Callable[[object], str] = csv_text if ctx.flag("safe", False) else clean_text
    shared = _shared(report)
    usd = QuotientText(report.quota_per_unit)
    extra = focus_columns()
    blank = ("",) * len(extra)
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow((*COLUMNS, *(c.focus for c in extra)))
    for n, charge in enumerate(charges(report, grain, extra), 1):
        cells = _cells(charge, shared, usd, text)
        if extra:
            cells = (*cells, *(_extra_cell(v, text) for v in charge.extra or blank))
        out.writerow(cells)
        if n % _FLUSH_EVERY == 0:
            fp.write(buf.getvalue().encode("utf-8"))
            buf.seek(0)
            buf.truncate()
    fp.write(buf.getvalue().encode("utf-8"))


def focus_columns() -> tuple[DetailColumn, ...]:
    """The registered detail columns that name a FOCUS extension column, in order (written after ours)."""
    extra = tuple(c for c in plugins.columns().all if isinstance(c, DetailColumn) and c.focus)
    for c in extra:
        if c.focus in COLUMNS:
            raise PluginError(f"{c!r}: {c.focus} is already a column of the FOCUS file")
    return extra


def _extra_cell(value: object, text: Callable[[object], str]) -> object:
    if value is None:
        return ""
    return text(value) if isinstance(value, str) else value


def _decimal(n: int) -> str:
    """A whole quantity written as a decimal (``826.0``): FOCUS types it Decimal, and tools that
    infer column types from the values (pandas, the FOCUS validator) would read ``826`` as integer."""
    return f"{n}.0"


def _cells(c: Charge, s: _Shared, usd: QuotientText, text: Callable[[object], str]) -> tuple[object, ...]:
    cost = usd(c.quota)
    model, key, member = text(c.model), text(c.key), text(c.member)
    sub = c.subscription
    a = s.account(c.key)
    what = "refund" if c.kind == "refund" else f"{c.prompt} input + {c.completion} output tokens"
    description = f"{c.model}: {what}" if c.kind != "net" else f"{c.model}: {c.requests} requests, {what}"
    period_start, period_end = s.period_start, s.period_end
    if c.closed is not None:  # a correction is billed in the closed period it corrects
        period_start, period_end = _utc(c.closed.start), _utc(c.closed.end)
        change = {"added": "row added", "removed": "row removed (negated)", "net": "rows changed"}[
            c.correction
        ]
        description = (
            f"Correction to closed {c.closed.label} (revision {c.revision}), {change} since: {description}"
        )
    provider = text(a.provider)
    return (
        "",  # AvailabilityZone
        "0" if sub else cost,  # BilledCost: a subscription's usage is paid for by the subscription
        text(a.account_id),
        text(a.account_name),
        "Gateway user",  # BillingAccountType
        "USD",
        period_end,
        period_start,
        "",  # CapacityReservationId
        "",  # CapacityReservationStatus
        "Usage",  # ChargeCategory: refunds are negative usage
        "Correction" if c.closed is not None else "",  # ChargeClass
        text(description),
        "Usage-Based",
        _utc(c.end),
        _utc(c.start),
        "Spend" if sub else "",  # CommitmentDiscountCategory
        f"{text(a.account_id)}#subscription" if sub else "",  # CommitmentDiscountId
        "Gateway subscription" if sub else "",
        cost if sub else "",  # CommitmentDiscountQuantity: the amount of the commitment drawn
        "Used" if sub else "",
        "Subscription" if sub else "",
        "USD" if sub else "",  # CommitmentDiscountUnit
        _decimal(c.requests),  # ConsumedQuantity
        REQUESTS,  # ConsumedUnit
        cost,  # ContractedCost: no negotiated discount, so the list cost
        s.unit_price,
        cost,  # EffectiveCost
        provider,  # HostProviderName (1.3): the gateway runs the service it sells
        "",  # InvoiceId: the gateway issues no invoice
        provider,  # InvoiceIssuerName
        cost,  # ListCost = ListUnitPrice × PricingQuantity
        s.unit_price,
        "Committed" if sub else "Standard",
        PRICING_CURRENCY,
        "1",  # PricingCurrencyContractedUnitPrice: one quota unit costs one quota unit
        _decimal(c.quota),  # PricingCurrencyEffectiveCost
        "1",  # PricingCurrencyListUnitPrice
        _decimal(c.quota),  # PricingQuantity
        QUOTA_UNIT,
        provider,  # ProviderName (deprecated in 1.3 for ServiceProviderName, kept)
        text(publisher(c.model, a.provider)),
        "",  # RegionId
        "",  # RegionName
        key,  # ResourceId
        key,
        "API key",
        SERVICE_CATEGORY,
        text(a.service),
        provider,  # ServiceProviderName (1.3)
        SERVICE_SUBCATEGORY,
        model,  # SkuId
        REQUESTS,  # SkuMeter
        _details(c.model, text),  # SkuPriceDetails
        model,  # SkuPriceId: a model's price is its ratio, one per model
        member,  # SubAccountId
        member,
        "Member",
        tags(c.member, c.key, a.source, c.shares, text),
        s.qpu,
        c.requests,
        c.prompt,
        c.completion,
        text(c.request_id),
        c.kind,
        "subscription" if sub else "wallet",
        text(a.source),
        s.fingerprint,
        c.correction,
    )


def _details(model: str, text: Callable[[object], str]) -> str:
    """SkuPriceDetails: a JSON object of the price's properties (provider-defined keys start with x_)."""
    return json.dumps({"x_ModelId": text(model)}, ensure_ascii=False, separators=(",", ":"))


@hookimpl
def register_exporters(register: RegisterExporter) -> None:
    register(
        Exporter(
            name="focus",
            extension="csv",
            suffix="-focus",
            description="FOCUS 1.2 cost and usage CSV for FinOps tools (option grain=row|day)",
            write=write_focus,
            media_type="text/csv",
            options=("grain", "safe"),
        )
    )
