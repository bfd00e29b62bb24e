"""``month-end --deliver``: each issued packet to its ``[recipients]`` (the team's to finance,
a member's statement to the member, a project's grant report to its lead), once.

Each delivery is claimed in the store before it is sent and recorded in the audit log (who,
when, which packet and its SHA-256) once sent; a second run sends nothing unless ``resend``.
Email carries the packet as an attachment, or names it (and its ``link_base`` URL) when it is
larger than the channel's ``max_attachment_mb``; a chat channel is told it was issued.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..app.export import file_sha256
from ..app.monthend import Issue, MonthEnd
from ..app.signing import who
from ..config import Channel, Config
from ..store import Store, sync_lock
from ..store import evidence as audit
from ..store.alerts import SENT, claim, finish
from ..templating import wording
from .deliver import Sending, channel_of, deliver, style_of
from .messages import Message, escape


@dataclass(frozen=True)
class PacketDeliveries:
    sent: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()  # already delivered (without --resend)
    failed: tuple[str, ...] = ()
    unaddressed: tuple[str, ...] = ()  # packets no recipient is configured for
    dry_run: bool = False

    def summary(self) -> str:
        lines = [f"  {'would send' if self.dry_run else 'delivered':<11} {s}" for s in self.sent]
        lines += [f"  {'already':<11} {s}" for s in self.skipped]
        lines += [f"  FAILED      {f}" for f in self.failed]
        if self.unaddressed:
            lines.append(f"No [recipients] for: {', '.join(self.unaddressed)}.")
        verb = "would be delivered" if self.dry_run else "delivered"
        lines.append(
            f"{len(self.sent)} packet message(s) {verb}, {len(self.skipped)} already delivered "
            f"(--resend sends them again), {len(self.failed)} failed."
        )
        return "\n".join(lines)


def deliver_packets(
    config: Config,
    result: MonthEnd,
    *,
    resend: bool = False,
    now: Callable[[], float] = time.time,
    how: Sending | None = None,
) -> PacketDeliveries:
    """Send each packet ``result`` issued (or found already issued) to its recipients."""
    targets = [(issue, _recipients(config, issue)) for issue in result.issues if issue.status != "differs"]
    unaddressed = tuple(issue.who for issue, to in targets if not to)
    if result.dry_run:
        lines = tuple(f"{i.path.name} -> {r}" for i, to in targets for r in to)
        return PacketDeliveries(sent=lines, unaddressed=unaddressed, dry_run=True)
    holder = f"{socket.gethostname()}:{os.getpid()}"
    sent: list[str] = []
    skipped: list[str] = []
    failed: list[str] = []
    with (
        sync_lock(config.store, "month-end --deliver"),
        Store.open(config.store, create=False) as store,
    ):
        for issue, recipients in targets:
            digest = file_sha256(issue.path)
            identity = f"packet/{issue.path.name}"
            phase = f"resend {int(now())}" if resend else "packet"
            for recipient in recipients:
                line = f"{issue.path.name} -> {recipient}"
                if claim(store, identity, phase, recipient, holder, int(now()), digest) == SENT:
                    skipped.append(line)
                    continue
                channel, address = channel_of(config, recipient)
                message, attach = _message(config, result, issue, digest, channel, phase)
                attempts, error = deliver(channel, address, message, attach, how)
                if not error:
                    details = {"to": recipient, "statement": issue.number, "attached": bool(attach)}
                    with audit.writing(store):
                        audit.append(store, int(now()), who(), "deliver", line, digest, details)
                finish(store, identity, phase, recipient, int(now()), attempts, error)
                (failed if error else sent).append(error or line)
    return PacketDeliveries(tuple(sent), tuple(skipped), tuple(failed), unaddressed)


def _recipients(config: Config, issue: Issue) -> tuple[str, ...]:
    r = config.recipients
    if issue.scope.name is None:
        return r.team
    return (r.members if issue.scope.kind == "member" else r.projects).get(issue.scope.name, ())


def _message(
    config: Config, result: MonthEnd, issue: Issue, digest: str, channel: Channel, phase: str
) -> tuple[Message, tuple[Path, ...]]:
    t = wording(channel.lang or config.lang)
    style = style_of(channel)
    label = result.period.label
    name = escape(issue.scope.name or "", style)
    title = t("deliver_team" if issue.scope.name is None else f"deliver_{issue.scope.kind}").format(
        name=name, label=label
    )
    file = escape(issue.path.name, style)
    size = issue.path.stat().st_size
    attach: tuple[Path, ...] = ()
    if channel.type != "email":
        text = t("deliver_issued").format(name=file, digest=digest)
    elif size <= channel.max_attachment_bytes:
        text, attach = t("deliver_text").format(name=file, digest=digest), (issue.path,)
    else:
        link = (
            (channel.link_base.rstrip("/") + "/" + issue.path.name) if channel.link_base else str(issue.path)
        )
        text = t("deliver_link").format(name=file, size=f"{size / 1048576:.1f}", link=link, digest=digest)
    facts = {"file": issue.path.name, "sha256": digest, "statement": issue.number, "period": label}
    key = hashlib.sha256(f"{issue.path.name}\n{digest}".encode()).hexdigest()[:16]
    return Message(f"packet/{issue.path.name}/{key}/{phase}", title, text, facts, "packet"), attach
