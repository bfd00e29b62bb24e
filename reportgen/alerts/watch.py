"""``reportgen watch``: sync what is due, evaluate the ``[alerts]`` rules, deliver each alert once.

Run from cron every few minutes to hourly.  The sync is a plain ``sync`` (the gateway's rate
limit and the store lock respected; another command syncing is no error).  Raising, resolving
and delivering happen under the store lock, and each delivery is claimed in the store before
it is sent (:mod:`reportgen.store.alerts`): a rerun finds it sent, an overlapping run waits
its turn or finds the lock held, and a run killed mid-send leaves a claim the next run sends
again under the same message id (``X-Reportgen-Id``), so a receiver can drop the repeat.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..app.sync import run_sync
from ..config import AlertRule, Config
from ..errors import ConfigError, GatewayError, SyncLockedError, UsageError
from ..sources import LogSource
from ..store import Reader, Store, sync_lock
from ..store.alerts import (
    IN_DOUBT,
    SENT,
    RaisedAlert,
    claim,
    claimed,
    finish,
    raise_alerts,
    raised_alerts,
    resolve_alerts,
)
from .deliver import Sending, channel_of, deliver, style_of
from .inputs import gather
from .messages import alert_message
from .rules import QUIET, RESOLVABLE, Event, evaluate

#: A recipient never sent an alert (added to its rule since) is not sent what happened longer ago.
BACKLOG_DAYS = 7


@dataclass(frozen=True)
class WatchResult:
    """What one run did: the alerts raised and resolved, each delivery sent or failed."""

    raised: tuple[str, ...] = ()
    resolved: tuple[str, ...] = ()
    sent: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    dry_run: bool = False

    def summary(self) -> str:
        lines = list(self.notes)
        lines += [f"  raised    {i}" for i in self.raised]
        lines += [f"  resolved  {i}" for i in self.resolved]
        lines += [f"  sent      {s}" for s in self.sent]
        lines += [f"  FAILED    {f}" for f in self.failed]
        if self.dry_run:
            lines.append(f"Dry run: {len(self.sent)} message(s) would be sent; nothing recorded or sent.")
        elif self.failed:
            lines.append(f"{len(self.failed)} delivery(ies) failed; the next run tries them again.")
        elif self.sent:
            lines.append(f"Sent {len(self.sent)} message(s).")
        else:
            lines.append("Nothing to send.")
        return "\n".join(lines)


def run_watch(
    config: Config,
    *,
    dry_run: bool = False,
    sync: bool = True,
    client_factory: Callable[..., LogSource] | None = None,
    now: Callable[[], float] = time.time,
    how: Sending | None = None,
) -> WatchResult:
    """Sync (unless ``sync`` is off or ``dry_run``), evaluate the rules, deliver what is due."""
    if not config.alerts:
        raise ConfigError(f"{config.where('alerts')}: no [alerts.NAME] rules to watch (see the README)")
    notes: list[str] = []
    sync_failed = False
    if sync and not dry_run:
        try:
            done = run_sync(config, client_factory=client_factory, now=now)
            notes.append(done.summary().splitlines()[0])
        except SyncLockedError as exc:
            notes.append(f"Sync skipped: {exc}")
        except UsageError as exc:  # nothing due yet: the last sync ended minutes ago
            notes.append(f"Sync: {exc}")
        except GatewayError as exc:  # the sync rules see it, recorded in the store or not
            notes.append(f"Sync failed: {exc}")
            sync_failed = True
    at = now()
    events = evaluate(config.alerts, gather(config, at, sync_failed))
    if dry_run:
        return _dry(config, events, notes)
    rules = {r.name: r for r in config.alerts}
    try:
        with sync_lock(config.store, "watch"), Store.open(config.store, create=False) as store:
            raised = raise_alerts(store, [(e.identity, e.rule, e.kind, _facts(e)) for e in events], int(at))
            active = {e.identity for e in events}
            stale = [
                a.identity
                for a in _open(raised_alerts(store))
                if a.rule in rules and a.kind in RESOLVABLE and a.identity not in active
            ]
            resolved = resolve_alerts(store, stale, int(at))
            sent, failed, doubt = _deliver_all(store, config, rules, how or Sending(), now)
    except SyncLockedError as exc:
        return WatchResult(notes=(*notes, f"Not delivering now: {exc}"))
    notes += [f"Sending again (a run was cut off while sending it): {d}" for d in doubt]
    return WatchResult(tuple(raised), tuple(resolved), tuple(sent), tuple(failed), tuple(notes))


def _deliver_all(
    store: Store, config: Config, rules: dict[str, AlertRule], how: Sending, now: Callable[[], float]
) -> tuple[list[str], list[str], list[str]]:
    holder = f"{socket.gethostname()}:{os.getpid()}"
    sent: list[str] = []
    failed: list[str] = []
    doubt: list[str] = []
    for alert in raised_alerts(store):
        rule = rules.get(alert.rule)
        if rule is None or QUIET in json.loads(alert.facts):
            continue  # the rule was removed from the config, or a higher threshold was announced instead
        phases = [("raised", alert.raised_at)]
        if alert.resolved_at is not None:
            phases.append(("resolved", int(alert.resolved_at)))
        for phase, when in phases:
            for recipient in rule.to:
                if when < now() - BACKLOG_DAYS * 86400 and not claimed(store, alert.key, phase, recipient):
                    continue  # a recipient added to the rule later gets what happens from now on
                channel, address = channel_of(config, recipient)
                message = alert_message(
                    alert, phase, channel.lang or config.lang, config.tz, style_of(channel)
                )
                digest = hashlib.sha256(f"{message.title}\n{message.text}".encode()).hexdigest()
                got = claim(store, alert.key, phase, recipient, holder, int(now()), digest)
                if got == SENT:
                    continue
                if got == IN_DOUBT:
                    doubt.append(f"{message.id} -> {recipient}")
                attempts, error = deliver(channel, address, message, (), how)
                finish(store, alert.key, phase, recipient, int(now()), attempts, error)
                (failed if error else sent).append(error or f"{message.id} -> {recipient}")
    return sent, failed, doubt


def _dry(config: Config, events: list[Event], notes: list[str]) -> WatchResult:
    """What a run would raise and send now, without recording or sending anything."""
    with Reader.open(config.store) as reader:
        reader.begin()
        known = _open(raised_alerts(reader))
    shown = {a.identity for a in known}
    would = [e for e in events if e.identity not in shown and QUIET not in e.facts]
    lines = []
    for e in would:
        alert = RaisedAlert(e.identity, 0, e.rule, e.kind, 0, None, _facts(e))
        message = alert_message(alert, "raised", config.lang, config.tz, "plain")
        rule = next(r for r in config.alerts if r.name == e.rule)
        lines += [f"{message.text} -> {', '.join(rule.to)}"]
    return WatchResult(
        raised=tuple(e.identity for e in would), sent=tuple(lines), notes=tuple(notes), dry_run=True
    )


def _open(alerts: list[RaisedAlert]) -> list[RaisedAlert]:
    """The latest episode of each identity, if not resolved."""
    latest: dict[str, RaisedAlert] = {}
    for a in alerts:
        if a.identity not in latest or a.episode > latest[a.identity].episode:
            latest[a.identity] = a
    return [a for a in latest.values() if a.resolved_at is None]


def _facts(event: Event) -> str:
    return json.dumps(event.facts, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
