"""``keys init`` and ``log``: create a signing key (logged in the store), print and check the audit log."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..config import Config
from ..errors import StoreError
from ..read import check_rows
from ..store import DB_NAME, Reader, Store, closures, snapshot_location, sync_lock
from ..store import evidence as audit
from .issued import packet_problems
from .signing import SigningKey, init_key, public_path, who
from .verify.signature import short
from .x509keys import PKCS12_PASSWORD_ENV, X509Identity, certificate_path, import_pkcs12, init_x509


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
    if config.store_server is None and not (config.store_dir / DB_NAME).is_file():
        return NewKey(key, False)
    with sync_lock(config.store, "keys init"), Store.open(config.store, create=False) as store:
        audit.append(store, int(now()), who(), "key", key.owner, key.fingerprint, {"path": str(key.path)})
    return NewKey(key, True)


@dataclass(frozen=True)
class NewCertificate:
    identity: X509Identity
    imported: bool
    logged: bool

    def summary(self) -> str:
        x = self.identity
        how = "Imported the PKCS#12" if self.imported else f"Created a self-signed {x.algorithm} certificate"
        lines = [
            f"{how} for {x.owner}: {x.path} (key and certificate, owner-only, mode 600).",
            f"Certificate: {certificate_path(x.path)}",
            f"Certificate fingerprint (SHA-256): {x.fingerprint}",
            "Packets now carry PAdES-signed PDF/A-3b statements and claims (`report --sign` signs report's PDFs).",
            f"Give the certificate (or its fingerprint, {short(x.fingerprint)}) to whoever checks your PDFs: "
            f"`reportgen keys trust {certificate_path(x.path).name} --name ...`.",
        ]
        if not self.logged:
            lines.append("No store here yet: the certificate's creation is not in an audit log.")
        return "\n".join(lines)


def create_x509(
    config: Config,
    owner: str | None = None,
    *,
    pkcs12: Path | None = None,
    ecdsa: bool = False,
    force: bool = False,
    env: Mapping[str, str] = os.environ,
    now: Callable[[], float] = time.time,
) -> NewCertificate:
    """``keys init --x509``: a self-signed certificate, or the organisation's PKCS#12 (its password
    from ``$REPORTGEN_PKCS12_PASSWORD``), at the path ``config`` names, logged in the store if any."""
    if pkcs12 is not None:
        identity = import_pkcs12(config.signing_x509, pkcs12, env.get(PKCS12_PASSWORD_ENV), force=force)
    else:
        user, host = who()
        identity = init_x509(config.signing_x509, owner or f"{user}@{host}", ecdsa=ecdsa, force=force)
    if config.store_server is None and not (config.store_dir / DB_NAME).is_file():
        return NewCertificate(identity, pkcs12 is not None, False)
    with sync_lock(config.store, "keys init"), Store.open(config.store, create=False) as store:
        details = {"path": str(identity.path), "kind": "x509", "algorithm": identity.algorithm}
        audit.append(store, int(now()), who(), "key", identity.owner, identity.fingerprint, details)
    return NewCertificate(identity, pkcs12 is not None, True)


def log_lines(
    config: Config, *, check: bool = False, anchor: str | None = None
) -> tuple[list[str], list[str]]:
    """The audit log as lines, and (with ``check``) what breaks its hash chain, which closed
    snapshot no longer gives the fingerprint the log recorded, which issued packet the register
    or its file no longer agrees with (:mod:`.issued`), and (with ``anchor``, a head
    kept outside the store) whether the log still holds that head."""
    with Reader.open(config.store) as reader:  # no store, or a damaged one: one line
        reader.begin()
        lines = []
        for e in audit.entries(reader):
            when = datetime.fromtimestamp(e.at, config.tz).strftime("%Y-%m-%d %H:%M:%S")
            fp = f"  fingerprint {e.fingerprint[:16]}…" if e.fingerprint else ""
            details = json.loads(e.details) if e.details else {}
            extra = ", ".join(f"{k} {v}" for k, v in details.items() if v not in (None, [], ""))
            lines.append(f"#{e.seq}  {when}  {e.user}@{e.host}  {e.action:<6}  {e.subject}{fp}  ({extra})")
        problems = (
            [
                *audit.check_chain(reader),
                *closure_problems(config, reader),
                *packet_problems(reader, config.store_dir.parent),
            ]
            if check
            else []
        )
        if check and anchor is not None:
            problems += [p for p in [audit.anchored(reader, anchor)] if p is not None]
    return lines, problems


def closure_problems(config: Config, reader: Reader) -> list[str]:
    """Each closed revision's recorded fingerprint against the audit log's record of its close, and
    its snapshot's rows against that fingerprint (a snapshot edited with its fingerprint shows here)."""
    problems = []
    recorded = audit.recorded_closes(reader)
    for closure in closures(reader):
        subject = f"{closure.period.label} revision {closure.revision}"
        entry = recorded.get(subject)
        if entry is not None and entry[1] != closure.fingerprint:
            problems.append(
                f"{subject}: the store records fingerprint {closure.fingerprint[:16]}…, entry {entry[0]} "
                f"recorded {entry[1][:16]}… when it was closed: the closed snapshot was edited"
            )
            continue
        try:
            rows = check_rows(
                config.store, closure.period.start_ts, closure.period.end_ts, None,
                closed=(closure.period.label, closure.revision),
            )  # fmt: skip
        except StoreError as exc:
            problems.append(f"{subject}: {exc}")
            continue
        if rows.fingerprint != closure.fingerprint:
            problems.append(
                f"{subject}: its snapshot's rows give fingerprint {rows.fingerprint[:16]}…, the recorded one is "
                f"{closure.fingerprint[:16]}…: the closed snapshot was edited"
            )
    return problems


def log_anchor(config: Config) -> str:
    """The audit log's head (``seq:hash``) to keep outside the store: ``log --verify --anchor`` checks it."""
    with Reader.open(config.store) as reader:
        reader.begin()
        head = audit.head(reader)
    if head is None:
        raise StoreError(f"{config.store}: the audit log is empty; nothing to anchor yet")
    return head


def store_check(config: Config) -> tuple[list[str], list[str]]:
    """``store check``: SQLite's integrity check of the store and every closed snapshot, then the
    evidence checks of ``log --verify``; returns (what passed, what is wrong)."""
    passed: list[str] = []
    try:
        with Reader.open(config.store) as reader:
            reader.begin()
            found = [f"{_database(reader)}: {p}" for p in audit.integrity(reader)]
            for closure in closures(reader):
                try:
                    with Reader.open(snapshot_location(reader, closure), snapshot=True) as snap:
                        found += [f"{_database(snap)}: {p}" for p in audit.integrity(snap)]
                except StoreError as exc:
                    found.append(str(exc))
            if not found:
                passed.append(
                    f"SQLite integrity check: the store and {len(closures(reader))} closed snapshot(s) are sound"
                )
            chain = audit.check_chain(reader)
            found += [f"audit log {p}" for p in chain]
            if not chain:
                passed.append(f"audit log: {len(audit.entries(reader))} entries, the hash chain is intact")
            closed = closure_problems(config, reader)
            found += closed
            if not closed:
                passed.append("closed periods: every snapshot gives the fingerprint recorded at its close")
            packets = packet_problems(reader, config.store_dir.parent)
            found += packets
            if not packets:
                passed.append(
                    "issued packets: the register and every packet file still at its path agree with the log"
                )
    except StoreError as exc:
        return passed, [str(exc)]
    return passed, found


def _database(reader: Reader) -> str:
    """How a check names a store's database: its SQLite file, or its PostgreSQL DSN and schema."""
    return reader.name if reader.server is not None else str(reader.directory / DB_NAME)
