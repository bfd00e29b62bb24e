"""The X.509 certificate and key that sign PDFs as PAdES, the way PDF readers check signatures.

Acrobat and Foxit validate RSA and ECDSA signatures with an X.509 certificate, not the
Ed25519 key that signs a packet's manifest.  ``reportgen keys init --x509`` makes one
self-signed (RSA 3072, or ECDSA P-256 with ``--ecdsa``) in the owner's name, or imports the
organisation's PKCS#12 (``--pkcs12 FILE``, its password from ``$REPORTGEN_PKCS12_PASSWORD``:
never a command-line value that ``ps`` shows).  It is kept like the Ed25519 key, outside
every store (``[signing] x509`` in reportgen.toml, env ``REPORTGEN_SIGNING_X509``, default
``<user config dir>/reportgen/signing-x509.pem``): one owner-only PEM file holding the
private key, the certificate and its chain.  Beside it, ``<name>.crt`` holds the
certificate(s) alone, to hand to whoever checks the PDFs (``reportgen keys trust FILE.crt``).
A certificate is known by its fingerprint: the SHA-256 (hex) of its DER bytes.

RSA is the default because an ECDSA signature makes pyHanko declare the PDF 2.0 extension
that brought ECDSA to PDF (ISO 32002), and PDF/A-3 is built on PDF 1.7.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..errors import ConfigError, UsageError
from .signing import read_private, write_private

PKCS12_PASSWORD_ENV = "REPORTGEN_PKCS12_PASSWORD"
#: How long a self-signed certificate is valid: long enough to re-check a year's claims years later.
VALID_DAYS = 10 * 366

SigningPrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class X509Identity:
    """A loaded private key with its certificate and the chain above it (may be empty)."""

    path: Path
    private: SigningPrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def owner(self) -> str:
        """The certificate subject's common name (or the whole subject when it has none)."""
        return certificate_owner(self.certificate)

    @property
    def fingerprint(self) -> str:
        return certificate_fingerprint(self.certificate)

    @property
    def algorithm(self) -> str:
        if isinstance(self.private, ec.EllipticCurvePrivateKey):
            return f"ECDSA {self.private.curve.name}"
        return f"RSA {self.private.key_size}"

    def public_pem(self) -> bytes:
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (self.certificate, *self.chain))


def certificate_fingerprint(certificate: x509.Certificate) -> str:
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def certificate_owner(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if names else certificate.subject.rfc4514_string()
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def certificate_path(path: Path) -> Path:
    """``signing-x509.pem`` -> ``signing-x509.crt``: the certificate alone, to hand out."""
    return path.with_name(path.name.removesuffix(".pem") + ".crt")


def init_x509(path: Path, owner: str, *, ecdsa: bool = False, force: bool = False) -> X509Identity:
    """A new self-signed certificate for ``owner`` and its key, written to ``path`` (mode 0600)."""
    _refuse_existing(path, force)
    owner = owner.strip()
    if not owner or any(ch in owner for ch in "\r\n") or len(owner) > 64:
        raise UsageError("--owner must be one line of up to 64 characters, e.g. 'Zhang San, Finance'")
    private: SigningPrivateKey = (
        ec.generate_private_key(ec.SECP256R1())
        if ecdsa
        else rsa.generate_private_key(public_exponent=65537, key_size=3072)
    )
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, owner)])
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    public = private.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(private, hashes.SHA256())
    )
    identity = X509Identity(path, private, certificate)
    _write(identity)
    return identity


def import_pkcs12(path: Path, source: Path, password: str | None, *, force: bool = False) -> X509Identity:
    """The organisation's PKCS#12 (key, certificate, chain), stored at ``path`` as reportgen keeps it."""
    _refuse_existing(path, force)
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise UsageError(f"--pkcs12 {source}: cannot read it ({exc.strerror or exc})") from None
    try:
        private, certificate, chain = pkcs12.load_key_and_certificates(
            data, None if password is None else password.encode("utf-8")
        )
    except ValueError as exc:
        hint = "" if password is not None else f" (its password goes in ${PKCS12_PASSWORD_ENV})"
        raise UsageError(f"--pkcs12 {source}: not a PKCS#12 file this password opens{hint}: {exc}") from None
    if certificate is None or not isinstance(private, SigningPrivateKey):
        raise UsageError(f"--pkcs12 {source}: it must hold an RSA or ECDSA private key with its certificate")
    identity = X509Identity(path, private, certificate, tuple(chain))
    _write(identity)
    return identity


def load_x509(path: Path) -> X509Identity | None:
    """The certificate and key at ``path``; None when there is none; an error when it is unusable."""
    data = read_private(path, "the X.509 signing key")
    if data is None:
        return None
    try:
        private = serialization.load_pem_private_key(data, password=None)
        certificates = x509.load_pem_x509_certificates(data)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"{path}: not an unencrypted PEM key with its certificate ({exc}); "
            "make one with `reportgen keys init --x509`"
        ) from None
    if not isinstance(private, SigningPrivateKey):
        raise ConfigError(f"{path}: the key must be RSA or ECDSA; make one with `reportgen keys init --x509`")
    mine = [c for c in certificates if c.public_key() == private.public_key()]
    if not mine:
        raise ConfigError(f"{path}: no certificate there belongs to its private key")
    return X509Identity(path, private, mine[0], tuple(c for c in certificates if c is not mine[0]))


def _refuse_existing(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise UsageError(f"{path} already exists; it is kept (use --force to replace it)")


def _write(identity: X509Identity) -> None:
    path = identity.path
    key = identity.private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_private(path, key + identity.public_pem(), "the X.509 signing key")
    try:
        certificate_path(path).write_bytes(identity.public_pem())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write the X.509 signing key ({exc.strerror or exc})") from None


__all__ = [
    "PKCS12_PASSWORD_ENV",
    "X509Identity",
    "certificate_fingerprint",
    "certificate_owner",
    "certificate_path",
    "import_pkcs12",
    "init_x509",
    "load_x509",
]
