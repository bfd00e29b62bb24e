"""The ``reportgen`` command: thin click commands over the library.

This is the one place where errors become messages and exit codes.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from . import __version__
from .app.closing import close_period, list_amendments
from .app.documents import write_packet, write_report
from .app.monthend import month_period, run_month_end
from .app.packet import verify_packet
from .app.quality import unsynced_lines
from .app.reconcile import check, run_reconcile
from .app.summary import report_json
from .app.sync import run_sync
from .config import CONFIG_NAME, EXAMPLE_CONFIG, Config, load_config
from .console import SyncBar, print_reconciliation, print_summary, stdout_console
from .core.models import Period
from .core.periods import parse_period, resolve_period
from .core.reconciliation import reconciliation_json
from .demo import run_demo
from .errors import ReportgenError, UsageError
from .plugins import exporters as registry
from .plugins import select_exporters
from .views import Scope, open_period

err_console = Console(stderr=True)


class _Group(click.Group):
    """Turns ReportgenError into ``Error: <one line>`` and its exit code; nothing else."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ReportgenError as exc:
            click.echo(f"Error: {_scrub(str(exc))}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted: completed windows are kept; run the command again to finish.", err=True)
            sys.exit(130)


def _scrub(message: str) -> str:
    """Belt and braces: never let the access token reach the terminal."""
    token = os.environ.get("REPORTGEN_ACCESS_TOKEN", "").strip()
    if token and len(token) >= 4:
        message = message.replace(token, "***")
    return " ".join(message.split())


def _config(ctx: click.Context) -> Config:
    obj = ctx.ensure_object(dict)
    if "config" not in obj:
        obj["config"] = load_config(obj.get("config_path"))
    config: Config = obj["config"]
    return config


def _period(config: Config, period: str | None, start: str | None, end: str | None) -> Period | None:
    return resolve_period(config.tz, period, start, end)


def _required_period(config: Config, period: str | None, start: str | None, end: str | None) -> Period:
    resolved = _period(config, period, start, end)
    if resolved is None:
        raise UsageError("give --period (e.g. 2026-04, 2026-Q2, 2026) or --from/--to")
    return resolved


def period_options(f: Any) -> Any:
    f = click.option("--to", "end", metavar="YYYY-MM-DD", help="Last day, inclusive (report timezone).")(f)
    f = click.option("--from", "start", metavar="YYYY-MM-DD", help="First day (report timezone).")(f)
    f = click.option("--period", metavar="PERIOD", help="A month 2026-04, a quarter 2026-Q2 or a year 2026.")(
        f
    )
    return f


def document_options(f: Any) -> Any:
    """The options every document-writing command shares."""
    for option in reversed(
        [
            click.option(
                "--out", "out_dir", type=click.Path(file_okay=False), default="reports", show_default=True
            ),
            click.option("--member", help="Only this member."),
            click.option(
                "--lang", type=click.Choice(["zh", "en"]), help="Wording of the documents (default: config)."
            ),
            click.option("--template", help="A shipped template name or a path to a template .toml."),
            click.option(
                "--strict", is_flag=True, help="Any data-quality finding is an error; nothing is written."
            ),
            click.option(
                "--allow-partial",
                is_flag=True,
                help="Write documents of a period not fully synced (they are marked INCOMPLETE).",
            ),
        ]
    ):
        f = option(f)
    return f


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="reportgen")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help=f"Config file (default: $REPORTGEN_CONFIG or ./{CONFIG_NAME}).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """Turn an LLM API gateway's usage logs into documents finance can file."""
    ctx.ensure_object(dict)["config_path"] = config_path


@cli.command()
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.argument("path", default=CONFIG_NAME, type=click.Path(dir_okay=False))
def init(path: str, force: bool) -> None:
    """Write a commented example reportgen.toml."""
    target = Path(path)
    if target.exists() and not force:
        raise UsageError(f"{target} already exists; use --force to overwrite it")
    target.write_text(EXAMPLE_CONFIG, encoding="utf-8")
    click.echo(f"Wrote {target}. Next: export REPORTGEN_ACCESS_TOKEN=... then `reportgen sync`.")


@cli.command()
@period_options
@click.option("--refetch", is_flag=True, help="Download windows the store already has again.")
@click.pass_context
def sync(ctx: click.Context, period: str | None, start: str | None, end: str | None, refetch: bool) -> None:
    """Download the gateway's logs of a period into the local store."""
    config = _config(ctx)
    with SyncBar(err_console) as bar:
        result = run_sync(config, _period(config, period, start, end), refetch=refetch, progress=bar)
    click.echo(result.summary())


@cli.command()
@period_options
@click.option(
    "--by", type=click.Choice(["member", "model", "day", "key"]), default="member", show_default=True
)
@click.option("--member", help="Only this member.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (money as decimal strings).")
@click.pass_context
def summary(
    ctx: click.Context,
    period: str | None,
    start: str | None,
    end: str | None,
    by: str,
    member: str | None,
    as_json: bool,
) -> None:
    """Show spend per member, model, day or key."""
    config = _config(ctx)
    with open_period(config, _required_period(config, period, start, end), Scope.of(member)) as view:
        report = view.report  # a closed period's frozen figures, like its documents
        for line in (*view.notices, *unsynced_lines(view)):
            _notify(line)
        if as_json:
            click.echo(json.dumps(report_json(report), ensure_ascii=False, indent=2))
        else:
            print_summary(report, by, stdout_console())


@cli.command()
@period_options
@click.option(
    "--format", "formats", default="all", show_default=True, help="Comma list of exporters, or all."
)
@document_options
@click.option(
    "--option", "options", multiple=True, metavar="NAME=VALUE", help="Exporter option, e.g. bom=false."
)
@click.option(
    "--project", help="A grant closing report of this project: its whole period, or its part in --period."
)
@click.pass_context
def report(
    ctx: click.Context,
    period: str | None,
    start: str | None,
    end: str | None,
    formats: str,
    out_dir: str,
    member: str | None,
    lang: str | None,
    template: str | None,
    options: tuple[str, ...],
    strict: bool,
    allow_partial: bool,
    project: str | None,
) -> None:
    """Write the documents of a period (or a project) in every chosen format."""
    config = _config(ctx)
    paths = write_report(
        config,
        _period(config, period, start, end),
        select_exporters(formats),
        Path(out_dir),
        member=member,
        project=project,
        lang=lang,
        template=template,
        options=_parse_options(options),
        strict=strict,
        allow_partial=allow_partial,
        notify=_notify,
    )
    click.echo("\n".join(str(path) for path in paths))


def _notify(line: str) -> None:
    click.echo(_scrub(line), err=True)


@cli.command()
@period_options
@document_options
@click.option("--project", help="Only this project's charged spend (statement on the grant template).")
@click.pass_context
def packet(
    ctx: click.Context,
    period: str | None,
    start: str | None,
    end: str | None,
    out_dir: str,
    member: str | None,
    lang: str | None,
    template: str | None,
    strict: bool,
    allow_partial: bool,
    project: str | None,
) -> None:
    """Write one reimbursement zip: PDF, XLSX, CSV, methodology, data quality and a manifest."""
    config = _config(ctx)
    resolved = _required_period(config, period, start, end)
    path = write_packet(
        config,
        resolved,
        Path(out_dir),
        member=member,
        lang=lang,
        template=template,
        strict=strict,
        allow_partial=allow_partial,
        notify=_notify,
        project=project,
    )
    click.echo(str(path))


@cli.command()
@click.argument("packet_path", metavar="PACKET.zip", type=click.Path(dir_okay=False, exists=True))
@click.pass_context
def verify(ctx: click.Context, packet_path: str) -> None:
    """Check a packet's file hashes, and its rows against the local store."""
    result = verify_packet(Path(packet_path), _config(ctx).store_dir)
    for line in result.notes:
        click.echo(f"Note: {line}", err=True)
    if not result.ok:
        for line in result.differences:
            click.echo(f"DIFFERS: {line}")
        ctx.exit(1)
    click.echo(f"OK: {len(result.checked)} checks passed ({packet_path})")


@cli.command()
@click.argument("period_text", metavar="PERIOD")
@click.option(
    "--reopen", is_flag=True, help="Re-close an already closed period from the store's current rows."
)
@click.pass_context
def close(ctx: click.Context, period_text: str, reopen: bool) -> None:
    """Freeze a period: its documents stay byte-identical; later changes become amendments."""
    config = _config(ctx)
    click.echo(close_period(config, parse_period(period_text, config.tz), reopen=reopen).summary())


@cli.command("month-end")
@click.option(
    "--period", default="last-month", show_default=True, metavar="PERIOD", help="last-month or e.g. 2026-04."
)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="month-end", show_default=True)
@click.option("--lang", type=click.Choice(["zh", "en"]), help="Wording of the documents (default: config).")
@click.option(
    "--strict", is_flag=True, help="Any data-quality finding is an error; nothing is closed or written."
)
@click.option("--dry-run", is_flag=True, help="List what would be issued; sync, close and write nothing.")
@click.pass_context
def month_end(
    ctx: click.Context, period: str, out_dir: str, lang: str | None, strict: bool, dry_run: bool
) -> None:
    """Sync, check and close a month, then issue team, member and project packets into one folder."""
    config = _config(ctx)
    result = run_month_end(
        config,
        month_period(period, config),
        Path(out_dir),
        dry_run=dry_run,
        lang=lang,
        strict=strict,
        notify=_notify,
    )
    click.echo(result.summary())
    if result.differs:
        ctx.exit(1)


@cli.command()
@click.option("--period", metavar="PERIOD", help="Only this closed period.")
@click.pass_context
def amendments(ctx: click.Context, period: str | None) -> None:
    """List the changes found in closed periods since they were closed."""
    config = _config(ctx)
    lines = list_amendments(config, _period(config, period, None, None))
    click.echo("\n".join(lines) if lines else "No amendments: every closed period matches the store.")


@cli.command()
@period_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def reconcile(
    ctx: click.Context, period: str | None, start: str | None, end: str | None, as_json: bool
) -> None:
    """Compare the store with the gateway's own stat and key usage; non-zero exit if unexplained."""
    config = _config(ctx)
    result = run_reconcile(config, _required_period(config, period, start, end))
    if as_json:
        click.echo(json.dumps(reconciliation_json(result), ensure_ascii=False, indent=2))
    else:
        print_reconciliation(result, Console())
    check(result)


def _parse_options(options: tuple[str, ...]) -> dict[str, str]:
    parsed = {}
    for item in options:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--option {item!r}: use NAME=VALUE, e.g. bom=false")
        parsed[name.strip()] = value.strip()
    return parsed


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def exporters(as_json: bool) -> None:
    """List every installed exporter and the plugin that provides it."""
    found = registry()
    if as_json:
        rows = [
            {
                "name": e.name,
                "extension": e.extension,
                "description": e.description,
                "plugin": e.plugin,
                "version": e.version,
            }
            for e in found.values()
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("name", "file", "description", "plugin", header_style="bold")
    for e in found.values():
        table.add_row(e.name, f"*{e.suffix}.{e.extension}", e.description, f"{e.plugin} {e.version}".strip())
    Console().print(table)


@cli.command()
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False), default="reportgen-demo", show_default=True
)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
def demo(out_dir: str, lang: str) -> None:
    """Sync a synthetic team month from a local fake gateway and write every format (no network)."""
    console = stdout_console()
    with SyncBar(err_console) as bar:
        result = run_demo(Path(out_dir), lang=lang, progress=bar)
    click.echo(result.sync.summary())
    print_summary(result.report_summary, "member", console)
    print_summary(result.report_summary, "model", console, header=False)
    console.print(f"\nConfig and store: {result.config_path.parent}")
    for path in result.paths:
        console.print(f"  wrote {path}")


def main() -> None:
    cli(prog_name="reportgen")
