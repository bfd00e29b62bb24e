"""Ed25519 signing keys: create one, load it to sign a packet's manifest, check a signature.

The private key is a PKCS#8 PEM file outside the store (``[signing] key`` in reportgen.toml,
env ``REPORTGEN_SIGNING_KEY``, default ``<user config dir>/reportgen/signing-key.pem``),
readable by its owner only.  Beside it, ``<name>.pub`` holds the public key in one line
(``reportgen-ed25519 <base64> <owner>``) to hand to whoever verifies packets.  A key is
known by its fingerprint: the SHA-256 (hex) of its 32 raw public-key bytes.
"""

from __future__ import annotations

import base64
import getpass
import os
import socket
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..config import Config
from ..errors import ConfigError, UsageError
from .verify.signature import key_fingerprint
from .verify.trust import PUBLIC_PREFIX, read_public_key


@dataclass(frozen=True)
class SigningKey:
    """A loaded private key and what a manifest says about it."""

    path: Path
    private: Ed25519PrivateKey
    owner: str

    @property
    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.public_raw)

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)


def who() -> tuple[str, str]:
    """The OS user and host name (for the audit log and a key's owner)."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return user, socket.gethostname()


def public_path(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".pem") + ".pub")


def init_key(path: Path, owner: str | None = None, *, force: bool = False) -> SigningKey:
    """Create a new Ed25519 key at ``path`` (mode 0600) and its ``.pub`` beside it."""
    if path.exists() and not force:
        raise UsageError(f"{path} already exists; it is kept (use --force to replace it, which orphans it)")
    user, host = who()
    owner = (owner or f"{user}@{host}").strip()
    if not owner or any(ch in owner for ch in "\r\n"):
        raise UsageError("--owner must be one line of text, e.g. 'Zhang San, Finance'")
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_private(path, pem + f"# owner: {owner}\n".encode(), "the signing key")
    key = SigningKey(path, private, owner)
    public_path(path).write_text(public_line(key) + "\n", encoding="utf-8")
    return key


def write_private(path: Path, data: bytes, what: str) -> None:
    """``data`` (a private key) as the file ``path``, readable by its owner only (0600, in a 0700
    folder), written whole or not at all; ConfigError naming ``what`` when it cannot be."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(path.name + ".tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fp:
            fp.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write {what} ({exc.strerror or exc})") from None


def read_private(path: Path, what: str) -> bytes | None:
    """The private key file ``path`` (None when there is none); ConfigError naming ``what`` when it
    cannot be read or others may read it."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    mode = stat.S_IMODE(path.stat().st_mode)
    if os.name == "posix" and mode & 0o077:
        raise ConfigError(f"{path}: {what} is readable by others (mode {mode:o}); run `chmod 600 {path}`")
    return data


def public_line(key: SigningKey) -> str:
    return f"{PUBLIC_PREFIX} {base64.b64encode(key.public_raw).decode()} {key.owner}"


def load_key(path: Path) -> SigningKey | None:
    """The private key at ``path``; None when there is none; an error when it is unusable."""
    data = read_private(path, "the signing key")
    if data is None:
        return None
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise ConfigError(f"{path}: not an Ed25519 key; create one with `reportgen keys init`")
    owner = ""
    for line in data.decode("utf-8", "replace").splitlines():
        if line.startswith("# owner: "):
            owner = line.removeprefix("# owner: ").strip()
    return SigningKey(path, private, owner)


def require_key(config: Config) -> SigningKey:
    key = load_key(config.signing_key)
    if key is None:
        raise UsageError(
            f"no signing key at {config.signing_key}; create one with `reportgen keys init` "
            "(or give --unsigned for a packet that verifies only with --allow-unsigned)"
        )
    return key


def expected_key(text: str) -> str:
    """The fingerprint ``--key`` names: a ``.pub`` file, a public-key line or base64, or a fingerprint."""
    return read_public_key(text, "--key").fingerprint
