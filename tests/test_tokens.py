"""Token types and unit prices read from new-api's ``other``, and its quota formula recomputed."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from reportgen.core.tokens import TokenUsage, other_of_raw, usage_of
from reportgen.core.unitprice import (
    call_price,
    explain,
    per_call_quota,
    ratio_quota,
    round_half_away,
    row_usage,
    token_price,
)
from reportgen.gateway.parse import parse_log_row, parse_log_rows

QPU = Decimal(500000)


def _row(other: object, prompt: int, completion: int, quota: int, **extra: object) -> dict[str, object]:
    item: dict[str, object] = {
        "created_at": 1775100000, "type": 2, "token_name": "k", "model_name": "m", "quota": quota,
        "prompt_tokens": prompt, "completion_tokens": completion, **extra,
    }  # fmt: skip
    if other is not ...:
        item["other"] = other if isinstance(other, str | type(None)) else json.dumps(other)
    return item


def test_openai_row_with_cache_reads_is_explained_and_its_input_excludes_the_cache():
    # gpt-5-mini: input 0.25/1M (ratio 0.125), output x8, cache read x0.1
    other = {"model_ratio": 0.125, "group_ratio": 1, "completion_ratio": 8, "cache_tokens": 2000,
             "cache_ratio": 0.1, "model_price": -1, "user_group_ratio": -1}  # fmt: skip
    quota = round_half_away((Decimal(1000) + Decimal(2000) * Decimal("0.1") + 310 * 8) * Decimal("0.125"))
    usage = parse_log_row(_row(other, 3000, 310, quota)).usage
    assert usage is not None
    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens) == (1000, 2000, 0)
    assert usage.price_note is None and usage.usage_semantic == "openai"
    assert parse_log_row(_row(other, 3000, 310, quota + 1)).usage.price_note == "mismatch"  # type: ignore[union-attr]


def test_claude_row_prompt_excludes_cache_and_the_5m_1h_split_has_its_ratios():
    other = {"model_ratio": 1.5, "group_ratio": 0.8, "completion_ratio": 5, "cache_tokens": 10000,
             "cache_ratio": 0.1, "model_price": -1, "user_group_ratio": -1, "claude": True,
             "cache_creation_tokens": 3000, "cache_creation_ratio": 1.25, "cache_creation_tokens_5m": 1000,
             "cache_creation_ratio_5m": 1.25, "cache_creation_tokens_1h": 2000, "cache_creation_ratio_1h": 2,
             "usage_semantic": "anthropic"}  # fmt: skip
    exact = (
        (500 + 10000 * Decimal("0.1") + 1000 * Decimal("1.25") + 2000 * 2 + 200 * 5)
        * Decimal("1.5")
        * Decimal("0.8")
    )
    usage = parse_log_row(_row(other, 500, 200, round_half_away(exact))).usage
    assert usage is not None and usage.price_note is None
    assert (usage.input_tokens, usage.cache_write_tokens, usage.cache_write_base_tokens) == (500, 3000, 0)
    assert usage.cache_write_5m_ratio == "1.25" and usage.cache_write_1h_ratio == "2"


def test_min_one_rule_and_zero_tokens():
    other = {"model_ratio": 0.0001, "group_ratio": 1, "completion_ratio": 1, "cache_tokens": 0, "cache_ratio": 1,
             "model_price": -1}  # fmt: skip
    assert parse_log_row(_row(other, 1, 0, 1)).usage.price_note is None  # type: ignore[union-attr]
    assert parse_log_row(_row(other, 0, 0, 0)).usage.price_note is None  # type: ignore[union-attr]


def test_per_call_tiered_one_api_and_surcharge_rows_say_why():
    per_call = {"model_ratio": 0, "group_ratio": 1.5, "completion_ratio": 0, "cache_tokens": 0, "cache_ratio": 0,
                "model_price": 0.04}  # fmt: skip
    assert parse_log_row(_row(per_call, 10, 0, 30000)).usage.price_note == "per_call"  # type: ignore[union-attr]
    assert per_call_quota(Decimal("0.04"), Decimal("1.5"), QPU) == 30000
    assert call_price(30000, QPU) == Decimal("0.06")
    tiered = {"model_ratio": 0, "group_ratio": 1, "completion_ratio": 0, "model_price": 0, "cache_tokens": 0,
              "billing_mode": "tiered_expr", "expr_b64": "cA==", "matched_tier": "t2"}  # fmt: skip
    assert parse_log_row(_row(tiered, 10, 5, 99)).usage.price_note == "tiered"  # type: ignore[union-attr]
    one_api = parse_log_row(_row(..., 10, 5, 99)).usage
    assert one_api == TokenUsage(input_tokens=10, price_note="no_pricing")  # cache not reported: None, not 0
    search = {"model_ratio": 1, "group_ratio": 1, "completion_ratio": 1, "cache_tokens": 0, "cache_ratio": 1,
              "web_search": True, "web_search_call_count": 1}  # fmt: skip
    assert parse_log_row(_row(search, 10, 5, 15 + 5000)).usage.price_note == "surcharge"  # type: ignore[union-attr]


def test_unit_prices_per_million_tokens():
    assert token_price(Decimal(1), Decimal(1), None, QPU) == 2  # model ratio 1 = USD 2 per 1M
    assert token_price(Decimal("0.125"), Decimal(1), Decimal(8), QPU) == 2  # gpt-5-mini output
    assert token_price(Decimal("1.5"), Decimal("0.8"), Decimal("0.1"), QPU) == Decimal("0.24")
    assert token_price(Decimal(1), Decimal(1), None, Decimal(250000)) == 4


def test_round_half_away_from_zero():
    assert [round_half_away(Decimal(v)) for v in ("0.5", "1.5", "2.5", "2.4999")] == [1, 2, 3, 2]


def test_fast_path_and_row_path_agree_on_usage_and_raw_backfill_reads_the_same():
    fields = ("created_at", "type", "token_name", "model_name", "quota", "prompt_tokens", "completion_tokens",
              "other")  # fmt: skip
    other = json.dumps({"model_ratio": 2, "group_ratio": 1, "completion_ratio": 4, "cache_tokens": 5,
                        "cache_ratio": 0.5, "model_price": -1})  # fmt: skip
    rows = [(1775100000, 2, "k", "m", 2 * (95 + 2.5 + 40), 100, 10, other)]
    rows = [(*r[:4], int(r[4]), *r[5:]) for r in rows]
    batch = parse_log_rows(fields, rows)
    record = parse_log_row(dict(zip(fields, rows[0], strict=True)))
    assert batch.usage[0] == record.usage
    assert record.usage is not None and record.usage.price_note is None
    parsed, present = other_of_raw(record.raw)
    assert present and row_usage(parsed, present, 100, 10, rows[0][4]) == record.usage


@pytest.mark.parametrize("semantic", ["openai", "anthropic"])
def test_explain_is_ratio_quota(semantic: str):
    usage = usage_of({"model_ratio": 1, "group_ratio": 1, "completion_ratio": 1, "cache_tokens": 10,
                      "cache_ratio": 0.1, "usage_semantic": semantic}, 100)  # fmt: skip
    expected = ratio_quota(usage, 100, 0)
    assert expected == (91 if semantic == "openai" else 101)
    assert explain(usage, 100, 0, expected) is None
