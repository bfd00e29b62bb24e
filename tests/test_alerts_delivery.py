"""Delivery channels on loopback: each chat service's payload and signature (checked by the
algorithm its docs give, and DingTalk's against apprise's own implementation), email over a
real STARTTLS SMTP server with auth, names escaped per channel, and the failure paths (refused,
HTTP 500, no answer) retried with backoff and reported in one line without a secret."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import ssl
from pathlib import Path

import pytest

from reportgen.alerts.chat import post_chat
from reportgen.alerts.deliver import Sending, deliver
from reportgen.alerts.email import send_email
from reportgen.alerts.messages import Message, alert_message, escape
from reportgen.alerts.signing import dingtalk_sign, feishu_sign, webhook_sign
from reportgen.config import Channel, Secret
from reportgen.store.alerts import RaisedAlert
from tests.receivers import free_port, http_receiver, smtp_server

MESSAGE = Message("budget/b/alpha/80#1/raised", "reportgen alert: b", "Project alpha has used 92.5%", {"share": "92.5%"}, "raised")  # fmt: skip


def chat(kind: str, url: str, secret: str = "") -> Channel:
    return Channel(name="c", type=kind, url=Secret(url), secret=Secret(secret) if secret else None)


def test_dingtalk_signature_matches_apprise_and_the_documented_vector() -> None:
    from apprise.plugins.dingtalk import NotifyDingTalk

    secret = "SEC" + "a" * 61
    timestamp, signed = NotifyDingTalk(token="a" * 64, secret=secret).get_signature()
    assert dingtalk_sign(secret, int(timestamp)) == signed
    # the docs' Python sample, by hand: urlencode(base64(HmacSHA256(secret, ts + "\n" + secret)))
    mac = hmac.new(b"SECxyz", b"1577262236757\nSECxyz", hashlib.sha256).digest()
    assert dingtalk_sign("SECxyz", 1577262236757) == base64.b64encode(mac).decode().replace(
        "+", "%2B"
    ).replace("/", "%2F").replace("=", "%3D")


def test_feishu_and_webhook_signatures_follow_their_definitions() -> None:
    # Feishu's sample: HmacSHA256 keyed with "timestamp\nsecret" over an empty message
    expected = base64.b64encode(hmac.new(b"1599360473\ndemo", b"", hashlib.sha256).digest()).decode()
    assert feishu_sign("demo", 1599360473) == expected
    assert webhook_sign("k", 10, b"{}") == "sha256=" + hmac.new(b"k", b"10.{}", hashlib.sha256).hexdigest()


@pytest.mark.parametrize("kind", ["dingtalk", "feishu", "lark", "wecom", "slack", "webhook"])
def test_each_service_gets_its_format_signed(kind: str) -> None:
    secret = "" if kind in ("wecom", "slack") else "s3cr3t"
    with http_receiver({kind: secret} if secret else {}) as hook:
        post_chat(chat(kind, f"{hook.url}/{kind}/send?access_token=tok", secret), MESSAGE)
    (got,) = hook.acknowledged
    assert hook.bad_signatures == [] and got.headers["x-reportgen-id"] == MESSAGE.id
    body = got.json
    shape = {
        "dingtalk": lambda b: b["msgtype"] == "markdown" and "92.5%" in b["markdown"]["text"],
        "feishu": lambda b: b["msg_type"] == "interactive" and b["card"]["elements"][0]["content"],
        "lark": lambda b: b["msg_type"] == "interactive" and "sign" in b,
        "wecom": lambda b: b["msgtype"] == "markdown" and "92.5%" in b["markdown"]["content"],
        "slack": lambda b: b["blocks"][1]["text"]["type"] == "mrkdwn",
        "webhook": lambda b: b["facts"] == {"share": "92.5%"} and b["id"] == MESSAGE.id,
    }[kind]
    assert shape(body), body
    if kind == "dingtalk":
        assert got.query["access_token"] == ["tok"] and "sign" in got.query


def test_a_robot_refusing_in_its_body_or_with_500_is_a_failure() -> None:
    with http_receiver() as hook:
        hook.answer = {"errcode": 310000, "errmsg": "sign not match"}  # DingTalk's way of saying no
        attempts, error = deliver(
            chat("dingtalk", f"{hook.url}/dingtalk/send?access_token=tok"), "", MESSAGE, (), _fast()
        )
    assert attempts == 3 and error == "c: the service refused it: 310000 sign not match (3 attempts)"
    with http_receiver() as hook:
        hook.status = 500
        attempts, error = deliver(chat("feishu", f"{hook.url}/feishu/x"), "", MESSAGE, (), _fast())
    assert attempts == 3 and error == "c: HTTP 500 (3 attempts)"


def _fast(sleeps: list[float] | None = None, timeout: float = 5) -> Sending:
    return Sending(
        attempts=3,
        backoff=0.5,
        timeout=timeout,
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
    )


def test_no_answer_is_retried_with_backoff_and_reported_in_one_line() -> None:
    sleeps: list[float] = []
    with http_receiver() as hook:
        hook.delay = 1.0
        url = f"{hook.url}/hook/alerts?token=VERY-SECRET-TOKEN"
        attempts, error = deliver(chat("webhook", url, "whsec"), "", MESSAGE, (), _fast(sleeps, timeout=0.2))
        hook.delay = 0
    assert attempts == 3 and sleeps == [0.5, 1.0]
    assert error == "c: no answer within 0.2 s (3 attempts)"
    port = free_port()  # nothing listens: the library's message would hold the URL and its token
    attempts, error = deliver(
        chat("webhook", f"http://127.0.0.1:{port}/x?token=VERY-SECRET-TOKEN"), "", MESSAGE, (), _fast()
    )
    assert "VERY-SECRET-TOKEN" not in error and "cannot reach" in error and "\n" not in error


def _tls(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    """A CA and a server certificate for 127.0.0.1, as a mail server's operator would have."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(1).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "server.pem").write_bytes(cert.public_bytes(pem))
    (tmp_path / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "server.pem", tmp_path / "server.key")
    return context, tmp_path / "ca.pem"


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_email_over_tls_with_auth_and_an_attachment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, security: str
) -> None:
    context, ca = _tls(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # the client trusts the test CA, as it would the real one
    packet = tmp_path / "reportgen-2026-04-packet.zip"
    packet.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 40)
    with smtp_server(password="pw", tls=context, implicit=security == "ssl") as box:
        channel = Channel(
            name="mail", type="email", host="127.0.0.1", port=box.port, security=security, user="rg",
            sender="reports@example.com", password=Secret("pw"),
        )  # fmt: skip
        send_email(channel, ["finance@example.com"], MESSAGE, [packet])
        assert box.tls_used == [security == "starttls"]  # SMTPS: the server speaks nothing but TLS
        box.refuse = True
        attempts, error = deliver(channel, "finance@example.com", MESSAGE, (), _fast())
    ((rcpt, mail),) = box.messages
    assert rcpt == ["finance@example.com"] and mail["X-Reportgen-Id"] == MESSAGE.id
    (part,) = mail.iter_attachments()
    assert hashlib.sha256(part.get_content()).hexdigest() == hashlib.sha256(packet.read_bytes()).hexdigest()
    assert (
        attempts == 3 and error.startswith("mail: ") and error.endswith("(3 attempts)") and "pw" not in error
    )


def test_wrong_smtp_password_fails_without_showing_it(tmp_path: Path) -> None:
    with smtp_server(password="right") as box:
        channel = Channel(
            name="mail", type="email", host="127.0.0.1", port=box.port, security="none", user="rg",
            sender="reports@example.com", password=Secret("wrong-pw-123"),
        )  # fmt: skip
        attempts, error = deliver(channel, "a@example.com", MESSAGE, (), _fast())
    assert box.messages == [] and attempts == 3 and "wrong-pw-123" not in error


HOSTILE = "*bold*](http://evil.example)<@U123>`x`_y_"


@pytest.mark.parametrize(
    ("style", "shown"),
    [
        ("markdown", r"\*bold\*\]\(http://evil\.example\)\<@U123\>\`x\`\_y\_"),
        ("plain", HOSTILE),
    ],
)
def test_names_are_escaped_for_each_channel(style: str, shown: str) -> None:
    assert escape(HOSTILE, style) == shown
    slack = escape(HOSTILE, "slack")
    assert "<" not in slack and ">" not in slack and "&lt;@U123&gt;" in slack
    assert "*bold*" not in slack and "`x`" not in slack


def test_an_alert_prints_a_hostile_key_name_literally_in_zh_and_en() -> None:
    facts = json.dumps({"key": HOSTILE, "last": "1777000000", "days": "9"})
    alert = RaisedAlert(f"idle/idle/{HOSTILE}/1", 1, "idle", "key_idle", 0, None, facts)
    en = alert_message(alert, "raised", "en", dt.UTC, "markdown")  # type: ignore[arg-type]
    zh = alert_message(alert, "resolved", "zh", dt.UTC, "markdown")  # type: ignore[arg-type]
    assert escape(HOSTILE, "markdown") in en.text and "has not been used for 9 days" in en.text
    assert zh.text.startswith("已解除。") and "9 天未使用" in zh.text and "](http" not in zh.text
