"""What each ``[alerts.NAME]`` rule finds in a :class:`Snapshot` of the store: :class:`Event` s.

Pure: no I/O.  An event's ``identity`` is stable across runs (rule, kind and subject), so the
store raises it once however often ``watch`` runs; an event a rule no longer finds is resolved
when its kind can be (a budget share that fell back, a key used again, a wallet topped up).
Figures in ``facts`` are formatted by the one money policy (:func:`money_text`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from statistics import median

from ..config import AlertRule
from ..core.budget import HUNDRED, ProjectLine
from ..core.money import money_text, percent_text

#: A fact marking an event recorded but not announced (a lower threshold crossed with a higher one).
QUIET = "quiet"
#: Kinds whose events end when the rule no longer finds them ("resolved" is sent once).
RESOLVABLE = frozenset({"budget", "runout", "key_idle", "wallet", "sync"})


@dataclass(frozen=True)
class Event:
    identity: str
    rule: str
    kind: str
    facts: dict[str, str]


@dataclass(frozen=True)
class Snapshot:
    """What the rules read, gathered from the store by :mod:`.inputs`."""

    now: int
    today: date
    projects: tuple[ProjectLine, ...] = ()
    #: (by, name, day) -> net spend in USD, for by in member / key / model, the days of ``days``.
    day_spend: Mapping[tuple[str, str, date], Decimal] = field(default_factory=dict)
    days: tuple[date, ...] = ()
    #: key -> first and last consumption (Unix seconds), over the whole store.
    key_use: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    #: keys the gateway lists as enabled (None: no key list synced): only they can be idle.
    enabled_keys: frozenset[str] | None = None
    #: source -> (wallet balance in USD, read at).
    balances: Mapping[str, tuple[Decimal, int]] = field(default_factory=dict)
    #: source -> net spend per day in USD, averaged over the last week.
    daily_usd: Mapping[str, Decimal] = field(default_factory=dict)
    #: source -> (last successful sync's end, last finished sync's end, its state); None: never synced.
    syncs: Mapping[str, tuple[int | None, int | None, str] | None] = field(default_factory=dict)


def evaluate(rules: tuple[AlertRule, ...], snap: Snapshot) -> list[Event]:
    """Every event the rules find now, in rule order."""
    return [event for rule in rules for event in _KINDS[rule.kind](rule, snap)]


def _budget(rule: AlertRule, snap: Snapshot) -> Iterator[Event]:
    """Each threshold crossed; when several are crossed at once only the highest is announced
    (the lower ones are raised ``quiet``: recorded, so they neither fire later nor resolve aloud)."""
    for line in _projects(rule, snap):
        if line.share_used is None:
            continue
        crossed = [t for t in rule.thresholds if line.share_used * HUNDRED >= t]
        for threshold in crossed:
            facts = {
                "project": line.name,
                "threshold": f"{threshold.normalize():f}%",
                "share": percent_text(line.share_used),
                "spent": f"{money_text(line.spent)} {line.currency}",
                "budget": f"{money_text(line.budget)} {line.currency}",
                "as_of": str(line.as_of or snap.today),
            }
            if threshold != crossed[-1]:
                facts[QUIET] = "1"
            yield Event(
                f"{rule.name}/budget/{line.name}/{threshold.normalize():f}", rule.name, "budget", facts
            )


def _runout(rule: AlertRule, snap: Snapshot) -> Iterator[Event]:
    for line in _projects(rule, snap):
        if line.run_out is not None and line.run_out < line.end and line.as_of is not None:
            yield Event(
                f"{rule.name}/runout/{line.name}",
                rule.name,
                "runout",
                {
                    "project": line.name,
                    "run_out": str(line.run_out),
                    "end": str(line.end),
                    "remaining": f"{money_text(line.remaining)} {line.currency}",
                    "burn": f"{money_text(line.burn_per_day or Decimal(0))} {line.currency}",
                },
            )


def _spike(rule: AlertRule, snap: Snapshot) -> Iterator[Event]:
    """A day (yesterday or today) whose spend passes ``factor`` x the median of the window before it."""
    names = sorted({name for by, name, _ in snap.day_spend if by == rule.by})
    for day in snap.days[-2:]:
        window = [d for d in snap.days if day - timedelta(days=rule.window_days) <= d < day]
        if len(window) < rule.window_days:
            continue  # not enough history to call anything a spike
        for name in names:
            spent = snap.day_spend.get((rule.by, name, day), Decimal(0))
            usual = Decimal(median(snap.day_spend.get((rule.by, name, d), Decimal(0)) for d in window))
            if spent >= rule.min_usd and spent > rule.factor * usual:
                yield Event(
                    f"{rule.name}/spike/{rule.by}/{name}/{day}",
                    rule.name,
                    "spike",
                    {
                        "by": rule.by,
                        "name": name,
                        "day": str(day),
                        "spent": f"{money_text(spent)} USD",
                        "median": f"{money_text(usual)} USD",
                        "factor": f"{rule.factor.normalize():f}",
                        "window": str(rule.window_days),
                    },
                )


def _first_use(rule: AlertRule, snap: Snapshot) -> Iterator[Event]:
    for key, (first, _) in sorted(snap.key_use.items()):
        if first >= snap.now - 2 * 86400:  # watch runs hourly or more often: two days is a safe margin
            yield Event(
                f"{rule.name}/first/{key}", rule.name, "key_first_use", {"key": key, "first": str(first)}
            )


def _idle(rule: AlertRule, snap: Snapshot) -> Iterator[Event]:
    for key, (_, last) in sorted(snap.key_use.items()):
        if snap.enabled_keys is not None and key not in snap.enabled_keys:
            continue  # a disabled or deleted key is meant to be idle
        if last < snap.now - rule.days * 86400:
            yield Event(
                f"{rule.name}/idle/{key}/{last}",
                rule.name,
                "key_idle",
                {"key": key, "last": str(last), "days": str((snap.now - last) // 86400)},
            )


def _wallet(rule: AlertRule, snap: Snapshot) -> Iterator[Event]:
    for source, (balance, read_at) in sorted(snap.balances.items()):
        per_day = snap.daily_usd.get(source, Decimal(0))
        facts = {
            "source": source,
            "balance": f"{money_text(balance)} USD",
            "read_at": str(read_at),
            "per_day": f"{money_text(per_day)} USD",
        }
        if rule.below_usd is not None and balance < rule.below_usd:
            yield Event(
                f"{rule.name}/wallet/{source}/below",
                rule.name,
                "wallet",
                {**facts, "limit": f"{money_text(rule.below_usd)} USD"},
            )
        if rule.days_left is not None and per_day > 0 and balance / per_day < rule.days_left:
            left = (balance / per_day).quantize(Decimal("0.1"))
            yield Event(
                f"{rule.name}/wallet/{source}/days",
                rule.name,
                "wallet",
                {**facts, "days_left": f"{left}", "limit": str(rule.days_left)},
            )


def _sync(rule: AlertRule, snap: Snapshot) -> Iterator[Event]:
    for source, runs in sorted(snap.syncs.items()):
        ok = None if runs is None else runs[0]
        state = "never" if runs is None else runs[2]
        stale = ok is None or ok < snap.now - rule.hours * 3600
        if state != "ok" or stale:
            yield Event(
                f"{rule.name}/sync/{source}",
                rule.name,
                "sync",
                {"source": source, "state": state, "last_ok": str(ok or 0), "hours": str(rule.hours)},
            )


def _projects(rule: AlertRule, snap: Snapshot) -> list[ProjectLine]:
    return [p for p in snap.projects if not rule.projects or p.name in rule.projects]


_KINDS: dict[str, Callable[[AlertRule, Snapshot], Iterator[Event]]] = {
    "budget": _budget,
    "runout": _runout,
    "spike": _spike,
    "key_first_use": _first_use,
    "key_idle": _idle,
    "wallet": _wallet,
    "sync": _sync,
}
