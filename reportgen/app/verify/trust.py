"""The keys a reader trusts: ``verify`` says OK only for a packet one of them signed.

The list is the reader's own, kept in ``<user config dir>/reportgen/trusted-keys`` (never in
a store or a project folder), one key a line: its full fingerprint (SHA-256 of the raw
public key, 64 hex digits) and the name the reader gave it.  ``reportgen keys trust`` adds
a key from the signer's ``.pub`` file, its public-key line or its fingerprint (exchanged out
of band: read aloud on the phone, compared in person); ``keys list`` and ``keys untrust``
show and remove them.  The preparer's own key (the ``.pub`` beside their signing key) is
trusted on their machine without being listed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ...config import default_signing_key, user_config_dir
from ...core.text import clean_text
from ...errors import ConfigError, UsageError
from .signature import key_fingerprint, one_line

PUBLIC_PREFIX = "reportgen-ed25519"
TRUST_FILE = "trusted-keys"
_HEX = re.compile(r"[0-9a-f]{16,64}")
_MAX_TEXT = 4096


@dataclass(frozen=True)
class PublicKey:
    """What a public-key text names: a fingerprint (a prefix of 16+ hex digits when only that
    was given) and the owner the ``.pub`` line claims ("" when there is none)."""

    fingerprint: str
    claimed: str = ""

    @property
    def complete(self) -> bool:
        return len(self.fingerprint) == 64


def trust_path() -> Path:
    return user_config_dir(os.environ) / TRUST_FILE


def read_public_key(text: str, what: str = "the key") -> PublicKey:
    """A ``.pub`` file, a public-key line (``reportgen-ed25519 <base64> <owner>``), the base64
    key alone, a fingerprint (16 to 64 hex digits, spaces and colons allowed), or the X.509
    certificate that signs the PDFs (``signing-x509.crt``; its fingerprint is its DER's SHA-256)."""
    candidate = text.strip()
    path = Path(candidate)
    if len(candidate) < _MAX_TEXT and path.is_file():
        try:
            candidate = path.read_text(encoding="utf-8")[:_MAX_TEXT].strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{what} {text}: cannot read it ({exc})") from None
    if candidate.startswith("-----BEGIN CERTIFICATE-----"):
        return _certificate(candidate, text, what)
    compact = candidate.replace(" ", "").replace(":", "").lower()
    if _HEX.fullmatch(compact):
        return PublicKey(compact)
    parts = candidate.split(maxsplit=2)
    encoded = parts[1] if len(parts) >= 2 and parts[0] == PUBLIC_PREFIX else candidate
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise UsageError(
            f"{what} {clean_text(text[:80])}: give the signer's .pub file, its public key, or its "
            "fingerprint (16 to 64 hex digits)"
        )
    claimed = parts[2] if len(parts) == 3 and parts[0] == PUBLIC_PREFIX else ""
    return PublicKey(key_fingerprint(raw), one_line(claimed))


def _certificate(pem: str, text: str, what: str) -> PublicKey:
    """An X.509 certificate (``signing-x509.crt``, the PDFs' PAdES signer): its SHA-256 and common name."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import NameOID

    try:
        certificate = x509.load_pem_x509_certificate(pem.encode("ascii", "replace"))
    except ValueError:
        raise UsageError(f"{what} {clean_text(text[:80])}: not a readable PEM certificate") from None
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    claimed = str(names[0].value) if names else certificate.subject.rfc4514_string()
    return PublicKey(hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest(), one_line(claimed))


def load_trusted(path: Path | None = None) -> dict[str, str]:
    """The trusted keys: fingerprint -> the name the reader gave it (none when there is no list)."""
    path = trust_path() if path is None else path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the trusted keys ({exc})") from None
    trusted: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fingerprint, _, name = line.strip().partition(" ")
        if not re.fullmatch(r"[0-9a-f]{64}", fingerprint):
            raise ConfigError(f"{path}: line {n} is not '<64-hex fingerprint> <name>'; fix or remove it")
        trusted[fingerprint] = one_line(name)
    return trusted


def own_key(signing_key: Path) -> dict[str, str]:
    """The preparer's own key (the ``.pub`` ``keys init`` wrote beside it), trusted as theirs."""
    pub = signing_key.with_name(signing_key.name.removesuffix(".pem") + ".pub")
    if not pub.is_file():
        return {}
    try:
        key = read_public_key(str(pub))
    except UsageError:
        return {}
    return {key.fingerprint: "your own key"}


def reader_trust(signing_key: Path | None = None, path: Path | None = None) -> dict[str, str]:
    """What ``verify`` accepts here: the trusted keys and the reader's own signing key."""
    own = own_key(default_signing_key(os.environ) if signing_key is None else signing_key)
    return {**load_trusted(path), **own}


def trust(text: str, name: str | None, path: Path | None = None) -> tuple[str, str]:
    """Add a key to the list (replacing its name if it is there); returns (fingerprint, name)."""
    path = trust_path() if path is None else path
    key = read_public_key(text, "keys trust")
    if not key.complete:
        raise UsageError("keys trust: give the whole fingerprint (64 hex digits) or the .pub file")
    label = one_line(name if name is not None else key.claimed)
    if not label:
        raise UsageError("keys trust: give --name: whose key this is, as you know them")
    trusted = load_trusted(path)
    trusted[key.fingerprint] = label
    _write(path, trusted)
    return key.fingerprint, label


def untrust(text: str, path: Path | None = None) -> tuple[str, str]:
    """Remove a key (by its .pub, key or a fingerprint prefix naming exactly one listed key)."""
    path = trust_path() if path is None else path
    key = read_public_key(text, "keys untrust")
    trusted = load_trusted(path)
    matches = [f for f in trusted if f.startswith(key.fingerprint)]
    if len(matches) != 1:
        raise UsageError(
            f"keys untrust: {'no trusted key' if not matches else 'several trusted keys'} "
            f"match {key.fingerprint[:16]}; see `reportgen keys list`"
        )
    name = trusted.pop(matches[0])
    _write(path, trusted)
    return matches[0], name


def _write(path: Path, trusted: Mapping[str, str]) -> None:
    lines = ["# keys whose packets `reportgen verify` accepts: <fingerprint> <name>"]
    lines += [f"{fingerprint} {name}" for fingerprint, name in trusted.items()]
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write the trusted keys ({exc.strerror or exc})") from None


__all__ = [
    "PUBLIC_PREFIX",
    "PublicKey",
    "load_trusted",
    "one_line",
    "read_public_key",
    "reader_trust",
    "trust",
    "trust_path",
    "untrust",
]
