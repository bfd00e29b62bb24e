"""Terminal rendering: summary tables, the sync progress bar (rich), the exporter list, the demo's report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from .app.summary import money
from .core.money import convert_for_print, money_text, percent_text, printed_lines, rate_text
from .core.reconciliation import Reconciliation
from .core.report import Report
from .core.stats import Line, Stats
from .core.text import clean_text
from .core.wallet import Bridge, Payment, cny_note, printed_bridge, unexplained_text
from .hookspecs import Exporter
from .render import day_ranges
from .templating import wording

if TYPE_CHECKING:
    from .demo import DemoResult  # the demo's fake gateway is imported by `reportgen demo` alone


def err_console() -> Console:
    """A console on stderr: progress bars, so that stdout stays the command's output."""
    return Console(stderr=True)


def stdout_console() -> Console:
    """A console for tables: the terminal's width, or 120 columns when output is piped."""
    console = Console()
    return console if console.is_terminal else Console(width=120)


def _usd(value: Decimal) -> str:
    """The amount as every document prints it (the one money policy)."""
    return money_text(value)


#: Breakdown columns: (header, optional) — optional ones are dropped, last first, when the
#: terminal is too narrow; numbers are never cut.
_COLUMNS = (
    ("requests", False),
    ("errors", True),
    ("tok in", True),
    ("tok out", True),
    ("net quota", False),
    ("USD", False),
    ("p50 s", True),
    ("p95 s", True),
)
_DROP_ORDER = ("p95 s", "p50 s", "tok out", "tok in", "errors")
_NAME_MIN = 12


def _cells(line: Line) -> dict[str, str]:
    s = line.stats
    return {
        "requests": f"{s.requests:,}",
        "errors": f"{s.errors:,}",
        "tok in": _compact(s.prompt_tokens),
        "tok out": _compact(s.completion_tokens),
        "net quota": f"{s.quota:,}",
        "USD": _usd(s.cost_usd),
        "p50 s": "" if s.latency_p50_ms is None else f"{s.latency_p50_ms / 1000:.2f}",
        "p95 s": "" if s.latency_p95_ms is None else f"{s.latency_p95_ms / 1000:.2f}",
    }


def _fit(widths: dict[str, int], width: int) -> tuple[list[str], list[str]]:
    """The columns that fit ``width`` beside a name column of at least ``_NAME_MIN``, and those dropped."""
    shown = [name for name, _ in _COLUMNS]
    dropped: list[str] = []

    def needed() -> int:  # each column: its text, a space of padding on each side and a separator
        return _NAME_MIN + 3 + sum(widths[c] + 3 for c in shown)

    for name in _DROP_ORDER:
        if needed() <= width:
            break
        shown.remove(name)
        dropped.append(name)
    if needed() > width:  # not even the money fits: the caller stacks the figures instead
        return [c for c in shown if c != "net quota"], dropped
    return shown, dropped


def _table(
    title: str, first: str, lines: tuple[Line, ...], width: int = 120, total: Stats | None = None
) -> tuple[Table, list[str]]:
    """The breakdown table for a terminal ``width`` wide, and the columns left out to fit it.

    Numbers are never truncated (they get their full width); names wrap rather than being
    cut, so two long names stay distinct; untrusted names lose control and bidi characters.
    With ``total``, a total row closes the table, and a rounding row before it where the
    printed USD lines do not add up to the printed total (the one money policy).
    """
    rows = [_cells(line) for line in lines]
    footing: list[tuple[str, dict[str, str]]] = []
    if total is not None:
        printed = printed_lines([line.stats.cost_usd for line in lines], total.cost_usd)
        if printed.has_rounding:
            footing.append(
                ("rounding", dict.fromkeys(rows[0] if rows else (), "") | {"USD": _usd(printed.rounding)})
            )
        footing.append(("total", _cells(Line("total", total))))
    rows_and_footing = [*rows, *(cells for _, cells in footing)]
    widths = {
        name: max([len(name), *(len(r.get(name, "")) for r in rows_and_footing)]) for name, _ in _COLUMNS
    }
    shown, dropped = _fit(widths, width)
    table = Table(title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column(first, overflow="fold", min_width=min(_NAME_MIN, width // 4))
    for name in shown:
        table.add_column(name, justify="right", no_wrap=True, min_width=widths[name])
    for line, cells in zip(lines, rows, strict=True):
        table.add_row(
            Text(terminal_text(line.name)),
            *(cells[name] for name in shown),
            style=None if line.stats.active else "dim",
        )
    if footing:
        table.add_section()
    for name, cells in footing:
        table.add_row(Text(name, style="bold"), *(cells.get(c, "") for c in shown))
    return table, dropped


def _print_stacked(title: str, lines: tuple[Line, ...], console: Console) -> None:
    """One line per figure group, for terminals too narrow for any table."""
    console.print(Text(title, style="bold"))
    for line in lines:
        cells = _cells(line)
        console.print(Text(terminal_text(line.name), style="" if line.stats.active else "dim"))
        console.print(Text(f"  USD {cells['USD']}  quota {cells['net quota']}  requests {cells['requests']}"))


def terminal_text(value: object) -> str:
    """Untrusted text as the terminal may show it: no escapes, no bidi overrides."""
    return clean_text(value)


def _compact(n: int) -> str:
    """Token counts as 1.2M / 350k, so that the table fits an 80-column terminal."""
    if abs(n) >= 10_000_000:
        return f"{n / 1_000_000:.0f}M"
    if abs(n) >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if abs(n) >= 10_000:
        return f"{n / 1000:.0f}k"
    return f"{n:,}"


def print_summary(report: Report, by: str, console: Console, header: bool = True) -> None:
    """Totals and one breakdown table (``by`` is member, model, day or key)."""
    if header:
        _print_totals(report, console)
    lines = {"member": report.members, "model": report.models, "day": report.days, "key": report.keys}[by]
    table, dropped = _table(f"By {by}", by, lines, console.width, report.totals)
    if table.columns and len(table.columns) - 1 < len([c for c, optional in _COLUMNS if not optional]):
        _print_stacked(f"By {by}", lines, console)  # too narrow even for the money columns
        dropped = []
    else:
        console.print(table)
    if dropped:
        console.print(
            Text(
                f"({', '.join(dropped)} left out to fit {console.width} columns; widen the terminal or use --json)"
            ),
            style="dim",
        )
    if report.projects and header:  # once, with the totals, however many breakdowns follow
        _print_projects(report, console)


def _print_totals(report: Report, console: Console) -> None:
    p = report.period
    t = report.totals
    ex = report.exchange
    console.print(
        f"[bold]{p.label}[/bold]  {p.start:%Y-%m-%d %H:%M} .. {p.end:%Y-%m-%d %H:%M} ({p.timezone}, end exclusive)"
        + (f"  member: {escape(terminal_text(report.member_filter))}" if report.member_filter else "")
    )
    cny_total = report.cny_of(t)
    official = "" if ex.applies_to is None else f"official rate for {ex.applies_to}: "
    rates = (
        "; ".join(f"{name} at {e.rate} ({escape(e.source)})" for name, e in report.source_rates)
        if report.source_rates
        else f"at {ex.rate} ({official}{escape(ex.source)})"
    )
    cny = "" if cny_total is None else f"  = CNY {money_text(cny_total)} {rates}"
    if cny_total is not None and ex.rate is not None and not report.source_rates:  # recomputable as printed
        c = convert_for_print(t.cost_usd, ex.rate)
        diff = f", conversion difference {money_text(c.difference)}" if c.has_difference else ""
        cny += f"\n  ({money_text(c.usd)} × {rate_text(c.rate)} = {money_text(c.product)}{diff})"
    more = "".join(
        f"\n  = {c.code} {money_text(c.convert(t.cost_usd))} at {c.rate} per USD ({escape(c.source)}, {c.as_of.isoformat()})"
        for c in report.conversions
    )
    console.print(
        f"Net spend USD {_usd(t.cost_usd)}{cny}{more}\n"
        f"{t.requests:,} requests, {t.errors:,} errors, consumed {t.consumed_quota:,} − refunded "
        f"{t.refunded_quota:,} = {t.quota:,} quota (1 USD = {report.quota_per_unit:,} quota)"
        + (f"; {t.subscription_quota:,} billed to a subscription" if t.subscription_quota else "")
        + f"\nExact USD total: {money(t.cost_usd)}"
    )


def _fitted(
    console: Console, title: str, heads: Sequence[str], rows: Sequence[Sequence[str]], names: set[int],
    styles: Sequence[str | None],
) -> None:  # fmt: skip
    """A table whose figures are never cut: each figure column as wide as its widest cell, the
    ``names`` columns folded; when even that is wider than the console, a block per row with a
    line per figure (money and names are never ended with "…")."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(heads)]
    needed = sum((min(w, _NAME_MIN) if i in names else w) + 3 for i, w in enumerate(widths))
    if needed <= console.width:
        table = Table(title=title, title_justify="left", header_style="bold")
        for i, head in enumerate(heads):
            if i in names:
                table.add_column(head, overflow="fold", min_width=min(widths[i], _NAME_MIN))
            else:
                table.add_column(head, justify="right", no_wrap=True, min_width=widths[i])
        for row, style in zip(rows, styles, strict=True):
            table.add_row(*(Text(cell) for cell in row), style=style)
        console.print(table)
        return
    console.print(Text(title, style="bold"))
    label = max(map(len, heads[1:]), default=0)
    for row, style in zip(rows, styles, strict=True):
        console.print(Text(row[0], style=style or "bold"))
        for head, cell in zip(heads[1:], row[1:], strict=True):
            if cell:
                console.print(Text(f"  {head:<{label}}  {cell}", style=style or ""))


def _projects_rows(report: Report) -> tuple[list[list[str]], list[str | None]]:
    """Budget position per project (every amount with its currency) and each row's style: red when over."""
    rows, styles = [], []
    for p in report.projects:
        share = "" if p.share_used is None else percent_text(p.share_used)
        burn = "" if p.burn_per_day is None else f"{p.currency} {money_text(p.burn_per_day)}"
        run_out = "" if p.run_out is None else p.run_out.isoformat()
        rows.append(
            [
                terminal_text(f"{p.name}: {p.title}" + ("  OVER BUDGET" if p.over_budget else "")),
                terminal_text(p.code),
                *(f"{p.currency} {money_text(v)}" for v in (p.budget, p.period_spent, p.spent, p.remaining)),
                share,
                burn,
                run_out + (" (after the end)" if p.run_out_after_end else ""),
            ]
        )
        styles.append("bold red" if p.over_budget else None)
    return rows, styles


_PROJECT_HEADS = (
    "project",
    "code",
    "budget",
    "in period",
    "spent",
    "remaining",
    "used",
    "per day",
    "runs out",
)


def _print_projects(report: Report, console: Console) -> None:
    rows, styles = _projects_rows(report)
    _fitted(console, "Projects", _PROJECT_HEADS, rows, {0, 1, 8}, styles)
    for p in report.projects:
        if p.unsynced:
            spans = ", ".join(str(a) if a == z else f"{a} – {z}" for a, z in p.unsynced)
            console.print(
                f"[yellow]{p.name}: {p.unsynced_days} day(s) are not synced ({spans}); "
                "spent and the burn rate are understated until they are[/yellow]"
            )
        if p.outside_days:
            days = day_ranges(p.outside_days)
            console.print(
                f"[yellow]{p.name}: {p.currency} {money_text(p.outside)} spent on its keys outside its dates "
                f"({days}); not counted[/yellow]"
            )


def print_reconciliation(result: Reconciliation, console: Console) -> None:
    """Store against gateway per key and in total; unexplained lines are red."""
    heads = ("key", "consumed", "refunded", "net", "current user", "gateway stat", "status", "why")
    rows = [
        [
            terminal_text(line.key) if line.key is not None else "TOTAL",
            f"{line.store_consumed:,}",
            f"{line.store_refunded:,}",
            f"{line.store_net:,}",
            f"{line.store_current_user:,}",
            "" if line.gateway_stat is None else f"{line.gateway_stat:,}",
            line.status,
            terminal_text("; ".join(line.notes)),
        ]
        for line in (*result.keys, result.total)
    ]
    styles = ["bold red" if line.status == "unexplained" else None for line in (*result.keys, result.total)]
    _fitted(console, f"Reconciliation {result.period_label}", heads, rows, {0, 7}, styles)
    for note in result.notes:
        console.print(Text(terminal_text(note), style="yellow"))
    if result.ok:
        console.print("[green]No unexplained difference.[/green]")


class SyncBar:
    """A rich progress bar fed by :class:`reportgen.app.sync.SyncProgress` events."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("[bold]sync"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(
                "windows  {task.fields[rows]:,} rows  {task.fields[pages]:,} pages  {task.fields[reqs]:,} requests"
            ),
            TimeElapsedColumn(),
            TextColumn("{task.fields[note]}"),
            console=console,
            transient=True,
            disable=not console.is_terminal,  # cron and pipes get the one-line summary only
        )
        self.task = self.progress.add_task("sync", total=None, rows=0, pages=0, reqs=0, note="")

    def __enter__(self) -> SyncBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def planned(self, windows: int, skipped: int) -> None:
        self.progress.update(self.task, total=windows)

    def request(self, path: str) -> None:
        fields = self.progress.tasks[0].fields
        self.progress.update(self.task, reqs=fields["reqs"] + 1, note="")

    def waiting(self, seconds: float, why: str) -> None:
        """Say why nothing moves: the gateway's rate limit or a transient fault being waited out."""
        self.progress.update(self.task, note=f"waiting {seconds:.0f} s: {terminal_text(why)[:60]}")

    def window_done(self, rows: int, pages: int) -> None:
        fields = self.progress.tasks[0].fields
        self.progress.update(self.task, advance=1, rows=fields["rows"] + rows, pages=fields["pages"] + pages)


def print_bridge(
    bridge: Bridge, console: Console, tz: Any, rates: Mapping[str, Decimal | None] | None = None
) -> None:
    """Each source's wallet bridge as a table (quota, USD, CNY at the source's rate), then what
    explains a residual."""
    labels = wording("en").group("bridge_")
    rates = rates or {}
    for s in bridge.sources:
        table = Table(
            title=f"{labels['title']}: {s.source} ({terminal_text(s.account)})",
            box=box.SIMPLE_HEAD,
            title_justify="left",
        )
        table.add_column("", no_wrap=False)
        table.add_column(labels["quota"], justify="right")
        table.add_column(labels["usd"], justify="right")
        table.add_column(labels["cny"], justify="right")
        for line in printed_bridge(bridge, s, rates.get(s.source)):
            quota = line.quota
            table.add_row(
                labels[line.key],
                "" if line.key == "rounding" else labels["unknown"] if quota is None else f"{quota:,}",
                "" if line.usd is None else _usd(line.usd),
                "" if line.cny is None else _usd(line.cny),
                style="bold" if line.key in ("expected_closing", "residual") else None,
            )
        console.print(table)
        console.print(f"  {terminal_text(cny_note(s.source, rates.get(s.source), labels))}")
        for label, end in (("opening", s.opening), ("closing", s.closing)):
            if end.quota is not None and end.snapshot_at is not None:
                when = datetime.fromtimestamp(end.snapshot_at, tz).strftime("%Y-%m-%d %H:%M:%S")
                console.print(
                    f"  {labels[label]}: " + labels["snapshot"].format(when=when, rolled=f"{end.rolled:+,}")
                )
        if s.closes:
            console.print(f"  [green]{labels['closes']}[/green]")
        for note in s.explanations:
            console.print(f"  {labels['note']}: {terminal_text(note.text(labels))}")
        if s.unexplained:
            console.print(f"  [red]{terminal_text(unexplained_text(s, labels))}[/red]")
        if s.payments:
            console.print(payments_table(s.payments, labels, tz))
    if bridge.frozen:
        console.print(f"  ({labels['frozen']})")
    elif any(end.quota is None and end.gaps for s in bridge.sources for end in (s.opening, s.closing)):
        console.print(f"  {labels['sync_hint']}")


def payments_table(payments: Sequence[Payment], labels: Mapping[str, str], tz: Any) -> Table:
    """The top-ups as payments: when, what, paid how much how, for how much quota."""
    table = Table(title=labels["payments"], box=box.SIMPLE_HEAD, title_justify="left")
    for key in ("date", "kind", "paid", "currency", "quota", "ref", "method"):
        table.add_column(labels[f"payment_{key}"], justify="right" if key in ("paid", "quota") else "left")
    for p in payments:
        table.add_row(
            datetime.fromtimestamp(p.at, tz).strftime("%Y-%m-%d %H:%M"),
            labels.get(f"payment_{p.kind}", p.kind),
            terminal_text(p.paid or labels["payment_not_stated"]),
            p.currency or "",
            "" if p.quota is None else f"{p.quota:,}",
            terminal_text(p.ref or ""),
            terminal_text(p.method or ""),
        )
    return table


def exporters_json(found: dict[str, Exporter]) -> list[dict[str, str]]:
    """The installed exporters as ``reportgen exporters --json`` lists them."""
    return [
        {
            "name": e.name,
            "extension": e.extension,
            "description": e.description,
            "plugin": e.plugin,
            "version": e.version,
        }
        for e in found.values()
    ]


def print_exporters(found: dict[str, Exporter], console: Console) -> None:
    """The installed exporters as a table: name, file name pattern, description, providing plugin."""
    table = Table("name", "file", "description", "plugin", header_style="bold")
    for e in found.values():
        table.add_row(e.name, f"*{e.suffix}.{e.extension}", e.description, f"{e.plugin} {e.version}".strip())
    console.print(table)


def print_demo(result: DemoResult, console: Console) -> None:
    """The demo's month per member and model, and where it wrote everything."""
    print_summary(result.report_summary, "member", console)
    print_summary(result.report_summary, "model", console, header=False)
    console.print(f"\nConfig and store: {result.config_path.parent}")
    for path in result.paths:
        console.print(f"  wrote {path}")
