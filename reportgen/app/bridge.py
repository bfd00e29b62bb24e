"""``reportgen bridge``: the wallet bridge of a period, read through the one read path."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..config import Config
from ..core.periods import Period
from ..core.wallet import Bridge, SourceBridge, unexplained_text
from ..errors import BridgeError
from ..read import open_period
from ..templating import wording
from .sync import SAFETY_MARGIN_SECONDS, SyncResult, run_sync


@dataclass(frozen=True)
class BridgeRun:
    """A period's bridge, and the syncs ``--sync`` ran to tell its ends."""

    bridge: Bridge
    synced: tuple[SyncResult, ...] = ()
    rates: Mapping[str, Decimal | None] = field(default_factory=dict)  # each source's CNY per USD


def bridge_run(config: Config, period: Period) -> BridgeRun:
    """The period's bridge and each source's CNY rate (the statement's)."""
    with open_period(config, period, fingerprint=False) as view:
        bridge, rates = view.report.bridge, view.report.bridge_rates()
    assert bridge is not None  # a team view always has one
    return BridgeRun(bridge, rates=rates)


def run_bridge(config: Config, period: Period) -> Bridge:
    """The period's bridge per source (a closed period's as frozen at its close)."""
    return bridge_run(config, period).bridge


def bridge_with_sync(
    config: Config,
    period: Period,
    *,
    client_factory: Callable[..., Any] | None = None,
    now: Callable[[], float] = time.time,
) -> BridgeRun:
    """The period's bridge after syncing the spans that keep an end from being known: the
    logs between a balance read and the period's ends that the store lacks (each source's
    rate limit respected, as in any sync)."""
    first = bridge_run(config, period)
    bridge = first.bridge
    synced = []
    for s in bridge.sources:
        for lo, hi in missing_spans(s):
            if lo > now() - SAFETY_MARGIN_SECONDS:
                continue  # not fetched yet by any sync: rows may still be arriving there
            span = Period(
                "the logs an end needs",
                datetime.fromtimestamp(lo, period.tz),
                datetime.fromtimestamp(hi, period.tz),
            )
            synced.append(
                run_sync(config.with_source(s.source), span, client_factory=client_factory, now=now)
            )
    again = bridge_run(config, period) if synced else first
    return BridgeRun(again.bridge, tuple(synced), again.rates)


def missing_spans(s: SourceBridge) -> list[tuple[int, int]]:
    """The ``[lo, hi)`` spans the store lacks between a balance read and an end it cannot tell, merged."""
    spans = sorted({gap for end in (s.opening, s.closing) if end.quota is None for gap in end.gaps})
    merged: list[tuple[int, int]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def enforce_bridge(bridge: Bridge, strict: bool) -> None:
    """With ``strict``, a bridge that does not close is an error (exit 12): an end not known, a
    residual not known (a credit's amount unreadable), or a residual no recorded fact explains."""
    if not strict:
        return
    labels = wording("en").group("bridge_")
    problems = []
    for s in bridge.sources:
        unknown = [
            label for label, end in (("opening", s.opening), ("closing", s.closing)) if end.quota is None
        ]
        if unknown:
            problems.append(f"{s.source}: the {' and '.join(unknown)} balance not known")
        elif s.residual is None:
            problems.append(
                f"{s.source}: the residual is not known (credit rows whose amount cannot be read)"
            )
        elif s.unexplained:
            problems.append(unexplained_text(s, labels))
    if problems:
        raise BridgeError("--strict: the wallet bridge does not close: " + "; ".join(problems))
