"""The commands, in the order of the work: each parses its options, makes one library call
and prints what it returns."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .. import __version__
from .group import EXIT_CODES, UNTRUSTED_EXIT, CommandGroup, echo_json, notify, scrub
from .keys import keys
from .options import (
    BY_CHOICES,
    CONFIG_HELP,
    DocumentOptions,
    config_of,
    config_option,
    document_options,
    exporter_options,
    network_config,
    own_signing_key,
    period_options,
    source_option,
    store_if_any,
)
from .stores import store
from .syncing import sync
from .watching import watch

if TYPE_CHECKING:
    from ..core.periods import Period

# Each command imports the library it calls when it runs (issue 27's start-up): `--version`,
# `--help` and a command import only what that command needs, not every exporter and store.


@click.group(
    cls=CommandGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_CODES,
)
@click.version_option(__version__, prog_name="reportgen")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help=CONFIG_HELP,
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
    from ..config import write_example_config

    target = write_example_config(Path(where), force=force)
    click.echo(
        f"Wrote {target}. Next: set base_url and user_id in it, export REPORTGEN_ACCESS_TOKEN=..., "
        "then run `reportgen sync`."
    )


cli.add_command(sync)
cli.add_command(watch)


@cli.command()
@config_option
@source_option
@period_options(required=True)
@click.option(
    "--by",
    type=click.Choice(BY_CHOICES),
    default="member",
    show_default=True,
    help="What each line of the table is.",
)
@click.option("--member", help="Only this member.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (money as decimal strings).")
@click.pass_context
def summary(ctx: click.Context, period: Period, by: str, member: str | None, as_json: bool) -> None:
    """Show spend per member, model, day or key."""
    from ..app.overview import overview
    from ..console import print_summary, stdout_console

    shown = overview(config_of(ctx), period, member=member, as_json=as_json, notify=notify)
    if shown.document is not None:
        echo_json(shown.document)
    else:
        print_summary(shown.report, by, stdout_console())


@cli.command()
@config_option
@source_option
@period_options()
@click.option(
    "--format",
    "formats",
    default="all",
    show_default=True,
    help="Comma list of formats (built in: csv, csv-summary, xlsx, pdf, html, focus; `reportgen exporters` lists all installed), or all.",
)
@document_options
@exporter_options
@click.option(
    "--project", help="A grant closing report of this project: its whole period, or its part in --period."
)
@click.option(
    "--sign", is_flag=True, help="PDFs as PDF/A-3b with the CSV detail, PAdES-signed (keys init --x509)."
)
@click.pass_context
def report(
    ctx: click.Context,
    period: Period | None,
    formats: str,
    documents: DocumentOptions,
    options: dict[str, str],
    project: str | None,
    sign: bool,
) -> None:
    """Write the documents of a period (or a project) in every chosen format."""
    from ..app.documents import write_report
    from ..plugins import select_exporters

    exporters = select_exporters(formats, grant=project is not None)
    paths = write_report(
        config_of(ctx), period, exporters, project=project, options=options, sign=sign, **documents
    )
    click.echo("\n".join(str(path) for path in paths))


@cli.command()
@config_option
@source_option
@period_options(required=True)
@document_options
@click.option("--project", help="Only this project's charged spend (statement on the grant template).")
@click.option("--unsigned", is_flag=True, help="Write the packet without a signature (verify says so).")
@click.option(
    "--attach",
    "attach",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="An invoice (发票: PDF, OFD, XML or image) the claim holds and counts in 附件 N 张; repeatable.",
)
@click.pass_context
def packet(
    ctx: click.Context,
    period: Period,
    documents: DocumentOptions,
    project: str | None,
    unsigned: bool,
    attach: tuple[Path, ...],
) -> None:
    """Write one signed reimbursement zip: claim, PDF, XLSX, CSV, rows, notes, invoices and a manifest."""
    from ..app.documents import write_packet

    config = config_of(ctx)
    click.echo(
        str(write_packet(config, period, project=project, unsigned=unsigned, attach=attach, **documents))
    )


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
    from ..app.signing import expected_key
    from ..app.verify import ok_lines, reader_trust, untrusted_lines, verify_packet

    expected = None if key is None else expected_key(key)
    trusted = reader_trust(own_signing_key(ctx))
    result = verify_packet(
        Path(packet_path),
        store_if_any(ctx),
        expected_key=expected,
        trusted=trusted,
        allow_unsigned=allow_unsigned,
    )
    for line in result.notes:
        click.echo(f"Note: {scrub(line)}", err=True)
    if not result.intact:
        for line in result.differences:
            click.echo(f"DIFFERS: {scrub(line)}")
        ctx.exit(1)
    if result.untrusted:
        click.echo("\n".join(untrusted_lines(result)))
        ctx.exit(UNTRUSTED_EXIT)
    click.echo("\n".join(ok_lines(result)))


cli.add_command(keys)


@cli.command("log")
@click.option(
    "--verify",
    "check",
    is_flag=True,
    help="Check the hash chain and every closed snapshot against it; exit 1 if anything was edited or deleted.",
)
@click.option(
    "--anchor", "anchor", metavar="HEAD|FILE", default=None, is_flag=False, flag_value="",
    help="Alone: print the log's head to keep outside the store. With --verify: check the log still holds "
    "that head (the text or a file holding it).",
)  # fmt: skip
@click.pass_context
def log_command(ctx: click.Context, check: bool, anchor: str | None) -> None:
    """Print the audit log: who synced, closed, reopened, issued packets and created keys."""
    from ..app.audit import log_anchor, log_lines

    config = config_of(ctx)
    if anchor == "" and not check:
        click.echo(log_anchor(config))
        return
    if anchor:
        path = Path(anchor)
        anchor = path.read_text(encoding="utf-8").strip()[:200] if path.is_file() else anchor
    lines, problems = log_lines(config, check=check, anchor=anchor or None)
    click.echo("\n".join(lines) if lines else "The audit log is empty.")
    for line in problems:
        click.echo(f"DIFFERS: audit log {line}")
    if problems:
        ctx.exit(1)
    if check:
        click.echo(f"OK: the audit log's {len(lines)} entries are intact")


cli.add_command(store)


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
    from ..app.closing import close_period
    from ..core.periods import parse_period
    from ..errors import UsageError

    config = config_of(ctx)
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
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="month-end",
    show_default=True,
    help="Folder of the month's packets and their index.",
)
@click.option("--lang", type=click.Choice(["zh", "en"]), help="Wording of the documents (default: config).")
@click.option(
    "--strict",
    is_flag=True,
    help="Any data-quality finding is an error; nothing is closed or written. The token is never sent "
    "over plain http to a remote host.",
)
@click.option("--dry-run", is_flag=True, help="List what would be issued; sync, close and write nothing.")
@click.option(
    "--attach",
    "attach",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="An invoice (发票: PDF, OFD, XML or image) the team's claim holds and counts in 附件 N 张; repeatable.",
)
@click.option(
    "--deliver", "send", is_flag=True, help="Send each packet to its [recipients], once (audit-logged)."
)
@click.option("--resend", is_flag=True, help="With --deliver: send packets already delivered again.")
@click.pass_context
def month_end(
    ctx: click.Context,
    period: str,
    out_dir: str,
    lang: str | None,
    strict: bool,
    dry_run: bool,
    attach: tuple[Path, ...],
    send: bool,
    resend: bool,
) -> None:
    """Sync, check and close a month, then issue team, member and project packets into one folder."""
    from ..app.monthend import month_period, run_month_end

    config = network_config(ctx)
    result = run_month_end(
        config,
        month_period(period, config),
        Path(out_dir),
        dry_run=dry_run,
        lang=lang,
        strict=strict,
        notify=notify,
        attach=attach,
    )
    click.echo(result.summary())
    if send:
        from ..alerts.packets import deliver_packets
        from ..errors import DeliveryError

        click.echo((sent := deliver_packets(config, result, resend=resend)).summary())
        if sent.failed:
            raise DeliveryError(f"{len(sent.failed)} packet delivery(ies) failed, e.g. {sent.failed[0]}")
    if result.differs:
        ctx.exit(1)


@cli.command()
@config_option
@source_option
@click.option("--period", metavar="PERIOD", help="Only this closed period.")
@click.pass_context
def amendments(ctx: click.Context, period: str | None) -> None:
    """List the changes found in closed periods since they were closed."""
    from ..app.closing import list_amendments
    from ..core.periods import resolve_period

    config = config_of(ctx)
    lines = list_amendments(config, resolve_period(config.tz, period))
    click.echo("\n".join(lines) if lines else "No amendments: every closed period matches the store.")


@cli.command()
@config_option
@source_option
@period_options(required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--strict", is_flag=True, help="Refuse to send the token over plain http to a remote host.")
@click.pass_context
def reconcile(ctx: click.Context, period: Period, as_json: bool, strict: bool) -> None:
    """Compare the store with the gateway's own stat and key usage; non-zero exit if unexplained."""
    from rich.console import Console

    from ..app.reconcile import check, reconcile_json, run_reconcile
    from ..console import print_reconciliation

    config = network_config(ctx)
    result = run_reconcile(config, period, notify=notify, strict=strict)
    if as_json:
        echo_json(reconcile_json(result, config.tz))
    else:
        print_reconciliation(result, Console())
    check(result)


@cli.command()
@config_option
@source_option
@period_options(required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (quota as integers).")
@click.option(
    "--strict",
    is_flag=True,
    help="A bridge that does not close is an error (exit 12): an end or the residual not known, "
    "or a residual nothing recorded explains.",
)
@click.option(
    "--sync",
    "sync_gaps",
    is_flag=True,
    help="First sync the logs an end needs: those between a balance read and the period's ends "
    "that the store lacks.",
)
@click.pass_context
def bridge(ctx: click.Context, period: Period, as_json: bool, strict: bool, sync_gaps: bool) -> None:
    """Reconcile the wallet: opening balance + top-ups − net spend = closing balance, per source."""
    from ..app.bridge import bridge_run, bridge_with_sync, enforce_bridge
    from ..console import print_bridge, stdout_console
    from ..core.walletjson import bridge_json
    from ..templating import wording

    config = network_config(ctx) if sync_gaps else config_of(ctx)
    run = bridge_with_sync(config, period) if sync_gaps else bridge_run(config, period)
    for done in run.synced:
        click.echo(f"synced {done.name}: {done.rows:,} rows in {done.windows} windows", err=True)
    result = run.bridge
    if as_json:
        labels = wording("en").group("bridge_")
        echo_json(bridge_json(result, labels, run.rates))
    else:
        print_bridge(result, stdout_console(), config.tz, run.rates)
    enforce_bridge(result, strict)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def exporters(as_json: bool) -> None:
    """List every installed exporter and the plugin that provides it."""
    from rich.console import Console

    from ..console import exporters_json, print_exporters
    from ..plugins import exporters as registry

    if as_json:
        echo_json(exporters_json(registry()))
    else:
        print_exporters(registry(), Console())


@cli.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="reportgen-demo",
    show_default=True,
    help="Folder for the demo's config, store and documents.",
)
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    help="Wording of the documents.",
)
def demo(out_dir: str, lang: str) -> None:
    """Sync a synthetic team month from a local fake gateway and write every format (no network)."""
    from ..console import SyncBar, err_console, print_demo, stdout_console
    from ..demo import run_demo

    with SyncBar(err_console()) as bar:
        result = run_demo(Path(out_dir), lang=lang, progress=bar)
    click.echo(result.sync.summary())
    print_demo(result, stdout_console())


def main() -> None:
    cli(prog_name="reportgen")
