"""Alerts and deliveries (issue 30): ``reportgen watch`` and ``month-end --deliver``.

:mod:`.rules` finds events in a snapshot of the store (pure), :mod:`.inputs` gathers that
snapshot through the one read path, :mod:`.messages` words them (zh/en, escaped per channel),
:mod:`.email` sends mail through apprise, :mod:`.chat` posts each chat service's card, signed
as :mod:`.signing` says, :mod:`.deliver` retries with backoff, :mod:`.watch` runs it all once
per delivery (the state in :mod:`reportgen.store.alerts`), :mod:`.packets` mails month-end's
packets.
"""

from .deliver import Sending
from .rules import Event, Snapshot, evaluate
from .watch import WatchResult, run_watch

__all__ = ["Event", "Sending", "Snapshot", "WatchResult", "evaluate", "run_watch"]
