"""Pure arithmetic from pre-grouped rows to a :class:`~reportgen.core.report.Report`.

The store groups rows by key, model, local day, type and billing source (in SQL, fast);
:func:`partials_from_records` does the same grouping in Python and is the reference the
tests hold the store to.  :func:`aggregate` turns the groups into every breakdown a
report shows.  Quota is summed as ``int``; money is derived once per group as ``Decimal``.
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from ..errors import UsageError
from .money import usd
from .partials import Bucket, LatencyCount, Partials
from .periods import Period, local_days
from .rates import Conversion, Exchange
from .records import DEFAULT_QUOTA_PER_UNIT, GatewayStatus, KeyInfo, LogType, UsageRecord
from .report import Provenance, RecordSource, Report
from .stats import Line, Stats


class Settings(Protocol):
    """What aggregation needs from the configuration (``reportgen.config.Config`` is one)."""

    @property
    def members(self) -> dict[str, tuple[str, ...]]: ...

    @property
    def currencies(self) -> tuple[Conversion, ...]: ...

    @property
    def claim_base(self) -> str: ...

    def key_to_member(self) -> dict[str, str]: ...

    def exchange(self, status: GatewayStatus | None, tz: ZoneInfo, period: Period | None = None) -> Exchange:
        """The CNY rate that applies to ``period``, where it came from and as of when."""
        ...


COUNTED_TYPES = (LogType.CONSUME, LogType.ERROR, LogType.REFUND)
KEY_MODEL_SEP = "\x00"


def latency_bucket(ms: int) -> int:
    """Round a latency down to 10 ms under 1 s, 100 ms under 10 s, 1 s under 60 s, else 10 s.

    Keeps latency histograms small whatever the row count; ``store.LATENCY_BUCKET_SQL``
    is the same function in SQL, whose integer division truncates toward zero: so does
    this below zero (a clock's garbage, but the same garbage in every figure).
    """
    if ms < 0:
        return -(-ms // 10 * 10)
    if ms < 1000:
        return ms // 10 * 10
    if ms < 10000:
        return ms // 100 * 100
    if ms < 60000:
        return ms // 1000 * 1000
    return ms // 10000 * 10000


def partials_from_records(records: Iterable[UsageRecord], period: Period) -> Partials:
    """Group records of ``period`` the way the store does (the reference implementation)."""
    days = local_days(period)
    starts = [start for _, start, _ in days]
    sums: dict[tuple[str, str, date, int, bool], list[int]] = {}
    lat_km: dict[tuple[str, int], int] = defaultdict(int)
    lat_day: dict[tuple[str, int], int] = defaultdict(int)
    for r in records:
        if r.type not in COUNTED_TYPES or not period.contains(r.created_at):
            continue
        day = days[bisect.bisect_right(starts, r.created_at) - 1][0]
        key = (r.token_name, r.model_name, day, r.type, r.subscription)
        acc = sums.get(key)
        if acc is None:
            acc = sums[key] = [0] * 8
        acc[0] += 1
        acc[1] += r.quota
        acc[2] += r.prompt_tokens
        acc[3] += r.completion_tokens
        if r.http_status is not None:
            acc[4] += 1
            acc[5] += 200 <= r.http_status < 400
        acc[6] += not r.has_price
        acc[7] += r.quota == 0 and (r.prompt_tokens + r.completion_tokens) > 0
        if r.type == LogType.CONSUME and r.use_time_ms is not None:
            b = latency_bucket(r.use_time_ms)
            lat_km[(r.token_name + KEY_MODEL_SEP + r.model_name, b)] += 1
            lat_day[(day.isoformat(), b)] += 1
    buckets = tuple(
        Bucket(k[0], k[1], k[2], k[3], k[4], *v) for k, v in sorted(sums.items(), key=_bucket_order)
    )
    return Partials(
        buckets=buckets,
        latency_by_key_model=tuple(LatencyCount(k, b, n) for (k, b), n in sorted(lat_km.items())),
        latency_by_day=tuple(LatencyCount(k, b, n) for (k, b), n in sorted(lat_day.items())),
    )


def _bucket_order(item: tuple[tuple[str, str, date, int, bool], list[int]]) -> tuple[object, ...]:
    token, model, day, type_, sub = item[0]
    return (day, token, model, type_, sub)  # the store's order


@dataclass
class _Acc:
    """A mutable running total for one group; frozen into :class:`Stats` at the end."""

    requests: int = 0
    errors: int = 0
    consumed: int = 0
    refunded: int = 0
    subscription: int = 0
    subscription_refunded: int = 0
    prompt: int = 0
    completion: int = 0
    status_known: int = 0
    status_ok: int = 0
    latency: dict[int, int] = field(default_factory=dict)
    cny: Decimal = Decimal(0)  # Σ net quota × its source's rate (per-source conversion only)

    def add(self, b: Bucket, rate: Decimal | None = None) -> None:
        if rate is not None and b.type in (LogType.CONSUME, LogType.REFUND):
            self.cny += (b.quota if b.type == LogType.CONSUME else -b.quota) * rate
        if b.type == LogType.CONSUME:
            self.requests += b.rows
            self.consumed += b.quota
            self.prompt += b.prompt_tokens
            self.completion += b.completion_tokens
            if b.subscription:
                self.subscription += b.quota
        elif b.type == LogType.ERROR:
            self.errors += b.rows
        elif b.type == LogType.REFUND:
            self.refunded += b.quota
            if b.subscription:
                self.subscription_refunded += b.quota
        self.status_known += b.status_known
        self.status_ok += b.status_ok

    def add_latency(self, bucket_ms: int, count: int) -> None:
        self.latency[bucket_ms] = self.latency.get(bucket_ms, 0) + count

    def merge(self, other: _Acc) -> None:
        """Add another group's totals and latencies to this one."""
        self.requests += other.requests
        self.errors += other.errors
        self.consumed += other.consumed
        self.refunded += other.refunded
        self.subscription += other.subscription
        self.subscription_refunded += other.subscription_refunded
        self.prompt += other.prompt
        self.completion += other.completion
        self.status_known += other.status_known
        self.status_ok += other.status_ok
        self.cny += other.cny
        latency = self.latency
        for bucket_ms, count in other.latency.items():
            latency[bucket_ms] = latency.get(bucket_ms, 0) + count

    def freeze(self, quota_per_unit: Decimal, per_source: bool = False) -> Stats:
        net_usd = usd(self.consumed - self.refunded, quota_per_unit)
        p50, p95 = _percentiles(self.latency, (Decimal("0.50"), Decimal("0.95")))
        return Stats(
            cost_cny=self.cny / quota_per_unit if per_source else None,
            requests=self.requests,
            errors=self.errors,
            consumed_quota=self.consumed,
            refunded_quota=self.refunded,
            subscription_quota=self.subscription,
            subscription_refunded_quota=self.subscription_refunded,
            prompt_tokens=self.prompt,
            completion_tokens=self.completion,
            cost_usd=net_usd,
            latency_p50_ms=p50,
            latency_p95_ms=p95,
            status_known=self.status_known,
            status_ok=self.status_ok,
        )


def _percentiles(histogram: dict[int, int], ps: tuple[Decimal, ...]) -> list[int | None]:
    """Nearest-rank percentiles (``ps`` ascending) of a histogram of bucketed latencies, in one pass."""
    total = sum(histogram.values())
    if not total:
        return [None] * len(ps)
    ranks = [max(1, math.ceil(p * total)) for p in ps]
    out: list[int | None] = []
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        while len(out) < len(ranks) and seen >= ranks[len(out)]:
            out.append(value)
        if len(out) == len(ranks):
            break
    return out


def member_map(config: Settings, token_names: Iterable[str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Key → member for every key, and member → keys in report order.

    Configured members come first, in config order, with all their keys; every other key
    is a member named after itself.
    """
    key_to_member = config.key_to_member()
    members: dict[str, list[str]] = {name: list(keys) for name, keys in config.members.items()}
    for key in sorted(set(token_names) - set(key_to_member)):
        key_to_member[key] = key
        members.setdefault(key, []).append(key)
    return key_to_member, members


def aggregate(
    partials: Partials,
    *,
    period: Period,
    config: Settings,
    status: GatewayStatus | None = None,
    keys: Sequence[KeyInfo] = (),
    source: RecordSource | None = None,
    member: str | None = None,
    generated_at: datetime | None = None,
    provenance: Provenance | None = None,
    rates: Mapping[str, Exchange] | None = None,
) -> Report:
    """Every breakdown of a period: totals, members, keys, models, days, member × model.

    Every configured member and every key of the account appears, with zeros where
    nothing was spent.  With ``member``, the report covers that member alone (the store
    is expected to have filtered ``partials`` to the member's keys; other keys are
    dropped here as well).  ``rates`` (source → rate) converts each source's spend at its
    own rate when they differ (each line's ``cost_cny`` is then the exact sum of its parts).
    """
    qpu = status.quota_per_unit if status is not None else DEFAULT_QUOTA_PER_UNIT
    tz = period.tz
    exchange = config.exchange(status, tz, period)
    per_source = rates is not None and len({e.rate for e in rates.values()}) > 1
    if rates and not per_source:  # one rate for every source read: the usual single-rate report
        exchange = rates[min(rates)]
    source_rates = tuple(sorted(rates.items())) if rates is not None and per_source else ()
    if per_source:
        exchange = Exchange(None, "per source: " + "; ".join(f"{n} {e.rate}" for n, e in source_rates))
        by_source = dict(source_rates)

        def rate_of(key: str) -> Decimal | None:
            head, sep, _ = key.partition(":")
            return by_source[head if sep and head in by_source else "default"].rate

    # The store's coarser sums where it gives them (see Partials), else the buckets themselves.
    key_models = partials.key_models if partials.key_models is not None else partials.buckets
    present = {b.token_name for b in key_models}
    names = present | {k.name for k in keys}
    key_to_member, members = member_map(config, names)
    if member is not None:
        if member not in members:
            known = ", ".join(members) or "none"
            raise UsageError(f"no member named {member!r} (members: {known})")
        members = {member: members[member]}
    wanted = {k for ks in members.values() for k in ks}
    # A day group sums several keys: usable when no key is to be dropped (the store filtered them).
    day_groups = partials.days if partials.days is not None and present <= wanted else partials.buckets

    total = _Acc()
    by_key: dict[str, _Acc] = {k: _Acc() for ks in members.values() for k in ks}
    # A member of one key (the usual case) has that key's figures: one total for both.
    alone = {m for m, ks in members.items() if len(ks) == 1 and key_to_member.get(ks[0]) == m}
    by_member: dict[str, _Acc] = {m: by_key[members[m][0]] if m in alone else _Acc() for m in members}
    by_model: dict[str, _Acc] = {}
    by_day: dict[str, _Acc] = {d.isoformat(): _Acc() for d, _, _ in local_days(period)}
    by_member_model: dict[tuple[str, str], _Acc] = {}
    # Buckets are gathered per key × model and per day (each with its type and billing
    # source), each gathering is summed column by column, and every other breakdown is a sum
    # of key × model groups: hundreds of additions where buckets are tens of thousands.
    by_key_model: dict[tuple[str, str], _Acc] = {}
    per_key_model: dict[tuple[str, str, int, bool], list[Bucket]] = defaultdict(list)
    # With a rate per source, a day's buckets are gathered per rate too.
    per_day: dict[tuple[date, int, bool, Decimal | None], list[Bucket]] = defaultdict(list)
    for b in key_models:
        if b.token_name in wanted:
            per_key_model[b.token_name, b.model_name, b.type, b.subscription].append(b)
    for b in day_groups:
        if b.token_name in wanted:
            per_day[b.day, b.type, b.subscription, rate_of(b.token_name) if per_source else None].append(b)
    for (key, model, _, _), group in per_key_model.items():
        _get(by_key_model, (key, model)).add(_summed(group), rate_of(key) if per_source else None)
    for (day, _, _, rate), group in per_day.items():
        _get(by_day, day.isoformat()).add(_summed(group), rate)
    for joined, counts in itertools.groupby(partials.latency_by_key_model, key=operator.attrgetter("key")):
        key, _, model = joined.partition(KEY_MODEL_SEP)
        if key in wanted:
            latency = _get(by_key_model, (key, model)).latency
            for lc in counts:
                latency[lc.latency_ms] = latency.get(lc.latency_ms, 0) + lc.count
    for (key, model), acc in by_key_model.items():
        m = key_to_member[key]
        total.merge(acc)
        by_key[key].merge(acc)
        _get(by_model, model).merge(acc)
        if m in alone:  # the member's figures are the key's, per model too
            by_member_model[m, model] = acc
        else:
            by_member[m].merge(acc)
            _get(by_member_model, (m, model)).merge(acc)
    for lc in partials.latency_by_day:
        _get(by_day, lc.key).add_latency(lc.latency_ms, lc.count)

    every_rate = per_source and all(e.rate is not None for _, e in source_rates)

    def freeze(acc: _Acc) -> Stats:
        return acc.freeze(qpu, every_rate)  # a source without any rate: no CNY figure at all

    member_order = list(members)
    model_lines = sorted(
        (Line(name, freeze(acc)) for name, acc in by_model.items()),
        key=lambda line: (-line.stats.quota, line.name),
    )
    mm_lines = sorted(
        (Line(m, freeze(acc), model=model) for (m, model), acc in by_member_model.items()),
        key=lambda line: (member_order.index(line.name), -line.stats.quota, line.model or ""),
    )
    return Report(
        period=period,
        quota_per_unit=qpu,
        exchange=exchange,
        totals=freeze(total),
        members=tuple(Line(m, freeze(by_member[m]), keys=tuple(members[m])) for m in member_order),
        keys=tuple(
            Line(k, freeze(by_key[k]), keys=(key_to_member[k],)) for m in member_order for k in members[m]
        ),
        models=tuple(model_lines),
        days=tuple(Line(d, freeze(acc)) for d, acc in sorted(by_day.items())),
        member_models=tuple(mm_lines),
        generated_at=generated_at or datetime.now(tz).replace(microsecond=0),
        provenance=provenance or Provenance(),
        member_filter=member,
        key_to_member=key_to_member,
        source=source,
        partials=partials,
        conversions=config.currencies,
        source_rates=source_rates,
        claim_base=config.claim_base,
    )


def _summed(group: list[Bucket]) -> Bucket:
    """One bucket with the figures of ``group`` (all of one type and billing source) summed."""
    if len(group) == 1:
        return group[0]
    columns = list(zip(*group, strict=True))
    return Bucket(*group[0][:5], *map(sum, columns[5:]))


def _get(table: dict[Any, _Acc], key: object) -> _Acc:
    acc = table.get(key)
    if acc is None:
        acc = table[key] = _Acc()
    return acc


class MemorySource:
    """A :class:`~reportgen.core.report.RecordSource` over records held in memory (tests, small data)."""

    def __init__(self, records: Iterable[UsageRecord]) -> None:
        self._records = sorted(records, key=lambda r: r.created_at)

    def iter_records(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None
    ) -> Iterator[UsageRecord]:
        wanted = None if token_names is None else set(token_names)
        for r in self._records:
            if start_ts <= r.created_at < end_ts and (wanted is None or r.token_name in wanted):
                yield r


def aggregate_records(
    records: Iterable[UsageRecord],
    *,
    period: Period,
    config: Settings,
    status: GatewayStatus | None = None,
    keys: Sequence[KeyInfo] = (),
    member: str | None = None,
    generated_at: datetime | None = None,
) -> Report:
    """Aggregate records held in memory (the reference path; the CLI goes through the store)."""
    source = MemorySource(records)
    all_records = list(source.iter_records(period.start_ts, period.end_ts))
    if member is not None:
        names = {r.token_name for r in all_records} | {k.name for k in keys}
        key_to_member, _ = member_map(config, names)
        all_records = [r for r in all_records if key_to_member.get(r.token_name) == member]
    return aggregate(
        partials_from_records(all_records, period),
        period=period,
        config=config,
        status=status,
        keys=keys,
        source=source,
        member=member,
        generated_at=generated_at,
    )
