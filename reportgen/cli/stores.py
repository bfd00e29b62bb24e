"""``reportgen store``: the store itself: a PostgreSQL store's tables and roles, a copy to one, a check."""

from __future__ import annotations

import click

from .group import scrub
from .options import config_of


@click.group()
def store() -> None:
    """The store itself: check it after a crash, a copy or a restore."""


@store.command("init")
@click.option(
    "--dsn", required=True, help="postgresql://OWNER@HOST/DB (password in $REPORTGEN_STORE_PASSWORD)."
)
@click.option("--sync-role", default="reportgen_sync", show_default=True, help="The role cron syncs with.")
@click.option(
    "--reader-role", default="reportgen_finance", show_default=True, help="The finance users' role."
)
@click.option("--closer-role", default="reportgen_closer", show_default=True, help="The role that closes.")
def store_init_command(dsn: str, sync_role: str, reader_role: str, closer_role: str) -> None:
    """Create a PostgreSQL store's tables (as their owner) and print the GRANTs for its three roles."""
    from ..app.sharedstore import init_shared_store

    click.echo("\n".join(init_shared_store(dsn, sync_role, reader_role, closer_role)))


@store.command("copy")
@click.option(
    "--to",
    "dsn",
    required=True,
    help="postgresql://OWNER@HOST/DB, empty (password in $REPORTGEN_STORE_PASSWORD).",
)
@click.pass_context
def store_copy_command(ctx: click.Context, dsn: str) -> None:
    """Copy this SQLite store (rows, rollups, closures with every revision, register, audit log) to PostgreSQL, verified."""
    from ..app.sharedstore import copy_to_server

    click.echo(copy_to_server(config_of(ctx), dsn).summary())


@store.command("check")
@click.pass_context
def store_check_command(ctx: click.Context) -> None:
    """SQLite's integrity check of the store and its closed snapshots, the audit chain, every closed
    snapshot's fingerprint; exit 4 if anything is wrong."""
    from ..app.audit import store_check

    passed, problems = store_check(config_of(ctx))
    for line in passed:
        click.echo(f"OK: {line}")
    for line in problems:
        click.echo(f"DAMAGED: {scrub(line)}")
    if problems:
        ctx.exit(4)
