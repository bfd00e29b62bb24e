"""The ``reportgen`` command: thin click commands over the library.

This is the one place where errors become messages and exit codes.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from . import __version__
from .app.audit import create_key, log_lines
from .app.bridge import enforce_bridge, run_bridge
from .app.closing import close_period, list_amendments
from .app.documents import write_packet, write_report
from .app.monthend import month_period, run_month_end
from .app.quality import unsynced_lines
from .app.reconcile import check, reconcile_json, run_reconcile
from .app.signing import expected_key
from .app.summary import report_json
from .app.sync import run_sync
from .app.verify import ok_lines, verify_packet
from .config import CONFIG_NAME, Config, load_config, require_config, write_example_config
from .console import SyncBar, print_bridge, print_reconciliation, print_summary, stdout_console
from .core.periods import Period, parse_period, resolve_period
from .core.text import clean_text
from .core.wallet import bridge_json
from .demo import run_demo
from .errors import ReportgenError, UsageError
from .plugins import exporters as registry
from .plugins import select_exporters
from .read import Scope, open_period
from .templating import wording

err_console = Console(stderr=True)


#: Commands in the order of the work, not alphabetically.
WORKFLOW = (
    "init", "keys", "sync", "summary", "bridge", "report", "packet", "verify", "close", "amendments",
    "reconcile", "month-end", "log", "exporters", "demo",
)  # fmt: skip

EXIT_CODES = """\b
Exit codes:
  0  done           1  verify found a difference   2  bad config or usage
  3  gateway        4  store                        5  plugin
  6  export         7  data-quality (--strict)      8  packet
  9  reconcile      10 period not (fully) synced    130 interrupted
"""


class _Group(click.Group):
    """Turns ReportgenError into ``Error: <one line>`` and its exit code; nothing else."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = super().list_commands(ctx)
        return [n for n in WORKFLOW if n in names] + [n for n in names if n not in WORKFLOW]

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
    return " ".join(clean_text(message).split())  # no escapes or bidi overrides reach the terminal


def _config(ctx: click.Context) -> Config:
    obj = ctx.ensure_object(dict)
    if "config" not in obj:
        obj["config"] = require_config(load_config(obj.get("config_path"))).with_source(obj.get("source"))
    config: Config = obj["config"]
    return config


def _store_if_any(ctx: click.Context) -> Path | None:
    """The store of the config found here, or None: verify works on a machine with neither."""
    config = load_config(ctx.ensure_object(dict).get("config_path"))
    return config.store_dir if config.found else None


def _remember(key: str) -> Callable[[click.Context, click.Parameter, str | None], str | None]:
    """An option callback that keeps the value for later commands' helpers (``ctx.obj[key]``)."""

    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value is not None:
            ctx.ensure_object(dict)[key] = value
        return value

    return callback


def config_option(f: Any) -> Any:
    """``--config`` after the command name too (``reportgen summary --config X``)."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        expose_value=False,
        is_eager=True,
        callback=_remember("config_path"),
        help=f"Config file (default: $REPORTGEN_CONFIG, or {CONFIG_NAME} here or in a folder above).",
    )(f)


def _period(config: Config, period: str | None, start: str | None, end: str | None) -> Period | None:
    return resolve_period(config.tz, period, start, end)


def _required_period(config: Config, period: str | None, start: str | None, end: str | None) -> Period:
    resolved = _period(config, period, start, end)
    if resolved is None:
        raise UsageError("give --period (e.g. 2026-04, 2026-Q2, 2026) or --from/--to")
    return resolved


def source_option(f: Any) -> Any:
    """``--source NAME``: only this ``[gateways.NAME]`` (``default``: ``[gateway]``); default all."""
    return click.option(
        "--source",
        "source",
        metavar="NAME",
        expose_value=False,
        is_eager=True,
        callback=_remember("source"),
        help="Only this source ([gateways.NAME]; default is [gateway]); default: every source.",
    )(f)


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


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_CODES,
)
@click.version_option(__version__, prog_name="reportgen")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help=f"Config file (default: $REPORTGEN_CONFIG, or {CONFIG_NAME} here or in a folder above).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """Turn an LLM API gateway's usage logs into documents finance can file.

    \b
    A month, start to finish:
      reportgen init                      # writes reportgen.toml; set base_url and user_id
      export REPORTGEN_ACCESS_TOKEN=...   # the gateway's system access token
      reportgen sync --period 2026-04
      reportgen summary --period 2026-04
      reportgen close 2026-04             # freeze it
      reportgen packet --period 2026-04 --member 张三
      reportgen verify reports/reportgen-2026-04-张三-packet.zip
    """
    ctx.ensure_object(dict)["config_path"] = config_path


@cli.command()
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.argument("where", metavar="[DIR | FILE.toml]", default=".")
def init(where: str, force: bool) -> None:
    """Write a commented example reportgen.toml (in DIR, like `git init DIR`, or as FILE.toml)."""
    target = write_example_config(Path(where), force=force)
    click.echo(
        f"Wrote {target}. Next: set base_url and user_id in it, export REPORTGEN_ACCESS_TOKEN=..., "
        "then run `reportgen sync`."
    )


@cli.command()
@config_option
@source_option
@period_options
@click.option("--refetch", is_flag=True, help="Download windows the store already has again.")
@click.option("--strict", is_flag=True, help="Refuse to send the token over plain http to a remote host.")
@click.pass_context
def sync(
    ctx: click.Context, period: str | None, start: str | None, end: str | None, refetch: bool, strict: bool
) -> None:
    """Download the gateway's logs of a period into the local store.

    Needs REPORTGEN_ACCESS_TOKEN (the gateway's system access token, not an sk- key).
    Without a period it continues from where the last sync ended (first run: the start
    of last month) up to a few minutes ago. Windows already in the store are skipped.

    \b
    Examples:
      reportgen sync --period 2026-04
      reportgen sync --from 2026-04-01 --to 2026-04-15
      reportgen sync                      # continue from the last sync
    """
    config = _config(ctx)
    with SyncBar(err_console) as bar:
        result = run_sync(
            config, _period(config, period, start, end), refetch=refetch, strict=strict, progress=bar
        )
    for line in result.warnings:
        _notify(f"Warning: {line}")
    click.echo(result.summary())


@cli.command()
@config_option
@source_option
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
    chosen = _required_period(config, period, start, end)
    with open_period(config, chosen, Scope.of(member), fingerprint=as_json) as view:
        report = view.report  # a closed period's frozen figures, like its documents
        for line in (*view.notices, *unsynced_lines(view)):
            _notify(line)
        if as_json:
            click.echo(json.dumps(report_json(report), ensure_ascii=False, indent=2))
        else:
            print_summary(report, by, stdout_console())


@cli.command()
@config_option
@source_option
@period_options
@click.option(
    "--format",
    "formats",
    default="all",
    show_default=True,
    help="Comma list of formats (built in: csv, csv-summary, xlsx, pdf, focus; `reportgen exporters` lists all installed), or all.",
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
@config_option
@source_option
@period_options
@document_options
@click.option("--project", help="Only this project's charged spend (statement on the grant template).")
@click.option("--unsigned", is_flag=True, help="Write the packet without a signature (verify says so).")
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
    unsigned: bool,
) -> None:
    """Write one signed reimbursement zip: PDF, XLSX, CSV, rows, methodology, quality and a manifest."""
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
        unsigned=unsigned,
    )
    click.echo(str(path))


@cli.command()
@config_option
@click.argument("packet_path", metavar="PACKET.zip", type=click.Path(dir_okay=False, exists=True))
@click.option(
    "--key", "key", metavar="PUBKEY", help="The expected signer: a .pub file, public key or fingerprint."
)
@click.option("--allow-unsigned", is_flag=True, help="Check an unsigned packet instead of refusing it.")
@click.pass_context
def verify(ctx: click.Context, packet_path: str, key: str | None, allow_unsigned: bool) -> None:
    """Check a packet: signature, every file, its figures, and its rows against a store if there is one."""
    expected = None if key is None else expected_key(key)
    result = verify_packet(
        Path(packet_path), _store_if_any(ctx), expected_key=expected, allow_unsigned=allow_unsigned
    )
    for line in result.notes:
        click.echo(f"Note: {_scrub(line)}", err=True)
    if not result.ok:
        for line in result.differences:
            click.echo(f"DIFFERS: {_scrub(line)}")
        ctx.exit(1)
    click.echo("\n".join(ok_lines(result)))


@cli.group()
def keys() -> None:
    """The Ed25519 key that signs packets."""


@keys.command("init")
@click.option("--owner", help="Whose key this is, as verify shows it (default: user@host).")
@click.option("--force", is_flag=True, help="Replace an existing key (packets it signed still verify).")
@click.pass_context
def keys_init(ctx: click.Context, owner: str | None, force: bool) -> None:
    """Create the signing key ([signing] key, $REPORTGEN_SIGNING_KEY, or the user config folder)."""
    click.echo(create_key(_config(ctx), owner, force=force).summary())


@cli.command("log")
@click.option(
    "--verify", "check", is_flag=True, help="Check the hash chain; exit 1 if an entry was edited or deleted."
)
@click.pass_context
def log_command(ctx: click.Context, check: bool) -> None:
    """Print the audit log: who synced, closed, reopened, issued packets and created keys."""
    lines, problems = log_lines(_config(ctx), check=check)
    click.echo("\n".join(lines) if lines else "The audit log is empty.")
    for line in problems:
        click.echo(f"DIFFERS: audit log {line}")
    if problems:
        ctx.exit(1)
    if check:
        click.echo(f"OK: the audit log's {len(lines)} entries are intact")


@cli.command()
@config_option
@source_option
@click.argument("period_text", metavar="[PERIOD]", required=False)
@click.option("--period", "period_option", metavar="PERIOD", help="The same as the PERIOD argument.")
@click.option(
    "--reopen", is_flag=True, help="Re-close an already closed period from the store's current rows."
)
@click.pass_context
def close(ctx: click.Context, period_text: str | None, period_option: str | None, reopen: bool) -> None:
    """Freeze a month, quarter or year for every source together: its documents stay byte-identical;
    later changes become amendments. ``reportgen close 2026-04`` (``--source`` is refused)."""
    config = _config(ctx)
    if period_text and period_option and period_text != period_option:
        raise UsageError(
            "give the period once: `reportgen close 2026-04` or `reportgen close --period 2026-04`"
        )
    text = period_text or period_option
    if not text:
        raise UsageError("which period? e.g. `reportgen close 2026-04` (a month, quarter or year)")
    click.echo(close_period(config, parse_period(text, config.tz), reopen=reopen).summary())


@cli.command("month-end")
@source_option
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
@config_option
@source_option
@click.option("--period", metavar="PERIOD", help="Only this closed period.")
@click.pass_context
def amendments(ctx: click.Context, period: str | None) -> None:
    """List the changes found in closed periods since they were closed."""
    config = _config(ctx)
    lines = list_amendments(config, _period(config, period, None, None))
    click.echo("\n".join(lines) if lines else "No amendments: every closed period matches the store.")


@cli.command()
@config_option
@source_option
@period_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def reconcile(
    ctx: click.Context, period: str | None, start: str | None, end: str | None, as_json: bool
) -> None:
    """Compare the store with the gateway's own stat and key usage; non-zero exit if unexplained."""
    config = _config(ctx)
    result = run_reconcile(config, _required_period(config, period, start, end), notify=_notify)
    if as_json:
        click.echo(json.dumps(reconcile_json(result, config.tz), ensure_ascii=False, indent=2))
    else:
        print_reconciliation(result, Console())
    check(result)


@cli.command()
@config_option
@source_option
@period_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (quota as integers).")
@click.option("--strict", is_flag=True, help="A residual nothing recorded explains is an error (exit 7).")
@click.pass_context
def bridge(
    ctx: click.Context, period: str | None, start: str | None, end: str | None, as_json: bool, strict: bool
) -> None:
    """Reconcile the wallet: opening balance + top-ups − net spend = closing balance, per source."""
    config = _config(ctx)
    result = run_bridge(config, _required_period(config, period, start, end))
    if as_json:
        click.echo(
            json.dumps(bridge_json(result, wording("en").group("bridge_")), ensure_ascii=False, indent=2)
        )
    else:
        print_bridge(result, stdout_console(), config.tz)
    enforce_bridge(result, strict)


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
