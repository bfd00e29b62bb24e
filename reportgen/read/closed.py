"""A closed period and the config: the config it is read with, and what of the config changed since.

The store records a closure as it was computed (:class:`reportgen.store.Closure`); what a
closure means for the configuration of today is decided here, where periods are read.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from ..config import Config, parse_projects
from ..core.periods import Period
from ..store import Closure, Reader, frozen_source_rates


def frozen_config(closure: Closure, config: Config) -> Config:
    """``config`` with what the closed documents depend on put back as it was at close."""
    return replace(
        config,
        timezone=closure.period.timezone,
        members=dict(closure.members),
        projects=parse_projects(
            closure.projects, closure.members, f"[projects] as closed with {closure.period.label}"
        ),
        projects_table=closure.projects,
        exchange_rate=closure.exchange.rate,
        exchange_rate_source=closure.exchange.source,
        rates=(),  # the rate as closed wins over any dated rate configured since
        currencies=closure.conversions,
    )


def config_changes(closure: Closure, config: Config) -> list[str]:
    """What of ``config`` that the closed documents depend on differs from how it was closed."""
    frozen = frozen_config(closure, config)
    changed = []
    if dict(frozen.members) != dict(config.members):
        changed.append("members")
    if frozen.projects != config.projects:
        changed.append("projects")
    if frozen.currencies != config.currencies:
        changed.append("currencies")
    dated = config.dated_rate(closure.period)
    rate = dated.cny_per_usd if dated is not None else config.exchange_rate
    if rate is not None and rate != closure.exchange.rate:
        changed.append("exchange rate")
    return changed


def source_rates_changed(snapshot: Reader, closure: Closure, config: Config) -> bool:
    """Whether ``config`` now converts a source of the closed period at another CNY rate than the close
    did (a source's own ``exchange_rate``; the report-wide rate is :func:`config_changes`')."""
    chosen = snapshot.sources
    snapshot.use_sources(None)
    try:
        frozen = frozen_source_rates(snapshot)
        period = closure.period
        now = {
            n: e.rate
            for n, e in config.source_exchanges(
                snapshot.priced_statuses(period.start_ts, period.end_ts), period.tz, period
            ).items()
        }
    finally:
        snapshot.use_sources(chosen)
    if frozen is not None:
        return {n: e.rate for n, e in frozen.items()} != now
    rates = set(now.values())
    return len(rates) > 1 or (None not in rates and rates != {closure.exchange.rate})


def rows_since(config: Config, period: Period) -> int:
    """The first instant a view of ``period`` reads rows from, and a close of it keeps: its start, or
    the start of an earlier project (a project's budget view sums its spend since it started)."""
    return min([period.start_ts, *(_midnight(p.start, period) for p in config.projects)])


def _midnight(day: date, period: Period) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=period.tz).timestamp())
