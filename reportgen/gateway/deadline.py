"""An overall deadline for an HTTP exchange, however slowly the server sends.

Per-read timeouts let a server dripping a byte every few seconds hold a request forever.
A :class:`Watch` names the exchange in flight (thread-locally); the session's connection
pools report to it every socket they connect or reuse, and one shared watchdog thread
shuts those sockets once the deadline passes, which ends any blocked read at once.
Connections through a SOCKS proxy are not watched (per-read timeouts only).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_local = threading.local()


def _shut(sock: socket.socket | None) -> None:
    if sock is not None:
        # socket.socket.shutdown, not SSLSocket.shutdown: unblock the reader at the TCP level
        # without tearing the TLS object out from under the thread that is reading.  A closed
        # socket object has fd -1, so a reused descriptor is never touched.
        with contextlib.suppress(OSError, ValueError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


class Watch:
    """Shuts the sockets of the exchange in flight once its deadline passes."""

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        # Sockets, not connections: http.client drops ``conn.sock`` when a response says
        # "Connection: close", handing the socket to the response that is still reading.
        self._socks: list[socket.socket] = []
        self._done = False
        self.expired = False
        self.ends_at = time.monotonic() + seconds
        self.wake_at = self.ends_at  # the watchdog's next look (repeated after expiry)

    def __enter__(self) -> Watch:
        _local.watch = self
        _WATCHDOG.add(self)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._done = True
        _WATCHDOG.discard(self)
        _local.watch = None

    def attach(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._socks.append(sock)
            if self.expired:
                _shut(sock)

    def expire(self) -> bool:
        """Shut every socket of the exchange; False once the exchange has ended."""
        with self._lock:
            if self._done:
                return False
            self.expired = True
            for sock in self._socks:
                _shut(sock)
            return True


class _Watchdog:
    """One daemon thread for every exchange's deadline (a thread per request costs ~5 ms)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._watches: dict[int, Watch] = {}
        self._thread: threading.Thread | None = None

    def add(self, watch: Watch) -> None:
        with self._cond:
            self._watches[id(watch)] = watch
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="reportgen-deadline", daemon=True)
                self._thread.start()
            self._cond.notify()

    def discard(self, watch: Watch) -> None:
        with self._cond:
            self._watches.pop(id(watch), None)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for watch in [w for w in self._watches.values() if w.wake_at <= now]:
                    if watch.expire():
                        # A connection still resolving or connecting has no socket yet (its
                        # connect timeout bounds that): look again shortly until it ends.
                        watch.wake_at = now + 0.2
                    else:
                        self._watches.pop(id(watch), None)
                soonest = min((w.wake_at for w in self._watches.values()), default=now + 60.0)
                self._cond.wait(max(0.01, soonest - now))


_WATCHDOG = _Watchdog()


def _watch_socket(sock: socket.socket | None) -> None:
    watch = getattr(_local, "watch", None)
    if watch is not None:
        watch.attach(sock)


class _WatchedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _watch_socket(self.sock)


class _WatchedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _watch_socket(self.sock)


class _WatchedHTTPPool(HTTPConnectionPool):
    """Tells the watchdog the socket of every connection it hands out, new or reused."""

    ConnectionCls = _WatchedHTTPConnection

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        _watch_socket(getattr(conn, "sock", None))  # a reused connection; a new one reports at connect()
        return conn


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        _watch_socket(getattr(conn, "sock", None))
        return conn


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _Adapter(HTTPAdapter):
    """requests' adapter with pools that tell the watchdog which connection is in use."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools: per-read timeouts only
            manager.pool_classes_by_scheme = _POOLS
        return manager


def open_session() -> requests.Session:
    """A session whose exchanges the watchdog can cut, asking only for encodings we inflate."""
    session = requests.Session()
    adapter = _Adapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["Accept"] = "application/json"
    session.headers["Accept-Encoding"] = "gzip, deflate"
    return session
