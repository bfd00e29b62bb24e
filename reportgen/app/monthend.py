"""``reportgen month-end``: sync a month, check it, close it, and issue every packet into one folder.

One library call over the existing steps (:func:`~reportgen.app.sync.run_sync`, the
data-quality check, :func:`~reportgen.app.closing.close_period`,
:func:`~reportgen.app.documents.write_packet`): the team packet, one per member with
usage and one per project running in the month, in ``OUT/<month>/`` with an
``index.md`` listing what was issued.  Packets of a closed month are byte-identical
whenever they are rebuilt, so a second run finds every packet already there and issues
nothing; a packet that differs from the one already issued is kept as issued and
reported (exit 1), never overwritten.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from ..config import Config
from ..core.money import money_text, printed_lines
from ..core.periods import Period, parse_period, previous_month
from ..errors import UsageError
from ..gateway import GatewayClient
from ..read import Scope, open_period
from ..render import period_in_zone_text
from ..templating import wording
from .bridge import bridge_with_sync
from .closing import CloseResult, close_period, refuse_partial_close
from .documents import Notify, check_view, write_packet
from .export import file_sha256, write_atomically
from .packet import manifest_of, packet_name
from .sync import SyncResult, refuse_insecure, run_sync

INDEX = "index.md"


@dataclass(frozen=True)
class Issue:
    """One packet of the month: whose, where, and what it says."""

    scope: Scope
    path: Path
    status: str  # issued | unchanged | differs | would issue | already issued
    number: str
    rows: int
    usd: Decimal
    cny: Decimal | None

    @property
    def who(self) -> str:
        return "team" if self.scope.name is None else f"{self.scope.kind} {self.scope.name}"


@dataclass(frozen=True)
class MonthEnd:
    """What a month-end run did (or, dry, would do)."""

    period: Period
    folder: Path
    issues: tuple[Issue, ...]
    sync: SyncResult | None = None
    close: CloseResult | None = None
    dry_run: bool = False
    bridge_synced: tuple[SyncResult, ...] = ()  # the logs the wallet bridge's ends needed, fetched

    @property
    def issued(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.status == "issued")

    @property
    def differs(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.status == "differs")

    def summary(self) -> str:
        lines = []
        if self.sync is not None:
            lines.append(self.sync.summary())
        for label, advice in () if self.sync is None else self.sync.expiring:
            if label != self.period.label:  # this run closes its own month
                lines.append(f"Suggested: {advice}")
        for done in self.bridge_synced:
            lines.append(f"Synced the logs the wallet bridge needs ({done.name}): {done.rows:,} rows.")
        if self.close is not None:
            lines.append(self.close.summary())
        for i in self.issues:
            lines.append(f"  {i.status:<15} {i.who}: {i.path}")
        label = self.period.label
        if self.dry_run:
            would = sum(1 for i in self.issues if i.status == "would issue")
            lines.append(
                f"Dry run: {would} packet(s) of {label} would be issued into {self.folder}; nothing written."
            )
        elif self.differs:
            lines.append(
                f"{len(self.differs)} packet(s) of {label} differ from the ones already issued in {self.folder}; "
                "the issued ones were kept (move them away to issue again)."
            )
        elif self.issued:
            lines.append(
                f"Issued {len(self.issued)} packet(s) of {label} into {self.folder} (index: {INDEX})."
            )
        else:
            lines.append(f"Nothing new: every packet of {label} was already issued in {self.folder}.")
        return "\n".join(lines)


def month_period(text: str | None, config: Config, now: Callable[[], float] = time.time) -> Period:
    """``last-month`` (the default) or a period label such as ``2026-04``."""
    if text in (None, "", "last-month"):
        return previous_month(datetime.fromtimestamp(now(), UTC), config.tz)
    return parse_period(text, config.tz)


def run_month_end(
    config: Config,
    period: Period,
    out_dir: Path,
    *,
    dry_run: bool = False,
    lang: str | None = None,
    strict: bool = False,
    notify: Notify = lambda line: None,
    client_factory: Callable[..., GatewayClient] | None = None,
    now: Callable[[], float] = time.time,
    attach: Sequence[Path] = (),
) -> MonthEnd:
    """Sync, check, close ``period`` and issue its packets into ``out_dir/<label>/``.

    ``dry_run`` syncs nothing, closes nothing and writes nothing: it lists the packets a
    run would issue from what the store holds now.  ``attach``: invoice files the team's
    claim holds (a member's or project's come from ``[[attachments.invoices]]``).
    """
    if period.end_ts > now():
        raise UsageError(f"{period.label} has not ended yet ({period.end:%Y-%m-%d %H:%M %Z})")
    refuse_partial_close(config, period)  # it closes the month: every source, before syncing any
    refuse_insecure(config, strict and not dry_run)  # --strict: no token over plain http, before any request
    folder = out_dir / period.label
    # the month, and (as a plain sync does) the last days and recently closed periods again for late rows
    sync = (
        None
        if dry_run
        else run_sync(config, period, strict=strict, look_back=True, client_factory=client_factory, now=now)
    )
    # the logs between a balance read and the month's ends that the store lacks (bridge --sync's)
    bridged = (
        () if dry_run else bridge_with_sync(config, period, client_factory=client_factory, now=now).synced
    )
    with open_period(config, period, fingerprint=False) as view:  # each packet's own view hashes its rows
        check_view(view, strict, False, notify)
        members = tuple(line.name for line in view.report.members if line.stats.active)
    close = None if dry_run else close_period(config, period, now=now)
    last = (period.end - timedelta(days=1)).date()
    projects = tuple(p.name for p in config.projects if p.start <= last and p.end >= period.start.date())
    scopes = (
        Scope(),
        *(Scope("member", m) for m in members),
        *(Scope("project", p) for p in projects),
    )
    lang = lang or config.lang
    if dry_run:
        issues = tuple(_describe(config, period, s, folder, lang, None) for s in scopes)
        return MonthEnd(period, folder, issues, dry_run=True)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".month-end-", dir=folder) as staging:
        issues = tuple(
            _issue(config, period, s, folder, Path(staging), lang, attach if s.name is None else ())
            for s in scopes
        )
    result = MonthEnd(period, folder, issues, sync, close, bridge_synced=bridged)
    index = _index(result, lang)
    target = folder / INDEX
    if not target.exists() or target.read_text(encoding="utf-8") != index:
        write_atomically(target, lambda fp: fp.writelines([index.encode("utf-8")]), "index")
    return result


def _issue(
    config: Config,
    period: Period,
    scope: Scope,
    folder: Path,
    staging: Path,
    lang: str,
    attach: Sequence[Path],
) -> Issue:
    """Build the packet in ``staging``; move it in when new, compare it when already issued."""
    built = write_packet(
        config,
        period,
        staging,
        member=scope.name if scope.kind == "member" else None,
        project=scope.name if scope.kind == "project" else None,
        lang=lang,
        attach=attach,
    )
    target = folder / built.name
    if not target.exists():
        shutil.move(built, target)
        status = "issued"
    elif file_sha256(target) == file_sha256(built):
        status = "unchanged"
    else:
        status = "differs"
    return _describe(config, period, scope, folder, lang, status)


def _describe(
    config: Config, period: Period, scope: Scope, folder: Path, lang: str, status: str | None
) -> Issue:
    """The packet's name, statement number, row count and totals, from the period's view."""
    with open_period(config, period, scope) as view:
        report = view.report
        if report.grant is not None:
            usd = sum((line.cost_usd for line in report.grant.lines), Decimal(0))
            cny = report.grant.spent if report.grant.project.currency == "CNY" else report.cny(usd)
        else:
            stats = report.totals if report.member_filter is None else report.members[0].stats
            usd, cny = stats.cost_usd, report.cny_of(stats)
        path = folder / packet_name(report)
        if status is None:
            status = "already issued" if path.exists() else "would issue"
        return Issue(scope, path, status, _issued_number(path), view.row_count, usd, cny)


def _issued_number(path: Path) -> str:
    """The register's number the packet at ``path`` was issued under, as its manifest states it
    ("" before it is issued): the index names exactly what the packet and its PDFs print."""
    try:
        statement = manifest_of(path).get("statement")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):  # not issued, or not a packet of ours
        return ""
    return "" if not isinstance(statement, dict) else str(statement.get("number") or "")


def _members_rounding(members: list[Issue], team: Issue, label: str) -> list[str]:
    """A rounding row under the members' packets where their printed amounts do not add up to the
    team's printed total (the one money policy), in USD and in CNY."""
    usd = printed_lines([i.usd for i in members], team.usd).rounding
    cny = Decimal(0)
    if team.cny is not None and all(i.cny is not None for i in members):
        cny = printed_lines([i.cny or Decimal(0) for i in members], team.cny).rounding
    if not usd and not cny:
        return []
    return [f"| {label} | | | | {money_text(usd)} | {'' if team.cny is None else money_text(cny)} | |"]


def _index(result: MonthEnd, lang: str) -> str:
    """The folder's one-page index: what was issued, its numbers and totals (deterministic)."""
    t = wording(lang).group("index_")
    p = result.period
    close = result.close
    closed = ""
    if close is not None:
        c = close.closure
        closed = t["closed"].format(
            revision=c.revision,
            date=f"{c.generated_at:%Y-%m-%d %H:%M}",
            rows=f"{c.rows:,}",
            fingerprint=c.fingerprint[:16],
        )
    head = [t[k] for k in ("scope", "file", "number", "rows", "usd", "cny", "sha256")]
    when = period_in_zone_text(p, lang)  # 2026年4月1日至4月30日（Asia/Shanghai）
    out = [t["title"].format(label=p.label), "", when, "", closed, "", "| " + " | ".join(head) + " |"]
    out.append("|" + " --- |" * len(head))
    team = result.issues[0]
    shown = [i for i in result.issues if i.status != "differs"]
    members = [i for i in shown if i.scope.kind == "member"]
    for i in shown:
        who = t["team"] if i.scope.name is None else i.scope.name
        cny = "" if i.cny is None else money_text(i.cny)
        out.append(
            f"| {who} | {i.path.name} | {i.number or t['unnumbered']} | {i.rows:,} | {money_text(i.usd)} | {cny} | "
            f"{file_sha256(i.path)[:16]}… |"
        )
        if members and i is members[-1]:
            out += _members_rounding(members, team, t["rounding"])
    total = f"{money_text(team.usd)} USD" + ("" if team.cny is None else f" = {money_text(team.cny)} CNY")
    out += ["", t["total"].format(total=total), "", t["check"]]
    return "\n".join(out) + "\n"
