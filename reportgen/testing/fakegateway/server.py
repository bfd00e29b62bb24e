"""A local gateway that speaks the management API of every registered flavour (gateway-api.md).

It serves canonical rows (new-api shape, ``other`` as a dict) the way a flavour renders
them (:mod:`.profiles`), with the flavour's paging, auth rules, a sliding-window rate
limit and a deterministic plan of faults (:mod:`.faults`).  Used by the tests, the
benchmarks and ``reportgen demo``.
"""

from __future__ import annotations

import bisect
import contextlib
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .faults import Faults, RequestRecord, send_fault, status_of
from .profiles import COMPACT, Profile, profile_for
from .wallet import balance_at, topup_page, user_self


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, gateway: FakeGateway) -> None:
        self.gateway = gateway
        self.open_sockets: set[socket.socket] = set()
        self.workers: set[threading.Thread] = set()
        self.track = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self.track:
            self.open_sockets.add(request)
            self.workers.add(threading.current_thread())
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.track:
                self.open_sockets.discard(request)
                self.workers.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up mid-response are part of the game; bugs answer 500 instead


#: Seconds an idle keep-alive connection is held open by the fake gateway.
IDLE_TIMEOUT = 30


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real gateway
    timeout = IDLE_TIMEOUT
    wbufsize = 1 << 16  # headers and body leave in one segment (no Nagle/delayed-ACK stall)
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.server.gateway._handle(self)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def send(self, code: int, body: bytes, ctype: str | None = "application/json; charset=utf-8") -> None:
        self.send_response(code)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class FakeGateway:
    """A threaded HTTP gateway on ``127.0.0.1:<free port>``; use it as a context manager."""

    def __init__(
        self,
        rows: Iterable[dict[str, Any]] = (),
        tokens: Iterable[dict[str, Any]] = (),
        flavor: str | Profile | None = None,
        access_token: str = "t0k3n",
        user_id: int = 42,
        username: str = "acme",
        status: dict[str, Any] | None = None,
        rate_limit: tuple[int, float] | None = (180, 180),
        faults: Faults | None = None,
        quota_per_unit: float = 500000,
        wallet: tuple[int, Iterable[tuple[int, int]]] | None = None,
        topups: Iterable[dict[str, Any]] = (),
    ) -> None:
        #: How this gateway speaks: a profile's name (``new-api``, ``new-api-legacy``, ...),
        #: a registered flavour's name, or a :class:`~.profiles.Profile`; None: new-api.
        self.profile = profile_for(flavor)
        self.flavor = self.profile.name
        self.paging = self.profile.pages()
        self.access_token = access_token
        self.user_id = user_id
        self.username = username
        self.quota_per_unit = float((status or {}).get("quota_per_unit") or quota_per_unit)
        self.status = {**self.profile.status_for(self.quota_per_unit), **(status or {})}
        self.rate_limit = rate_limit
        self.faults = faults or Faults()
        self.tokens = [dict(t) for t in tokens]
        self.requests: list[RequestRecord] = []
        self.too_many = 0  # 429s issued by the rate limiter (not by the fault plan)
        self.faults_injected = 0
        self.user_token_calls = 0
        self.errors: list[str] = []  # bugs in the fake itself, answered with HTTP 500
        # Test hooks for reconciliation: /stat adds stat_adjust[token_name] to that key's sum (and
        # to the unfiltered total, which covers every key); stat_zero mimics the release whose
        # /stat returned 0 for everything.
        self.stat_adjust: dict[str, int] = {}
        self.stat_zero = False
        # The wallet: (balance before any row, [(created_at, quota credited)] of top-ups,
        # redemptions and adjustments). /api/user/self reports the balance after every row
        # logged before ``clock()``; without a wallet it reports a fixed 50,000,000.
        self.wallet = (
            None if wallet is None else (int(wallet[0]), sorted((int(a), int(q)) for a, q in wallet[1]))
        )
        self.topups = [dict(t) for t in topups]  # the caller's own top-up records (new-api)
        self.clock: Any = time.time
        self.accounts: dict[str, FakeGateway] = {}  # further users of this gateway, by access token
        self._lock = threading.RLock()
        self._closing = threading.Event()
        self._down: str | None = None
        self._stamps: deque[float] = deque()
        self._seq = 0
        self._arrivals = 0
        self._keys: list[tuple[int, int]] = []  # (created_at, seq), ascending
        self._rows: list[dict[str, Any]] = []  # parallel to _keys
        self._fragments: dict[int, str] = {}  # seq -> rendered row JSON without its id
        self._version = 0
        self._filtered: dict[tuple[Any, ...], list[int]] = {}
        self._load(rows, bulk=True)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeGateway:
        if self._server is None:
            self._server = _Server(self)
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, drop open connections and wait for the worker threads."""
        server, self._server = self._server, None
        if server is None:
            return
        self._closing.set()
        server.shutdown()
        server.server_close()
        with server.track:
            sockets, workers = list(server.open_sockets), list(server.workers)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for worker in workers:
            worker.join(timeout=2)
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> FakeGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake gateway is not running (use it as a context manager)")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # ------------------------------------------------------------------ live data
    def insert_rows(self, rows: Iterable[dict[str, Any]]) -> None:
        """Add rows as if just written: ties in created_at list the newest insert first."""
        self._load(rows, bulk=False)

    def delete_rows_before(self, ts: int) -> int:
        """Retention: drop rows with ``created_at < ts``; returns how many went."""
        with self._lock:
            cut = bisect.bisect_left(self._keys, (ts, -1))
            for _, seq in self._keys[:cut]:
                self._fragments.pop(seq, None)
            del self._keys[:cut]
            del self._rows[:cut]
            self._version += 1
            self._filtered.clear()
            return cut

    def add_account(
        self,
        access_token: str,
        user_id: int,
        username: str,
        rows: Iterable[dict[str, Any]] = (),
        tokens: Iterable[dict[str, Any]] = (),
        wallet: tuple[int, Iterable[tuple[int, int]]] | None = None,
    ) -> FakeGateway:
        """Another user of this same gateway (same URL, flavour and rate limit), with its own
        access token, rows, keys and wallet; returns it (its data can be changed like this one's)."""
        other = FakeGateway(
            rows, tokens, self.profile, access_token, user_id, username, self.status, None,
            quota_per_unit=self.quota_per_unit, wallet=wallet,
        )  # fmt: skip
        other.clock = lambda: self.clock()
        with self._lock:
            self.accounts[access_token] = other
        return other

    def rename_user(self, new: str) -> None:
        """Rename the user: rows logged under the old name drop out of ``/stat``."""
        with self._lock:
            self.username = new

    def row_count(self) -> int:
        with self._lock:
            return len(self._rows)

    def _load(self, rows: Iterable[dict[str, Any]], bulk: bool) -> None:
        with self._lock:
            added = []
            for row in rows:
                row = dict(row)
                row.setdefault("username", self.username)
                row.setdefault("user_id", self.user_id)
                added.append(((int(row.get("created_at") or 0), self._seq), row))
                self._seq += 1
            if bulk and not self._rows:
                added.sort(key=lambda pair: pair[0])
                self._keys = [key for key, _ in added]
                self._rows = [row for _, row in added]
            else:
                for key, row in added:
                    at = bisect.bisect_right(self._keys, key)
                    self._keys.insert(at, key)
                    self._rows.insert(at, row)
            self._version += 1
            self._filtered.clear()

    # ------------------------------------------------------------------ dispatch
    def _handle(self, h: _Handler) -> None:
        split = urlsplit(h.path)
        path = split.path
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        with self._lock:
            index = self._arrivals
            self._arrivals += 1
            fault = self._down or self.faults.kind_for(index)
            if fault == "down":
                self._down = fault
            if fault is None and self.rate_limit and path.startswith("/api"):
                limit, window = self.rate_limit
                now = time.monotonic()
                while self._stamps and self._stamps[0] <= now - window:
                    self._stamps.popleft()
                if len(self._stamps) >= limit:
                    self.too_many += 1
                    self.requests.append(RequestRecord(index, path, query, 429))
                    h.send(429, b"", None)
                    return
                self._stamps.append(now)
            if fault is not None:
                self.faults_injected += 1
        if fault is not None and fault != "slow":
            self._fault(h, index, path, query, fault)
            return
        if fault == "slow" and self._closing.wait(self.faults.slow_seconds):
            return
        try:
            with self._lock:
                code, body = self._route(h, path, query)
        except Exception as exc:  # a bug in the fake: answer it visibly rather than hang
            self.errors.append(f"{type(exc).__name__}: {exc}")
            code, body = 500, _envelope(False, f"fake gateway bug: {exc!r}")
        with self._lock:
            self.requests.append(RequestRecord(index, path, query, code, fault))
        h.send(code, body)

    def _fault(self, h: _Handler, index: int, path: str, query: dict[str, str], kind: str) -> None:
        with self._lock:
            self.requests.append(RequestRecord(index, path, query, status_of(kind), kind))

        def body() -> bytes:
            with self._lock:
                return self._route(h, path, query)[1]

        send_fault(h, kind, h.send, body, _envelope)

    def _route(self, h: _Handler, path: str, q: dict[str, str]) -> tuple[int, bytes]:
        if path == "/api/status":
            return 200, _envelope(True, "", self.status)
        if not path.startswith("/api/"):
            return 404, b'{"error":"not found"}'
        auth = h.headers.get("Authorization") or ""
        other = self.accounts.get(auth[7:] if auth.startswith("Bearer ") else auth)
        if other is not None:
            with other._lock:
                return other._route(h, path, q)
        denied = self._authenticate(h)
        if denied is not None:
            return denied
        if path == "/api/log/self":
            return 200, self._logs(q)
        if path == "/api/log/self/stat":
            return 200, _envelope(True, "", self._stat(q))
        if path in ("/api/token/", "/api/token"):
            return 200, self._tokens(q)
        if path == "/api/user/self":
            data = user_self(self._rows, self.user_id, self.username, self.balance_at(int(self.clock())))
            return 200, _envelope(True, "", data)
        if path == self.profile.topups:
            return 200, _envelope(
                True, "", topup_page(self.topups, _qint(q, "p", 1), _qint(q, "page_size", 10))
            )
        if path == "/api/user/token":
            # Regenerates the access token in the real gateways: the client must never call it.
            self.user_token_calls += 1
            self.access_token = f"regenerated-{self.user_token_calls}"
            return 200, _envelope(True, "", self.access_token)
        return 404, _envelope(False, "not found")

    def _authenticate(self, h: _Handler) -> tuple[int, bytes] | None:
        auth = h.headers.get("Authorization")
        if not auth:
            return 401, _envelope(False, "无权进行此操作，未登录且未提供 access token")
        token = auth[7:] if auth.startswith("Bearer ") else auth
        if token != self.access_token:
            return 200, _envelope(False, "无权进行此操作，access token 无效")
        if not self.profile.user_header:
            return None  # one-api knows the user from the token alone
        uid = h.headers.get("New-Api-User")
        if not uid:
            return 401, _envelope(False, "无权进行此操作，未提供 New-Api-User")
        if not uid.strip().isdigit():
            return 401, _envelope(False, "无权进行此操作，New-Api-User 格式错误")
        if int(uid) != self.user_id:
            return 401, _envelope(False, "无权进行此操作，New-Api-User 与登录用户不匹配")
        return None

    # ------------------------------------------------------------------ endpoints
    def _paging(self, q: dict[str, str]) -> tuple[int, int, int]:
        """(page number to report, page size honoured, offset) per the flavour's rules."""
        paging = self.paging
        p = max(_qint(q, "p", 0), paging.first)
        asked = _qint(q, "page_size", 0)  # fixed: ignored; else capped, and 10 when absent
        ps = paging.size if paging.fixed else min(asked if asked > 0 else 10, paging.size)
        return p, ps, (p - paging.first) * ps

    def _window(self, q: dict[str, str]) -> tuple[int, int]:
        start = _qint(q, "start_timestamp", 0)
        end = _qint(q, "end_timestamp", 0)
        lo = bisect.bisect_left(self._keys, (start, -1)) if start > 0 else 0
        hi = bisect.bisect_right(self._keys, (end, 1 << 62)) if end > 0 else len(self._keys)
        return lo, max(lo, hi)

    def _matching(self, q: dict[str, str], *, type_filter: bool = True) -> list[int] | range:
        """Ascending positions of the rows the query selects."""
        lo, hi = self._window(q)
        log_type = _qint(q, "type", 0) if type_filter else 0
        token = q.get("token_name", "")
        model = q.get("model_name", "")
        group = q.get("group", "")
        rid = q.get("request_id", "")
        if not (log_type or token or model or group or rid):
            return range(lo, hi)
        key = (self._version, lo, hi, log_type, token, model, group, rid)
        cached = self._filtered.get(key)
        if cached is not None:
            return cached
        model_re = _like(model) if "%" in model else None
        out = []
        rows = self._rows
        for i in range(lo, hi):
            row = rows[i]
            if log_type and row.get("type") != log_type:
                continue
            if token and row.get("token_name") != token:
                continue
            if model and (
                not model_re.fullmatch(str(row.get("model_name", "")))
                if model_re
                else row.get("model_name") != model
            ):
                continue
            if group and row.get("group") != group:
                continue
            if rid and row.get("request_id") != rid:
                continue
            out.append(i)
        if len(self._filtered) > 64:
            self._filtered.clear()
        self._filtered[key] = out
        return out

    def _logs(self, q: dict[str, str]) -> bytes:
        page, size, offset = self._paging(q)
        positions = self._matching(q)
        total = len(positions)
        items = []
        for k in range(offset, min(offset + size, total)):
            i = positions[total - 1 - k]  # newest first
            seq = self._keys[i][1]
            fragment = self._fragments.get(seq)
            if fragment is None:
                fragment = self._fragments[seq] = COMPACT(self._render(self._rows[i], seq))
            row_id = self.profile.row_id(seq, k)
            items.append(f'{{"id":{row_id},{fragment[1:]}' if len(fragment) > 2 else f'{{"id":{row_id}}}')
        joined = ",".join(items)
        if self.paging.wrapped:
            data = f'{{"page":{page},"page_size":{size},"total":{total},"items":[{joined}]}}'
        else:
            data = f"[{joined}]"
        return f'{{"success":true,"message":"","data":{data}}}'.encode()

    def _render(self, row: dict[str, Any], seq: int) -> dict[str, Any]:
        out = {k: v for k, v in row.items() if k not in ("id", "cost_usd")}
        return self.profile.render(out, seq, self.quota_per_unit)

    def _stat(self, q: dict[str, str]) -> dict[str, int]:
        quota = 0
        for i in self._matching(q, type_filter=False):
            row = self._rows[i]
            if row.get("type") == 2 and row.get("username") == self.username:
                quota += int(row.get("quota") or 0)
        token = q.get("token_name", "")
        quota += sum(n for name, n in self.stat_adjust.items() if not token or name == token)
        return {"quota": 0 if self.stat_zero else quota, "rpm": 0, "tpm": 0}

    def _tokens(self, q: dict[str, str]) -> bytes:
        page, size, offset = self._paging(q)
        ordered = sorted(self.tokens, key=lambda t: -int(t.get("id") or 0))
        items = ordered[offset : offset + size]
        if self.paging.wrapped:
            data: Any = {"page": page, "page_size": size, "total": len(ordered), "items": items}
        else:
            data = items
        return _envelope(True, "", data)

    def balance_at(self, ts: int) -> int:
        """The wallet balance after every row logged before ``ts`` (what /api/user/self says then)."""
        return balance_at(self._rows, self.wallet, ts)


def _envelope(success: bool, message: str, data: Any = None) -> bytes:
    body: dict[str, Any] = {"success": success, "message": message}
    if success:
        body["data"] = data
    return COMPACT(body).encode()


def _qint(q: dict[str, str], name: str, default: int) -> int:
    try:
        return int(q.get(name, default))
    except ValueError:
        return 0  # Go's strconv.Atoi error leaves 0


def _like(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("%")), re.DOTALL)
