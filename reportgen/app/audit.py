"""``keys init`` and ``log``: create a signing key (logged in the store), print and check the audit log."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ..config import Config
from ..errors import StoreError
from ..store import DB_NAME, Reader, Store, sync_lock
from ..store import evidence as audit
from .signing import SigningKey, init_key, public_path, who
from .verify.signature import short


@dataclass(frozen=True)
class NewKey:
    key: SigningKey
    logged: bool

    def summary(self) -> str:
        k = self.key
        lines = [
            f"Created an Ed25519 signing key for {k.owner}: {k.path} (owner-only, mode 600).",
            f"Public key: {public_path(k.path)}",
            f"Key fingerprint: {k.fingerprint}",
            f"Give the public key (or its fingerprint, {short(k.fingerprint)}) to whoever checks your packets: "
            "`reportgen verify --key FILE_OR_FINGERPRINT PACKET.zip`.",
        ]
        if not self.logged:
            lines.append("No store here yet: the key's creation is not in an audit log.")
        return "\n".join(lines)


def create_key(
    config: Config, owner: str | None = None, *, force: bool = False, now: Callable[[], float] = time.time
) -> NewKey:
    """Create the signing key ``config`` names and log it in the store, if there is one."""
    key = init_key(config.signing_key, owner, force=force)
    if not (config.store_dir / DB_NAME).is_file():
        return NewKey(key, False)
    with sync_lock(config.store_dir, "keys init"), Store.open(config.store_dir, create=False) as store:
        audit.append(store, int(now()), who(), "key", key.owner, key.fingerprint, {"path": str(key.path)})
    return NewKey(key, True)


def log_lines(config: Config, *, check: bool = False) -> tuple[list[str], list[str]]:
    """The audit log as lines, and (with ``check``) what breaks its hash chain."""
    if not (config.store_dir / DB_NAME).is_file():
        raise StoreError(f"{config.store_dir}: no store yet; run `reportgen sync` first")
    with Reader.open(config.store_dir) as reader:
        reader.begin()
        lines = []
        for e in audit.entries(reader):
            when = datetime.fromtimestamp(e.at, config.tz).strftime("%Y-%m-%d %H:%M:%S")
            fp = f"  fingerprint {e.fingerprint[:16]}…" if e.fingerprint else ""
            details = json.loads(e.details) if e.details else {}
            extra = ", ".join(f"{k} {v}" for k, v in details.items() if v not in (None, [], ""))
            lines.append(f"#{e.seq}  {when}  {e.user}@{e.host}  {e.action:<6}  {e.subject}{fp}  ({extra})")
        problems = audit.check_chain(reader) if check else []
    return lines, problems
