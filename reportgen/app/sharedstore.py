"""A shared PostgreSQL store set up: its tables made, and the GRANTs its three roles need printed."""

from __future__ import annotations

import os
import re

from ..config import STORE_PASSWORD_ENV, Config
from ..config.safety import dsn_has_password
from ..core.storeserver import StoreServer
from ..errors import UsageError
from ..store import CopyResult, copy_store, init_server, sync_lock

_ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _server(dsn: str, option: str) -> StoreServer:
    if not dsn.lower().startswith(("postgresql://", "postgres://")):
        raise UsageError(
            f"{option} must be a PostgreSQL URL such as postgresql://reportgen_owner@db/reportgen"
        )
    if dsn_has_password(dsn):
        raise UsageError(f"{option} contains a password; remove it and set {STORE_PASSWORD_ENV}")
    return StoreServer(dsn, os.environ.get(STORE_PASSWORD_ENV) or None)


def init_shared_store(dsn: str, sync: str, reader: str, closer: str) -> list[str]:
    """``reportgen store init --dsn …``: the store's tables, then the lines to print."""
    server = _server(dsn, "--dsn")
    for role in (sync, reader, closer):
        if not _ROLE.fullmatch(role):
            raise UsageError(f"{role!r} is not a plain role name (lower-case letters, digits, _)")
    statements = init_server(server, sync, reader, closer)
    return [
        f"-- {dsn}: the store's tables are ready. As their owner, give each role what its commands need",
        f"-- (create the roles first, e.g. CREATE ROLE {reader} LOGIN PASSWORD '…'):",
        f"-- {sync}: sync; {reader}: summary, report, packet --dry-run, verify; {closer}: close, packets",
        *statements,
    ]


def copy_to_server(config: Config, dsn: str) -> CopyResult:
    """``reportgen store copy --to …``: the configured SQLite store into an empty PostgreSQL database,
    under the folder's sync lock (no sync or close changes it meanwhile), verified."""
    if config.store_server is not None:
        raise UsageError(
            "store copy moves a SQLite store ([store] path); this config's store is already [store] dsn"
        )
    server = _server(dsn, "--to")
    with sync_lock(config.store_dir, "store copy"):
        return copy_store(config.store_dir, server)
