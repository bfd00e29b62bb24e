"""One bounded HTTP exchange with a server reportgen does not control.

Whatever the gateway does, one exchange

- ends within ``Limits.deadline`` seconds: a watchdog shuts the socket, because per-read
  timeouts alone let a server dripping a byte every few seconds hold a request forever;
- reads at most ``Limits.max_wire_bytes`` from the socket and inflates to at most
  ``Limits.max_body_bytes`` while streaming, so a gzip bomb fails after a few megabytes;
- follows redirects only within the configured origin (scheme, host, port), so the
  credentials never leave it and nothing another server says is taken for the gateway's.

Failures that retrying may heal raise :class:`TransientFailure`; the rest raise a
:class:`~reportgen.errors.GatewayError` subclass with a one-line message.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
import urllib3

from ..errors import GatewayProtocolError, GatewayUnreachableError
from .deadline import Watch
from .inflate import BodyTooLarge, CorruptBody, Inflater, UnsupportedEncoding

MIB = 1024 * 1024
_CHUNK = 64 * 1024
_REDIRECTS = (301, 302, 303, 307, 308)
_BASE_HINT = "gateway.base_url (or REPORTGEN_BASE_URL)"


@dataclass(frozen=True)
class Limits:
    """Bounds on one exchange (redirect hops included); tests shrink them."""

    #: Seconds from sending the request to the last body byte, however the server paces it.
    deadline: float = 60.0
    #: Bytes read from the socket (compressed).  A 100-row log page is ~100 KB.
    max_wire_bytes: int = 16 * MIB
    #: Bytes after inflating gzip/deflate: what the JSON parser is handed.
    max_body_bytes: int = 32 * MIB
    max_redirects: int = 5


@dataclass(frozen=True)
class Reply:
    """A complete response: the URL that answered, its status, content type and body."""

    url: str
    status: int
    content_type: str
    body: bytes


class TransientFailure(Exception):
    """A failure worth retrying; ``cause`` is the one-line reason shown if we give up."""

    def __init__(
        self, cause: str, *, throttled: bool = False, refusal: str | None = None, network: bool = False
    ) -> None:
        super().__init__(cause)
        self.cause = cause
        self.throttled = throttled
        self.refusal = refusal
        self.network = network


# ---------------------------------------------------------------------------- origins and URLs
def origin(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` with the scheme's default port filled in; ValueError if malformed."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port  # raises ValueError on a non-numeric or out-of-range port
    if port is None:
        port = 443 if scheme == "https" else 80
    return scheme, (parts.hostname or "").lower(), port


def display_url(url: str, limit: int = 200) -> str:
    """A URL fit for a one-line message: no userinfo, no control characters, bounded length."""
    try:
        parts = urlsplit(url)
        if "@" in parts.netloc:
            parts = parts._replace(netloc=parts.netloc.rsplit("@", 1)[1])
        url = urlunsplit(parts)
    except ValueError:
        pass
    text = "".join(c if c.isprintable() and not c.isspace() else "?" for c in url)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------- one exchange
def exchange(
    session: requests.Session,
    url: str,
    params: dict[str, Any] | None,
    headers: dict[str, str] | None,
    *,
    timeout: tuple[float, float],
    limits: Limits,
    base_url: str,
) -> Reply:
    """GET ``url``, following same-origin redirects, within ``limits``; see the module doc."""
    home = origin(base_url)
    with Watch(limits.deadline) as watch:
        for _hop in range(limits.max_redirects + 1):
            reply, location = _one(session, url, params, headers, timeout, limits, watch, base_url)
            if location is None:
                return reply
            target = urljoin(reply.url, location)
            try:
                same = origin(target) == home
            except ValueError:
                same = False
            if not same:
                raise GatewayProtocolError(
                    f"{display_url(reply.url)} redirected to {display_url(target)}, another origin: "
                    f"reportgen follows redirects only within {_BASE_HINT} = {display_url(base_url)}, "
                    "so the credentials never leave it; nothing from it was stored. If the gateway "
                    "moved, set gateway.base_url to its new address"
                )
            url, params = target, None  # the Location carries its own query
        raise GatewayProtocolError(
            f"{display_url(url)}: more than {limits.max_redirects} redirects: the gateway misbehaved; "
            f"check {_BASE_HINT}"
        )


def _one(
    session: requests.Session,
    url: str,
    params: dict[str, Any] | None,
    headers: dict[str, str] | None,
    timeout: tuple[float, float],
    limits: Limits,
    watch: Watch,
    base_url: str,
) -> tuple[Reply, str | None]:
    try:
        resp = session.get(
            url, params=params, headers=headers, timeout=timeout, stream=True, allow_redirects=False
        )
    except requests.exceptions.InvalidHeader:
        raise GatewayProtocolError(
            f"{display_url(url)}: cannot send the request (an invalid header)"
        ) from None
    except requests.exceptions.SSLError as exc:
        if watch.expired:
            raise _deadline(limits) from None
        raise GatewayUnreachableError(
            f"{display_url(url)}: the TLS handshake failed ({tls_reason(exc)}): check {_BASE_HINT}: "
            "https:// needs a port that speaks TLS with a certificate this machine trusts"
        ) from None
    except (requests.ConnectionError, requests.Timeout) as exc:
        if watch.expired:
            raise _deadline(limits) from None
        dns = dns_failure(exc)
        if dns is not None:
            host = urlsplit(url).hostname or url
            raise GatewayUnreachableError(
                f"{display_url(host)}: the gateway's host name does not resolve ({dns}): check "
                f"{_BASE_HINT} = {display_url(base_url)} and this machine's network"
            ) from None
        raise TransientFailure(network_cause(exc, timeout), network=True) from None
    except requests.RequestException as exc:
        raise GatewayProtocolError(
            f"{display_url(url)}: cannot send the request ({type(exc).__name__})"
        ) from None
    with contextlib.closing(resp):
        final = resp.url or url
        ctype = resp.headers.get("Content-Type", "").lower()
        if resp.status_code in _REDIRECTS:
            location = resp.headers.get("Location")
            if not location:
                raise GatewayProtocolError(
                    f"{display_url(final)} answered HTTP {resp.status_code} without a Location: "
                    f"the gateway misbehaved; check {_BASE_HINT}"
                )
            return Reply(final, resp.status_code, ctype, b""), location
        body = _read_body(resp, final, limits, watch, timeout)
        return Reply(final, resp.status_code, ctype, body), None


def _deadline(limits: Limits) -> TransientFailure:
    return TransientFailure(
        f"no complete response within {limits.deadline:g} s (the server stalls or drips)", network=True
    )


def _read_body(
    resp: requests.Response, url: str, limits: Limits, watch: Watch, timeout: tuple[float, float]
) -> bytes:
    length = resp.headers.get("Content-Length", "").strip()
    if length.isdigit() and (len(length) > 18 or int(length) > limits.max_wire_bytes):
        raise _too_large(url, "is", limits.max_wire_bytes)
    encoding = resp.headers.get("Content-Encoding", "")
    try:
        inflater = Inflater(encoding, limits.max_body_bytes)
    except UnsupportedEncoding:
        raise GatewayProtocolError(
            f"{display_url(url)}: the response uses Content-Encoding {display_url(encoding, 40)!r}, "
            "which was not asked for (only gzip and deflate): the gateway misbehaved"
        ) from None
    body = bytearray()
    wire = 0
    try:
        for chunk in _raw_chunks(resp):
            wire += len(chunk)
            if wire > limits.max_wire_bytes:
                raise _too_large(url, "is", limits.max_wire_bytes)
            body += inflater.feed(chunk)
            if watch.expired or time.monotonic() > watch.ends_at:
                raise _deadline(limits)
        body += inflater.finish()
    except BodyTooLarge:
        raise _too_large(url, "inflates to", limits.max_body_bytes) from None
    except CorruptBody as exc:
        raise TransientFailure(str(exc), network=True) from None
    except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError, ValueError) as exc:
        if watch.expired:
            raise _deadline(limits) from None
        if isinstance(exc, urllib3.exceptions.ReadTimeoutError | TimeoutError):
            raise TransientFailure(f"read timed out after {timeout[1]:g} s", network=True) from None
        raise TransientFailure("the connection closed mid-body (truncated response)", network=True) from None
    return bytes(body)


def _raw_chunks(resp: requests.Response) -> Iterator[bytes]:
    # decode_content=False: the bytes as they cross the wire; Inflater does the rest, capped.
    yield from resp.raw.stream(_CHUNK, decode_content=False)


def _too_large(url: str, verb: str, limit: int) -> GatewayProtocolError:
    return GatewayProtocolError(
        f"{display_url(url)}: the response {verb} more than {limit / MIB:g} MiB: the gateway misbehaved "
        "(no page of the management API is that large); nothing from it was stored"
    )


# ---------------------------------------------------------------------------- explaining failures
def _chain(exc: BaseException) -> list[BaseException]:
    """The exception, its causes and the errors requests/urllib3 wrap in args and ``reason``."""
    out: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(out) < 16:
        cur = todo.pop(0)
        if any(cur is seen for seen in out):
            continue
        out.append(cur)
        for nxt in (cur.__cause__, cur.__context__, getattr(cur, "reason", None), *cur.args[:1]):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
    return out


def dns_failure(exc: BaseException) -> str | None:
    """Why the host name did not resolve, or None when the failure is something else."""
    for cur in _chain(exc):
        if isinstance(cur, socket.gaierror):
            return " ".join(str(cur.strerror or cur).split())[:120]
        if type(cur).__name__ == "NameResolutionError":
            return "name resolution failed"
    return None


def tls_reason(exc: BaseException) -> str:
    """A TLS failure in a few words: the certificate problem or the handshake error."""
    for cur in _chain(exc):
        if isinstance(cur, ssl.SSLCertVerificationError):
            detail = cur.verify_message or cur.reason or "verify failed"
            return f"certificate verify failed: {detail}"
        if isinstance(cur, ssl.SSLError) and cur.reason:
            return str(cur.reason).replace("_", " ").lower()
    return " ".join(str(exc).split())[:120] or type(exc).__name__


def network_cause(exc: BaseException, timeout: tuple[float, float]) -> str:
    """A retryable network failure in a few words."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"connect timed out after {timeout[0]:g} s"
    if isinstance(exc, requests.Timeout):
        return f"read timed out after {timeout[1]:g} s"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the connection closed mid-body (truncated response)"
    chain = _chain(exc)
    text = " ".join(str(e) for e in chain).lower()
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in text:
        return "connection refused"
    if any(isinstance(e, ConnectionResetError) for e in chain) or "reset" in text:
        return "connection reset by peer"
    if "remotedisconnected" in text or "closed connection without response" in text:
        return "the server closed the connection without a response"
    return f"connection failed ({type(exc).__name__})"
