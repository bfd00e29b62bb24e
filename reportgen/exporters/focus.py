"""FOCUS 1.2: the FinOps Open Cost and Usage Specification, so FinOps tools load gateway spend
beside cloud bills.

One row per consumption or refund log row (``--option grain=row``, the default), or per
local day × key × model × billing source (``--option grain=day``, from the report's grouped
rows).  Costs are in USD, exact (quota ÷ quota per unit, never a float); a refund is
negative Usage; a subscription-billed row is billed 0 (``BilledCost``) but costs its value
(``EffectiveCost``), like usage drawn from a prepaid commitment.  Reportgen's own fields
are ``x_`` columns, and a registered detail column that names one (``DetailColumn.focus``)
is written after them.  Rows stream from the store, so memory stays flat.  The README lists
the mapping and the conformance gaps; :mod:`.focus_spec` the columns.

Values are written as they are (control characters removed): this is a feed for cost
tools, not a spreadsheet; ``--option safe=true`` prefixes text that a spreadsheet would
evaluate, as the ``csv`` exporter always does.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import IO, Any
from urllib.parse import urlsplit

from .. import plugins
from ..core.columns import DetailColumn
from ..core.corrections import Correction
from ..core.periods import Period
from ..core.records import LogType
from ..core.report import Report
from ..errors import PluginError, UsageError
from ..hookspecs import ExportContext, Exporter, RegisterExporter, hookimpl
from ..render import QuotientText, clean_text, csv_text, plain_decimal
from .focus_spec import (
    COLUMNS,
    CONSUMED_UNIT,
    PRICING_UNIT,
    SERVICE_CATEGORY,
    SERVICE_SUBCATEGORY,
    publisher,
)

GRAINS = ("row", "day")
_FLUSH_EVERY = 2000


@dataclass(frozen=True)
class _Account:
    """A source's gateway as provider and billing account (one per source the report reads)."""

    provider: str
    account_id: str
    account_name: str
    service: str


@dataclass(frozen=True)
class _Shared:
    """What every row shares: the billing period, the quota unit, the fingerprint, the accounts."""

    period_start: str
    period_end: str
    unit_price: str
    qpu: str
    fingerprint: str
    accounts: dict[str, _Account]
    source_of: Callable[[str], str]

    def account(self, key: str) -> _Account:
        """The billing account of the source ``key`` belongs to."""
        return self.accounts.get(self.source_of(key)) or next(iter(self.accounts.values()))


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _account_of(base_url: str, user: str) -> _Account:
    host = urlsplit(base_url).hostname or base_url or "unknown gateway"
    return _Account(
        provider=host,
        account_id=f"{host}#{user}" if user else host,
        account_name=f"{host} user {user}" if user else host,
        service=f"{host} LLM API",
    )


def _shared(report: Report) -> _Shared:
    prov = report.provenance
    accounts = {}
    for name, account in report.source_accounts:  # "URL#USER_ID"
        base_url, _, user = account.rpartition("#") if "#" in account else (account, "", "")
        accounts[name] = _account_of(base_url, user)
    if not accounts:  # a report not read from a store
        accounts["default"] = _account_of(prov.base_url, "" if prov.user_id is None else str(prov.user_id))
    return _Shared(
        period_start=_utc(report.period.start),
        period_end=_utc(report.period.end),
        unit_price=plain_decimal(Decimal(1) / report.quota_per_unit),
        qpu=plain_decimal(report.quota_per_unit),
        fingerprint=report.provenance.fingerprint,
        accounts=accounts,
        source_of=report.source_of,
    )


@dataclass(frozen=True)
class _Charge:
    """One FOCUS row before formatting: what was used, when, by whom, and at what quota."""

    start: datetime
    end: datetime
    key: str
    member: str
    model: str
    quota: int  # signed: refunds negative
    requests: int
    prompt: int
    completion: int
    subscription: bool
    kind: str  # consumption | refund | net
    request_id: str
    project: str
    #: A correction to a closed period: ``added`` / ``removed`` since its close (``net`` by day),
    #: with that period and revision; "" for the report's own rows.
    correction: str = ""
    closed: Period | None = None
    revision: int = 0
    #: The values of the registered columns that name a FOCUS column (empty: blank, as by day).
    extra: tuple[object, ...] = ()


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
    charges = _rows(report, extra) if grain == "row" else _days(report)
    if report.corrections is not None:
        fixes = report.corrections()
        charges = itertools.chain(
            charges, _fixes(report, fixes, extra) if grain == "row" else _fix_days(report, fixes)
        )
    for n, charge in enumerate(charges, 1):
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


def _project_of(report: Report) -> Callable[[str, str, date], str]:
    charged = report.charged_to
    if charged is None:
        return lambda key, member, day: ""
    cache: dict[tuple[str, str, date], str] = {}

    def project(key: str, member: str, day: date) -> str:
        found = cache.get((key, member, day))
        if found is None:
            found = cache[(key, member, day)] = charged(key, member, day)
        return found

    return project


def _rows(report: Report, extra: tuple[DetailColumn, ...] = ()) -> Iterator[_Charge]:
    """One charge per consumption or refund row, in time order."""
    project = _project_of(report)
    for row in report.rows():
        r = row.record
        moment = datetime.fromtimestamp(r.created_at, UTC)
        refund = r.type == LogType.REFUND
        yield _Charge(
            start=moment,
            end=moment + timedelta(seconds=1),
            key=r.token_name,
            member=row.member,
            model=r.model_name,
            quota=row.signed_quota,
            requests=0 if refund else 1,
            prompt=r.prompt_tokens,
            completion=r.completion_tokens,
            subscription=r.subscription,
            kind="refund" if refund else "consumption",
            request_id=r.request_id or "",
            project=project(r.token_name, row.member, row.local_time.date()),
            extra=tuple(c.field.record(r) for c in extra),
        )


def _days(report: Report) -> Iterator[_Charge]:
    """One charge per local day × key × model × billing source: consumption minus refunds."""
    if report.partials is None:
        raise UsageError("grain=day needs a report built from the store's grouped rows")
    keys = None if report.member_filter is None else set(report.member_keys(report.member_filter))
    sums: dict[tuple[date, str, str, bool], list[int]] = {}
    for b in report.partials.buckets:
        if b.type not in (LogType.CONSUME, LogType.REFUND) or (keys is not None and b.token_name not in keys):
            continue
        acc = sums.setdefault((b.day, b.token_name, b.model_name, b.subscription), [0, 0, 0, 0])
        if b.type == LogType.CONSUME:
            acc[0] += b.quota
            acc[1] += b.rows
            acc[2] += b.prompt_tokens
            acc[3] += b.completion_tokens
        else:
            acc[0] -= b.quota
    project = _project_of(report)
    for (day, key, model, subscription), figures in sorted(sums.items()):
        yield _day_charge(report, project, day, key, model, subscription, figures, report.period)


def _day_charge(
    report: Report,
    project: Callable[[str, str, date], str],
    day: date,
    key: str,
    model: str,
    subscription: bool,
    figures: list[int],
    within: Period,
    **correction: Any,
) -> _Charge:
    """The net charge of one local day × key × model × billing source, cut to ``within`` and the report."""
    tz = report.period.tz
    after = day + timedelta(days=1)
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    end = datetime(after.year, after.month, after.day, tzinfo=tz)
    member = report.member_of(key)
    quota, requests, prompt, completion = figures
    return _Charge(
        start=max(start, within.start, report.period.start),
        end=min(end, within.end, report.period.end),
        key=key,
        member=member,
        model=model,
        quota=quota,
        requests=requests,
        prompt=prompt,
        completion=completion,
        subscription=subscription,
        kind="net",
        request_id="",
        project=project(key, member, day),
        **correction,
    )


def _fixes(
    report: Report, corrections: Iterator[Correction], extra: tuple[DetailColumn, ...] = ()
) -> Iterator[_Charge]:
    """One correction charge per row added to (as it is) or removed from (negated) a closed period."""
    project = _project_of(report)
    for c in corrections:
        r = c.record
        if r.type not in (LogType.CONSUME, LogType.REFUND):
            continue
        refund = r.type == LogType.REFUND
        moment = datetime.fromtimestamp(r.created_at, UTC)
        member = report.member_of(r.token_name)
        yield _Charge(
            start=moment,
            end=moment + timedelta(seconds=1),
            key=r.token_name,
            member=member,
            model=r.model_name,
            quota=c.sign * (-r.quota if refund else r.quota),
            requests=0 if refund else c.sign,
            prompt=c.sign * r.prompt_tokens,
            completion=c.sign * r.completion_tokens,
            subscription=r.subscription,
            kind="refund" if refund else "consumption",
            request_id=r.request_id or "",
            project=project(
                r.token_name, member, datetime.fromtimestamp(r.created_at, report.period.tz).date()
            ),
            correction="added" if c.sign > 0 else "removed",
            closed=c.closed,
            revision=c.revision,
            extra=tuple(col.field.record(r) for col in extra),
        )


def _fix_days(report: Report, corrections: Iterator[Correction]) -> Iterator[_Charge]:
    """The corrections summed per closed period × local day × key × model × billing source."""
    tz = report.period.tz
    sums: dict[tuple[int, date, str, str, bool], list[int]] = {}
    corrected: dict[int, tuple[Period, int]] = {}  # closed period start -> (period, revision)
    for c in _fixes(report, corrections):
        assert c.closed is not None
        corrected[c.closed.start_ts] = (c.closed, c.revision)
        group = (c.closed.start_ts, c.start.astimezone(tz).date(), c.key, c.model, c.subscription)
        acc = sums.setdefault(group, [0, 0, 0, 0])
        acc[0] += c.quota
        acc[1] += c.requests
        acc[2] += c.prompt
        acc[3] += c.completion
    project = _project_of(report)
    for (closed_at, day, key, model, subscription), figures in sorted(sums.items()):
        closed, revision = corrected[closed_at]
        yield _day_charge(
            report, project, day, key, model, subscription, figures, closed,
            correction="net", closed=closed, revision=revision,
        )  # fmt: skip


def _decimal(n: int) -> str:
    """A whole quantity written as a decimal (``826.0``): FOCUS types it Decimal, and tools that
    infer column types from the values (pandas, the FOCUS validator) would read ``826`` as integer."""
    return f"{n}.0"


def _cells(c: _Charge, s: _Shared, usd: QuotientText, text: Callable[[object], str]) -> tuple[object, ...]:
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
    return (
        "",  # AvailabilityZone
        "0" if sub else cost,  # BilledCost: a subscription's usage is paid for by the subscription
        a.account_id,
        a.account_name,
        "Gateway user",  # BillingAccountType
        "USD",
        period_end,
        period_start,
        "Usage",  # ChargeCategory: refunds are negative usage
        "Correction" if c.closed is not None else "",  # ChargeClass
        text(description),
        "Usage-Based",
        _utc(c.end),
        _utc(c.start),
        "Spend" if sub else "",  # CommitmentDiscountCategory
        f"{a.account_id}#subscription" if sub else "",  # CommitmentDiscountId
        "Gateway subscription" if sub else "",
        cost if sub else "",  # CommitmentDiscountQuantity: the amount of the commitment drawn
        "Used" if sub else "",
        "Subscription" if sub else "",
        "USD" if sub else "",  # CommitmentDiscountUnit
        _decimal(c.prompt + c.completion),  # ConsumedQuantity
        CONSUMED_UNIT,
        cost,  # ContractedCost: no negotiated discount, so the list cost
        s.unit_price,
        cost,  # EffectiveCost
        a.provider,  # InvoiceIssuerName
        cost,  # ListCost = ListUnitPrice × PricingQuantity
        s.unit_price,
        "Committed" if sub else "Standard",
        _decimal(c.quota),  # PricingQuantity
        PRICING_UNIT,
        a.provider,
        text(publisher(c.model, a.provider)),
        "",  # RegionId
        "",  # RegionName
        key,  # ResourceId
        key,
        "API key",
        SERVICE_CATEGORY,
        a.service,
        SERVICE_SUBCATEGORY,
        model,  # SkuId
        model,  # SkuPriceId: a model's price is its ratio, one per model
        member,  # SubAccountId
        member,
        "Member",
        "",  # Tags
        c.quota,
        s.qpu,
        c.requests,
        c.prompt,
        c.completion,
        text(c.request_id),
        c.kind,
        "subscription" if sub else "wallet",
        member,
        text(c.project),
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
