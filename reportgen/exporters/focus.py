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

Text that a spreadsheet would evaluate (``=HYPERLINK(…)``, ``+``, ``-``, ``@``) is prefixed
as the ``csv`` exporter does, since FinOps tools built on spreadsheets read this file too;
``--option safe=false`` writes text as it is (control characters removed) for a tool that
wants the exact names.
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
from ..render import FOCUS_COVERAGE, clean_text, coverage_marker, csv_text, plain_decimal
from .focus_accounts import Account, accounts, tags
from .focus_charges import Charge, Line, lines
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
    text: Callable[[object], str] = csv_text if ctx.flag("safe", True) else clean_text
    shared = _shared(report)
    extra = focus_columns()
    blank = ("",) * len(extra)
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    marker = coverage_marker(report, lambda key, **values: ctx.template.text(key, ctx.lang, **values))
    coverage = () if marker is None else (text(marker),)  # an incomplete period: every line says so
    out.writerow((*COLUMNS, *(c.focus for c in extra), *(() if marker is None else (FOCUS_COVERAGE,))))
    cells_of = _Cells(shared, text)
    for n, line in enumerate(lines(report, grain, extra), 1):
        cells = cells_of(line)
        if extra:
            cells = (*cells, *(_extra_cell(v, text) for v in line.charge.extra or blank))
        out.writerow((*cells, *coverage) if coverage else cells)
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
        what = f"{count} request(s){', ' + tokens + ' tokens' if tokens else ''}, billed in quota ({p.note})"
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


@dataclass(frozen=True)
class _Sku:
    """What a model's part kind in a user group writes: units, SKU and price ids, details, meter."""

    consumed_unit: str
    pricing_unit: str
    sku: str
    price_id: str
    details: str
    meter: str
    publisher: str


@dataclass(frozen=True)
class _Who:
    """What every line of one charge writes alike: when, whose, billed to which account."""

    period_start: str
    period_end: str
    start: str
    end: str
    key: str
    member: str
    account_id: str
    account_name: str
    provider: str
    service: str
    source: str
    tags: str
    request_id: str
    commitment: str


class _Cells:
    """A line's cells; what lines share (a charge's parts, a model's SKUs, a price) is made once."""

    def __init__(self, s: _Shared, text: Callable[[object], str]) -> None:
        self.s, self.text = s, text
        self._skus: dict[tuple[str, str, str, str], _Sku] = {}
        self._prices: dict[Decimal, str] = {}
        self._tags: dict[tuple[str, str, str, tuple[tuple[str, Decimal], ...]], str] = {}
        self._charge: Charge | None = None
        self._who: _Who | None = None

    def sku(self, model: str, kind: str, group: str, provider: str) -> _Sku:
        found = self._skus.get((model, kind, group, provider))
        if found is not None:
            return found
        text = self.text
        if kind == CALL:
            consumed_unit, pricing_unit, sku = REQUESTS, REQUESTS, f"{model}:{CALL}"
        elif kind:
            consumed_unit, pricing_unit, sku = TOKENS, MILLION_TOKENS, f"{model}:{kind}"
        else:
            consumed_unit, pricing_unit, sku = REQUESTS, QUOTA_UNIT, model
        details = {"x_ModelId": text(model)}
        if kind:
            details["x_TokenType"] = kind
        if group:
            details["x_UserGroup"] = text(group)
        found = self._skus[(model, kind, group, provider)] = _Sku(
            consumed_unit,
            pricing_unit,
            text(sku),
            text(f"{sku}@{group}" if group else sku),
            _json(details),
            METERS[kind],
            text(publisher(model, provider)),
        )
        return found

    def tags(self, member: str, key: str, source: str, shares: tuple[tuple[str, Decimal], ...]) -> str:
        found = self._tags.get((member, key, source, shares))
        if found is None:
            found = self._tags[(member, key, source, shares)] = tags(member, key, source, shares, self.text)
        return found

    def price(self, quota_price: Decimal) -> str:
        found = self._prices.get(quota_price)
        if found is None:
            found = self._prices[quota_price] = plain_decimal(quota_price / self.s.qpu)
        return found

    def who(self, c: Charge) -> _Who:
        if c is self._charge and self._who is not None:
            return self._who
        s, text = self.s, self.text
        a = s.account(c.key)
        period_start, period_end = s.period_start, s.period_end
        if c.closed is not None:  # a correction is billed in the closed period it corrects
            period_start, period_end = _utc(c.closed.start), _utc(c.closed.end)
        account_id = text(a.account_id)
        self._charge = c
        self._who = _Who(
            period_start=period_start,
            period_end=period_end,
            start=_utc(c.start),
            end=_utc(c.end),
            key=text(c.key),
            member=text(c.member),
            account_id=account_id,
            account_name=text(a.account_name),
            provider=text(a.provider),
            service=text(a.service),
            source=text(a.source),
            tags=self.tags(c.member, c.key, a.source, c.shares),
            request_id=text(c.request_id),
            commitment=f"{account_id}#subscription",
        )
        return self._who

    def __call__(self, line: Line) -> tuple[object, ...]:
        c, p, w = line.charge, line.part, self.who(line.charge)
        qpu = self.s.qpu
        k = self.sku(c.model, p.kind, c.group, w.provider)
        list_cost = plain_decimal(p.list_quota / qpu)
        cost = list_cost if p.quota == p.list_quota else plain_decimal(p.quota / qpu)
        unit_price = self.price(p.price)
        sub = c.subscription
        quota_price = _decimal(p.price)
        return (
            "",  # AvailabilityZone
            "0" if sub else cost,  # BilledCost: a subscription's usage is paid for by the subscription
            w.account_id,
            w.account_name,
            "Gateway user",  # BillingAccountType
            "USD",
            w.period_end,
            w.period_start,
            "",  # CapacityReservationId
            "",  # CapacityReservationStatus
            "Usage",  # ChargeCategory: refunds are negative usage
            "Correction" if c.closed is not None else "",  # ChargeClass
            self.text(_describe(line, unit_price)),
            "Usage-Based",
            w.end,
            w.start,
            "Spend" if sub else "",  # CommitmentDiscountCategory
            w.commitment if sub else "",  # CommitmentDiscountId
            "Gateway subscription" if sub else "",
            cost if sub else "",  # CommitmentDiscountQuantity: the amount of the commitment drawn
            "Used" if sub else "",
            "Subscription" if sub else "",
            "USD" if sub else "",  # CommitmentDiscountUnit
            _decimal(p.consumed),  # ConsumedQuantity
            k.consumed_unit,
            list_cost,  # ContractedCost: no negotiated discount, so the list cost
            unit_price,  # ContractedUnitPrice
            cost,  # EffectiveCost: what was charged (the list cost and its row's rounding to a whole quota)
            w.provider,  # HostProviderName (1.3): the gateway runs the service it sells
            "",  # InvoiceId: the gateway issues no invoice
            w.provider,  # InvoiceIssuerName
            list_cost,  # ListCost = ListUnitPrice × PricingQuantity
            unit_price,  # ListUnitPrice
            "Committed" if sub else "Standard",
            PRICING_CURRENCY,
            quota_price,  # PricingCurrencyContractedUnitPrice
            _decimal(p.quota),  # PricingCurrencyEffectiveCost
            quota_price,  # PricingCurrencyListUnitPrice
            _decimal(p.pricing),  # PricingQuantity
            k.pricing_unit,
            w.provider,  # ProviderName (deprecated in 1.3 for ServiceProviderName, kept)
            k.publisher,
            "",  # RegionId
            "",  # RegionName
            w.key,  # ResourceId
            w.key,
            "API key",
            SERVICE_CATEGORY,
            w.service,
            w.provider,  # ServiceProviderName (1.3)
            SERVICE_SUBCATEGORY,
            k.sku,  # SkuId: a model's token type (or its calls; the model itself when billed in quota)
            k.meter,  # SkuMeter
            k.details,  # SkuPriceDetails
            k.price_id,  # SkuPriceId: the SKU in the user group that prices it
            w.member,  # SubAccountId
            w.member,
            "Member",
            w.tags,
            self.s.qpu_text,
            line.requests,
            *(_count(n) for n in p.tokens),
            p.note,
            w.request_id,
            c.kind,
            "subscription" if sub else "wallet",
            w.source,
            self.s.fingerprint,
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
