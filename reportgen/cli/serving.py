"""``reportgen serve``: the read-only web app over the store."""

from __future__ import annotations

import os
from pathlib import Path

import click

from .options import config_of, config_option


@click.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--documents",
    default="reports",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder where issued packets are found for download (month-end's --out).",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, documents: str) -> None:
    """Browse periods, drill down to request rows, download issued packets, verify one (read-only)."""
    from ..errors import UsageError

    try:
        from ..web import binding_token
        from ..web import serve as run
    except ImportError as exc:
        raise UsageError(
            f"reportgen serve needs the web extra: pip install 'llm-gateway-reportgen[web]' ({exc})"
        ) from None
    token = binding_token(host, os.environ)
    if token is None:
        click.echo(f"Serving read-only on http://{host}:{port}/ (this machine only). Ctrl-C stops.", err=True)
    else:
        click.echo(
            f"Serving read-only on http://{host}:{port}/ to other machines: every request needs the token "
            "from $REPORTGEN_SERVE_TOKEN (open /?token=… once, or send Authorization: Bearer …). Ctrl-C stops.",
            err=True,
        )
    run(config_of(ctx), host, port, token, Path(documents))
