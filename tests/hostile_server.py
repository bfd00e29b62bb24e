"""A loopback gateway that misbehaves on purpose: one mode per hostile case of issue 12.

It speaks new-api (1-based ``p``, ``data.total``) honestly for every window that starts
before ``hostile_from`` and for the endpoints a mode does not touch, so a sync can commit
good windows first and then meet the misbehaviour in a later one.  Every request is
recorded with its headers, so a test can prove what was (not) sent where.
"""

from __future__ import annotations

import gzip
import json
import socket
import struct
import threading
import time
import zlib
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "hostile-test-token-6f1c2d3e4a5b"
USER_ID = 42
ROWS_PER_WINDOW = 150  # two pages of 100: a full page, then a short one
ROW_QUOTA = 1000
PAGE = 100
#: A key name of 10 MB (mode ``long_name``).
LONG_NAME = "k" * (10 << 20)

#: The hostile modes, each a case of issue 12 (``good`` is an honest new-api gateway).
MODES = (
    "good",
    "cross_origin_redirect",  # 302 to another origin (a second loopback server)
    "host_redirect",  # 302 to the same port under another host name (localhost vs 127.0.0.1)
    "same_origin_redirect",  # 302 to another path on the same origin: followed
    "endless",  # full pages forever with changing ids, no data.total (bare list)
    "endless_total",  # full pages forever while data.total says 150
    "endless_total0",  # full pages forever with data.total 0 (a known bug of some releases)
    "ignore_p",  # every p answers page 1
    "gzip_bomb",  # 509 KB of gzip inflating to 500 MB
    "empty_objects",  # gzip inflating to just under 32 MiB of a page of items [{},{},…]
    "oversize",  # an honest but 20 MB identity body
    "drip",  # headers, then the body one byte every drip_seconds
    "drip_headers",  # the status line and headers one byte every drip_seconds
    "huge_quota",  # quota = 10**30
    "int64_quota",  # two rows of quota 2^63-1
    "negative",  # a consumption row with quota -4000
    "fractional",  # quota 12.5
    "sum_overflow",  # every row within range, their sum past 2^48
    "deep_json",  # the page nested 100,000 levels deep
    "duplicates",  # page 2 repeats 50 of page 1's rows (same id, request_id, created_at)
    "html200",  # a captive portal: HTML with HTTP 200
    "text200",  # plain text with HTTP 200
    "401",
    "403",
    "status_rate_1e300",  # /api/status usd_exchange_rate 1e300
    "status_rate_nan",  # /api/status usd_exchange_rate NaN (a bare NaN literal)
    "status_qpu_1e300",  # /api/status quota_per_unit 1e300
    "iso_time",  # every row's created_at an ISO 8601 string
    "bad_times",  # three rows of the window dated -1, "yesterday" and a month later
    "repeat_no_rid",  # no request ids; page 2 repeats 50 of page 1's rows, ids and all
    "shifted",  # no request ids; a row is written at the top of the list between page 1 and 2
    "twins",  # no request ids; rows 4 and 5 alike in everything but their place (two requests)
    "long_name",  # one row's token_name 10 MB long
    "huge_credit",  # a redemption row whose text names ＄10^23
    "long_credit",  # a redemption row whose text is 100,000 digits
    "endless_tokens",  # /api/token/ full pages forever
    "key_quota_1e30",  # a key's used_quota = 10**30
)
_LOG_MODES = set(MODES) - {"good", "status_rate_1e300", "status_rate_nan", "status_qpu_1e300"}
_LOG_MODES -= {"endless_tokens", "key_quota_1e30"}


@dataclass(frozen=True)
class Seen:
    """One request the server received."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]


@cache
def gzip_bomb(mib: int = 500) -> bytes:
    """A single-member gzip body of ``mib`` MiB of zeros, ~1 KB per MiB (built in ~0.3 s).

    After a full flush the compressor starts afresh, so every MiB compresses to the same
    bytes: compress one and repeat it, then add the real CRC and length.
    """
    zeros = bytes(1 << 20)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)
    tail = comp.flush()
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + segment * mib + tail + struct.pack("<II", crc, (mib << 20) & 0xFFFFFFFF)


@cache
def empty_objects(mib: int = 32) -> bytes:
    """A gzip page just under ``mib`` MiB inflated: ``data.items`` is ``[{},{},…]`` (~11 million)."""
    head = b'{"success":true,"message":"","data":{"page":1,"page_size":100,"total":0,"items":['
    tail = b"{}]}}"
    n = ((mib << 20) - len(head) - len(tail) - 1024) // 3
    return gzip.compress(head + b"{}," * n + tail, 6, mtime=0)


def window_rows(start: int, end: int, n: int = ROWS_PER_WINDOW) -> list[dict[str, Any]]:
    """``n`` honest consumption rows inside ``[start, end]``, newest first, ROW_QUOTA each."""
    span = max(1, end - start)
    rows = []
    for i in range(n):
        created = end - (i * span) // n
        rows.append(
            {
                "id": 0,  # the position, set when a page is rendered
                "user_id": USER_ID,
                "created_at": created,
                "type": 2,
                "content": "",
                "username": "acme",
                "token_name": "key-a" if i % 2 else "key-b",
                "token_id": 18 + i % 2,
                "model_name": "gpt-5-mini",
                "quota": ROW_QUOTA,
                "prompt_tokens": 300,
                "completion_tokens": 31,
                "use_time": 3,
                "is_stream": True,
                "channel": 7,
                "group": "default",
                "ip": "",
                "request_id": f"req-{start}-{i:04d}",
                "other": '{"model_ratio":0.125,"group_ratio":1,"completion_ratio":8}',
            }
        )
    return rows


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, gateway: HostileGateway) -> None:
        self.gateway = gateway
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without NODELAY, Nagle and delayed ACKs
        # add 40 ms to every request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        try:
            self.server.gateway._handle(self)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up on us: expected in hostile modes

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def reply(
        self,
        code: int,
        body: bytes,
        ctype: str = "application/json; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class HostileGateway:
    """The server; ``mode`` may be changed between requests (see the module doc)."""

    def __init__(
        self,
        mode: str = "good",
        *,
        hostile_from: int = 0,
        redirect_to: str | None = None,
        drip_seconds: float = 0.2,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.mode = mode
        self.hostile_from = hostile_from
        self.redirect_to = redirect_to
        self.drip_seconds = drip_seconds
        self.requests: list[Seen] = []
        #: What /api/status says besides its defaults (a test changes it between syncs).
        self.status: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> HostileGateway:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    # ------------------------------------------------------------------ routing
    def _handle(self, h: _Handler) -> None:
        parts = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append(Seen(parts.path, query, {k.lower(): v for k, v in h.headers.items()}))
        path = parts.path.rstrip("/") or "/"
        if path == "/api/status":
            return self._status(h)
        if path == "/api/log/self2":  # the same-origin redirect's target
            return self._logs(h, query, "good")
        if h.headers.get("Authorization") != f"Bearer {TOKEN}" or h.headers.get("New-Api-User") != str(
            USER_ID
        ):
            return h.reply(401, _envelope(False, "unauthorized"))
        if path == "/api/token":
            return self._tokens(h, query)
        if path == "/api/log/self":
            start = int(query.get("start_timestamp", "0"))
            mode = self.mode if self.mode in _LOG_MODES and start >= self.hostile_from else "good"
            return self._logs(h, query, mode)
        if path == "/api/user/self":
            return h.reply(200, _envelope(True, "", {"id": USER_ID, "username": "acme", "quota": 1}))
        return h.reply(404, _envelope(False, "not found"))

    def _status(self, h: _Handler) -> None:
        data: dict[str, Any] = {
            "version": "v0.9.6",
            "system_name": "New API",
            "quota_per_unit": 500000,
            "quota_display_type": "USD",
            "usd_exchange_rate": 7.3,
        }
        if self.mode == "status_rate_1e300":
            data["usd_exchange_rate"] = 1e300
        elif self.mode == "status_qpu_1e300":
            data["quota_per_unit"] = 1e300
        elif self.mode == "status_rate_nan":
            data["usd_exchange_rate"] = float("nan")  # json.dumps writes a bare NaN
        h.reply(200, _envelope(True, "", {**data, **self.status}))

    def _tokens(self, h: _Handler, q: dict[str, str]) -> None:
        p = max(1, int(q.get("p", "1")))
        keys = [
            {"id": 18, "name": "key-b", "status": 1, "used_quota": 5000, "remain_quota": 100},
            {"id": 19, "name": "key-a", "status": 1, "used_quota": 7000, "remain_quota": -20},
        ]
        if self.mode == "key_quota_1e30":
            keys[0]["used_quota"] = 10**30
        if self.mode == "endless_tokens":
            keys = [{"id": p * 1000 + i, "name": f"key-{p}-{i}", "status": 1} for i in range(PAGE)]
            return h.reply(200, _envelope(True, "", {"page": p, "page_size": PAGE, "items": keys}))
        items = keys if p == 1 else []
        h.reply(200, _envelope(True, "", {"page": p, "page_size": PAGE, "total": 2, "items": items}))

    def _logs(self, h: _Handler, q: dict[str, str], mode: str) -> None:
        start, end = int(q.get("start_timestamp", "0")), int(q.get("end_timestamp", "0"))
        p = max(1, int(q.get("p", "1")))  # new-api: 1-based, p=0 is page 1
        if mode in ("cross_origin_redirect", "host_redirect", "same_origin_redirect"):
            if mode == "cross_origin_redirect":
                target = f"{self.redirect_to}{h.path}"
            elif mode == "host_redirect":
                target = f"http://localhost:{self.port}{h.path}"
            else:
                target = h.path.replace("/api/log/self", "/api/log/self2", 1)
            return h.reply(302, b"", "text/plain", {"Location": target})
        if mode in ("html200", "text200"):
            page = b"<html><body><h1>Sign in to the hotel Wi-Fi</h1></body></html>"
            return h.reply(200, page, "text/html" if mode == "html200" else "text/plain")
        if mode == "401":
            return h.reply(401, _envelope(False, "invalid token"))
        if mode == "403":
            return h.reply(403, b"<html>Access denied by the firewall</html>", "text/html")
        if mode == "gzip_bomb":
            return h.reply(200, gzip_bomb(), headers={"Content-Encoding": "gzip", "Connection": "close"})
        if mode == "empty_objects":
            return h.reply(200, empty_objects(), headers={"Content-Encoding": "gzip"})
        if mode == "oversize":
            filler = b'{"success":true,"message":"' + b"x" * (20 << 20) + b'","data":[]}'
            return h.reply(200, filler, headers={"Connection": "close"})
        if mode == "deep_json":
            depth = 100_000
            return h.reply(200, b'{"success":true,"data":{"items":' + b"[" * depth + b"]" * depth + b"}}")
        if mode in ("drip", "drip_headers"):
            return self._drip(h, mode)
        if mode == "endless":  # old new-api shape: a bare list, 0-based p, no total
            p0 = int(q.get("p", "0"))
            items = _render(window_rows(start, end, PAGE), p0 * PAGE, f"p{p0}")
            return h.reply(200, _envelope(True, "", items))
        if mode == "endless_total0":
            items = _render(window_rows(start, end, PAGE), (p - 1) * PAGE, f"p{p}")
            return h.reply(
                200, _envelope(True, "", {"page": p, "page_size": PAGE, "total": 0, "items": items})
            )
        rows = window_rows(start, end)
        if mode in ("repeat_no_rid", "shifted", "twins"):
            for row in rows:
                del row["request_id"]
        if mode == "iso_time":
            for row in rows:
                row["created_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(row["created_at"]))
        elif mode == "bad_times":
            rows[3]["created_at"], rows[60]["created_at"] = -1, "yesterday"
            rows[120]["created_at"] = end + 30 * 86400
        elif mode == "twins":
            rows[5] = {**rows[4]}
        elif mode == "long_name":
            rows[3]["token_name"] = LONG_NAME
        elif mode in ("huge_credit", "long_credit"):
            amount = "1" + "0" * 23 + ".000000" if mode == "huge_credit" else "1" * 100_000
            rows[3] |= {"type": 1, "quota": 0, "token_name": "", "content": f"通过兑换码充值 ＄{amount} 额度"}
        elif mode == "huge_quota":
            rows[3]["quota"] = 10**30
        elif mode == "int64_quota":
            rows[3]["quota"] = rows[4]["quota"] = 2**63 - 1
        elif mode == "negative":
            rows[3]["quota"] = -4000
        elif mode == "fractional":
            rows[3]["quota"] = 12.5
        elif mode == "sum_overflow":
            for row in rows:
                row["quota"] = 2**48 - 1
        total = len(rows)
        if mode == "endless_total":
            items = _render(window_rows(start, end, PAGE), (p - 1) * PAGE, f"p{p}")
        elif mode == "ignore_p":
            items = _render(rows[:PAGE], 0)
        elif mode in ("duplicates", "repeat_no_rid") and p == 2:
            items = _render(rows[:50], 0)  # page 1's first 50 rows again, ids and all
            total = PAGE + 50
        elif mode == "shifted" and p >= 2:  # the list grew by one row at the top since page 1
            late = {**rows[0], "created_at": end, "quota": 7, "model_name": "late-row"}
            grown = [late, *rows]
            items = _render(grown[(p - 1) * PAGE : p * PAGE], (p - 1) * PAGE)
            total += 1
        else:
            items = _render(rows[(p - 1) * PAGE : p * PAGE], (p - 1) * PAGE)
        data = {"page": p, "page_size": PAGE, "total": total, "items": items}
        h.reply(200, _envelope(True, "", data))

    def _drip(self, h: _Handler, mode: str) -> None:
        body = _envelope(True, "", {"page": 1, "page_size": PAGE, "total": 0, "items": []})
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        h.close_connection = True
        if mode == "drip":
            h.wfile.write(head)
            h.wfile.flush()
            head = b""
        for i in range(len(head + body)):
            h.wfile.write((head + body)[i : i + 1])
            h.wfile.flush()
            time.sleep(self.drip_seconds)


def _render(rows: list[dict[str, Any]], offset: int, tag: str = "") -> list[dict[str, Any]]:
    """Rows as a page shows them: ``id`` is the position (new-api); ``tag`` varies request ids."""
    out = []
    for i, row in enumerate(rows):
        item = {**row, "id": offset + i + 1}
        if tag:
            item["request_id"] = f"{row['request_id']}-{tag}"
        out.append(item)
    return out


def _envelope(success: bool, message: str, data: Any = None) -> bytes:
    return json.dumps({"success": success, "message": message, "data": data}).encode()
