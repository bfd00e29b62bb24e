"""``reportgen watch``: the alerts command cron runs."""

from __future__ import annotations

import click

from .group import SENT_EXIT
from .options import config_option, network_config


@click.command()
@config_option
@click.option("--dry-run", is_flag=True, help="Print what would be sent; record and send nothing.")
@click.option("--no-sync", is_flag=True, help="Evaluate what the store holds; do not sync first.")
@click.pass_context
def watch(ctx: click.Context, dry_run: bool, no_sync: bool) -> None:
    """Sync what is due, check the [alerts] rules, send each alert once (exit 14: sent, 0: nothing)."""
    from ..alerts import run_watch
    from ..errors import DeliveryError

    result = run_watch(network_config(ctx), dry_run=dry_run, sync=not no_sync)
    click.echo(result.summary())
    if result.failed:
        raise DeliveryError(f"{len(result.failed)} delivery(ies) failed, e.g. {result.failed[0]}")
    if result.sent and not dry_run:
        ctx.exit(SENT_EXIT)
