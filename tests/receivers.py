"""Real receivers on loopback for the alert tests: an SMTP server (aiosmtpd) and an HTTP receiver
that checks each chat service's signature by the algorithm its docs give."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

aiosmtpd = pytest.importorskip("aiosmtpd.controller")
from aiosmtpd.smtp import AuthResult  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    """What the SMTP server received; ``refuse`` makes it answer 554 to every message."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    refuse: bool = False
    port: int = 0
    tls_used: list[bool] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        if self.refuse:
            return "554 Transaction failed: refused by the test"
        self.tls_used.append(session.ssl is not None)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 OK"

    def attachments(self) -> list[tuple[str, bytes]]:
        out = []
        for _, message in self.messages:
            for part in message.iter_attachments():
                out.append((str(part.get_filename()), part.get_content()))
        return out


@contextmanager
def smtp_server(
    user: str = "rg", password: str = "s3cret-pw", tls: ssl.SSLContext | None = None, implicit: bool = False
) -> Iterator[Mailbox]:
    """aiosmtpd on loopback, requiring AUTH (without TLS too: it is loopback); with ``tls``, it
    requires STARTTLS before anything else, or (``implicit``) speaks TLS from the start (SMTPS)."""

    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = (
            getattr(data, "login", None) == user.encode()
            and getattr(data, "password", None) == password.encode()
        )
        return AuthResult(success=ok)

    box = Mailbox(port=free_port())
    controller = aiosmtpd.Controller(
        box,
        hostname="127.0.0.1",
        port=box.port,
        authenticator=check,
        auth_require_tls=tls is not None and not implicit,  # aiosmtpd counts only STARTTLS as TLS
        **({"ssl_context": tls} if implicit else {"tls_context": tls, "require_starttls": tls is not None}),
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@dataclass
class Received:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Hook:
    """An HTTP receiver: records each request; ``status`` answers with it; ``stall`` (a message id)
    holds that request unanswered until ``release`` is set, then drops it (the sender died)."""

    secrets: dict[str, str]
    received: list[Received] = field(default_factory=list)
    acknowledged: list[Received] = field(default_factory=list)
    bad_signatures: list[str] = field(default_factory=list)
    status: int = 200
    answer: dict[str, Any] | None = None  # the body of a 200 (default: the robots' {"errcode": 0})
    delay: float = 0.0
    stall: str | None = None
    stalled: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def check(self, got: Received) -> None:
        kind = got.path.strip("/").split("/")[0]
        secret = self.secrets.get(kind)
        if not secret:
            return
        if kind == "dingtalk":  # DingTalk's documented check: HmacSHA256(secret, ts + "\n" + secret)
            ts = got.query["timestamp"][0]
            expected = base64.b64encode(
                hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
            ).decode()
            ok = unquote(got.query["sign"][0]) == expected and abs(int(ts) / 1000 - time.time()) < 3600
        elif kind in ("feishu", "lark"):  # Feishu's: HmacSHA256(key=ts + "\n" + secret) of nothing
            body = got.json
            string_to_sign = f"{body['timestamp']}\n{secret}"
            hmac_code = hmac.new(string_to_sign.encode("utf-8"), digestmod=hashlib.sha256).digest()
            ok = body["sign"] == base64.b64encode(hmac_code).decode("utf-8")
        else:  # the plain webhook: hex HMAC-SHA256(secret, ts + "." + body)
            ts = got.headers["x-reportgen-timestamp"]
            mac = hmac.new(secret.encode(), ts.encode() + b"." + got.body, hashlib.sha256).hexdigest()
            ok = got.headers["x-reportgen-signature"] == f"sha256={mac}"
        if not ok:
            self.bad_signatures.append(got.path)

    def ids(self) -> list[str]:
        return [r.headers["x-reportgen-id"] for r in self.acknowledged]


@contextmanager
def http_receiver(secrets: dict[str, str] | None = None) -> Iterator[Hook]:
    hook = Hook(secrets or {})

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            got = Received(
                parts.path, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()}, body
            )
            hook.received.append(got)
            hook.check(got)
            if hook.stall is not None and got.headers.get("x-reportgen-id") == hook.stall:
                hook.stall = None
                hook.stalled.set()
                hook.release.wait(30)
                self.close_connection = True
                return  # never answered: the sender was killed waiting
            if hook.delay:
                time.sleep(hook.delay)
            ok = hook.answer or {"errcode": 0, "code": 0}
            answer = json.dumps(ok if hook.status == 200 else {"error": "boom"}).encode()
            self.send_response(hook.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            if hook.status == 200 and hook.answer is None:
                hook.acknowledged.append(got)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    hook.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        hook.release.set()
        server.shutdown()
        server.server_close()
