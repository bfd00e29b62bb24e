"""Token types and unit prices read from new-api's ``other``, and its quota formula recomputed."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from reportgen.core.money import cents
from reportgen.core.pricegroups import PriceGroup, token_sums
from reportgen.core.pricelines import price_statement
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


def _group(model: str, **kw: object) -> PriceGroup:
    base: dict[str, object] = dict(
        token_name="k", model_name=model, type=2, subscription=False, model_ratio="1", completion_ratio="2",
        cache_ratio="0.1", cache_write_ratio=None, cache_write_5m_ratio=None, cache_write_1h_ratio=None,
        image_ratio=None, group_ratio="1", model_price="-1", usage_semantic="openai", price_note=None, rows=2,
        quota=0, min_quota=0, max_quota=0, first_ts=1775000000, last_ts=1775100000, prompt_tokens=0,
        completion_tokens=0, input_tokens=0, cache_read_tokens=0, cache_write_tokens=0,
        cache_write_5m_tokens=None, cache_write_1h_tokens=None, image_tokens=None, audio_input_tokens=None,
        audio_output_tokens=None, cache_rows=2, hit_base=0,
    )  # fmt: skip
    base.update(kw)
    return PriceGroup(**base)  # type: ignore[arg-type]


def test_a_price_change_splits_the_line_and_the_price_list_says_when():
    before = _group(
        "m", input_tokens=1_000_000, completion_tokens=500_000, quota=2_003_000, last_ts=1775500000
    )
    after = _group("m", model_ratio="2", input_tokens=250_000, quota=500_000, first_ts=1775600000,
                   last_ts=1775700000, token_name="k2")  # fmt: skip
    refund = _group("m", type=6, quota=100_000, input_tokens=None)
    statement = price_statement([before, after, refund], QPU)
    (model,) = statement.models
    kinds = [(line.kind, line.quantity, line.unit_price) for line in model.lines if line.kind]
    assert kinds == [("input", 1_000_000, 2), ("input", 250_000, 4), ("output", 500_000, 4)]
    assert [line.note for line in model.lines if not line.kind] == ["refund", "per_request_rounding"]
    assert sum(line.printed for line in model.lines) == cents(model.total)
    assert model.total == Decimal(2_003_000 + 500_000 - 100_000) / QPU
    changed = [e for e in statement.prices if e.kind == "input"]
    assert [e.unit_price for e in changed] == [2, 4] and all(e.changed for e in changed)
    assert changed[0].last_ts == 1775500000 and changed[1].first_ts == 1775600000


def test_per_call_lines_are_priced_only_when_every_call_is_the_price():
    good = _group("sora", model_ratio="0", model_price="0.5", price_note="per_call", rows=3, quota=750_000,
                  min_quota=250_000, max_quota=250_000)  # fmt: skip
    (line,) = price_statement([good], QPU).models[0].lines
    assert (line.kind, line.quantity, line.unit_price, line.amount) == (
        "call",
        3,
        Decimal("0.5"),
        Decimal("1.5"),
    )
    odd = good._replace(max_quota=250_001, quota=750_001)
    lines = price_statement([odd], QPU).models[0].lines
    assert [(x.kind, x.note) for x in lines] == [("", "mismatch")] and lines[0].unit_price is None
    tiered = _group("g", price_note="tiered", quota=12_345)
    assert [x.note for x in price_statement([tiered], QPU).models[0].lines] == ["tiered"]


def test_token_sums_keep_not_reported_apart_from_zero():
    one_api = _group("q", cache_read_tokens=None, cache_write_tokens=None, cache_rows=0, hit_base=None,
                     input_tokens=100, price_note="no_pricing")  # fmt: skip
    cached = _group("c", input_tokens=60, cache_read_tokens=40, cache_rows=2, hit_base=100)
    sums = token_sums([one_api, cached])
    assert sums["q"].cache_read is None and sums["q"].hit_rate is None
    assert sums["c"].hit_rate == Decimal("0.4")
    assert _group("z").__class__ is PriceGroup and token_sums([_group("z")])["z"].hit_rate is None
