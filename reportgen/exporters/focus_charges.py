"""The charges a FOCUS file lists, before any formatting: one per consumption or refund log row
(grain ``row``), or per local day × key × model × billing source (grain ``day``), and the
corrections of closed periods the same two ways."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ..core.columns import DetailColumn
from ..core.corrections import Correction
from ..core.periods import Period
from ..core.records import LogType
from ..core.report import Report
from ..errors import UsageError
from .focus_accounts import shares_of

Shares = tuple[tuple[str, Decimal], ...]


@dataclass(frozen=True)
class Charge:
    """One charge: what was used, when, by whom, and at what quota."""

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
    #: The projects charged, with their percent (empty: none).
    shares: Shares = ()
    #: A correction to a closed period: ``added`` / ``removed`` since its close (``net`` by day),
    #: with that period and revision; "" for the report's own rows.
    correction: str = ""
    closed: Period | None = None
    revision: int = 0
    #: The values of the registered columns that name a FOCUS column (empty: blank, as by day).
    extra: tuple[object, ...] = ()


def charges(report: Report, grain: str, extra: tuple[DetailColumn, ...]) -> Iterator[Charge]:
    """The report's charges at ``grain``, then the corrections of its closed periods."""
    yield from rows(report, extra) if grain == "row" else days(report)
    if report.corrections is not None:
        fixes = report.corrections()
        yield from corrections(report, fixes, extra) if grain == "row" else correction_days(report, fixes)


def rows(report: Report, extra: tuple[DetailColumn, ...] = ()) -> Iterator[Charge]:
    """One charge per consumption or refund row, in time order."""
    shares = shares_of(report)
    for row in report.rows():
        r = row.record
        moment = datetime.fromtimestamp(r.created_at, UTC)
        refund = r.type == LogType.REFUND
        yield Charge(
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
            shares=shares(r.token_name, row.member, row.local_time.date()),
            extra=tuple(c.field.record(r) for c in extra),
        )


def days(report: Report) -> Iterator[Charge]:
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
    shares = shares_of(report)
    for (day, key, model, subscription), figures in sorted(sums.items()):
        yield _day_charge(report, shares, day, key, model, subscription, figures, report.period)


def _day_charge(
    report: Report,
    shares: Callable[[str, str, date], Shares],
    day: date,
    key: str,
    model: str,
    subscription: bool,
    figures: list[int],
    within: Period,
    **correction: Any,
) -> Charge:
    """The net charge of one local day × key × model × billing source, cut to ``within`` and the report."""
    tz = report.period.tz
    after = day + timedelta(days=1)
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    end = datetime(after.year, after.month, after.day, tzinfo=tz)
    member = report.member_of(key)
    quota, requests, prompt, completion = figures
    return Charge(
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
        shares=shares(key, member, day),
        **correction,
    )


def corrections(
    report: Report, fixes: Iterator[Correction], extra: tuple[DetailColumn, ...] = ()
) -> Iterator[Charge]:
    """One correction charge per row added to (as it is) or removed from (negated) a closed period."""
    shares = shares_of(report)
    for c in fixes:
        r = c.record
        if r.type not in (LogType.CONSUME, LogType.REFUND):
            continue
        refund = r.type == LogType.REFUND
        moment = datetime.fromtimestamp(r.created_at, UTC)
        member = report.member_of(r.token_name)
        yield Charge(
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
            shares=shares(
                r.token_name, member, datetime.fromtimestamp(r.created_at, report.period.tz).date()
            ),
            correction="added" if c.sign > 0 else "removed",
            closed=c.closed,
            revision=c.revision,
            extra=tuple(col.field.record(r) for col in extra),
        )


def correction_days(report: Report, fixes: Iterator[Correction]) -> Iterator[Charge]:
    """The corrections summed per closed period × local day × key × model × billing source."""
    tz = report.period.tz
    sums: dict[tuple[int, date, str, str, bool], list[int]] = {}
    corrected: dict[int, tuple[Period, int]] = {}  # closed period start -> (period, revision)
    for c in corrections(report, fixes):
        assert c.closed is not None
        corrected[c.closed.start_ts] = (c.closed, c.revision)
        group = (c.closed.start_ts, c.start.astimezone(tz).date(), c.key, c.model, c.subscription)
        acc = sums.setdefault(group, [0, 0, 0, 0])
        acc[0] += c.quota
        acc[1] += c.requests
        acc[2] += c.prompt
        acc[3] += c.completion
    shares = shares_of(report)
    for (closed_at, day, key, model, subscription), figures in sorted(sums.items()):
        closed, revision = corrected[closed_at]
        yield _day_charge(
            report, shares, day, key, model, subscription, figures, closed,
            correction="net", closed=closed, revision=revision,
        )  # fmt: skip
