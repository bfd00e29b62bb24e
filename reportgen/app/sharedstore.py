"""A shared PostgreSQL store set up: its tables made, and the GRANTs its three roles need printed."""

from __future__ import annotations

import os
import re

from ..config import STORE_PASSWORD_ENV
from ..config.safety import dsn_has_password
from ..core.storeserver import StoreServer
from ..errors import UsageError
from ..store import init_server

_ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def init_shared_store(dsn: str, sync: str, reader: str, closer: str) -> list[str]:
    """``reportgen store init --dsn …``: the store's tables, then the lines to print."""
    if not dsn.lower().startswith(("postgresql://", "postgres://")):
        raise UsageError("--dsn must be a PostgreSQL URL such as postgresql://reportgen_owner@db/reportgen")
    if dsn_has_password(dsn):
        raise UsageError(f"--dsn contains a password; remove it and set {STORE_PASSWORD_ENV}")
    for role in (sync, reader, closer):
        if not _ROLE.fullmatch(role):
            raise UsageError(f"{role!r} is not a plain role name (lower-case letters, digits, _)")
    server = StoreServer(dsn, os.environ.get(STORE_PASSWORD_ENV) or None)
    statements = init_server(server, sync, reader, closer)
    return [
        f"-- {dsn}: the store's tables are ready. As their owner, give each role what its commands need",
        f"-- (create the roles first, e.g. CREATE ROLE {reader} LOGIN PASSWORD '…'):",
        f"-- {sync}: sync; {reader}: summary, report, packet --dry-run, verify; {closer}: close, packets",
        *statements,
    ]
