"""The lines a FOCUS file lists, before any formatting: each consumption or refund log row split
into its parts (one per token type when its ratios explain its cost, :mod:`.focus_meters`),
by row (grain ``row``) or summed per local day × key × model × billing source × part at one
price (grain ``day``); then the corrections of closed periods the same two ways."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from ..core.columns import DetailColumn
from ..core.corrections import Correction
from ..core.periods import Period
from ..core.records import LogType, UsageRecord
from ..core.report import Report
from .focus_accounts import shares_of
from .focus_meters import Part, Tokens, parts

Shares = tuple[tuple[str, Decimal], ...]


@dataclass(frozen=True)
class Charge:
    """A log row (or a day's rows) as charged: what was used, when, by whom."""

    start: datetime
    end: datetime
    key: str
    member: str
    model: str
    #: The gateway user group the row was priced in (its group ratio).
    group: str
    subscription: bool
    kind: str  # consumption | refund
    request_id: str
    #: The projects charged, with their percent (empty: none).
    shares: Shares = ()
    #: A correction to a closed period: ``added`` / ``removed`` since its close (``net`` by day),
    #: with that period and revision; "" for the report's own rows.
    correction: str = ""
    closed: Period | None = None
    revision: int = 0
    #: The values of the registered columns that name a FOCUS column (empty: blank, as by day).
    extra: tuple[object, ...] = ()


@dataclass(frozen=True)
class Line:
    """One FOCUS row: a part of a charge, and the requests it counts (a row's on its first part)."""

    charge: Charge
    part: Part
    requests: int


def lines(report: Report, grain: str, extra: tuple[DetailColumn, ...]) -> Iterator[Line]:
    """The report's lines at ``grain``, then the corrections of its closed periods."""
    own = _split(report, _rows(report, extra))
    yield from own if grain == "row" else _days(report, own)
    if report.corrections is not None:
        fixes = _split(report, _corrections(report, report.corrections(), extra))
        yield from fixes if grain == "row" else _days(report, fixes)


_Row = tuple[Charge, UsageRecord, int]  # a row's charge, its record, and its sign (−1: removed since a close)


def _split(report: Report, found: Iterable[_Row]) -> Iterator[Line]:
    qpu = report.quota_per_unit
    for charge, r, sign in found:
        refund = r.type == LogType.REFUND
        quota = sign * (-r.quota if refund else r.quota)
        requests = 0 if refund else sign
        split = parts(
            r.usage, r.prompt_tokens, r.completion_tokens, quota, requests, qpu, refund=refund, sign=sign
        )
        for i, part in enumerate(split):
            yield Line(charge, part, requests if i == 0 else 0)


def _rows(report: Report, extra: tuple[DetailColumn, ...] = ()) -> Iterator[_Row]:
    """Each consumption or refund row's charge, in time order."""
    shares = shares_of(report)
    for row in report.rows():
        r = row.record
        moment = datetime.fromtimestamp(r.created_at, UTC)
        charge = Charge(
            start=moment,
            end=moment + timedelta(seconds=1),
            key=r.token_name,
            member=row.member,
            model=r.model_name,
            group=r.group,
            subscription=r.subscription,
            kind="refund" if r.type == LogType.REFUND else "consumption",
            request_id=r.request_id or "",
            shares=shares(r.token_name, row.member, row.local_time.date()),
            extra=tuple(c.field.record(r) for c in extra),
        )
        yield charge, r, 1


def _corrections(
    report: Report, fixes: Iterator[Correction], extra: tuple[DetailColumn, ...] = ()
) -> Iterator[_Row]:
    """Each row added to (as it is) or removed from (negated) a closed period, as a correction."""
    shares = shares_of(report)
    tz = report.period.tz
    for c in fixes:
        r = c.record
        if r.type not in (LogType.CONSUME, LogType.REFUND):
            continue
        moment = datetime.fromtimestamp(r.created_at, UTC)
        member = report.member_of(r.token_name)
        charge = Charge(
            start=moment,
            end=moment + timedelta(seconds=1),
            key=r.token_name,
            member=member,
            model=r.model_name,
            group=r.group,
            subscription=r.subscription,
            kind="refund" if r.type == LogType.REFUND else "consumption",
            request_id=r.request_id or "",
            shares=shares(r.token_name, member, datetime.fromtimestamp(r.created_at, tz).date()),
            correction="added" if c.sign > 0 else "removed",
            closed=c.closed,
            revision=c.revision,
            extra=tuple(col.field.record(r) for col in extra),
        )
        yield charge, r, c.sign


def _plus(a: Tokens, b: Tokens) -> Tokens:
    x = tuple(q if p is None else p if q is None else p + q for p, q in zip(a, b, strict=True))
    return (x[0], x[1], x[2], x[3], x[4], x[5], x[6])


def _days(report: Report, found: Iterable[Line]) -> Iterator[Line]:
    """The lines summed per (closed period,) local day × key × model × user group × billing source ×
    log type × part at one price, in that order."""
    tz = report.period.tz
    sums: dict[tuple[object, ...], Line] = {}
    order: dict[tuple[object, ...], tuple[object, ...]] = {}
    for line in found:
        c, p = line.charge, line.part
        day = c.start.astimezone(tz).date()
        closed = c.closed.start_ts if c.closed is not None else -1
        group: tuple[object, ...] = (
            closed,
            day,
            c.key,
            c.model,
            c.group,
            c.subscription,
            c.kind,
            p.kind,
            p.price,
            p.note,
        )
        old = sums.get(group)
        if old is None:
            sums[group] = Line(_day(report, c, day), p, line.requests)
            order[group] = (*group[:-2], p.note, p.price)  # sorted by note before price
            continue
        q = old.part
        part = replace(
            q,
            consumed=q.consumed + p.consumed,
            pricing=q.pricing + p.pricing,
            quota=q.quota + p.quota,
            tokens=_plus(q.tokens, p.tokens),
        )
        sums[group] = Line(old.charge, part, old.requests + line.requests)
    for group in sorted(sums, key=order.__getitem__):
        yield sums[group]


def _day(report: Report, c: Charge, day: date) -> Charge:
    """The charge of ``c``'s local day: cut to the report (and the closed period it corrects)."""
    tz = report.period.tz
    after = day + timedelta(days=1)
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    end = datetime(after.year, after.month, after.day, tzinfo=tz)
    within = c.closed or report.period
    return replace(
        c,
        start=max(start, within.start, report.period.start),
        end=min(end, within.end, report.period.end),
        request_id="",
        correction="net" if c.closed is not None else "",
        extra=(),
    )
