"""``reportgen sync``: the command that reads the gateway into the store."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from .group import notify
from .options import config_option, network_config, period_options, source_option

if TYPE_CHECKING:
    from ..core.periods import Period


@click.command()
@config_option
@source_option
@period_options()
@click.option("--refetch", is_flag=True, help="Download windows the store already has again.")
@click.option("--strict", is_flag=True, help="Refuse to send the token over plain http to a remote host.")
@click.option(
    "--reprice",
    is_flag=True,
    help="Price the period at the quota per USD and exchange rate the gateway states now (closed months: an amendment).",
)
@click.option(
    "--rebind",
    is_flag=True,
    help="The gateway moved: bind the store to the configured address (the same account; audited).",
)
@click.pass_context
def sync(
    ctx: click.Context, period: Period | None, refetch: bool, strict: bool, reprice: bool, rebind: bool
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
    from ..app.sync import run_sync
    from ..console import SyncBar, err_console

    config = network_config(ctx)  # plain http is said before the token is sent, however it ends
    with SyncBar(err_console()) as bar:
        result = run_sync(
            config, period, refetch=refetch, strict=strict, reprice=reprice, rebind=rebind, progress=bar
        )
    for line in result.warnings:
        if line not in config.warnings:
            notify(f"Warning: {line}")
    click.echo(result.summary())
    result.check()  # rows left out of the figures: exit 3, after the summary
