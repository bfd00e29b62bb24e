"""``reportgen serve``: a local, read-only web app over the store (issue 31).

:mod:`.app` builds the Flask app (read-only methods, security headers, the token off loopback),
:mod:`.pages` its routes, :mod:`.queries` what they read (the CLI's read path, the register,
verify), :mod:`.access` who may connect.  Flask is the ``web`` extra.
"""

from __future__ import annotations

from pathlib import Path

from ..config import Config
from .access import TOKEN_ENV, binding_token, is_loopback
from .app import create_app

__all__ = ["TOKEN_ENV", "binding_token", "create_app", "is_loopback", "serve"]


def serve(config: Config, host: str, port: int, token: str | None, documents: Path) -> None:
    """Run the app on ``host:port`` until interrupted (Werkzeug's threaded server: a local tool)."""
    from werkzeug.serving import run_simple

    run_simple(host, port, create_app(config, token=token, documents=documents), threaded=True)
