"""GatewayClient against the fake gateway over real loopback HTTP, every flavour."""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from reportgen.config import GatewayConfig, Secret
from reportgen.core.records import UsageRecord
from reportgen.errors import AuthError, ConfigError, GatewayError
from reportgen.gateway import GatewayClient
from reportgen.testing.fakegateway import FakeGateway, Faults, expected_totals, team_month

TOKEN = "t0k3n-secret-value"
TEAM = team_month()
START, END = TEAM.start_ts, TEAM.end_ts - 1  # the month, inclusive bounds as the API takes them
FLAVOR_SEEN = {
    "new-api": "new-api",
    "new-api-legacy": "new-api",
    "crazyrouter": "crazyrouter",
    "one-api": "one-api",
}


class FakeClock:
    """Monotonic time that only moves when something sleeps: retries run instantly."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def make_client(
    gw: FakeGateway,
    clock: FakeClock | None = None,
    token: str | None = TOKEN,
    user_id: int | None = 42,
    **kw: Any,
) -> GatewayClient:
    clock = clock or FakeClock()
    limits = {k: kw.pop(k) for k in ("requests_per_window", "window_seconds", "flavor") if k in kw}
    cfg = GatewayConfig(
        base_url=gw.url, user_id=user_id, access_token=Secret(token) if token else None, **limits
    )
    return GatewayClient(cfg, sleep=clock.sleep, clock=clock, **kw)


@pytest.fixture
def gateway(request: pytest.FixtureRequest) -> Iterator[FakeGateway]:
    opts = getattr(request, "param", {})
    kw: dict[str, Any] = {"rows": TEAM.rows, "tokens": TEAM.tokens, "access_token": TOKEN, "rate_limit": None}
    kw.update(opts)
    with FakeGateway(**kw) as gw:
        yield gw


def fetch(client: GatewayClient, start: int = START, end: int = END) -> list[UsageRecord]:
    return [rec for page in client.iter_log_pages(start, end) for rec in page]


def identity(rec_or_row: Any) -> tuple:
    if isinstance(rec_or_row, UsageRecord):
        r = rec_or_row
        return (
            r.created_at,
            r.type,
            r.token_name,
            r.model_name,
            r.quota,
            r.prompt_tokens,
            r.completion_tokens,
        )
    r = rec_or_row
    return (
        r["created_at"],
        r["type"],
        r["token_name"],
        r["model_name"],
        r["quota"],
        r["prompt_tokens"],
        r["completion_tokens"],
    )


def expected_rows(rows: list[dict], start: int = START, end: int = END) -> Counter:
    return Counter(identity(r) for r in rows if start <= r["created_at"] <= end)


def log_pages_requested(gw: FakeGateway) -> list[int]:
    return [int(r.query["p"]) for r in gw.requests if r.path == "/api/log/self" and r.status == 200]


@pytest.mark.parametrize("flavor", list(FLAVOR_SEEN))
def test_every_row_exactly_once_per_flavor(flavor: str) -> None:
    with FakeGateway(
        rows=TEAM.rows, tokens=TEAM.tokens, flavor=flavor, access_token=TOKEN, rate_limit=None
    ) as gw:
        calls: list[str] = []
        with make_client(gw, on_request=calls.append) as client:
            records = fetch(client)
            assert client.flavor == FLAVOR_SEEN[flavor]
            keys = client.keys()
            status = client.status()
        totals = expected_totals(TEAM.rows, START, END + 1)
        assert Counter(identity(r) for r in records) == expected_rows(TEAM.rows)
        assert len(records) == totals.rows
        assert sum(r.quota for r in records if r.type == 2) == totals.consumed
        assert sum(r.quota for r in records if r.type == 6) == totals.refunded
        assert sorted(k.name for k in keys) == sorted(t["name"] for t in TEAM.tokens)
        assert status.quota_per_unit == Decimal(500000)
        assert (status.usd_exchange_rate is None) == (flavor == "one-api")
        pages = log_pages_requested(gw)
        assert pages[0] == 0 and len(pages) == len(set(pages))
        if flavor in ("new-api", "crazyrouter"):
            assert 1 not in pages  # p=0 already was page 1
        assert client.requests_made == len(gw.requests) == len(calls)
        assert client.pages_fetched == len(pages)
        assert gw.user_token_calls == 0 and all(r.path != "/api/user/token" for r in gw.requests)


@pytest.mark.parametrize(
    ("flavor", "n", "log_requests"),
    [
        ("new-api", 100, 2),
        ("new-api", 101, 2),
        ("new-api", 99, 1),
        ("crazyrouter", 200, 3),
        ("new-api-legacy", 100, 2),
        ("new-api-legacy", 37, 2),  # a bare list does not say its page size: one more look
        ("one-api", 10, 2),
        ("one-api", 25, 3),
        ("one-api", 7, 1),
        ("one-api", 100, 11),
    ],
)
def test_page_boundaries(flavor: str, n: int, log_requests: int) -> None:
    rows = [{**TEAM.rows[100], "created_at": START + 60 * i, "quota": i} for i in range(n)]
    with (
        FakeGateway(rows=rows, flavor=flavor, access_token=TOKEN, rate_limit=None) as gw,
        make_client(gw) as client,
    ):
        records = fetch(client)
        assert sorted(r.quota for r in records) == list(range(n))
        assert len(log_pages_requested(gw)) == log_requests


@pytest.mark.parametrize("flavor", ["new-api", "one-api"])
def test_empty_window(flavor: str) -> None:
    with (
        FakeGateway(rows=TEAM.rows, flavor=flavor, access_token=TOKEN, rate_limit=None) as gw,
        make_client(gw) as c,
    ):
        assert fetch(c, START - 86400 * 400, START - 86400 * 300) == []
        assert len(log_pages_requested(gw)) == 1


def test_window_bounds_are_inclusive(gateway: FakeGateway) -> None:
    t = 1_780_000_000
    rows = [
        {**TEAM.rows[50], "created_at": ts, "quota": ts - t + 1} for ts in (t - 1, t, t + 5, t + 10, t + 11)
    ]
    with FakeGateway(rows=rows, access_token=TOKEN, rate_limit=None) as gw, make_client(gw) as client:
        assert sorted(r.quota for r in fetch(client, t, t + 10)) == [1, 6, 11]
        # consecutive windows [a, b-1], [b, c-1] see each row once
        first, second = fetch(client, t - 1, t + 4), fetch(client, t + 5, t + 11)
        assert sorted(r.quota for r in first + second) == [0, 1, 6, 11, 12]  # quota is never negative


def test_rows_written_during_a_crawl_do_not_disturb_a_closed_window() -> None:
    with FakeGateway(rows=TEAM.rows, access_token=TOKEN, rate_limit=None) as gw:
        late = [{**TEAM.rows[0], "created_at": END + 3600 + i} for i in range(30)]

        def write_more(path: str) -> None:
            if path == "/api/log/self":
                gw.insert_rows(late)  # newest-first list grows while we page through it

        with make_client(gw, on_request=write_more) as client:
            records = fetch(client)
    assert Counter(identity(r) for r in records) == expected_rows(TEAM.rows)


def test_twin_rows_both_count() -> None:
    twin = {**TEAM.rows[10], "created_at": START + 100}
    with (
        FakeGateway(rows=[twin, dict(twin)], access_token=TOKEN, rate_limit=None) as gw,
        make_client(gw) as c,
    ):
        records = fetch(c)
    assert len(records) == 2 and identity(records[0]) == identity(records[1])
    assert records[0].request_id == records[1].request_id  # only the unstable position id differs


@pytest.mark.parametrize(
    "kind", ["429", "html502", "html503", "html520", "500", "success_false", "truncated", "badjson", "reset"]
)
@pytest.mark.parametrize("flavor", ["new-api", "crazyrouter"])
def test_every_fault_is_ridden_out(kind: str, flavor: str) -> None:
    faults = Faults(schedule={0: kind, 2: kind, 3: kind, 9: kind})
    with FakeGateway(rows=TEAM.rows, flavor=flavor, access_token=TOKEN, rate_limit=None, faults=faults) as gw:
        clock = FakeClock()
        with make_client(gw, clock) as client:
            records = fetch(client)
            assert client.retries == 4 and client.requests_made == len(gw.requests)
        assert Counter(identity(r) for r in records) == expected_rows(TEAM.rows)
        assert gw.faults_injected == 4 and clock.slept


def test_read_timeout_is_ridden_out() -> None:
    faults = Faults(schedule={1: "slow"}, slow_seconds=0.5)
    with (
        FakeGateway(rows=TEAM.rows[:150], access_token=TOKEN, rate_limit=None, faults=faults) as gw,
        make_client(gw, timeout=(2.0, 0.15)) as client,
    ):
        records = fetch(client)
        assert client.retries == 1
    assert len(records) == sum(1 for r in TEAM.rows[:150] if START <= r["created_at"] <= END)


def test_random_faults_every_few_requests() -> None:
    faults = Faults(every=3, kinds=("429", "html502", "truncated", "reset", "badjson", "500"), seed=5)
    with (
        FakeGateway(rows=TEAM.rows, access_token=TOKEN, rate_limit=None, faults=faults) as gw,
        make_client(gw) as c,
    ):
        assert Counter(identity(r) for r in fetch(c)) == expected_rows(TEAM.rows)


@pytest.mark.parametrize("kind", ["html503", "reset", "429", "truncated"])
def test_persisting_fault_gives_up_clearly(kind: str) -> None:
    with FakeGateway(rows=TEAM.rows, access_token=TOKEN, rate_limit=None, faults=Faults(down=kind)) as gw:
        clock = FakeClock()
        with make_client(gw, clock) as client, pytest.raises(GatewayError) as info:
            fetch(client)
    message = str(info.value)
    assert "gave up after" in message and "attempts over" in message and "\n" not in message
    # a persisting 429 is waited out over a whole rate-limit window (180 s here) before giving up;
    # every wait went through the injected sleep (the fake clock moved by exactly what was slept)
    horizon = 180 * 1.5 + 25 if kind == "429" else 130
    assert clock.now - 1000.0 <= horizon and clock.now - 1000.0 == pytest.approx(sum(clock.slept))
    if kind == "429":
        assert clock.now - 1000.0 > 180
    assert TOKEN not in message


def test_success_false_persisting_after_auth_is_a_gateway_error() -> None:
    faults = Faults(schedule={i: "success_false" for i in range(1, 10)})
    with (
        FakeGateway(rows=TEAM.rows, access_token=TOKEN, rate_limit=None, faults=faults) as gw,
        make_client(gw) as c,
    ):
        c.user_self()  # authenticated once: a later refusal is not about credentials
        with pytest.raises(GatewayError) as info:
            fetch(c)
    assert not isinstance(info.value, AuthError)
    assert "database is locked" in str(info.value)


def test_connection_refused_gives_up() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    clock = FakeClock()
    cfg = GatewayConfig(base_url=f"http://127.0.0.1:{port}", user_id=42, access_token=Secret(TOKEN))
    with GatewayClient(cfg, sleep=clock.sleep, clock=clock) as client, pytest.raises(GatewayError) as info:
        client.status()
    assert "connection refused" in str(info.value) and "gave up after" in str(info.value)


# ---------------------------------------------------------------------------- authentication
def _auth_error(gw: FakeGateway, **kw: Any) -> str:
    with make_client(gw, **kw) as client, pytest.raises(AuthError) as info:
        client.user_self()
    message = str(info.value)
    assert "\n" not in message
    assert TOKEN not in message and "wrong-token" not in message and "t0k3n" not in message
    assert TOKEN not in repr(client) and TOKEN not in repr(client.config)
    return message


def test_wrong_token_is_an_auth_error(gateway: FakeGateway) -> None:
    message = _auth_error(gateway, token="wrong-token")
    assert "access token" in message and "sk-" in message and "NUMERIC" in message


def test_wrong_user_id_is_an_auth_error(gateway: FakeGateway) -> None:
    message = _auth_error(gateway, user_id=7)
    assert "401" in message and "NUMERIC" in message and "username" in message


def test_missing_user_id_asks_for_it(gateway: FakeGateway) -> None:
    message = _auth_error(gateway, user_id=None)
    assert "gateway.user_id" in message
    assert gateway.requests == []


def test_missing_token_asks_for_it(gateway: FakeGateway) -> None:
    assert "REPORTGEN_ACCESS_TOKEN" in _auth_error(gateway, token=None)


def test_server_echoing_the_token_is_scrubbed() -> None:
    with FakeGateway(access_token="other", rate_limit=None) as gw, make_client(gw) as client:
        client._scrub(TOKEN)  # noqa: SLF001 - the scrubber itself
        assert TOKEN not in client._scrub(f"bad token {TOKEN}")  # noqa: SLF001


def test_one_api_does_not_need_the_user_header() -> None:
    with (
        FakeGateway(rows=TEAM.rows, flavor="one-api", access_token=TOKEN, rate_limit=None) as gw,
        make_client(gw, user_id=99999) as client,
    ):
        assert client.user_self()["id"] == 42


def test_missing_base_url_is_a_config_error() -> None:
    with (
        GatewayClient(GatewayConfig(user_id=1, access_token=Secret(TOKEN))) as client,
        pytest.raises(ConfigError),
    ):
        client.status()


# ---------------------------------------------------------------------------- other endpoints
@pytest.mark.parametrize(("flavor", "n"), [("new-api", 105), ("one-api", 25), ("new-api-legacy", 100)])
def test_keys_are_paged(flavor: str, n: int) -> None:
    tokens = [{**TEAM.tokens[0], "id": i + 1, "name": f"k{i}"} for i in range(n)]
    with (
        FakeGateway(tokens=tokens, flavor=flavor, access_token=TOKEN, rate_limit=None) as gw,
        make_client(gw) as c,
    ):
        keys = c.keys()
    assert sorted(k.id for k in keys) == list(range(1, n + 1))


def test_user_self_and_stat(gateway: FakeGateway) -> None:
    with make_client(gateway) as client:
        me = client.user_self()
        assert me["id"] == 42 and "access_token" not in me
        totals = expected_totals(TEAM.rows, START, END + 1)
        assert client.log_stat(START, END) == totals.consumed
        assert client.log_stat(START, END, "key-lisi") == totals.consumed_by_token["key-lisi"]
        gateway.rename_user("acme-renamed")
        assert client.log_stat(START, END) == 0


def test_status_values() -> None:
    status = {"quota_per_unit": 1000000.5, "usd_exchange_rate": "7.1", "version": "v1"}
    wall = FakeClock(1_777_000_000.0)
    with (
        FakeGateway(status=status, rate_limit=None) as gw,
        make_client(gw, flavor="auto", wall_clock=wall) as client,
    ):
        got = client.status()
        assert client.flavor == "new-api"
    assert got.quota_per_unit == Decimal("1000000.5") and got.usd_exchange_rate == Decimal("7.1")
    assert got.version == "v1" and got.read_at == 1_777_000_000  # stamped by the injected wall clock
    with FakeGateway(status={"quota_per_unit": None}, rate_limit=None) as gw, make_client(gw) as client:
        assert client.status().quota_per_unit == Decimal(500000)


def test_configured_flavor_is_kept() -> None:
    with (
        FakeGateway(rows=TEAM.rows, flavor="crazyrouter", access_token=TOKEN, rate_limit=None) as gw,
        make_client(gw, flavor="new-api") as client,
    ):
        fetch(client)
        assert client.flavor == "new-api"


# ---------------------------------------------------------------------------- rate limit
def test_limiter_uses_the_burst_and_never_triggers_429() -> None:
    """On the client's (fake) clock: a burst of 19 at once, the rest one window later, never more
    than the window allows (so a gateway counting the same window never answers 429)."""
    with FakeGateway(rate_limit=None) as gw:
        clock = FakeClock()
        stamps = []
        with make_client(gw, clock, requests_per_window=20, window_seconds=1) as client:
            for _ in range(30):
                client.status()
                stamps.append(clock.now - 1000.0)
        assert client.retries == 0
    assert stamps[:19] == [0.0] * 19  # the first 19 go at once
    assert stamps[19] >= 1.0 and stamps[-1] == stamps[19]  # then the rest after one window, not paced evenly
    assert all(later - first >= 1.0 for first, later in zip(stamps, stamps[19:], strict=False))


def test_429_pauses_the_limiter() -> None:
    with FakeGateway(rate_limit=None, faults=Faults(schedule={0: "429"})) as gw:
        clock = FakeClock()
        with make_client(gw, clock) as client:
            client.status()
            assert client.retries == 1 and client.limiter.waited > 0


def test_a_server_that_ignores_paging_is_caught() -> None:
    rows = [{**TEAM.rows[3], "created_at": START + i} for i in range(30)]
    gw = FakeGateway(rows=rows, flavor="one-api", access_token=TOKEN, rate_limit=None)
    with gw, make_client(gw) as c:
        gw._paging = lambda q: (0, 10, 0)  # type: ignore[method-assign]  # every p is page 0
        with pytest.raises(GatewayError, match="ignores paging"):
            fetch(c)


@pytest.mark.parametrize("bad", ["tok en", "zq9x7w\n", "令牌abc"])
def test_unsendable_token_is_an_auth_error_without_the_token(gateway: FakeGateway, bad: str) -> None:
    with make_client(gateway, token=bad) as client, pytest.raises(AuthError) as info:
        client.user_self()
    assert bad.strip() not in str(info.value) and gateway.requests == []
