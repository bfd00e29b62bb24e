"""Row and key parsing is tolerant of every flavour's shapes and of odd values."""

from __future__ import annotations

import json

import pytest

from reportgen.gateway.parse import parse_key, parse_log_row, parse_other, use_time_ms

BASE = {
    "id": 1,
    "user_id": 42,
    "created_at": 1775100000,
    "type": 2,
    "content": "",
    "username": "acme",
    "token_name": "key-zhangsan",
    "token_id": 18,
    "model_name": "gpt-5-mini",
    "quota": 1215,
    "prompt_tokens": 3000,
    "completion_tokens": 310,
    "use_time": 3,
    "is_stream": True,
    "channel": 7,
    "group": "default",
    "request_id": "20260402031320123456789ab12cd34ef",
}
PRICED = {"model_ratio": 0.125, "group_ratio": 1, "completion_ratio": 8, "frt": 812}


def test_contract_example_row() -> None:
    item = {**BASE, "other": json.dumps(PRICED)}
    rec = parse_log_row(item)
    assert (rec.created_at, rec.type, rec.token_name, rec.model_name, rec.quota) == (
        1775100000,
        2,
        "key-zhangsan",
        "gpt-5-mini",
        1215,
    )
    assert (rec.prompt_tokens, rec.completion_tokens, rec.use_time_ms) == (3000, 310, 3000)
    assert rec.is_stream and rec.token_id == 18 and rec.channel == 7 and rec.group == "default"
    assert rec.request_id == BASE["request_id"] and rec.has_price
    assert rec.raw == json.dumps(item, ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize(
    ("other", "expected"),
    [
        (json.dumps(PRICED), PRICED),
        (PRICED, PRICED),
        ("null", None),
        ("", None),
        (None, None),
        ("{not json", None),
        ("[1, 2]", None),
        (17, None),
    ],
)
def test_other_variants(other: object, expected: object) -> None:
    assert parse_other(other) == expected
    rec = parse_log_row({**BASE, "other": other})
    assert rec.has_price is (expected is not None)


def test_other_absent_is_one_api_and_not_flagged_unpriced() -> None:
    rec = parse_log_row(BASE)
    assert rec.has_price and rec.client is None and rec.billing_source is None


def test_crazyrouter_row() -> None:
    other = {
        "client": "openai-python",
        "request_id": "req-1",
        "http_status": "200",
        "request_path": "/v1/chat/completions",
        "billing_source": "subscription",
        "model_ratio": 1.5,
    }
    item = {k: v for k, v in BASE.items() if k not in ("request_id", "token_id")}
    item.update(other=other, cost_usd=0.00243, use_time=2.84)
    rec = parse_log_row(item)
    assert rec.request_id == "req-1" and rec.client == "openai-python" and rec.http_status == 200
    assert rec.use_time_ms == 2840 and rec.token_id is None
    assert rec.billing_source == "subscription" and rec.subscription
    assert rec.quota == 1215  # cost_usd is ignored: quota is the record


def test_row_request_id_wins_over_other() -> None:
    rec = parse_log_row({**BASE, "other": {"request_id": "from-other"}})
    assert rec.request_id == BASE["request_id"]
    rec = parse_log_row({**BASE, "request_id": "", "other": '{"request_id":"from-other"}'})
    assert rec.request_id == "from-other"


@pytest.mark.parametrize(
    ("other", "priced"),
    [
        ({"model_ratio": 0.5, "model_price": -1}, True),
        ({"model_price": 0.5}, True),
        ({"model_price": 0}, True),
        ({"model_price": -1}, False),
        ({"group_ratio": 1}, False),
        ({"model_ratio": None}, False),
        ({}, False),
    ],
)
def test_has_price(other: dict, priced: bool) -> None:
    assert parse_log_row({**BASE, "other": json.dumps(other)}).has_price is priced


@pytest.mark.parametrize(
    ("value", "ms"),
    [
        (3, 3000),
        (0, 0),
        (2.84, 2840),
        (0.0015, 2),
        ("4", 4000),
        ("1.5", 1500),
        (None, None),
        ("", None),
        ("x", None),
    ],
)
def test_use_time(value: object, ms: int | None) -> None:
    assert use_time_ms(value) == ms


def test_missing_and_null_fields() -> None:
    rec = parse_log_row({"created_at": None, "quota": None, "token_name": None, "other": "null"})
    assert (rec.created_at, rec.type, rec.quota, rec.token_name, rec.model_name) == (0, 0, 0, "", "")
    assert rec.use_time_ms is None and rec.request_id is None and rec.token_id is None
    assert parse_log_row({}).raw == "{}"


def test_strings_where_ints_belong() -> None:
    rec = parse_log_row(
        {
            "created_at": "1775100000",
            "type": "6",
            "quota": "250000",
            "prompt_tokens": "12.0",
            "completion_tokens": "bad",
            "token_id": "19",
            "channel": "3",
            "is_stream": "false",
            "model_name": 5,
        }
    )
    assert (rec.created_at, rec.type, rec.quota, rec.prompt_tokens, rec.completion_tokens) == (
        1775100000,
        6,
        250000,
        12,
        0,
    )
    assert rec.token_id == 19 and rec.channel == 3 and rec.is_stream is False and rec.model_name == "5"


def test_raw_keeps_non_ascii_compactly() -> None:
    item = {**BASE, "content": "通过兑换码充值", "other": {"client": "客户端"}}
    raw = parse_log_row(item).raw
    assert "通过兑换码充值" in raw and ", " not in raw and json.loads(raw) == item


def test_parse_key_drops_the_masked_key() -> None:
    item = {
        "id": 18,
        "name": "key-zhangsan",
        "key": "abcd**********wxyz",
        "status": 2,
        "used_quota": "100",
        "remain_quota": None,
        "unlimited_quota": True,
        "group": "default",
        "created_time": 1770000000,
        "accessed_time": 1775000000,
        "expired_time": -1,
    }
    key = parse_key(item)
    assert (key.id, key.name, key.status, key.used_quota, key.remain_quota) == (18, "key-zhangsan", 2, 100, 0)
    assert key.unlimited_quota and key.expired_time == -1
    assert "abcd" not in repr(key) and not hasattr(key, "key")
    assert parse_key({}).expired_time == -1 and parse_key({}).status == 1
