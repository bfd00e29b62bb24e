"""The fake gateway's faults: a deterministic plan of what goes wrong, and how each looks on the wire."""

from __future__ import annotations

import contextlib
import random
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

FAULT_KINDS = (
    "429",  # rate limited: empty body, no Retry-After
    "html502",  # CDN error pages
    "html503",
    "html520",
    "500",  # JSON success:false with HTTP 500 (database error)
    "success_false",  # HTTP 200 success:false (a transient database error)
    "truncated",  # Content-Length promises more than is sent, then the socket closes
    "badjson",  # an honest Content-Length around a body cut mid-JSON
    "reset",  # the socket is closed (RST) without a response
    "slow",  # the response comes after Faults.slow_seconds (client read timeouts)
    "down",  # from this request on, every request gets an HTML 503
)
_HTML = (
    "<html><head><title>{code} {reason}</title></head><body><center><h1>{code} {reason}</h1>"
    "</center><hr><center>cloudflare</center></body></html>"
)
_CODES = {"429": 429, "html502": 502, "html503": 503, "html520": 520, "500": 500, "down": 503}
_REASONS = {502: "Bad Gateway", 503: "Service Unavailable", 520: "Unknown Error"}


@dataclass
class Faults:
    """A deterministic fault plan, keyed by request index (0-based, as in ``gw.requests``).

    ``schedule`` maps an index to a kind from :data:`FAULT_KINDS`; ``every=N`` also
    faults every Nth request with a kind drawn (seeded) from ``kinds``; ``down`` makes
    every request fail that way from the start.
    """

    schedule: dict[int, str] = field(default_factory=dict)
    every: int | None = None
    kinds: tuple[str, ...] = ("429", "html502", "truncated", "reset")
    seed: int = 0
    down: str | None = None
    slow_seconds: float = 2.0

    def __post_init__(self) -> None:
        for kind in (*self.schedule.values(), *self.kinds, *([self.down] if self.down else [])):
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r} (known: {', '.join(FAULT_KINDS)})")

    def kind_for(self, index: int) -> str | None:
        if self.down:
            return self.down
        if index in self.schedule:
            return self.schedule[index]
        if self.every and (index + 1) % self.every == 0 and self.kinds:
            return random.Random(self.seed * 1_000_003 + index).choice(self.kinds)
        return None


@dataclass(frozen=True)
class RequestRecord:
    """One request the fake received: path, query (last value per name), status, fault."""

    index: int
    path: str
    query: dict[str, str]
    status: int
    fault: str | None = None


def status_of(kind: str) -> int:
    """The HTTP status a fault answers with (0: none, the socket is reset)."""
    return _CODES.get(kind, 200 if kind != "reset" else 0)


def send_fault(
    h: BaseHTTPRequestHandler,
    kind: str,
    send: Callable[[int, bytes, str | None], None],
    body: Callable[[], bytes],
    envelope: Callable[[bool, str], bytes],
) -> None:
    """Answer ``h`` with fault ``kind``; ``body()`` is the response a cut one starts as."""
    code = status_of(kind)
    if kind == "429":
        send(429, b"", None)
    elif kind.startswith("html") or kind == "down":
        send(code, _HTML.format(code=code, reason=_REASONS[code]).encode(), "text/html; charset=UTF-8")
    elif kind == "500":
        send(
            500,
            envelope(False, "database error: connection pool exhausted"),
            "application/json; charset=utf-8",
        )
    elif kind == "success_false":
        send(
            200,
            envelope(False, "数据库错误，请稍后重试 (database is locked)"),
            "application/json; charset=utf-8",
        )
    elif kind in ("truncated", "badjson"):
        whole = body()
        cut = whole[: max(1, len(whole) // 2)]
        if kind == "badjson":
            send(200, cut, "application/json; charset=utf-8")
            return
        h.send_response(200)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(whole)))
        h.end_headers()
        h.wfile.write(cut)
        h.wfile.flush()
        h.close_connection = True
        with contextlib.suppress(OSError):
            h.connection.shutdown(socket.SHUT_WR)
    elif kind == "reset":
        h.close_connection = True
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.connection.close()
