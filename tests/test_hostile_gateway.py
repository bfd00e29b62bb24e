"""Issue 12, gateway side: a hostile loopback gateway, a mode per case.

Every failing case asserts the one-line message (naming what to fix), that nothing is
printed as a traceback, that what retrying will not heal is neither retried nor waited
for, and that the store's completed windows and totals are exactly what they were before
the failing window.  Limits are shrunk through the client's constructor (deadline 1 s,
bodies 4/8 MiB, 50 pages) so the suite stays fast; one test refuses a 500 MB gzip bomb
under the default limits, and ``bench/bounds.py`` measures the memory and time that takes
(nothing here asserts on the wall clock or RSS of a shared machine).
"""

from __future__ import annotations

import contextlib
import re
import socket
import sqlite3
import textwrap
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from reportgen.app.sync import run_sync
from reportgen.cli import cli
from reportgen.config import Config, GatewayConfig, Secret, load_config
from reportgen.core.periods import date_range_period
from reportgen.errors import (
    AuthError,
    ConfigError,
    GatewayDataError,
    GatewayError,
    GatewayProtocolError,
    GatewayUnreachableError,
)
from reportgen.gateway import GatewayClient
from reportgen.gateway.transport import MIB, Limits
from reportgen.store import DB_NAME, Store

from .hostile_server import ROW_QUOTA, ROWS_PER_WINDOW, TOKEN, USER_ID, HostileGateway

UTC = ZoneInfo("UTC")
DAY1 = date_range_period(date(2026, 4, 1), date(2026, 4, 1), UTC)
BOTH = date_range_period(date(2026, 4, 1), date(2026, 4, 2), UTC)
DAY2_START = DAY1.end_ts
TEST_LIMITS = Limits(deadline=1.0, max_wire_bytes=4 * MIB, max_body_bytes=8 * MIB)


def write_config(directory: Path, base_url: str, extra: str = "") -> Path:
    path = directory / "reportgen.toml"
    path.write_text(
        textwrap.dedent(
            f"""\
            [gateway]
            base_url = "{base_url}"
            user_id = {USER_ID}
            flavor = "new-api"
            requests_per_window = 100000

            [report]
            timezone = "UTC"
            """
        )
        + extra,
        encoding="utf-8",
    )
    return path


def make_config(directory: Path, base_url: str) -> Config:
    return load_config(write_config(directory, base_url), env={"REPORTGEN_ACCESS_TOKEN": TOKEN})


class Factory:
    """Builds the real client with test limits and sleeps that only note what was asked; keeps
    the clients it made."""

    def __init__(self, **kw: Any) -> None:
        self.kw = {"limits": TEST_LIMITS, "max_pages": 50, "max_attempts": 2, **kw}
        self.clients: list[GatewayClient] = []
        self.slept: list[float] = []

    def __call__(self, gw: GatewayConfig, on_request: Callable[[str], None] | None = None) -> GatewayClient:
        client = GatewayClient(gw, sleep=self.slept.append, on_request=on_request, **self.kw)
        self.clients.append(client)
        return client


def snapshot(config: Config) -> tuple[list[tuple[int, int]], int, int]:
    """The store's completed windows, row count and quota total."""
    with Store.open(config.store_dir) as store:
        covered = store.coverage()
    with contextlib.closing(sqlite3.connect(config.store_dir / DB_NAME)) as conn:
        count, total = conn.execute("SELECT count(*), coalesce(sum(quota), 0) FROM logs").fetchone()
    return covered, count, total


def assert_one_line(message: str) -> None:
    assert "\n" not in message and "Traceback" not in message
    assert TOKEN not in message


@pytest.fixture
def other_origin() -> Iterator[HostileGateway]:
    """A second, honest server: what a foreign redirect points at.  It must see nothing."""
    with HostileGateway("good") as gw:
        yield gw


@pytest.fixture
def synced_day1(tmp_path: Path) -> Iterator[tuple[HostileGateway, Config, tuple]]:
    """A gateway honest for day 1 (committed) and hostile from day 2, set per test."""
    with HostileGateway("good", hostile_from=DAY2_START) as gw:
        config = make_config(tmp_path, gw.url)
        run_sync(config, DAY1, client_factory=Factory())
        before = snapshot(config)
        assert before[1:] == (ROWS_PER_WINDOW, ROWS_PER_WINDOW * ROW_QUOTA)
        yield gw, config, before


# ---------------------------------------------------------------------------- a window meets a hostile gateway
#: mode -> (error class, a pattern the one-line message must match, fatal: fails without retrying)
CASES: dict[str, tuple[type[GatewayError], str, bool]] = {
    "cross_origin_redirect": (
        GatewayProtocolError,
        r"http://127\.0\.0\.1:\d+/api/log/self\?\S+ redirected to http://127\.0\.0\.1:(?P<port>\d+)/api/log/self"
        r"\S* another origin: .*gateway\.base_url",
        True,
    ),
    "host_redirect": (
        GatewayProtocolError,
        r"redirected to http://localhost:\d+/api/log/self\S*, another origin",
        True,
    ),
    "endless": (GatewayProtocolError, r"/api/log/self: still full pages after 50 pages \(5,000 rows\)", True),
    "endless_total": (GatewayProtocolError, r"more than a page past its own data\.total of 150", True),
    "ignore_p": (GatewayProtocolError, r"ignores paging", True),
    "gzip_bomb": (
        GatewayProtocolError,
        r"the response inflates to more than 8 MiB: the gateway misbehaved",
        True,
    ),
    "oversize": (GatewayProtocolError, r"the response is more than 4 MiB", True),
    "drip": (GatewayError, r"gave up after 2 attempts .*no complete response within 1 s", False),
    "drip_headers": (GatewayError, r"gave up after 2 attempts .*no complete response within 1 s", False),
    "huge_quota": (
        GatewayDataError,
        r"row id 4 \(request_id 'req-\d+-0003', created_at \d+\): quota (?:10{30}|1e\+30) is outside the accepted range",
        True,
    ),
    "int64_quota": (
        GatewayDataError,
        r"row id 4 .*quota 9223372036854775807 is outside the accepted range",
        True,
    ),
    "negative": (GatewayDataError, r"row id 4 .*quota -4000 is negative", True),
    "fractional": (GatewayDataError, r"row id 4 .*quota 12\.5 is fractional", True),
    "sum_overflow": (GatewayDataError, r"the rows sum to more than 2\^48", True),
    "deep_json": (GatewayProtocolError, r"JSON nested deeper than 32 levels", True),
    "html200": (
        GatewayProtocolError,
        r"returned an HTML page instead of JSON: check gateway\.base_url",
        True,
    ),
    "text200": (
        GatewayProtocolError,
        r"not the gateway's JSON \(text/plain\): check gateway\.base_url",
        True,
    ),
    "401": (AuthError, r"http://127\.0\.0\.1:\d+/api/log/self\S*: .*HTTP 401 \(invalid token\)", True),
    "403": (AuthError, r"HTTP 403 Forbidden .*check gateway\.base_url", True),
}


@pytest.mark.parametrize("mode", list(CASES))
def test_a_hostile_window_is_refused_in_one_line_and_the_store_is_unchanged(
    mode: str, synced_day1: tuple[HostileGateway, Config, tuple], other_origin: HostileGateway
) -> None:
    gw, config, before = synced_day1
    gw.mode, gw.redirect_to = mode, other_origin.url
    error, pattern, fatal = CASES[mode]
    factory = Factory()
    with pytest.raises(error) as info:
        run_sync(config, BOTH, client_factory=factory)
    message = str(info.value)
    assert_one_line(message)
    assert re.search(pattern, message), message
    assert message.endswith("(0 of 1 windows saved; run `reportgen sync` again to fetch the rest)")
    assert snapshot(config) == before  # day 1 kept exactly; day 2 not marked complete
    with contextlib.closing(sqlite3.connect(config.store_dir / DB_NAME)) as conn:
        assert TOKEN not in "\n".join(conn.iterdump())  # the failed sync's message included
    if fatal:  # what retrying will not heal fails at once: no retry, no wait
        assert factory.clients[0].retries == 0 and not factory.slept
    if mode == "cross_origin_redirect":
        assert other_origin.requests == []  # neither New-Api-User nor Authorization left the origin
        assert str(other_origin.port) in message


def test_a_same_origin_redirect_is_followed_with_the_credentials(tmp_path: Path) -> None:
    with HostileGateway("same_origin_redirect") as gw:
        config = make_config(tmp_path, gw.url)
        result = run_sync(config, DAY1, client_factory=Factory())
        assert result.rows == ROWS_PER_WINDOW
        followed = [r for r in gw.requests if r.path == "/api/log/self2"]
        assert followed and all(r.headers["new-api-user"] == str(USER_ID) for r in followed)
    assert snapshot(config)[1:] == (ROWS_PER_WINDOW, ROWS_PER_WINDOW * ROW_QUOTA)


def test_rows_repeated_across_pages_are_kept_once_and_counted(tmp_path: Path) -> None:
    with HostileGateway("duplicates") as gw:
        config = make_config(tmp_path, gw.url)
        factory = Factory()
        result = run_sync(config, DAY1, client_factory=factory)
    assert result.rows == 100 and factory.clients[0].duplicates_dropped == 50
    assert snapshot(config)[1:] == (100, 100 * ROW_QUOTA)


def test_genuine_twins_are_not_duplicates(tmp_path: Path) -> None:
    """Two different requests can log identical rows: their positions (ids) differ."""
    with HostileGateway("good") as gw:
        config = make_config(tmp_path, gw.url)
        factory = Factory()
        run_sync(config, DAY1, client_factory=factory)
    assert factory.clients[0].duplicates_dropped == 0


# ---------------------------------------------------------------------------- status and keys
@pytest.mark.parametrize("mode", ["status_rate_1e300", "status_rate_nan"])
def test_an_implausible_exchange_rate_is_ignored_with_one_warning(tmp_path: Path, mode: str) -> None:
    with HostileGateway(mode) as gw:
        config = make_config(tmp_path, gw.url)
        factory = Factory()
        result = run_sync(config, DAY1, client_factory=factory)
    assert result.rows == ROWS_PER_WINDOW
    warnings = factory.clients[0].warnings
    assert len(warnings) == 1 and "usd_exchange_rate" in warnings[0] and "report.exchange_rate" in warnings[0]
    assert_one_line(warnings[0])
    with Store.open(config.store_dir) as store:
        status = store.latest_status()
    assert status is not None and status.usd_exchange_rate is None


@pytest.mark.parametrize(
    ("mode", "error", "pattern"),
    [
        ("status_qpu_1e300", GatewayProtocolError, r"/api/status: quota_per_unit 1e\+300 is not plausible"),
        ("endless_tokens", GatewayProtocolError, r"/api/token/: still full pages after 50 pages"),
        (
            "key_quota_1e30",
            GatewayDataError,
            r"/api/token/: key id 18: used_quota (?:10{30}|1e\+30) is outside",
        ),
    ],
)
def test_hostile_status_or_keys_stop_the_sync_before_anything_is_stored(
    tmp_path: Path, mode: str, error: type[GatewayError], pattern: str
) -> None:
    with HostileGateway("good") as gw:
        config = make_config(tmp_path, gw.url)
        run_sync(config, DAY1, client_factory=Factory())
        before = snapshot(config)
        gw.mode = mode
        with pytest.raises(error) as info:
            run_sync(config, BOTH, client_factory=Factory())
    assert_one_line(str(info.value))
    assert re.search(pattern, str(info.value)), str(info.value)
    assert snapshot(config) == before


# ---------------------------------------------------------------------------- what will not heal fails fast
def _client(base_url: str, slept: list[float] | None = None, **kw: Any) -> GatewayClient:
    cfg = GatewayConfig(base_url=base_url, user_id=USER_ID, access_token=Secret(TOKEN))
    sleep = (lambda s: None) if slept is None else slept.append
    return GatewayClient(cfg, sleep=sleep, limits=TEST_LIMITS, **kw)


def test_an_unknown_host_fails_fast_naming_the_setting() -> None:
    slept: list[float] = []
    with (
        _client("http://gateway.nonexistent.invalid", slept) as client,
        pytest.raises(GatewayUnreachableError) as info,
    ):
        client.status()
    message = str(info.value)
    assert_one_line(message)
    assert message.startswith("gateway.nonexistent.invalid: the gateway's host name does not resolve")
    assert "gateway.base_url" in message
    assert client.retries == 0 and not slept  # fails at once: no retry, no wait


def test_tls_to_a_plain_http_port_fails_fast_naming_the_setting() -> None:
    slept: list[float] = []
    with (
        HostileGateway("good") as gw,
        _client(f"https://127.0.0.1:{gw.port}", slept) as client,
        pytest.raises(GatewayUnreachableError) as info,
    ):
        client.status()
    message = str(info.value)
    assert_one_line(message)
    assert re.search(
        r"https://127\.0\.0\.1:\d+/api/status: the TLS handshake failed \(.+\): check gateway\.base_url",
        message,
    )
    assert client.retries == 0 and not slept  # fails at once: no retry, no wait


def test_connection_refused_is_retried_then_names_the_url_and_setting() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with _client(f"http://127.0.0.1:{port}", max_attempts=3) as client, pytest.raises(GatewayError) as info:
        client.status()
    message = str(info.value)
    assert_one_line(message)
    assert f"connection refused from http://127.0.0.1:{port}/api/status: check gateway.base_url" in message
    assert client.retries == 2


def test_a_base_url_with_a_password_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as info:
        _client("http://user:hunter2@127.0.0.1:9")
    assert "hunter2" not in str(info.value) and "remove it" in str(info.value)


# ---------------------------------------------------------------------------- memory stays bounded
def test_a_gzip_bomb_is_refused_under_the_default_limits() -> None:
    """500 MB of gzip zeros: the default 32 MiB cap stops it, in one line, without retrying.

    How much memory and time that takes is measured by ``bench/hostile.py`` (peak RSS grows
    < 100 MB; it was 1.1 GB before the cap), not asserted here on a shared machine's clock.
    """
    slept: list[float] = []
    with HostileGateway("gzip_bomb") as gw:
        cfg = GatewayConfig(base_url=gw.url, user_id=USER_ID, access_token=Secret(TOKEN))
        with GatewayClient(cfg, sleep=slept.append) as client:  # the default limits
            client.status()
            with pytest.raises(GatewayProtocolError) as info:
                list(client.iter_log_pages(DAY2_START, DAY2_START + 86399))
    assert "the response inflates to more than 32 MiB" in str(info.value)
    assert_one_line(str(info.value))
    assert client.retries == 0 and not slept


def test_a_page_of_millions_of_empty_objects_is_refused_before_parsing() -> None:
    """Gzip inflating to just under the default 32 MiB cap, ``items`` ``[{},{},…]``: it passes both
    size caps and was parsed for 157 s to 3.5 GB; the count of its values refuses it unparsed
    (``bench/bounds.py``'s ``empty-objects`` measures the time and memory)."""
    slept: list[float] = []
    with HostileGateway("empty_objects") as gw:
        cfg = GatewayConfig(base_url=gw.url, user_id=USER_ID, access_token=Secret(TOKEN))
        with (
            GatewayClient(cfg, sleep=slept.append) as client,  # the default limits
            pytest.raises(GatewayProtocolError) as info,
        ):
            list(client.iter_log_pages(DAY2_START, DAY2_START + 86399))
    message = str(info.value)
    assert_one_line(message)
    assert re.search(r"/api/log/self\S*: the response holds more than 500,000 JSON values", message), message
    assert client.retries == 0 and not slept


def test_endless_pages_stop_at_the_page_bound_with_bounded_memory() -> None:
    """The listing holds at most max_pages pages: 50 here, 5,000 by default (~0.5 GB at most)."""
    with HostileGateway("endless") as gw, _client(gw.url, max_pages=50) as client:
        pages = 0
        with pytest.raises(GatewayProtocolError, match="still full pages after 50 pages"):
            for _page in client.iter_log_pages(DAY2_START, DAY2_START + 86399):
                pages += 1
        assert pages == 50 and len(gw.requests) == 50


def _sync_peak(tmp_path: Path, max_pages: int) -> int:
    """Python's peak memory over a sync of endless full pages (no usable data.total) that stops at
    ``max_pages``; the store's figures are left as they were."""
    with HostileGateway("endless_total0") as gw:
        (tmp_path / str(max_pages)).mkdir()
        config = make_config(tmp_path / str(max_pages), gw.url)
        tracemalloc.start()
        try:
            with pytest.raises(GatewayProtocolError, match=f"still full pages after {max_pages} pages"):
                run_sync(config, DAY1, client_factory=Factory(max_pages=max_pages))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert sum(seen.path == "/api/log/self" for seen in gw.requests) == max_pages
    assert snapshot(config) == ([], 0, 0)
    return peak


def test_a_sync_paging_without_end_keeps_its_memory_flat_in_rows(tmp_path: Path) -> None:
    """The window's rows and what tells their repeats (by full content: these rows carry no usable
    total) are kept in the store's temporary tables, not in memory: four times the pages cost the
    same memory (kept in a dict, they cost about 160 bytes more a row)."""
    short, long = _sync_peak(tmp_path, 30), _sync_peak(tmp_path, 120)
    assert long - short < 400_000, (short, long)  # 9,000 more rows: < 45 bytes a row (in a dict: 157)


# ---------------------------------------------------------------------------- through the command line
@pytest.mark.parametrize(
    ("mode", "pattern"),
    [
        ("cross_origin_redirect", r"another origin"),
        ("huge_quota", r"quota (?:10{30}|1e\+30) is outside the accepted range"),
        ("gzip_bomb", r"inflates to more than 32 MiB"),
        ("deep_json", r"nested deeper than 32 levels"),
        ("html200", r"HTML page instead of JSON"),
        ("403", r"HTTP 403 Forbidden"),
    ],
)
def test_cli_sync_prints_one_error_line_and_exits_3(
    tmp_path: Path, mode: str, pattern: str, other_origin: HostileGateway
) -> None:
    with HostileGateway(mode, redirect_to=other_origin.url) as gw:
        path = write_config(tmp_path, gw.url)
        result = CliRunner().invoke(
            cli,
            ["--config", str(path), "sync", "--from", "2026-04-01", "--to", "2026-04-01"],
            env={"REPORTGEN_ACCESS_TOKEN": TOKEN},
        )
    assert result.exit_code == 3, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1 and re.search(pattern, lines[0]), result.output
    assert "Traceback" not in result.output and TOKEN not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    asked = [(r.path, tuple(sorted(r.query.items()))) for r in gw.requests]
    assert len(asked) == len(set(asked)), asked  # what will not heal is not asked again
    assert other_origin.requests == []


def test_cli_refuses_a_base_url_with_a_password(tmp_path: Path) -> None:
    path = write_config(tmp_path, "https://alice:s3cr3t-pw@gateway.example")
    result = CliRunner().invoke(
        cli, ["--config", str(path), "sync", "--period", "2026-04"], env={"REPORTGEN_ACCESS_TOKEN": TOKEN}
    )
    assert result.exit_code == 2 and "s3cr3t-pw" not in result.output
    assert "contains a user name or password" in result.output and "remove it" in result.output
    assert "Traceback" not in result.output
