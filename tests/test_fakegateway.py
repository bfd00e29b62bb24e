"""The fake gateway speaks each flavour as gateway-api.md describes; synthetic data is sane."""

from __future__ import annotations

import json
import threading
import types
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from reportgen.testing.fakegateway import FakeGateway, Faults, expected_totals, iter_rows, team_month
from reportgen.testing.fakegateway.server import IDLE_TIMEOUT

TOKEN = "t0k3n"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "New-Api-User": "42"}
TEAM = team_month()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def get(
    http: requests.Session, gw: FakeGateway, path: str, headers: dict | None = None, **params: Any
) -> Any:
    resp = http.get(gw.url + path, params=params, headers=HEADERS if headers is None else headers, timeout=5)
    return resp.status_code, (resp.json() if resp.content else None)


def rows_at(*stamps: int, **extra: Any) -> list[dict]:
    return [{**TEAM.rows[5], "created_at": ts, "quota": i, **extra} for i, ts in enumerate(stamps)]


def test_new_api_paging_is_one_based_and_p0_is_p1(http: requests.Session) -> None:
    with FakeGateway(rows=rows_at(*range(1000, 1250)), rate_limit=None) as gw:
        _, p0 = get(http, gw, "/api/log/self", p=0, page_size=100)
        _, p1 = get(http, gw, "/api/log/self", p=1, page_size=100)
        _, p3 = get(http, gw, "/api/log/self", p=3, page_size=500)
        _, default = get(http, gw, "/api/log/self")
    assert p0 == p1 and p0["data"]["page"] == 1 and p0["data"]["total"] == 250
    assert [r["quota"] for r in p1["data"]["items"]][:3] == [249, 248, 247]  # newest first
    assert p3["data"]["page_size"] == 100 and len(p3["data"]["items"]) == 50
    assert len(default["data"]["items"]) == 10
    assert [r["id"] for r in p3["data"]["items"]][:2] == [201, 202]  # ids are positions


def test_legacy_and_one_api_are_zero_based_bare_lists(http: requests.Session) -> None:
    rows = rows_at(*range(1000, 1250))
    with FakeGateway(rows=rows, flavor="new-api-legacy", rate_limit=None) as gw:
        _, page0 = get(http, gw, "/api/log/self", p=0, page_size=100)
        _, page2 = get(http, gw, "/api/log/self", p=2, page_size=100)
    assert isinstance(page0["data"], list) and len(page0["data"]) == 100 and len(page2["data"]) == 50
    with FakeGateway(rows=rows, flavor="one-api", rate_limit=None) as gw:
        _, page0 = get(http, gw, "/api/log/self", p=0, page_size=100)
        _, page1 = get(http, gw, "/api/log/self", p=1, page_size=100)
    assert [len(page0["data"]), page0["data"][0]["quota"], page1["data"][0]["quota"]] == [10, 249, 239]
    assert "other" not in page0["data"][0] and page0["data"][0]["id"] == 0


def test_rendering_per_flavor(http: requests.Session) -> None:
    row = next(r for r in TEAM.rows if r["type"] == 2 and r["other"].get("model_ratio"))
    unpriced = {**row, "created_at": row["created_at"] + 1, "other": {}}
    rendered = {}
    for flavor in ("new-api", "crazyrouter", "one-api"):
        with FakeGateway(rows=[row, unpriced], flavor=flavor, rate_limit=None) as gw:
            _, body = get(http, gw, "/api/log/self", p=0, page_size=100)
        data = body["data"]
        rendered[flavor] = data["items"] if isinstance(data, dict) else data
    empty_new, new = rendered["new-api"]
    assert (
        isinstance(new["other"], str)
        and json.loads(new["other"])["model_ratio"] == row["other"]["model_ratio"]
    )
    assert "client" not in json.loads(new["other"]) and isinstance(new["use_time"], int)
    assert empty_new["other"] in ("null", "") and "cost_usd" not in new
    cr = rendered["crazyrouter"][1]
    assert isinstance(cr["other"], dict) and cr["other"]["request_id"] == row["request_id"]
    assert isinstance(cr["use_time"], float) and cr["cost_usd"] == row["quota"] / 500000
    assert "token_id" not in cr and "request_id" not in cr
    assert "other" not in rendered["one-api"][1]


def test_order_ties_and_filters(http: requests.Session) -> None:
    rows = rows_at(100, 200, 200, 300, token_name="a") + rows_at(150, 250, token_name="b", model_name="gpt-x")
    with FakeGateway(rows=rows, rate_limit=None) as gw:
        gw.insert_rows(rows_at(200, quota=99, token_name="a"))
        _, body = get(http, gw, "/api/log/self", p=1, page_size=100)
        order = [(r["created_at"], r["token_name"], r["quota"]) for r in body["data"]["items"]]
        _, window = get(http, gw, "/api/log/self", start_timestamp=150, end_timestamp=250, page_size=100)
        _, by_token = get(http, gw, "/api/log/self", token_name="b", page_size=100)
        _, like = get(http, gw, "/api/log/self", model_name="gpt-%", page_size=100)
        _, exact = get(http, gw, "/api/log/self", model_name="gpt", page_size=100)
        _, typed = get(http, gw, "/api/log/self", type=6, page_size=100)
    assert order[0] == (300, "a", 3) and order[1] == (250, "b", 1)
    assert order[2:5] == [(200, "a", 99), (200, "a", 2), (200, "a", 1)]  # ties: newest insert first
    assert sorted(r["created_at"] for r in window["data"]["items"]) == [150, 200, 200, 200, 250]
    assert by_token["data"]["total"] == 2 and like["data"]["total"] == 2 and exact["data"]["total"] == 0
    assert typed["data"]["total"] == 0


def test_stat_counts_type_2_of_the_current_username(http: requests.Session) -> None:
    rows = rows_at(100, 200, type=2) + rows_at(300, type=6) + rows_at(400, type=5)
    with FakeGateway(rows=rows, rate_limit=None) as gw:
        _, stat = get(http, gw, "/api/log/self/stat", type=6)
        gw.rename_user("new-name")
        gw.insert_rows(rows_at(500, type=2, quota=7, username="new-name"))
        _, after = get(http, gw, "/api/log/self/stat")
        _, me = get(http, gw, "/api/user/self")
    assert stat["data"]["quota"] == 0 + 1 and after["data"]["quota"] == 7
    assert me["data"]["username"] == "new-name" and "access_token" not in me["data"]


@pytest.mark.parametrize(
    ("flavor", "headers", "code"),
    [
        ("new-api", {}, 401),
        ("new-api", {"Authorization": "Bearer nope", "New-Api-User": "42"}, 200),
        ("new-api", {"Authorization": f"Bearer {TOKEN}"}, 401),
        ("new-api", {"Authorization": f"Bearer {TOKEN}", "New-Api-User": "acme"}, 401),
        ("crazyrouter", {"Authorization": f"Bearer {TOKEN}", "New-Api-User": "7"}, 401),
        ("one-api", {"Authorization": f"Bearer {TOKEN}"}, None),
        ("one-api", {"Authorization": TOKEN}, None),
    ],
)
def test_auth_rules(http: requests.Session, flavor: str, headers: dict, code: int | None) -> None:
    with FakeGateway(flavor=flavor, rate_limit=None) as gw:
        status, body = get(http, gw, "/api/user/self", headers=headers)
        _, public = get(http, gw, "/api/status", headers={})
    if code is None:
        assert status == 200 and body["success"] is True
    else:
        assert status == code and body["success"] is False and body["message"]
    assert public["success"] is True


def test_status_per_flavor(http: requests.Session) -> None:
    with FakeGateway(flavor="one-api", rate_limit=None) as gw:
        _, one = get(http, gw, "/api/status")
    with FakeGateway(status={"usd_exchange_rate": 7.1}, rate_limit=None) as gw:
        _, new = get(http, gw, "/api/status")
    assert "usd_exchange_rate" not in one["data"] and "quota_display_type" not in one["data"]
    assert new["data"]["usd_exchange_rate"] == 7.1 and new["data"]["quota_per_unit"] == 500000


def test_tokens_are_paged_per_flavor(http: requests.Session) -> None:
    tokens = [{**TEAM.tokens[0], "id": i, "name": f"k{i}"} for i in range(1, 26)]
    with FakeGateway(tokens=tokens, rate_limit=None) as gw:
        _, body = get(http, gw, "/api/token/", p=1, page_size=100)
    assert body["data"]["total"] == 25 and body["data"]["items"][0]["id"] == 25
    with FakeGateway(tokens=tokens, flavor="one-api", rate_limit=None) as gw:
        _, body = get(http, gw, "/api/token/", p=2, page_size=100)
    assert [t["id"] for t in body["data"]] == [5, 4, 3, 2, 1]


def test_rate_limit_is_an_empty_429(http: requests.Session) -> None:
    with FakeGateway(rate_limit=(3, 60)) as gw:
        codes = [http.get(gw.url + "/api/status", timeout=5) for _ in range(5)]
        assert [r.status_code for r in codes] == [200, 200, 200, 429, 429]
        assert codes[3].content == b"" and "Retry-After" not in codes[3].headers
        assert gw.too_many == 2


def test_user_token_is_recorded_and_regenerates(http: requests.Session) -> None:
    with FakeGateway(rate_limit=None) as gw:
        get(http, gw, "/api/user/token")
        assert gw.user_token_calls == 1 and gw.requests[0].path == "/api/user/token"
        _, body = get(http, gw, "/api/user/self")
        assert body["success"] is False  # the old token no longer works


def test_faults_look_like_the_real_thing(http: requests.Session) -> None:
    plan = {0: "429", 1: "html502", 2: "truncated", 3: "reset", 4: "badjson", 5: "success_false", 6: "500"}
    with FakeGateway(rows=TEAM.rows, rate_limit=None, faults=Faults(schedule=plan)) as gw:
        url = gw.url + "/api/log/self"

        def call() -> requests.Response:
            return http.get(url, headers=HEADERS, params={"page_size": 100}, timeout=5)

        first = call()
        assert first.status_code == 429 and first.content == b""
        html = call()
        assert html.status_code == 502 and "text/html" in html.headers["Content-Type"]
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            call()
        with pytest.raises(requests.ConnectionError):
            call()
        with pytest.raises(ValueError):
            call().json()
        assert call().json()["success"] is False
        assert call().status_code == 500
        assert call().json()["success"] is True
        assert [r.fault for r in gw.requests[:7]] == list(plan.values()) and gw.faults_injected == 7


def test_down_and_every() -> None:
    assert Faults(down="html503").kind_for(12345) == "html503"
    plan = Faults(every=4, kinds=("429", "reset"), seed=3)
    assert [plan.kind_for(i) is not None for i in range(8)] == [False, False, False, True] * 2
    assert [plan.kind_for(i) for i in range(40)] == [plan.kind_for(i) for i in range(40)]
    with pytest.raises(ValueError):
        Faults(schedule={1: "explode"})


def test_retention_and_live_inserts(http: requests.Session) -> None:
    with FakeGateway(rows=rows_at(100, 200, 300), rate_limit=None) as gw:
        assert gw.delete_rows_before(200) == 1
        gw.insert_rows(rows_at(400))
        _, body = get(http, gw, "/api/log/self", page_size=100)
        assert [r["created_at"] for r in body["data"]["items"]] == [400, 300, 200] and gw.row_count() == 3


def test_close_is_clean_with_open_keepalive_connections() -> None:
    gw = FakeGateway(rate_limit=None).start()
    with requests.Session() as session:
        session.get(gw.url + "/api/status", timeout=5)
        # close must not wait for the client's idle keep-alive connection: were it to, it
        # would return only when the handler's idle timeout (30 s) ends that connection
        closer = threading.Thread(target=gw.close, daemon=True)
        closer.start()
        closer.join(timeout=IDLE_TIMEOUT / 2)
        assert not closer.is_alive(), "close() waited for an idle keep-alive connection"
    gw.close()  # idempotent
    with pytest.raises(RuntimeError):
        _ = gw.url


# ---------------------------------------------------------------------------- synthetic data
def test_team_month_is_deterministic() -> None:
    again = team_month()
    assert again.rows == TEAM.rows and again.tokens == TEAM.tokens
    assert team_month(seed=8).rows != TEAM.rows
    assert 1500 < len(TEAM.rows) < 6000


def test_team_month_content() -> None:
    tz = ZoneInfo(TEAM.tz)
    assert TEAM.start_ts == int(datetime(2026, 4, 1, tzinfo=tz).timestamp())
    assert TEAM.end_ts == int(datetime(2026, 5, 1, tzinfo=tz).timestamp())
    assert TEAM.members["张三"] == ["key-zhangsan", "key-zhangsan-batch"]
    assert {"李四", "王五", "Alice Smith", "Bob Lee"} <= set(TEAM.members)
    mapped = {k for keys in TEAM.members.values() for k in keys}
    token_names = {t["name"] for t in TEAM.tokens}
    assert "ci-pipeline" in token_names - mapped
    totals = expected_totals(TEAM.rows, TEAM.start_ts, TEAM.end_ts)
    assert totals.consumed_by_token["key-wangwu"] == 0 and "key-wangwu" in token_names
    assert len({r["model_name"] for r in TEAM.rows if r["type"] == 2}) >= 6
    assert totals.count_by_type[6] > 0 and totals.refunded_by_model.keys() == {"sora-2"}
    assert totals.count_by_type[5] > 0 and totals.quota_by_type[5] == 0
    assert totals.subscription_quota > 0
    assert any(r["type"] == 2 and r["quota"] == 0 and r["prompt_tokens"] > 0 for r in TEAM.rows)
    assert any(
        r["type"] == 2 and not r["other"].get("model_ratio") and "model_price" not in r["other"]
        for r in TEAM.rows
    )
    stamps = [r["created_at"] for r in TEAM.rows]
    assert {TEAM.start_ts, TEAM.end_ts - 1, TEAM.start_ts - 1, TEAM.end_ts} <= set(stamps)
    seen: dict[str, int] = {}
    for r in TEAM.rows:
        key = json.dumps(r, sort_keys=True)
        seen[key] = seen.get(key, 0) + 1
    assert max(seen.values()) == 2  # twins
    weekday = sum(1 for t in stamps if datetime.fromtimestamp(t, tz).weekday() < 5)
    assert weekday > 0.85 * len(stamps)
    assert all(r.get("request_id") for r in TEAM.rows if r["type"] == 2)


def test_expected_totals_is_half_open() -> None:
    rows = [
        {"created_at": t, "type": 2, "quota": 1, "token_name": "a", "model_name": "m"}
        for t in (9, 10, 19, 20)
    ]
    totals = expected_totals(rows, 10, 20)
    assert totals.rows == 2 and totals.net_quota == 2 and totals.net_by_token() == {"a": 2}


def test_iter_rows_streams() -> None:
    gen = iter_rows(1_000_000, 1_000_000, 2_000_000, members=50, models=12)
    assert isinstance(gen, types.GeneratorType)
    first = [next(gen) for _ in range(1000)]
    assert first[0]["created_at"] == 1_000_000 and all(
        1_000_000 <= r["created_at"] < 2_000_000 for r in first
    )
    assert len({r["token_name"] for r in first}) == 50 and len({r["model_name"] for r in first}) == 12
    assert list(iter_rows(5, 0, 10)) == list(iter_rows(5, 0, 10))
