"""PDFs PDF readers can check: the X.509 key (``keys init --x509``), PAdES-signed PDF/A-3b statements
in packets, and ``verify`` validating those signatures (issue 25, "Signed PDFs")."""

from __future__ import annotations

import subprocess

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from reportgen.app.x509keys import certificate_path, load_x509
from reportgen.cli import cli
from reportgen.config import load_config
from reportgen.errors import ConfigError
from tests.conftest import TOKEN, write_config


def test_keys_init_x509_self_signed_and_pkcs12(tmp_path, team, gateway):
    path = write_config(tmp_path, gateway.url, team)
    runner = CliRunner()
    x509 = tmp_path / "keys" / "x509.pem"
    env = {"REPORTGEN_SIGNING_X509": str(x509), "REPORTGEN_ACCESS_TOKEN": TOKEN}
    base = ["--config", str(path), "keys", "init", "--x509"]
    made = runner.invoke(cli, [*base, "--owner", "张三, 财务部"], env=env)
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
    made_rsa = runner.invoke(cli, [*base, "--rsa"], env={**env, "REPORTGEN_SIGNING_X509": str(rsa_path)})
    assert made_rsa.exit_code == 0, made_rsa.output
    rsa_identity = load_x509(rsa_path)
    assert rsa_identity is not None and isinstance(rsa_identity.private, rsa.RSAPrivateKey)
    assert rsa_identity.owner  # user@host when no --owner


def test_x509_key_is_never_inside_the_store(tmp_path, team, gateway):
    path = write_config(tmp_path, gateway.url, team)
    env = {"REPORTGEN_SIGNING_X509": str(tmp_path / ".reportgen" / "x.pem"), "REPORTGEN_ACCESS_TOKEN": TOKEN}
    with pytest.raises(ConfigError, match="inside the store"):
        load_config(path, env=env)
