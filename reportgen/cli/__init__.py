"""The ``reportgen`` command: thin click commands over the library.

:mod:`.commands` holds the commands (one library call each; ``sync`` in :mod:`.syncing`, ``keys`` in :mod:`.keys`, ``store`` in
:mod:`.stores`, ``serve`` in :mod:`.serving`),
:mod:`.options` the options they share and what those resolve to, :mod:`.group` the one
place where errors become messages and exit codes.
"""

from .commands import cli, main
from .serving import serve

cli.add_command(serve)

__all__ = ["cli", "main"]
