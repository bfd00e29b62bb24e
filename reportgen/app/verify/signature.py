"""A packet's signature: the key it names signs the exact manifest bytes (and is the expected key).

Only :mod:`cryptography` and the packet itself are needed; :mod:`reportgen.app.signing`
(which creates and loads private keys) names keys with the same :func:`key_fingerprint`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zipfile
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .format import MANIFEST, SIGNATURE
from .reading import Limits, Malformed, Verification, one_line, read_small

ALGORITHM = "Ed25519"


def key_fingerprint(public_raw: bytes) -> str:
    """SHA-256 (hex) of the raw public key: how a key is named everywhere."""
    return hashlib.sha256(public_raw).hexdigest()


def short(fingerprint: str) -> str:
    """The first 16 hex digits in groups of four, for people: ``ab12 cd34 ef56 7890``."""
    return " ".join(fingerprint[i : i + 4] for i in range(0, 16, 4))


def signature_ok(public_raw: bytes, signature: bytes, data: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


def check_signature(
    zf: zipfile.ZipFile,
    infos: dict[str, zipfile.ZipInfo],
    raw: bytes,
    manifest: dict[str, Any],
    expected: str | None,
    trusted: Mapping[str, str],
    allow_unsigned: bool,
    limits: Limits,
    result: Verification,
) -> None:
    """The signature is the named key's over the exact manifest bytes; the key is ``expected``
    (a pinned fingerprint prefix) or, when none is pinned, one of ``trusted`` (fingerprint ->
    the reader's name for it); a valid signature by any other key sets ``result.untrusted``."""
    sig = manifest["signature"]
    if sig is None:
        if SIGNATURE in infos:
            result.differ(
                SIGNATURE, "present, but the manifest says the packet is unsigned: it was tampered with"
            )
        elif expected is not None:
            result.differ(MANIFEST, "not signed, but --key expects a signature: anyone could have written it")
        elif allow_unsigned:
            result.notes.append(
                "the packet is not signed (allowed by --allow-unsigned): its origin is unproven"
            )
        else:
            result.differ(
                MANIFEST,
                "not signed: anyone could have written it (give --allow-unsigned to check it anyway)",
            )
        return
    if sig["algorithm"] != "Ed25519" or sig["file"] != SIGNATURE:
        result.differ(SIGNATURE, f"unknown signature scheme {sig['algorithm'][:40]!r}")
        return
    try:
        public = base64.b64decode(sig["public_key"], validate=True)
    except (binascii.Error, ValueError):
        public = b""
    if len(public) != 32:
        result.differ(MANIFEST, "signature.public_key is not an Ed25519 public key")
        return
    fingerprint = key_fingerprint(public)
    if fingerprint != sig["key_fingerprint"]:
        result.differ(MANIFEST, "signature.key_fingerprint does not belong to signature.public_key: forged")
        return
    try:
        text = read_small(zf, infos, SIGNATURE, limits.signature)
        signature = base64.b64decode(text.strip(), validate=True)
    except Malformed as exc:
        result.differ(SIGNATURE, exc.message)
        return
    except (binascii.Error, ValueError):
        signature = b""
    if len(signature) != 64 or not signature_ok(public, signature, raw):
        result.differ(
            MANIFEST,
            "the signature does not match: manifest.json was changed after it was signed",
        )
        return
    if expected is not None and not fingerprint.startswith(expected):
        result.differ(
            SIGNATURE,
            f"signed by key {short(fingerprint)}, not the expected key {short(expected)}: "
            "someone else signed (or re-signed) this packet",
        )
        return
    result.signer, result.signer_name = fingerprint, one_line(sig["signer"])
    if expected is not None:
        result.trusted_as = ""
        result.checked.append(f"{MANIFEST}: signed by key {short(fingerprint)} (the expected key)")
    elif fingerprint in trusted:
        result.trusted_as = trusted[fingerprint]
        result.checked.append(
            f"{MANIFEST}: signed by key {short(fingerprint)}, trusted as {trusted[fingerprint]}"
        )
    else:
        result.untrusted = True


__all__ = ["ALGORITHM", "check_signature", "key_fingerprint", "one_line", "short", "signature_ok"]
