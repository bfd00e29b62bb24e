"""The HTTP client for the gateway's management API: auth, flavours, paging, retries.

Library code: every failure is raised as a :mod:`reportgen.errors` subclass with a
one-line message; nothing is printed.  The access token is revealed only to build the
request header and is scrubbed from anything the server echoes back.
"""

from __future__ import annotations

import json
import random
import time
import weakref
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from .. import flavors
from ..config import GatewayConfig, base_url_problem, plain_http_warning
from ..core.findings import WindowTally
from ..core.records import GatewayStatus, KeyInfo, UsageRecord
from ..core.wallet import Balance, WalletRecord
from ..errors import AuthError, ConfigError, GatewayDataError, GatewayError, GatewayProtocolError
from . import topups
from .amounts import amount, show_value
from .deadline import open_session
from .guards import MAX_LISTING_SECONDS, MAX_PAGES, InMemoryRepeats, ListingBound, RepeatMemory, WindowRows
from .jsontext import JSONRejected, loads
from .parse import parse_key
from .ratelimit import SlidingWindowLimiter
from .status import read_status
from .transport import Limits, TransientFailure, display_url, exchange

DEFAULT_TIMEOUT = (10.0, 30.0)  # (connect, read) seconds per socket operation
RETRY_BUDGET = 120.0  # give up on a persisting fault after about two minutes
MAX_ATTEMPTS = 10
REFUSAL_ATTEMPTS = 3  # HTTP-200 success:false may be a transient database error: retry twice

_AUTH_HINT = (
    "gateway.user_id (or REPORTGEN_USER_ID) must be your NUMERIC user id, not the username, and "
    "REPORTGEN_ACCESS_TOKEN must be the system access token from the gateway's "
    "Settings > Security page, not an sk- model key"
)
_TRANSIENT_HTTP = {408, 425, 429} | set(range(500, 600))
_SECRET_FIELDS = ("access_token", "password", "key")
_Transient = TransientFailure


class Page(NamedTuple):
    """One page of a listing: its items, and the listing's ``data.total`` as it said (None: not said)."""

    items: list[dict[str, Any]]
    total: int | None
    #: The ``p`` it was asked for.
    p: int = 0


class GatewayClient:
    """Reads the caller's status, keys and usage logs from a new-api/one-api/Crazyrouter gateway.

    ``sleep`` and ``clock`` are injectable so tests run retries and rate limiting
    instantly; ``on_request(path)`` is called once per HTTP request (for a progress bar).
    ``limits`` bounds each request (deadline, body sizes, redirects), ``max_pages`` each listing
    and ``max_listing_seconds`` one without a ``data.total`` that bounds it; tests shrink them.
    Counters: ``requests_made`` (HTTP requests, retries included), ``pages_fetched``
    (``/api/log/self`` pages received, the final short one included), ``retries`` and
    ``duplicates_dropped`` (rows a window's pages repeated, kept once).  ``warnings`` holds
    one-line notices for the user (plain http, an implausible status value), each once.
    Not thread-safe: use one client per thread.
    """

    def __init__(
        self,
        config: GatewayConfig,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_request: Callable[[str], None] | None = None,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retry_budget: float = RETRY_BUDGET,
        max_attempts: int = MAX_ATTEMPTS,
        backoff_base: float = 0.5,
        backoff_cap: float = 20.0,
        rng: random.Random | None = None,
        limits: Limits | None = None,
        max_pages: int = MAX_PAGES,
        max_listing_seconds: float = MAX_LISTING_SECONDS,
        recent: list[float] | None = None,
        on_wait: Callable[[float, str], None] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._wall_clock = wall_clock  # stamps what /api/status said with when it was read
        self.base_url = (config.base_url or "").rstrip("/")
        problem = base_url_problem(self.base_url) if self.base_url else None
        if problem is not None:
            raise ConfigError(f"gateway.base_url {problem}")
        self.warnings: list[str] = []
        insecure = plain_http_warning(self.base_url) if self.base_url else None
        if insecure is not None:
            self.warnings.append(insecure)
        self._limits = limits or Limits()
        self._max_pages = max(1, max_pages)
        self._max_listing_seconds = max_listing_seconds
        self._sleep = sleep
        self._clock = clock
        self._on_request = on_request
        self._timeout = timeout
        self._retry_budget = retry_budget
        self._max_attempts = max(1, max_attempts)
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._rng = rng or random.Random()
        self._configured = flavors.configured(config)
        # What the gateway said so far, to tell its flavour by (flavors.detect).
        self._status_seen: dict[str, Any] | None = None
        self._row_seen: dict[str, Any] | None = None
        self._wrapped = False
        self._page_size, self._smallest_page = flavors.page_sizes(self._configured)
        requests, window = flavors.rate_limit(
            self._configured, config.requests_per_window, config.window_seconds
        )
        self.limiter = SlidingWindowLimiter(requests, window, clock=clock, sleep=sleep)
        # requests an earlier command sent within the window still count at the gateway
        self.limiter.seed(recent or [])
        self.on_wait = on_wait
        self._session = open_session()
        self._finalizer = weakref.finalize(self, self._session.close)
        self._authenticated = False
        self.requests_made = 0
        self.pages_fetched = 0
        self.retries = 0
        self.duplicates_dropped = 0
        #: The last window's rows not stored, by reason (see :meth:`iter_log_pages`).
        self.window_findings: WindowTally | None = None
        #: Where a window remembers its rows to tell repeats (a sync gives the store's: memory flat).
        self.repeat_memory: Callable[[], RepeatMemory] = InMemoryRepeats

    def recent_requests(self) -> list[float]:
        """Seconds since each request still inside the rate-limit window (for the next command)."""
        return self.limiter.ages()

    def close(self) -> None:
        """Close the HTTP session (idempotent)."""
        self._finalizer()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GatewayClient(base_url={self.base_url!r}, user_id={self.config.user_id!r})"

    @property
    def flavor(self) -> str:
        """The flavour's name: configured, else told from the gateway's answers (``/api/status`` first)."""
        if self._configured is not None:
            return self._configured.name
        if self._status_seen is None and self._row_seen is None and not self._wrapped:
            self.status()
        return flavors.detect(self._status_seen, self._row_seen, self._wrapped).name

    def status(self) -> GatewayStatus:
        """``/api/status``: the quota unit and exchange rate in force, and when they were read."""
        data = self._get("/api/status", {}, auth=False)
        if not isinstance(data, dict):
            data = {}
        self._status_seen = data
        return read_status(data, self.base_url, int(self._wall_clock()), self._warn)

    def keys(self) -> list[KeyInfo]:
        """Every API key of the caller (``/api/token/``), without the masked key itself."""
        try:
            return [parse_key(item) for page in self._pages("/api/token/", {}) for item in page.items]
        except GatewayDataError as exc:
            raise GatewayDataError(
                f"/api/token/: {exc}: the gateway misbehaved; nothing was synced"
            ) from None

    def user_self(self) -> dict[str, Any]:
        """``/api/user/self`` data, with any secret fields removed."""
        data = self._get("/api/user/self", {})
        if not isinstance(data, dict):
            raise GatewayError("/api/user/self returned no user object")
        return {k: v for k, v in data.items() if k not in _SECRET_FIELDS}

    def balance(self, read_at: int) -> Balance:
        """The wallet balance ``/api/user/self`` reports now (``quota``: what is left to spend)."""
        data = self.user_self()
        try:
            return Balance(
                "",
                read_at,
                amount(data, "quota", signed=True, kind="user"),
                amount(data, "used_quota", kind="user"),
                amount(data, "request_count", money=False, kind="user"),
            )
        except GatewayDataError as exc:
            raise GatewayDataError(f"/api/user/self: {exc}") from None

    def wallet_records(self, start_ts: int, end_ts: int) -> list[WalletRecord]:
        """The caller's completed top-ups of ``[start_ts, end_ts]`` from the flavour's own listing, if any."""
        path = flavors.registered()[self.flavor].topups
        try:
            items = [item for page in self._pages(path, {}) for item in page.items] if path else []
        except GatewayError as exc:  # not served (an older release): the payments lack trade numbers
            if isinstance(exc, AuthError):
                raise
            return []
        return topups.wallet_records(items, start_ts, end_ts, self.status().quota_per_unit)

    def iter_log_pages(self, start_ts: int, end_ts: int) -> Iterator[list[UsageRecord]]:
        """Each non-empty page of ``/api/log/self`` rows with ``start_ts <= created_at <= end_ts``.

        Both bounds are inclusive, as the API defines them.  Pages come newest first and
        end at the first short page; fetch only closed windows (see gateway-api.md §5).

        Every other row served is counted by reason in ``window_findings`` once the window's
        pages are read (:class:`~.guards.WindowRows`): dated outside the window, an unreadable
        ``created_at``, or repeated by the pages (kept once, also in ``duplicates_dropped``;
        genuine twins are kept, as the flavour's ``row_ids`` tells them apart).
        A row with an impossible value, or sums past :data:`~.amounts.MAX_AMOUNT`, raise a
        :class:`~reportgen.errors.GatewayDataError` so the window is not committed.
        """
        params = {"type": 0, "start_timestamp": int(start_ts), "end_timestamp": int(end_ts)}
        window = WindowRows(start_ts, end_ts, memory=self.repeat_memory())
        self.window_findings = window.tally
        before: Page | None = None
        try:
            for page in self._pages("/api/log/self", params, logs=True):
                self.pages_fetched += 1
                window.identity.row_ids = self._row_ids()
                records = window.accept(page.items, self._page_size, page.total)
                if window.undecided and before is not None:  # twins across the boundary, or pushed down?
                    again = self._pages("/api/log/self", {**params, "p": before.p}, logs=True, once=True)
                    records += window.settle(moved=next(again).items != before.items)
                before = page
                if records:
                    yield records
        finally:
            self.duplicates_dropped += window.duplicates

    def log_stat(self, start_ts: int, end_ts: int, token_name: str | None = None) -> int:
        """``/api/log/self/stat`` quota: a cross-check only (type 2, current username)."""
        params: dict[str, Any] = {"type": 0, "start_timestamp": int(start_ts), "end_timestamp": int(end_ts)}
        if token_name is not None:
            params["token_name"] = token_name
        data = self._get("/api/log/self/stat", params)
        quota = data.get("quota") if isinstance(data, dict) else None
        try:
            value = Decimal(str(quota or 0))
            if not value.is_finite() or value.adjusted() > 18 or value != value.to_integral_value():
                raise InvalidOperation
            return int(value)
        except (InvalidOperation, ValueError):
            raise GatewayError(
                f"/api/log/self/stat returned an impossible quota {show_value(quota)}"
            ) from None

    def _row_ids(self) -> str:
        """What a log row's ``id`` is, as the flavour (configured, else told so far) says."""
        if self._configured is not None:
            return self._configured.row_ids
        return flavors.detect(self._status_seen, self._row_seen, self._wrapped).row_ids

    def _pages(
        self, path: str, params: dict[str, Any], *, logs: bool = False, once: bool = False
    ) -> Iterator[Page]:
        """Raw items page by page until a short page, whatever the flavour's paging.

        Bounded by :class:`~.guards.ListingBound` (``data.total`` and ``max_pages``).  ``once``:
        only the page ``params["p"]`` names, read again.
        """
        # 1-based servers treat p=0 as p=1 and say so in data.page; 0-based start here
        p = params.pop("p", 0) if once else 0
        largest = 0
        previous: list[dict] | None = None
        bound = ListingBound(path, self._max_pages, self._clock, self._max_listing_seconds)
        while True:
            bound.before_page()
            data = self._get(path, {"p": p, "page_size": self._page_size, **params})
            if isinstance(data, dict):
                items = data.get("items") or []
                size = data.get("page_size")
                page_no = data.get("page")
                next_p = (page_no if isinstance(page_no, int) and page_no >= p else max(p, 1)) + 1
                expected = size if isinstance(size, int) and 0 < size <= self._page_size else None
            elif isinstance(data, list) or data is None:
                items = data or []
                next_p = p + 1
                expected = None
            else:
                raise GatewayError(f"{path} returned {type(data).__name__} data where a page was expected")
            if not isinstance(items, list):
                raise GatewayError(f"{path} returned a page whose items are not a list")
            items = [item for item in items if isinstance(item, dict)]
            bound.after_page(data, items, max(largest, len(items), self._smallest_page))
            if logs or path == "/api/token/":
                self._observe_shape(data, items, logs)
            if items and items == previous and len(items) >= self._smallest_page:
                raise GatewayProtocolError(
                    f"{path} returned the same page for p={p} as before: it ignores paging; nothing from "
                    "this listing was saved"
                )
            previous = items
            largest = max(largest, len(items))
            if expected is None:
                # A bare list does not say its page size (one-api fixes it at 10, old new-api
                # honours 100): a page as long as the longest so far may be full.
                expected = max(self._smallest_page, largest)
            total = data.get("total") if isinstance(data, dict) else None
            yield Page(items, total if type(total) is int else None, p)
            if once or len(items) < expected:
                return
            p = next_p

    def _observe_shape(self, data: Any, items: list[dict], logs: bool) -> None:
        """Keep what tells the flavour: whether pages come wrapped, and the first log row."""
        self._wrapped = self._wrapped or isinstance(data, dict)
        if logs and items and self._row_seen is None:
            self._row_seen = items[0]

    # ------------------------------------------------------------------ one request, retried
    def _headers(self) -> dict[str, str]:
        cfg = self.config
        if cfg.user_id is None:
            raise AuthError(
                "gateway.user_id is not set: set [gateway] user_id in reportgen.toml (or "
                "REPORTGEN_USER_ID) to your NUMERIC user id, shown as ID on the gateway's "
                "personal settings page"
            )
        if cfg.access_token is None or not cfg.access_token:
            raise AuthError(
                "no access token: set REPORTGEN_ACCESS_TOKEN to the system access token from the "
                "gateway's Settings > Security page (not an sk- model key)"
            )
        token = cfg.access_token.reveal()
        if not token.isascii() or not token.isprintable() or any(c.isspace() for c in token):
            raise AuthError(
                "REPORTGEN_ACCESS_TOKEN contains spaces, line breaks or non-ASCII characters: "
                "copy the system access token again from the gateway's Settings > Security page"
            )
        return {
            "Authorization": f"Bearer {token}",
            "New-Api-User": str(cfg.user_id),
        }

    def _get(self, path: str, params: dict[str, Any], *, auth: bool = True) -> Any:
        if not self.base_url:
            raise ConfigError(
                "gateway.base_url is not set: set [gateway] base_url in reportgen.toml "
                '(e.g. "https://crazyrouter.com") or REPORTGEN_BASE_URL'
            )
        headers = self._headers() if auth else None
        url = self.base_url + path
        started = self._clock()
        attempts = refusals = 0
        while True:
            attempts += 1
            try:
                return self._attempt(url, path, params, headers)
            except _Transient as exc:
                failure = exc
            except GatewayError as exc:
                # Messages quote what the server sent (a Location, a body): mask the token.
                raise type(exc)(self._mask(str(exc))) from None
            if failure.refusal is not None:
                refusals += 1
                if refusals >= REFUSAL_ATTEMPTS:
                    raise self._refused(path, failure.refusal, auth) from None
            elapsed = self._clock() - started
            delay = min(self._backoff_cap, self._backoff_base * 2 ** (attempts - 1))
            if failure.throttled:
                delay = min(self._backoff_cap, delay * 2)
            delay *= 0.5 + self._rng.random() / 2  # jitter: concurrent clients drift apart
            # A 429 persisting means the gateway's window is full (another process, another
            # tool on this IP): wait out a whole window rather than giving up inside it.
            budget = self._retry_budget
            most = self._max_attempts
            if failure.throttled:
                budget = max(budget, self.limiter.window * 1.5)
                most = max(most, 2 * MAX_ATTEMPTS)
            if attempts >= most or elapsed + delay > budget:
                hint = (
                    f" from {display_url(url)}: check gateway.base_url (or REPORTGEN_BASE_URL) and the network"
                    if failure.network
                    else ""
                )
                raise GatewayError(
                    f"{path}: gave up after {attempts} attempts over {elapsed:.0f} s: {failure.cause}{hint}"
                )
            self.retries += 1
            if self.on_wait is not None:
                self.on_wait(delay, failure.cause)
            if failure.throttled:
                self.limiter.pause(delay)
            else:
                self._sleep(delay)

    def _attempt(self, url: str, path: str, params: dict[str, Any], headers: dict[str, str] | None) -> Any:
        self.limiter.acquire()
        self.requests_made += 1
        if self._on_request is not None:
            self._on_request(path)
        try:
            reply = exchange(
                self._session,
                url,
                params,
                headers,
                timeout=self._timeout,
                limits=self._limits,
                base_url=self.base_url,
            )
        finally:
            self.limiter.done()
        code, ctype, content = reply.status, reply.content_type, reply.body
        shown = display_url(reply.url)
        body: Any = None
        if content and "html" not in ctype:
            try:
                body = loads(content)
            except JSONRejected as exc:
                raise GatewayProtocolError(
                    f"{shown}: the response holds {exc}: the gateway misbehaved; nothing from it was stored"
                ) from None
            except json.JSONDecodeError:
                if code == 200:
                    if content.lstrip()[:1] not in (b"{", b"["):
                        raise GatewayProtocolError(
                            f"{shown} answered with something that is not the gateway's JSON "
                            f"({display_url(ctype, 60) or 'no content type'}): check gateway.base_url "
                            "(the gateway's address, without /api)"
                        ) from None
                    raise _Transient(
                        f"truncated or invalid JSON body ({len(content)} bytes) from {path}"
                    ) from None
        message = self._scrub(body.get("message")) if isinstance(body, dict) else ""
        if code == 200:
            if not content:
                raise _Transient(f"empty response body from {path}")
            if "html" in ctype:
                raise GatewayProtocolError(
                    f"{shown} returned an HTML page instead of JSON: check gateway.base_url "
                    "(the gateway's address, without /api)"
                )
            if not isinstance(body, dict) or "success" not in body:
                raise GatewayProtocolError(
                    f"{shown} did not answer with the gateway's JSON envelope: check gateway.base_url "
                    "(the gateway's address, without /api)"
                )
            if body.get("success") is not True:
                raise _Transient(f"the gateway refused: {message}", refusal=message)
            if headers is not None:
                self._authenticated = True
            return body.get("data")
        if code == 401:
            detail = f" ({message})" if message else ""
            raise AuthError(
                f"{shown}: the gateway rejected the credentials with HTTP 401{detail}: {_AUTH_HINT}"
            )
        if code == 403:
            detail = f" ({message})" if message else (" (an HTML page)" if "html" in ctype else "")
            raise AuthError(
                f"{shown} answered HTTP 403 Forbidden{detail}: the gateway, or a firewall in front of it, "
                f"refuses this client; check gateway.base_url, then {_AUTH_HINT}"
            )
        if code in _TRANSIENT_HTTP:
            what = f": {message}" if message else (" (HTML error page)" if "html" in ctype else "")
            raise _Transient(
                f"HTTP {code}{what} from {path}" + (" (rate limited)" if code == 429 else ""),
                throttled=code == 429,
            )
        if code == 404:
            raise GatewayError(
                f"{shown} does not exist (HTTP 404): check gateway.base_url and that the gateway "
                f"is of a known flavour ({', '.join(flavors.registered())})"
            )
        detail = f": {message}" if message else ""
        raise GatewayError(f"{shown} answered HTTP {code}{detail}")

    def _refused(self, path: str, message: str, auth: bool) -> GatewayError:
        if auth and not self._authenticated:
            return AuthError(f"the gateway refused the access token or user: {message}: {_AUTH_HINT}")
        return GatewayError(f"{path}: the gateway refused the request: {message}")

    def _scrub(self, text: Any) -> str:
        """A server message as one short line, with the access token masked if echoed."""
        return self._mask(" ".join(str(text or "").split()))[:300]

    def _mask(self, text: str) -> str:
        token = self.config.access_token.reveal() if self.config.access_token else ""
        return text.replace(token, "***") if token else text

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)
