"""What the rules read, gathered from the store through the one read path: a :class:`Snapshot`."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from ..config import Config
from ..core.budget import ProjectLine
from ..core.money import usd
from ..core.periods import Period, date_range_period, parse_period
from ..core.records import LogType
from ..read import open_period
from ..store import Reader
from ..store.alerts import key_use_spans, sync_runs
from .rules import Snapshot

#: Days of spend the wallet's days-left forecast averages over.
WALLET_DAYS = 7


def gather(config: Config, now: float, sync_failed: bool = False) -> Snapshot:
    """Read what ``config.alerts`` need as of ``now``; ``sync_failed``: this run's sync just failed
    (before the store could record it: the gateway refused the status or the key list)."""
    tz = config.tz
    at = datetime.fromtimestamp(now, tz)
    today = at.date()
    kinds = {rule.kind for rule in config.alerts}
    projects: tuple[ProjectLine, ...] = ()
    if kinds & {"budget", "runout"} and config.projects:
        month = parse_period(f"{today:%Y-%m}", tz)
        with open_period(
            config, month, generated_at=at, fingerprint=False, with_bridge=False, now=lambda: now
        ) as view:
            projects = view.report.projects
    windows = [r.window_days for r in config.alerts if r.kind == "spike"]
    if "wallet" in kinds:
        windows.append(WALLET_DAYS)
    spend: dict[tuple[str, str, date], Decimal] = {}
    days: tuple[date, ...] = ()
    if windows:
        first = today - timedelta(days=max(windows) + 1)
        days = tuple(first + timedelta(days=i) for i in range((today - first).days + 1))
        spend = _day_spend(config, date_range_period(first, today, tz), at, now)
    with Reader.open(config.store) as reader:
        reader.begin()
        key_use = key_use_spans(reader) if kinds & {"key_first_use", "key_idle"} else {}
        listed = reader.current_keys()
        enabled = frozenset(k.name for k in listed if k.status == 1) if listed else None
        statuses = reader.source_statuses()
        balances = {}
        for source, status in statuses.items():
            read = reader.balances(source)
            if read and status is not None:
                balances[source] = (usd(read[-1].quota, status.quota_per_unit), read[-1].read_at)
        runs = sync_runs(reader)
    names = config.source_names()
    return Snapshot(
        now=int(now),
        today=today,
        projects=projects,
        day_spend=spend,
        days=days,
        key_use=key_use,
        enabled_keys=enabled,
        balances=balances,
        daily_usd=_per_day(spend, days, names),
        syncs={name: _failed(runs.get(name), now) if sync_failed else runs.get(name) for name in names},
    )


def _day_spend(
    config: Config, span: Period, at: datetime, now: float
) -> dict[tuple[str, str, date], Decimal]:
    """Net spend per member, key and model per day of ``span``, in USD."""
    out: dict[tuple[str, str, date], Decimal] = defaultdict(Decimal)
    with open_period(
        config, span, generated_at=at, fingerprint=False, with_bridge=False, now=lambda: now
    ) as view:
        report = view.report
        if report.partials is None:
            return {}
        per_unit = report.quota_per_unit
        for b in report.partials.buckets:
            if b.type not in (LogType.CONSUME, LogType.REFUND):
                continue
            amount = usd(b.quota if b.type == LogType.CONSUME else -b.quota, per_unit)
            member = report.key_to_member.get(b.token_name, b.token_name)
            for by, name in (("member", member), ("key", b.token_name), ("model", b.model_name)):
                out[(by, name, b.day)] += amount
    return dict(out)


def _per_day(
    spend: dict[tuple[str, str, date], Decimal], days: tuple[date, ...], sources: tuple[str, ...]
) -> dict[str, Decimal]:
    """Each source's net spend per day over the last :data:`WALLET_DAYS` whole days."""
    if not days:
        return {}
    last = days[-1]
    week = {last - timedelta(days=i) for i in range(1, WALLET_DAYS + 1)}
    totals = dict.fromkeys(sources, Decimal(0))
    for (by, key, day), amount in spend.items():
        if by != "key" or day not in week:
            continue
        prefix, _, rest = key.partition(":")
        source = prefix if rest and prefix in totals else "default"
        if source in totals:
            totals[source] += amount
    return {name: total / WALLET_DAYS for name, total in totals.items()}


def _failed(
    runs: tuple[int | None, int | None, str] | None, now: float
) -> tuple[int | None, int | None, str]:
    return (None if runs is None else runs[0], int(now), "failed")
