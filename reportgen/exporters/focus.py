"""FOCUS 1.2 (with 1.3's additive columns): the FinOps Open Cost and Usage Specification, so
FinOps tools load gateway spend beside cloud bills.

One row per token type of each consumption log row whose logged ratios explain its quota
(one per call for a per-call model; else, and for refunds, the row's cost on one row billed in
quota units: :mod:`.focus_meters`), by row (``--option grain=row``, the default) or summed per
local day (``--option grain=day``); :mod:`.focus_charges` lists them.  Costs are in USD, exact
(quota ÷ quota per unit, never a float); a refund is negative Usage; a subscription-billed row
is billed 0 (``BilledCost``) but costs its value (``EffectiveCost``), like usage drawn from a
prepaid commitment, so Σ BilledCost + Σ EffectiveCost of the subscription rows = Σ
EffectiveCost = the statement.  Each source is its own billing account and service, and a
row's allocation (member, key, source, projects) is its ``Tags`` (:mod:`.focus_accounts`).
Reportgen's own fields are ``x_`` columns, and a registered detail column that names one
(``DetailColumn.focus``) is written after them.  Rows stream from the store, so memory stays
flat (by day: the day sums).  The README lists the mapping and the conformance gaps;
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
from ..render import clean_text, csv_text, plain_decimal
from .focus_accounts import Account, accounts, tags
from .focus_charges import Line, lines
from .focus_meters import CALL, METERS
from .focus_spec import (
    COLUMNS,
    MILLION_TOKENS,
    PRICING_CURRENCY,
    QUOTA_UNIT,
    REQUESTS,
    SERVICE_CATEGORY,
    SERVICE_SUBCATEGORY,
    TOKENS,
    publisher,
)

GRAINS = ("row", "day")
_FLUSH_EVERY = 2000


@dataclass(frozen=True)
class _Shared:
    """What every row shares: the billing period, the quota unit, the fingerprint, the accounts."""

    period_start: str
    period_end: str
    qpu: Decimal
    qpu_text: str
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
        qpu=report.quota_per_unit,
        qpu_text=plain_decimal(report.quota_per_unit),
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
    extra = focus_columns()
    blank = ("",) * len(extra)
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow((*COLUMNS, *(c.focus for c in extra)))
    for n, line in enumerate(lines(report, grain, extra), 1):
        cells = _cells(line, shared, text)
        if extra:
            cells = (*cells, *(_extra_cell(v, text) for v in line.charge.extra or blank))
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


def _decimal(n: Decimal | int) -> str:
    """A quantity written as a decimal (``826.0``): FOCUS types it Decimal, and tools that infer
    column types from the values (pandas, the FOCUS validator) would read ``826`` as integer."""
    text = plain_decimal(Decimal(n))
    return text if "." in text else f"{text}.0"


def _count(n: int | None) -> object:
    return "" if n is None else n


_TOKEN_NAMES = ("input", "output", "cache read", "cache write", "image", "audio input", "audio output")


def _describe(line: Line, price: str) -> str:
    """ChargeDescription: what the line charges for, and at what price, in a line."""
    c, p = line.charge, line.part
    count = plain_decimal(p.consumed)
    if p.kind == CALL:
        what = f"{count} call(s) at USD {price} per call"
    elif p.kind:
        what = f"{count} {METERS[p.kind].lower()} at USD {price} per 1M tokens"
    elif p.note == "refund":
        what = "refund"
    else:
        tokens = " + ".join(f"{n} {name}" for n, name in zip(p.tokens, _TOKEN_NAMES, strict=True) if n)
        what = f"{count} request(s){', ' + tokens if tokens else ''}, billed in quota ({p.note})"
    description = f"{c.model}: {what}"
    if c.closed is not None:  # a correction is billed in the closed period it corrects
        change = {"added": "row added", "removed": "row removed (negated)", "net": "rows changed"}[
            c.correction
        ]
        description = (
            f"Correction to closed {c.closed.label} (revision {c.revision}), {change} since: {description}"
        )
    return description


def _json(values: dict[str, str]) -> str:
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def _cells(line: Line, s: _Shared, text: Callable[[object], str]) -> tuple[object, ...]:
    c, p = line.charge, line.part
    qpu = s.qpu
    list_cost = plain_decimal(p.list_quota / qpu)
    cost = plain_decimal(p.quota / qpu)
    unit_price = plain_decimal(p.price / qpu)
    if p.kind == CALL:
        consumed_unit, pricing_unit, sku = REQUESTS, REQUESTS, f"{c.model}:{CALL}"
    elif p.kind:
        consumed_unit, pricing_unit, sku = TOKENS, MILLION_TOKENS, f"{c.model}:{p.kind}"
    else:
        consumed_unit, pricing_unit, sku = REQUESTS, QUOTA_UNIT, c.model
    price_id = f"{sku}@{c.group}" if c.group else sku
    details = {"x_ModelId": text(c.model)}
    if p.kind:
        details["x_TokenType"] = p.kind
    if c.group:
        details["x_UserGroup"] = text(c.group)
    key, member = text(c.key), text(c.member)
    sub = c.subscription
    a = s.account(c.key)
    period_start, period_end = s.period_start, s.period_end
    if c.closed is not None:  # a correction is billed in the closed period it corrects
        period_start, period_end = _utc(c.closed.start), _utc(c.closed.end)
    provider, account_id = text(a.provider), text(a.account_id)
    return (
        "",  # AvailabilityZone
        "0" if sub else cost,  # BilledCost: a subscription's usage is paid for by the subscription
        account_id,
        text(a.account_name),
        "Gateway user",  # BillingAccountType
        "USD",
        period_end,
        period_start,
        "",  # CapacityReservationId
        "",  # CapacityReservationStatus
        "Usage",  # ChargeCategory: refunds are negative usage
        "Correction" if c.closed is not None else "",  # ChargeClass
        text(_describe(line, unit_price)),
        "Usage-Based",
        _utc(c.end),
        _utc(c.start),
        "Spend" if sub else "",  # CommitmentDiscountCategory
        f"{account_id}#subscription" if sub else "",  # CommitmentDiscountId
        "Gateway subscription" if sub else "",
        cost if sub else "",  # CommitmentDiscountQuantity: the amount of the commitment drawn
        "Used" if sub else "",
        "Subscription" if sub else "",
        "USD" if sub else "",  # CommitmentDiscountUnit
        _decimal(p.consumed),  # ConsumedQuantity
        consumed_unit,
        list_cost,  # ContractedCost: no negotiated discount, so the list cost
        unit_price,  # ContractedUnitPrice
        cost,  # EffectiveCost: what was charged (the list cost and its row's rounding to a whole quota)
        provider,  # HostProviderName (1.3): the gateway runs the service it sells
        "",  # InvoiceId: the gateway issues no invoice
        provider,  # InvoiceIssuerName
        list_cost,  # ListCost = ListUnitPrice × PricingQuantity
        unit_price,  # ListUnitPrice
        "Committed" if sub else "Standard",
        PRICING_CURRENCY,
        _decimal(p.price),  # PricingCurrencyContractedUnitPrice
        _decimal(p.quota),  # PricingCurrencyEffectiveCost
        _decimal(p.price),  # PricingCurrencyListUnitPrice
        _decimal(p.pricing),  # PricingQuantity
        pricing_unit,
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
        text(sku),  # SkuId: a model's token type (or its calls; the model itself when billed in quota)
        METERS[p.kind],  # SkuMeter
        _json(details),  # SkuPriceDetails
        text(price_id),  # SkuPriceId: the SKU in the user group that prices it
        member,  # SubAccountId
        member,
        "Member",
        tags(c.member, c.key, a.source, c.shares, text),
        s.qpu_text,
        line.requests,
        *(_count(n) for n in p.tokens),
        p.note,
        text(c.request_id),
        c.kind,
        "subscription" if sub else "wallet",
        text(a.source),
        s.fingerprint,
        c.correction,
    )


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
