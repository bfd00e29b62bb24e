"""PDFs PDF readers can check: the X.509 key (``keys init --x509``), PAdES-signed PDF/A-3b statements
in packets, and ``verify`` validating those signatures (issue 25, "Signed PDFs")."""

from __future__ import annotations

import hashlib
import io
import subprocess
import zipfile
from dataclasses import replace

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from reportgen.app.documents import write_packet
from reportgen.app.packet import manifest_of
from reportgen.app.pdfa import embedded_files, pdfa_part
from reportgen.app.sync import run_sync
from reportgen.app.x509keys import certificate_path, init_x509, load_x509
from reportgen.cli import cli
from reportgen.config import load_config
from reportgen.core.periods import parse_period
from reportgen.errors import ConfigError
from tests.conftest import TOKEN, fast_client, make_config, write_config


def test_keys_init_x509_self_signed_and_pkcs12(tmp_path, team, gateway):
    path = write_config(tmp_path, gateway.url, team)
    runner = CliRunner()
    x509 = tmp_path / "keys" / "x509.pem"
    env = {"REPORTGEN_SIGNING_X509": str(x509), "REPORTGEN_ACCESS_TOKEN": TOKEN}
    base = ["--config", str(path), "keys", "init", "--x509"]
    made = runner.invoke(cli, [*base, "--owner", "张三, 财务部", "--ecdsa"], env=env)
    assert made.exit_code == 0, made.output
    assert oct(x509.stat().st_mode & 0o777) == "0o600" and certificate_path(x509).is_file()
    identity = load_x509(x509)
    assert identity is not None and identity.owner == "张三, 财务部"
    assert isinstance(identity.private, ec.EllipticCurvePrivateKey) and identity.fingerprint in made.stdout
    again = runner.invoke(cli, [*base], env=env)
    assert again.exit_code == 2 and "already exists" in again.stderr

    # the organisation's PKCS#12: its password only from the environment
    p12 = tmp_path / "org.p12"
    subprocess.run(
        ["openssl", "pkcs12", "-export", "-inkey", str(x509), "-in", str(certificate_path(x509)),
         "-out", str(p12), "-passout", "pass:s3cret"],
        check=True,
    )  # fmt: skip
    imported = tmp_path / "keys" / "imported.pem"
    env2 = {**env, "REPORTGEN_SIGNING_X509": str(imported)}
    refused = runner.invoke(cli, [*base, "--pkcs12", str(p12)], env=env2)
    assert refused.exit_code == 2 and "REPORTGEN_PKCS12_PASSWORD" in refused.stderr and not imported.exists()
    ok = runner.invoke(
        cli, [*base, "--pkcs12", str(p12)], env={**env2, "REPORTGEN_PKCS12_PASSWORD": "s3cret"}
    )
    assert ok.exit_code == 0, ok.output
    loaded = load_x509(imported)
    assert loaded is not None and loaded.fingerprint == identity.fingerprint
    assert oct(imported.stat().st_mode & 0o777) == "0o600"

    rsa_path = tmp_path / "keys" / "rsa.pem"
    made_rsa = runner.invoke(cli, [*base], env={**env, "REPORTGEN_SIGNING_X509": str(rsa_path)})
    assert made_rsa.exit_code == 0, made_rsa.output
    rsa_identity = load_x509(rsa_path)
    assert rsa_identity is not None and isinstance(rsa_identity.private, rsa.RSAPrivateKey)
    assert rsa_identity.owner  # user@host when no --owner


def test_x509_key_is_never_inside_the_store(tmp_path, team, gateway):
    path = write_config(tmp_path, gateway.url, team)
    env = {"REPORTGEN_SIGNING_X509": str(tmp_path / ".reportgen" / "x.pem"), "REPORTGEN_ACCESS_TOKEN": TOKEN}
    with pytest.raises(ConfigError, match="inside the store"):
        load_config(path, env=env)


@pytest.fixture
def synced(tmp_path, team, gateway):
    config = make_config(tmp_path, gateway.url, team)
    run_sync(config, parse_period("2026-04", config.tz), client_factory=fast_client)
    return config


def _x509(config, tmp_path, owner="张三, 财务部"):
    x509 = tmp_path / "keys" / "x509.pem"
    init_x509(x509, owner)
    return replace(config, signing_x509=x509)


def _pdf_of(packet, role):
    manifest = manifest_of(packet)
    name = next(f["name"] for f in manifest["files"] if f["role"] == role)
    with zipfile.ZipFile(packet) as zf:
        return name, zf.read(name)


def _validate(data, trust, ts_trust=()):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(io.BytesIO(data))
    (sig,) = reader.embedded_signatures
    vc = ValidationContext(trust_roots=list(trust), allow_fetching=False)
    tvc = ValidationContext(trust_roots=list(ts_trust), allow_fetching=False) if ts_trust else None
    return validate_pdf_signature(sig, vc, ts_validation_context=tvc)


def test_packet_pdfs_are_pades_signed_pdfa3(synced, tmp_path):
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import serialization

    config = _x509(synced, tmp_path)
    packet = write_packet(config, parse_period("2026-04", config.tz), tmp_path / "out", lang="zh")
    manifest = manifest_of(packet)
    identity = load_x509(config.signing_x509)
    assert manifest["pdf_signature"]["certificate_sha256"] == identity.fingerprint
    cert = asn1_x509.Certificate.load(identity.certificate.public_bytes(serialization.Encoding.DER))
    csv_name = next(f["name"] for f in manifest["files"] if f["role"] == "detail")
    with zipfile.ZipFile(packet) as zf:
        csv_bytes = zf.read(csv_name)
        methodology = zf.read("methodology.md")
    for role in ("statement", "claim"):
        name, data = _pdf_of(packet, role)
        status = _validate(data, [cert])
        assert status.bottom_line and status.intact and status.valid and status.trusted, (
            status.pretty_print_details()
        )
        assert status.signing_cert.subject.native["common_name"] == "张三, 财务部"
        assert pdfa_part(data) == ("3", "B")
        files = embedded_files(data)
        assert files[csv_name] == (csv_bytes, "Data")
        assert files["methodology.md"] == (methodology, "Supplement")
        # the manifest hashes the signed bytes
        entry = next(f for f in manifest["files"] if f["name"] == name)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    (tmp_path / "signed.pdf").write_bytes(_pdf_of(packet, "statement")[1])
