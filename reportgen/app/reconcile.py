"""Reconciliation: the store's sums against the gateway's own ``/api/log/self/stat`` and ``used_quota``.

The stat endpoint is a cross-check, not a source of truth, and it differs from the
store's figures for known reasons, each of which is explained rather than reported:

- it sums consumption (type 2) only, so the store's *net* (consumption − refunds) is
  lower by the refunds: it is compared against consumed quota;
- it filters by the user's *current* username, so rows logged before a rename drop out:
  the store keeps each row's username, so those rows are left out of the comparison;
- windows of the period not yet synced: the comparison runs on the synced ranges only,
  and the stat of the rest is shown;
- one gateway release returns 0 for everything.

A key's ``used_quota`` (``/api/token/``) is lifetime, so it is compared only when the
key's whole history is in the store: one synced range from its creation through its
last use.  Any other difference is *unexplained*; :func:`check` raises naming the keys.

With several sources each source's rows are compared with its own gateway account
(its stat, its keys), and the lines are put together: keys are named as reports name
them (``work:key-a``) and the total is the sum, unexplained if any source's is.  The
last result per period is kept in the store's ``reconciliations`` table (owned by this
module), so that ``report`` can print it; a ``--source`` run that leaves out a
configured source is shown but not kept, since the documents show every source.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..config import Config
from ..core.periods import Period
from ..core.reconciliation import ReconcileLine, Reconciliation
from ..core.reconciliation import reconciliation_json as to_json
from ..core.records import KeyInfo
from ..errors import GatewayError, ReconcileError
from ..gateway import GatewayClient
from ..store import Store, qualified_key, sync_lock, uncovered
from . import ratebudget
from .sync import refuse_insecure


@dataclass
class _Sums:
    consumed: int = 0
    refunded: int = 0
    current: int = 0  # consumption logged under the current username

    def add(self, other: _Sums) -> None:
        self.consumed += other.consumed
        self.refunded += other.refunded
        self.current += other.current


def run_reconcile(
    config: Config,
    period: Period,
    *,
    client_factory: Callable[..., Any] | None = None,
    now: Callable[[], float] = time.time,
    notify: Callable[[str], None] | None = None,
    strict: bool = False,
) -> Reconciliation:
    """Compare ``period`` in the store with each source's gateway, keep the result, return it.

    Every source chosen (``--source``, else all) is compared with its own account; the
    result is kept for the documents only when it covers every configured source.  ``strict``
    refuses to send the token over plain http.
    """
    refuse_insecure(config, strict)
    sources = config.sources()
    database = [g.name for g in sources if g.source == "database"]
    if database:
        hint = "; give the API sources with --source NAME" if len(database) < len(sources) else ""
        raise GatewayError(
            f"reconcile compares with the gateway API's own stat, and source(s) {', '.join(database)} "
            f"read the gateway's database instead{hint}"
        )
    for gw in sources:
        if gw.access_token is None:
            raise GatewayError(
                f"{gw.token_env} is not set; reconcile asks the gateway, so export the system access token"
                + ("" if gw.name == "default" else f" of source {gw.name!r}")
            )
    checked_at = int(now())
    with sync_lock(config.store, "reconcile"), Store.open(config.store, create=False) as store:
        parts = []
        for gw in sources:
            client = (client_factory or GatewayClient)(gw)
            ratebudget.share(client, config.store_dir, gw)
            try:
                store.use_sources((gw.name,))
                parts.append((gw.name, reconcile(store, client, period, checked_at, source=gw.name)))
            finally:
                store.use_sources(None)
                ratebudget.keep(client, config.store_dir, gw)
                client.close()
        if len(parts) == 1:
            result = parts[0][1]
        else:
            store.use_sources(tuple(name for name, _ in parts))
            result = combine(parts, store.fingerprint(period.start_ts, period.end_ts))
            store.use_sources(None)
        every = config.gateways or (config.gateway,)
        if len(sources) == len(every):
            save_reconciliation(store, result)
        elif notify is not None:
            notify(
                f"Notice: only source(s) {', '.join(config.source_names())} reconciled: the result is shown, "
                "not kept for the documents (they show every source); run without --source to keep it"
            )
    return result


def combine(parts: Sequence[tuple[str, Reconciliation]], fingerprint: str) -> Reconciliation:
    """Several sources' results as one: every key line, their notes named, the totals summed."""
    first = parts[0][1]
    totals = [r.total for _, r in parts]
    stats = [t.gateway_stat for t in totals]
    order = {"ok": 0, "explained": 1, "unexplained": 2}
    total = ReconcileLine(
        None,
        sum(t.store_consumed for t in totals),
        sum(t.store_refunded for t in totals),
        sum(t.store_current_user for t in totals),
        None if any(s is None for s in stats) else sum(s for s in stats if s is not None),
        max((t.status for t in totals), key=order.__getitem__),
        tuple(f"{name}: {note}" for name, r in parts for note in r.total.notes),
    )
    return Reconciliation(
        period_label=first.period_label,
        start_ts=first.start_ts,
        end_ts=first.end_ts,
        checked_at=first.checked_at,
        username=", ".join(f"{name}={r.username}" for name, r in parts),
        total=total,
        keys=tuple(line for _, r in parts for line in r.keys),
        notes=tuple(f"{name}: {note}" for name, r in parts for note in r.notes),
        fingerprint=fingerprint,
    )


def reconcile(
    store: Store, client: Any, period: Period, checked_at: int, *, source: str = "default"
) -> Reconciliation:
    """The comparison itself, on a store reading one source's rows and that source's gateway client."""
    username = str(client.user_self().get("username") or "")
    keys: list[KeyInfo] = client.keys()
    lo, hi = period.start_ts, period.end_ts - 1  # the stat's bounds are inclusive
    coverage = store.coverage()
    covered = [(max(a, lo), min(b, hi)) for a, b in coverage if a <= hi and b >= lo]
    missing = uncovered(sorted(covered), lo, hi)
    # the store names a key as reports do (work:key-a), the gateway by its own name (key-a)
    gateway_name = {qualified_key(source, k.name): k.name for k in keys if k.name}
    sums = _store_sums(store, lo, hi, username)
    for name in sums:
        gateway_name.setdefault(name, name.removeprefix(f"{source}:"))
    names = sorted(gateway_name)

    def stat(token: str | None, ranges: Sequence[tuple[int, int]]) -> int:
        return sum(client.log_stat(a, b, None if token is None else gateway_name[token]) for a, b in ranges)

    total = _Sums()
    for s in sums.values():
        total.add(s)
    total_stat = stat(None, covered)
    notes: list[str] = []
    zero_release = total_stat == 0 and total.current > 0
    if zero_release:
        notes.append(
            "the gateway's stat returned 0 although the store holds consumption under the current username: "
            "a known bug of one gateway release; the stat cannot be compared"
        )
    if missing:
        rest = stat(None, missing)
        notes.append(
            f"{len(missing)} range(s) of the period are not synced ({_ranges(missing, period)}); compared on the "
            f"synced part only; the gateway's stat counts {rest:,} quota in the rest: run `reportgen sync`"
        )
    if username:
        others = _other_usernames(store, lo, hi, username)
        if others:
            notes.append(
                f"rows logged under earlier username(s) {', '.join(others)}; the current one is {username!r}"
            )
    by_id = {qualified_key(source, k.name): k for k in keys}
    counts: dict[str, int] = {}
    for k in keys:
        counts[qualified_key(source, k.name)] = counts.get(qualified_key(source, k.name), 0) + 1
    lines = []
    for name in names:
        s = sums.get(name, _Sums())
        line = _line(name, s, stat(name, covered), username, zero_release)
        key = by_id.get(name)
        if key is not None and counts[name] == 1:
            line = _used_quota(store, line, key, coverage)
        lines.append(line)
    total_line = _line(None, total, total_stat, username, zero_release)
    return Reconciliation(
        period_label=period.label,
        start_ts=period.start_ts,
        end_ts=period.end_ts,
        checked_at=checked_at,
        username=username,
        total=total_line,
        keys=tuple(lines),
        notes=tuple(notes),
        fingerprint=store.fingerprint(period.start_ts, period.end_ts),
    )


def _line(key: str | None, s: _Sums, stat: int, username: str, zero_release: bool) -> ReconcileLine:
    notes: list[str] = []
    status = "ok"
    if zero_release:
        return ReconcileLine(key, s.consumed, s.refunded, s.current, stat, "explained", ("stat returned 0",))
    expected = s.current if username else s.consumed
    if stat != expected:
        diff = stat - expected
        notes.append(
            f"the gateway's stat says {stat:,} quota, the store {expected:,} consumed under the current "
            f"username: {diff:+,} not explained"
        )
        status = "unexplained"
    else:
        if s.consumed != s.current and username:
            notes.append(
                f"{s.consumed - s.current:,} quota was logged under an earlier username; "
                "the stat filters by the current username and leaves it out"
            )
        if s.refunded:
            notes.append(
                f"refunds of {s.refunded:,} quota: the stat counts consumption only, the net is "
                f"{s.consumed - s.refunded:,}"
            )
        if notes:
            status = "explained"
    return ReconcileLine(key, s.consumed, s.refunded, s.current, stat, status, tuple(notes))


def _used_quota(
    store: Store, line: ReconcileLine, key: KeyInfo, coverage: list[tuple[int, int]]
) -> ReconcileLine:
    """Compare the key's lifetime used_quota when its whole history is in one synced range."""
    last_use = max(key.accessed_time, key.created_time)
    if key.created_time <= 0 or not any(a <= key.created_time and last_use <= b for a, b in coverage):
        return line
    consumed, refunded = _lifetime(store, key, line.key or key.name)
    notes = list(line.notes)
    status = line.status
    if key.used_quota not in (consumed, consumed - refunded):
        notes.append(
            f"used_quota {key.used_quota:,} matches neither the key's lifetime consumption {consumed:,} "
            f"nor its net {consumed - refunded:,} in the store"
        )
        status = "unexplained"
    return ReconcileLine(
        line.key,
        line.store_consumed,
        line.store_refunded,
        line.store_current_user,
        line.gateway_stat,
        status,
        tuple(notes),
        used_quota=key.used_quota,
        lifetime_consumed=consumed,
    )


def _lifetime(store: Store, key: KeyInfo, name: str) -> tuple[int, int]:
    return store.key_lifetime(key.id, name)


def _store_sums(store: Store, lo: int, hi: int, username: str) -> dict[str, _Sums]:
    return {name: _Sums(*sums) for name, sums in store.sums_by_key(lo, hi, username).items()}


def _other_usernames(store: Store, lo: int, hi: int, username: str) -> list[str]:
    return [repr(name) for name in store.other_usernames(lo, hi, username)]


def _ranges(ranges: list[tuple[int, int]], period: Period) -> str:
    def fmt(ts: int) -> str:
        return datetime.fromtimestamp(ts, period.tz).strftime("%Y-%m-%d %H:%M")

    return "; ".join(f"{fmt(a)} .. {fmt(b)}" for a, b in ranges)


def check(result: Reconciliation) -> None:
    """Raise :class:`ReconcileError` naming every key with an unexplained difference."""
    bad = result.unexplained
    if not bad:
        return
    named = [x.key for x in bad if x.key is not None]
    what = ", ".join(repr(k) for k in named) if named else "the total"
    first = bad[0].notes[-1] if bad[0].notes else ""
    raise ReconcileError(f"{result.period_label}: unexplained difference on {what} ({first})")


def reconcile_json(result: Reconciliation, tz: ZoneInfo) -> dict[str, Any]:
    """``reconcile --json``: the period shaped as ``summary --json`` shapes it."""
    data = to_json(result)
    data["period"] = {
        "label": result.period_label,
        "start": datetime.fromtimestamp(result.start_ts, tz).isoformat(),
        "end": datetime.fromtimestamp(result.end_ts, tz).isoformat(),
        "timezone": str(tz),
    }
    return data


# -- persistence ---------------------------------------------------------------------------


def save_reconciliation(store: Store, result: Reconciliation) -> None:
    store.save_reconciliation(
        result.start_ts, result.end_ts, result.period_label, result.checked_at, json.dumps(to_json(result))
    )
