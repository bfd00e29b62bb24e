"""A team or member report of a period, and the provenance every report of a view carries."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ..config import Config
from ..core.aggregate import aggregate, member_map
from ..core.periods import Period
from ..core.rates import Exchange
from ..core.reconciliation import Reconciliation, reconciliation_from_json
from ..core.report import Provenance, Report
from ..store import Reader
from .timeline import Timeline
from .view import Scope


def provenance(
    facts: Reader,
    timeline: Timeline,
    period: Period,
    token_names: tuple[str, ...] | None,
    fingerprint: bool = True,
) -> Provenance:
    """Where the figures come from: the account, the last sync and (unless skipped) the rows' fingerprint."""
    last = facts.last_sync()
    base_url, user_id = facts.account()
    return Provenance(
        base_url=base_url,
        user_id=user_id,
        flavor=(last or {}).get("flavor") or "",
        synced_at=None
        if not last or not last.get("finished_at")
        else datetime.fromtimestamp(last["finished_at"], UTC).astimezone(period.tz),
        fingerprint=timeline.fingerprint(period.start_ts, period.end_ts, token_names) if fingerprint else "",
    )


def period_report(
    timeline: Timeline,
    facts: Reader,
    config: Config,
    period: Period,
    scope: Scope,
    status: Any,
    keys: Any,
    generated_at: datetime | None,
    fingerprint: bool = True,
    rates: dict[str, Exchange] | None = None,
    *,
    latency: bool = True,
) -> tuple[Report, tuple[str, ...] | None]:
    """The team's or one member's report of ``period`` with its last reconciliation, and the keys it
    covers (``latency=False``: without latency percentiles)."""
    token_names: tuple[str, ...] | None = None
    member = scope.name if scope.kind == "member" else None
    if member is not None:
        names = {k.name for k in keys} | timeline.token_names(period.start_ts, period.end_ts)
        _, members = member_map(config, names)
        token_names = tuple(members.get(member, ()))
    report = aggregate(
        timeline.partials(period, token_names, latency=latency),
        period=period,
        config=config,
        status=status,
        keys=keys,
        source=timeline,
        member=member,
        generated_at=generated_at,
        provenance=provenance(facts, timeline, period, token_names, fingerprint),
        rates=rates,
    )
    return replace(report, reconciliation=_reconciliation(facts, period)), token_names


def _reconciliation(facts: Reader, period: Period) -> Reconciliation | None:
    text = facts.reconciliation_json(period.start_ts, period.end_ts)
    return None if text is None else reconciliation_from_json(json.loads(text))
