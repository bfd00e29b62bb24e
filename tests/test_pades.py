"""PDFs PDF readers can check: the X.509 key (``keys init --x509``), PAdES-signed PDF/A-3b statements
in packets, and ``verify`` validating those signatures (issue 25, "Signed PDFs")."""

from __future__ import annotations

import hashlib
import http.server
import io
import subprocess
import threading
import zipfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from reportgen.app.documents import write_packet
from reportgen.app.packet import manifest_of
from reportgen.app.pdfa import embedded_files, pdfa_part
from reportgen.app.sync import run_sync
from reportgen.app.verify import key_fingerprint, ok_lines, trust, verify_packet
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


def _unembedded_fonts(data):
    import pypdf

    missing = set()
    for page in pypdf.PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            if font["/Subtype"] == "/Type0":
                font = font["/DescendantFonts"][0].get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is None or not {"/FontFile", "/FontFile2", "/FontFile3"} & set(
                descriptor.get_object()
            ):
                missing.add(font["/BaseFont"])
    return missing


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
        assert not _unembedded_fonts(data)  # PDF/A embeds every font (reportlab's idle Helvetica too)
        files = embedded_files(data)
        assert files[csv_name] == (csv_bytes, "Data")
        assert files["methodology.md"] == (methodology, "Supplement")
        # the manifest hashes the signed bytes
        entry = next(f for f in manifest["files"] if f["name"] == name)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    (tmp_path / "signed.pdf").write_bytes(_pdf_of(packet, "statement")[1])


def _tsa_identity(tmp_path):
    """A time-stamp authority's self-signed certificate (critical extended key usage timeStamping)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # pyHanko's test TSA signs RSA
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Loopback TSA")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


@pytest.fixture
def tsa(tmp_path):
    """An RFC 3161 time-stamp authority on loopback: pyHanko's timestamps module behind http.server."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import tsp
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    cert, key = _tsa_identity(tmp_path)
    asn1_cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    der_key = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    stamper = DummyTimeStamper(asn1_cert, asn1_keys.PrivateKeyInfo.load(der_key))
    requests_seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            requests_seen.append(self.headers["Content-Type"])
            reply = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsr", asn1_cert, requests_seen
    finally:
        server.shutdown()
        server.server_close()


def test_b_t_with_a_loopback_tsa_and_verify_reports_it(synced, tmp_path, tsa):
    from asn1crypto import x509 as asn1_x509

    url, tsa_cert, seen = tsa
    config = replace(_x509(synced, tmp_path, owner="Li Si, Finance"), tsa_url=url)
    packet = write_packet(config, parse_period("2026-04", config.tz), tmp_path / "out", lang="en")
    assert seen and all(t == "application/timestamp-query" for t in seen)
    identity = load_x509(config.signing_x509)
    cert = asn1_x509.Certificate.load(identity.certificate.public_bytes(serialization.Encoding.DER))
    assert manifest_of(packet)["pdf_signature"]["standard"].startswith("PAdES baseline B-T")
    _, data = _pdf_of(packet, "statement")
    status = _validate(data, [cert], ts_trust=[tsa_cert])
    assert status.bottom_line, status.pretty_print_details()
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted
    assert abs((status.timestamp_validity.timestamp - datetime.now(UTC)).total_seconds()) < 600
    assert pdfa_part(data) == ("3", "B")

    trusted = {key_fingerprint(_public_raw(config)): "the preparer"}
    result = verify_packet(packet, trusted=trusted)
    assert result.ok, result.differences
    assert any("PAdES B-T signature by 'Li Si, Finance'" in line for line in result.checked)
    lines = ok_lines(result)
    assert sum("PDF signed" in line and "PAdES B-T" in line for line in lines) == 2, lines


def _public_raw(config):
    from reportgen.app.signing import load_key

    return load_key(config.signing_key).public_raw


def test_verify_fails_naming_a_pdf_whose_pades_signature_is_broken(synced, tmp_path):
    from reportgen.app.signing import load_key
    from tests.test_evidence import forged

    config = _x509(synced, tmp_path)
    packet = write_packet(config, parse_period("2026-04", config.tz), tmp_path / "out", lang="zh")
    ed25519 = load_key(config.signing_key)
    trusted = {ed25519.fingerprint: "the preparer"}
    good = verify_packet(packet, trusted=trusted)
    assert good.ok and len(good.pdf_signatures) == 2, good.differences
    name, data = _pdf_of(packet, "statement")

    def flip(pdf: bytes) -> bytes:  # one byte of the signed content, not the signature itself
        at = pdf.index(b"/Producer")
        return pdf[:at] + b"/Producex" + pdf[at + len(b"/Producer") :]

    # the preparer's own key re-signs the manifest over the edited PDF: the manifest checks out,
    # the PDF's own signature does not
    bad = forged(packet, tmp_path / "bad.zip", lambda m: None, edit_files={name: flip}, key=ed25519.private)
    result = verify_packet(bad, trusted=trusted)
    assert not result.ok
    assert any(d.startswith(f"{name}: its PAdES signature does not match") for d in result.differences), (
        result.differences
    )

    # a PDF re-signed with another certificate than the manifest names
    other = tmp_path / "other.pem"
    init_x509(other, "Mallory")
    from reportgen.app.pades import PdfSigning, sign_pdf
    from reportgen.hookspecs import ExportContext
    from reportgen.templating import load_template

    context = ExportContext(lang="zh", template=load_template(None, "zh"))
    unsigned = data[: data.rindex(b"%%EOF", 0, data.index(b"/ByteRange")) + 5] + b"\n"
    resigned = sign_pdf(unsigned, PdfSigning(load_x509(other)), context)
    swapped = forged(packet, tmp_path / "swapped.zip", lambda m: None, edit_files={name: lambda _: resigned},
                     key=ed25519.private)  # fmt: skip
    result = verify_packet(swapped, trusted=trusted)
    assert any("not the" in d and "manifest names" in d for d in result.differences), result.differences

    # the manifest says signed, the PDF is not
    stripped = forged(packet, tmp_path / "stripped.zip", lambda m: None, edit_files={name: lambda _: unsigned},
                      key=ed25519.private)  # fmt: skip
    result = verify_packet(stripped, trusted=trusted)
    assert any("carries no signature" in d for d in result.differences), result.differences


def test_keys_trust_takes_the_certificate(synced, tmp_path):
    config = _x509(synced, tmp_path, owner="王五")
    trust_file = tmp_path / "trusted"
    fingerprint, label = trust(str(certificate_path(config.signing_x509)), None, trust_file)
    assert fingerprint == load_x509(config.signing_x509).fingerprint and label == "王五"


def test_report_sign_signs_the_pdfs_it_writes(synced, tmp_path):
    from reportgen.app.documents import write_report
    from reportgen.errors import UsageError
    from reportgen.plugins import select_exporters

    period = parse_period("2026-04", synced.tz)
    with pytest.raises(UsageError, match="keys init --x509"):
        write_report(synced, period, select_exporters("pdf"), tmp_path / "none", sign=True)
    config = _x509(synced, tmp_path)
    paths = write_report(config, period, select_exporters("pdf,xlsx"), tmp_path / "signed", sign=True)
    pdf = next(p for p in paths if p.suffix == ".pdf")
    data = pdf.read_bytes()
    assert pdfa_part(data) == ("3", "B") and len(embedded_files(data)) == 2
    from asn1crypto import x509 as asn1_x509

    identity = load_x509(config.signing_x509)
    cert = asn1_x509.Certificate.load(identity.certificate.public_bytes(serialization.Encoding.DER))
    assert _validate(data, [cert]).bottom_line
    xlsx = next(p for p in paths if p.suffix == ".xlsx")
    assert xlsx.read_bytes()[:2] == b"PK"  # only PDFs are touched
