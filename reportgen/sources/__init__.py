"""Where a sync reads usage logs from: the management API (default) or the gateway's own database.

Both answer the same calls (:class:`LogSource`) and fill the same store through the same
sync; :func:`source_factory` is the one place that picks between them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from ..config import GatewayConfig
from ..core.records import GatewayStatus, KeyInfo, UsageRecord
from ..core.wallet import Balance
from ..gateway import GatewayClient
from .database import DatabaseSource, source_account
from .retention import Retention, clip


class LogSource(Protocol):
    """What the sync needs of a source (``GatewayClient`` and ``DatabaseSource`` both are one)."""

    @property
    def flavor(self) -> str: ...
    @property
    def requests_made(self) -> int: ...
    def status(self) -> GatewayStatus: ...
    def keys(self) -> list[KeyInfo]: ...
    def iter_log_pages(self, start_ts: int, end_ts: int) -> Iterator[Sequence[UsageRecord]]: ...
    def balance(self, read_at: int) -> Balance | None: ...
    def close(self) -> None: ...


def source_factory(gw: GatewayConfig) -> Callable[..., Any]:
    """The class that reads ``gw``'s source: called as ``factory(gw, on_request=...)``."""
    if gw.source == "database":
        return DatabaseSource
    return GatewayClient


__all__ = ["DatabaseSource", "LogSource", "Retention", "clip", "source_account", "source_factory"]
