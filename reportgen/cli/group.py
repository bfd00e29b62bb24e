"""The command group: commands listed in the order of the work, and the one place where
errors become messages and exit codes."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from ..core.text import clean_text
from ..errors import ReportgenError

#: Commands in the order of the work, not alphabetically.
WORKFLOW = (
    "init", "keys", "sync", "summary", "bridge", "report", "packet", "verify", "close", "amendments",
    "reconcile", "month-end", "watch", "serve", "log", "store", "exporters", "demo",
)  # fmt: skip

EXIT_CODES = """\b
Exit codes:
  0  done           1  verify found a difference   2  bad config or usage
  3  gateway        4  store                        5  plugin
  6  export         7  data-quality (--strict)      8  packet
  9  reconcile      10 period not (fully) synced    11 verify: signed by a key not trusted
  12 bridge does not close (--strict)
  13 a delivery failed (watch, month-end --deliver)
  14 watch: alerts sent (0: nothing to send)
  130 interrupted
"""

#: ``verify``: the packet is intact but signed by a key the reader does not trust.
UNTRUSTED_EXIT = 11
#: ``watch``: alerts were sent (0 when there was nothing to send).
SENT_EXIT = 14


class CommandGroup(click.Group):
    """Turns ReportgenError into ``Error: <one line>`` and its exit code; nothing else."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = super().list_commands(ctx)
        return [n for n in WORKFLOW if n in names] + [n for n in names if n not in WORKFLOW]

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ReportgenError as exc:
            click.echo(f"Error: {scrub(str(exc))}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted: completed windows are kept; run the command again to finish.", err=True)
            sys.exit(130)


def scrub(message: str) -> str:
    """Belt and braces: never let the access token reach the terminal."""
    token = os.environ.get("REPORTGEN_ACCESS_TOKEN", "").strip()
    if token and len(token) >= 4:
        message = message.replace(token, "***")
    return " ".join(clean_text(message).split())  # no escapes or bidi overrides reach the terminal


def notify(line: str) -> None:
    """What the library tells the user on the way (notices, warnings): one scrubbed line on stderr."""
    click.echo(scrub(line), err=True)


def echo_json(document: Any) -> None:
    """``document`` on stdout as indented JSON, written as it is encoded: a large report (20,000
    member × model lines) never becomes one string of tens of MB beside the objects it came from."""
    out = sys.stdout
    json.dump(document, out, ensure_ascii=False, indent=2)
    out.write("\n")
    out.flush()
