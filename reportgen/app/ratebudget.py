"""The gateway's rate limit shared by consecutive commands: recent requests kept beside the store.

The gateway counts requests per client IP over a sliding window (new-api: 180 per 180 s),
so a ``sync`` right after a ``reconcile`` must count the requests the reconcile just
sent.  Each command that talks to the API saves when its requests went out (wall-clock
times, the gateway's host) to ``<store>/recent-requests.json``, and the next one seeds
its limiter with those still inside the window.  A lost or damaged file only costs the
budget's memory, never data.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..config import GatewayConfig

FILE = "recent-requests.json"


def _host(base_url: str) -> str:
    with contextlib.suppress(ValueError):
        return (urlsplit(base_url).hostname or "").lower()
    return ""


def recent_ages(store_dir: Path, base_url: str, window: float) -> list[float]:
    """Seconds since each request this gateway host saw from here within ``window``."""
    try:
        data = json.loads((store_dir / FILE).read_text(encoding="utf-8"))
        sent = data["sent_at"] if data.get("host") == _host(base_url) else []
        now = time.time()
        return [now - float(t) for t in sent if 0 <= now - float(t) < window][-10_000:]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []


def remember(store_dir: Path, base_url: str, ages: list[float]) -> None:
    """Save when the requests still inside the window went out (best effort; never fails a command)."""
    now = time.time()
    data: dict[str, Any] = {"host": _host(base_url), "sent_at": [round(now - a, 3) for a in ages]}
    tmp = store_dir / f".{FILE}.part"
    try:
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, store_dir / FILE)
    except OSError:  # a full or read-only disk: forget the budget, leave nothing behind
        with contextlib.suppress(OSError):
            tmp.unlink()


def share(
    client: Any, store_dir: Path, gw: GatewayConfig, on_wait: Callable[[float, str], None] | None = None
) -> None:
    """Seed an API client's limiter with the requests earlier commands sent (database sources: no-op)."""
    limiter = getattr(client, "limiter", None)
    if limiter is None:
        return
    limiter.seed(recent_ages(store_dir, gw.base_url, limiter.window))
    if on_wait is not None:
        client.on_wait = on_wait


def keep(client: Any, store_dir: Path, gw: GatewayConfig) -> None:
    """Save the client's requests still inside the window for the next command."""
    if getattr(client, "limiter", None) is not None:
        remember(store_dir, gw.base_url, client.recent_requests())
