"""Deterministic synthetic usage: a small team's month for the demo and tests, and a
streaming generator of any size for benchmarks.

Rows are canonical: new-api shape with ``other`` as a dict; :class:`FakeGateway`
renders them per flavour.  :func:`expected_totals` sums them directly, independently
of reportgen's own aggregation, so tests have something to compare against.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from .profiles import default_status

USERNAME = "acme"
USER_ID = 42

# model: (model_ratio, completion_ratio, per-call model_price or None, typical prompt, completion)
MODELS: dict[str, tuple[float, float, float | None, int, int]] = {
    "gpt-5-mini": (0.125, 8, None, 3000, 400),
    "claude-sonnet-4-5": (1.5, 5, None, 6000, 900),
    "gemini-2.5-pro": (0.625, 8, None, 5000, 700),
    "deepseek-v3": (0.135, 4, None, 4000, 600),
    "text-embedding-3-small": (0.01, 1, None, 800, 0),
    "sora-2": (0.0, 1, 0.5, 0, 0),
    "qwen-max": (0.0, 1, None, 2500, 500),  # no price detail in `other`
}
UNPRICED_MODEL = "qwen-max"

# key name: (token id, member or None, weekday requests, favourite models)
KEYS: dict[str, tuple[int, str | None, int, tuple[str, ...]]] = {
    "key-zhangsan": (18, "张三", 28, ("gpt-5-mini", "claude-sonnet-4-5", "deepseek-v3")),
    "key-zhangsan-batch": (24, "张三", 12, ("text-embedding-3-small", "deepseek-v3")),
    "key-lisi": (19, "李四", 18, ("gemini-2.5-pro", "sora-2", "gpt-5-mini")),
    "key-wangwu": (27, "王五", 0, ()),
    "key-alice": (31, "Alice Smith", 22, ("claude-sonnet-4-5", "gpt-5-mini", "qwen-max")),
    "key-bob": (33, "Bob Lee", 9, ("gemini-2.5-pro", "deepseek-v3")),
    "ci-pipeline": (40, None, 7, ("gpt-5-mini",)),
}
CLIENTS = ("openai-python", "anthropic-sdk", "curl/8.5.0", "langchain", "cherry-studio")


@dataclass(frozen=True)
class SyntheticTeam:
    """One synthetic team month: rows and tokens to serve, and the members to configure."""

    rows: list[dict[str, Any]]
    tokens: list[dict[str, Any]]
    members: dict[str, list[str]]
    status: dict[str, Any]
    start_ts: int
    end_ts: int  # exclusive: the first second of the next month
    tz: str
    username: str = USERNAME
    user_id: int = USER_ID
    #: The wallet to serve: (balance before the first row, [(created_at, quota credited)]).
    wallet: tuple[int, list[tuple[int, int]]] = (0, [])
    #: The caller's top-up records new-api keeps (``/api/user/topup/self``).
    topups: tuple[dict[str, Any], ...] = ()


@dataclass
class Totals:
    """Sums straight from canonical rows, for tests to compare reportgen's results with."""

    rows: int = 0
    count_by_type: Counter[int] = field(default_factory=Counter)
    quota_by_type: Counter[int] = field(default_factory=Counter)
    consumed_by_token: Counter[str] = field(default_factory=Counter)
    refunded_by_token: Counter[str] = field(default_factory=Counter)
    consumed_by_model: Counter[str] = field(default_factory=Counter)
    refunded_by_model: Counter[str] = field(default_factory=Counter)
    requests_by_token: Counter[str] = field(default_factory=Counter)
    subscription_quota: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def consumed(self) -> int:
        return self.quota_by_type[2]

    @property
    def refunded(self) -> int:
        return self.quota_by_type[6]

    @property
    def net_quota(self) -> int:
        """Consumption minus refunds (subscription rows included)."""
        return self.consumed - self.refunded

    def net_by_token(self) -> dict[str, int]:
        names = set(self.consumed_by_token) | set(self.refunded_by_token)
        return {n: self.consumed_by_token[n] - self.refunded_by_token[n] for n in names}


def expected_totals(rows: Iterable[dict[str, Any]], start_ts: int, end_ts: int) -> Totals:
    """Totals of the rows with ``start_ts <= created_at < end_ts`` (half-open, like a Period)."""
    t = Totals()
    for row in rows:
        ts = int(row.get("created_at") or 0)
        if not start_ts <= ts < end_ts:
            continue
        kind = int(row.get("type") or 0)
        quota = int(row.get("quota") or 0)
        token = str(row.get("token_name") or "")
        model = str(row.get("model_name") or "")
        t.rows += 1
        t.count_by_type[kind] += 1
        t.quota_by_type[kind] += quota
        if kind == 2:
            t.consumed_by_token[token] += quota
            t.consumed_by_model[model] += quota
            t.requests_by_token[token] += 1
            t.prompt_tokens += int(row.get("prompt_tokens") or 0)
            t.completion_tokens += int(row.get("completion_tokens") or 0)
            if (row.get("other") or {}).get("billing_source") == "subscription":
                t.subscription_quota += quota
        elif kind == 6:
            t.refunded_by_token[token] += quota
            t.refunded_by_model[model] += quota
    return t


def _request_id(rng: random.Random, ts: int) -> str:
    stamp = datetime.fromtimestamp(ts, ZoneInfo("UTC")).strftime("%Y%m%d%H%M%S")
    return f"{stamp}{rng.getrandbits(64):016x}{rng.getrandbits(16):04x}"[:33]


def half_away(value: Decimal) -> int:
    """new-api's rounding of a quota: half away from zero."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


#: The cache prices of the text models: cache-read ratio, cache-write ratio (Claude path only).
CACHE_RATIOS: dict[str, tuple[float, float | None]] = {
    "gpt-5-mini": (0.1, None),
    "claude-sonnet-4-5": (0.1, 1.25),
    "gemini-2.5-pro": (0.25, None),
    "deepseek-v3": (0.1, None),
    "text-embedding-3-small": (1, None),
}


def _text_price(model: str, ts: int, prompt: int, completion: int) -> tuple[int, dict[str, Any]]:
    """A ratio-priced row's quota and ``other`` as new-api's text_quota.go writes them: cache reads
    (part of ``prompt_tokens`` on the OpenAI path, beside them on the Claude path), cache writes
    split 5m / 1h on the Claude path, rounded half away from zero, at least 1.  The cache share
    follows the row's second, so no random draw of the month moves."""
    ratio, completion_ratio = MODELS[model][0], MODELS[model][1]
    cache_ratio, write_ratio = CACHE_RATIOS[model]
    d = lambda x: Decimal(repr(x))  # noqa: E731 - new-api's decimal.NewFromFloat
    other: dict[str, Any] = {"model_ratio": ratio, "completion_ratio": completion_ratio, "model_price": -1}
    other["user_group_ratio"] = -1
    if write_ratio is None:  # OpenAI semantics: prompt_tokens includes the cached tokens
        cache = prompt // 2 if model == "gpt-5-mini" and ts % 3 == 0 else 0
        units = (prompt - cache) + cache * d(cache_ratio) + completion * d(completion_ratio)
        other.update(cache_tokens=cache, cache_ratio=cache_ratio)
    else:  # the Claude path: prompt_tokens excludes cache reads and writes
        cache = prompt * 2 if ts % 2 == 0 else 0
        write = prompt // 3 if ts % 5 == 0 else 0
        w1h = write // 2 if ts % 10 == 0 else 0
        w5m = write - w1h
        units = prompt + cache * d(cache_ratio) + w5m * d(write_ratio) + w1h * d(write_ratio * 1.6)
        units += completion * d(completion_ratio)
        other.update(cache_tokens=cache, cache_ratio=cache_ratio, claude=True, usage_semantic="anthropic")
        other.update(cache_creation_tokens=write, cache_creation_ratio=write_ratio)
        if w5m:
            other.update(cache_creation_tokens_5m=w5m, cache_creation_ratio_5m=write_ratio)
        if w1h:
            other.update(cache_creation_tokens_1h=w1h, cache_creation_ratio_1h=write_ratio * 1.6)
    quota = half_away(units * d(ratio))
    if prompt + completion == 0:
        quota = 0
    elif quota == 0:
        quota = 1
    return quota, other


def _consume(
    rng: random.Random, ts: int, key: str, model: str, *, username: str = USERNAME, user_id: int = USER_ID
) -> dict[str, Any]:
    """One consumption row priced the way new-api prices it."""
    token_id = KEYS[key][0] if key in KEYS else 0
    ratio, completion_ratio, price, prompt_mean, completion_mean = MODELS[model]
    prompt = max(1, int(rng.lognormvariate(0, 0.6) * prompt_mean)) if prompt_mean else 0
    completion = max(1, int(rng.lognormvariate(0, 0.7) * completion_mean)) if completion_mean else 0
    latency = round(max(0.15, rng.lognormvariate(0, 0.5) * (1.2 + completion / 250)), 2)
    other: dict[str, Any] = {"group_ratio": 1}
    if price is not None:  # a per-call task model: ratios logged as 0
        quota = half_away(Decimal(repr(price)) * 500000)
        other.update(model_ratio=0, completion_ratio=0, cache_tokens=0, cache_ratio=0, model_price=price)
        other.update(user_group_ratio=-1, task_id=f"task_{rng.getrandbits(40):010x}")
    elif model == UNPRICED_MODEL:
        quota = int(round((prompt + completion * 4) * 0.8))
        other = {}
    else:
        quota, priced = _text_price(model, ts, prompt, completion)
        other.update(priced)
    if prompt_mean and model != UNPRICED_MODEL:
        other["frt"] = int(latency * 1000 * rng.uniform(0.1, 0.4))
        other["request_path"] = "/v1/embeddings" if "embedding" in model else "/v1/chat/completions"
    request_id = _request_id(rng, ts)
    other.update(client=rng.choice(CLIENTS), request_id=request_id, request_method="POST", http_status=200)
    return {
        "user_id": user_id,
        "created_at": ts,
        "type": 2,
        "content": "",
        "username": username,
        "token_name": key,
        "token_id": token_id,
        "model_name": model,
        "quota": quota,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "use_time": latency,
        "is_stream": model not in ("text-embedding-3-small", "sora-2") and rng.random() < 0.7,
        "channel": rng.choice((3, 7, 9)),
        "channel_name": "",
        "group": "default",
        "ip": "",
        "request_id": request_id,
        "other": other,
    }


def team_month(year: int = 2026, month: int = 4, tz: str = "Asia/Shanghai", seed: int = 7) -> SyntheticTeam:
    """A deterministic month of a small mixed Chinese/English team (a few thousand rows)."""
    zone = ZoneInfo(tz)
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)
    start_ts, end_ts = int(start.timestamp()), int(end.timestamp())
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    day = start
    while day < end:
        weekend = day.weekday() >= 5
        for key, (_, _, per_day, models) in KEYS.items():
            if not per_day:
                continue
            mean = per_day * (0.15 if weekend else 1.0)
            if key == "key-zhangsan-batch" and day.day % 3:
                mean = 0  # batch jobs run every third day
            count = max(0, int(rng.gauss(mean, mean * 0.3))) if mean else 0
            for _ in range(count):
                local = day + timedelta(seconds=int(rng.triangular(8 * 3600, 23 * 3600, 14 * 3600)))
                ts = min(int(local.timestamp()), end_ts - 1)
                rows.append(_consume(rng, ts, key, rng.choice(models)))
        day = day + timedelta(days=1)  # wall-clock arithmetic: stays at local midnight
    _add_specials(rng, rows, start_ts, end_ts)
    credits = _add_credits(rows, start_ts)
    rows.sort(key=lambda r: r["created_at"])
    tokens = _tokens(rows, start_ts)
    members: dict[str, list[str]] = {}
    for key, (_, member, _, _) in KEYS.items():
        if member is not None:
            members.setdefault(member, []).append(key)
    return SyntheticTeam(
        rows,
        tokens,
        members,
        default_status(),
        start_ts,
        end_ts,
        tz,
        wallet=(OPENING_QUOTA, credits),
        topups=topup_records(start_ts),
    )


#: The demo wallet's balance before its first row (USD 160 at the default quota unit).
OPENING_QUOTA = 80_000_000
#: Credits of the month: (seconds after the month's start, log type, text, quota credited). The
#: amount is only in the text, the way new-api writes it (quota 0 on the row).
CREDITS = (
    (3 * 86400 + 36000, 1, "通过兑换码充值 $200.00 额度", 100_000_000),
    (10 * 86400 + 32400, 1, "使用在线充值成功，充值金额: ＄50.000000 额度，支付金额：365.000000", 25_000_000),
    (15 * 86400 + 39600, 3, "管理员将用户额度从 ＄150.000000 额度修改为 ＄175.500000 额度", 12_750_000),
    (20 * 86400 + 3600, 4, "邀请用户赠送 ＄2.000000 额度", 1_000_000),
)


def topup_records(start_ts: int) -> tuple[dict[str, Any], ...]:
    """new-api's record of the month's online top-up (the 易支付 row of :data:`CREDITS`): paid CNY
    365.00 by Alipay for USD 50, and an order never paid (pending: not a payment)."""
    at = start_ts + CREDITS[1][0]
    paid = {
        "id": 7, "user_id": USER_ID, "amount": 50, "money": 365.0, "trade_no": "USR42NO1775869140ab12",
        "payment_method": "alipay", "payment_provider": "epay", "create_time": at - 60,
        "complete_time": at, "status": "success",
    }  # fmt: skip
    pending = {**paid, "id": 8, "trade_no": "USR42NO1775869900cd34", "create_time": at + 700, "complete_time": 0,
               "status": "pending"}  # fmt: skip
    return (paid, pending)


def _add_credits(rows: list[dict[str, Any]], start_ts: int) -> list[tuple[int, int]]:
    """A redemption, an online top-up, an admin adjustment and a system credit (types 1, 1, 3, 4)."""
    credits = []
    for offset, kind, text, quota in CREDITS:
        rows.append(credit_row(start_ts + offset, kind, text))
        credits.append((start_ts + offset, quota))
    return credits


def credit_row(ts: int, kind: int, text: str) -> dict[str, Any]:
    return {
        "user_id": USER_ID,
        "created_at": ts,
        "type": kind,
        "content": text,
        "username": USERNAME,
        "token_name": "",
        "token_id": 0,
        "model_name": "",
        "quota": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "use_time": 0,
        "is_stream": False,
        "channel": 0,
        "channel_name": "",
        "group": "",
        "ip": "",
        "other": {},
    }


def _add_specials(rng: random.Random, rows: list[dict[str, Any]], start_ts: int, end_ts: int) -> None:
    """The rows that make reports interesting: refunds, errors, twins, boundaries, ..."""
    consumption = [r for r in rows if r["type"] == 2]
    # Refunds of failed sora-2 tasks, a few minutes after the charge.
    for row in [r for r in consumption if r["model_name"] == "sora-2"][::4]:
        refund = {**row, "type": 6, "content": "task failed, refunded", "prompt_tokens": 0}
        refund.update(created_at=min(row["created_at"] + rng.randint(60, 900), end_ts - 1), use_time=0)
        refund.pop("request_id", None)  # task settlement rows carry no request id
        refund["other"] = {"task_id": row["other"].get("task_id", "")}
        rows.append(refund)
    # Errors (type 5): no charge, an upstream status.
    for row in rng.sample(consumption, 40):
        status = rng.choice((400, 429, 500, 502))
        error = {
            **row,
            "type": 5,
            "quota": 0,
            "completion_tokens": 0,
            "content": f"upstream error: status {status}",
        }
        error["created_at"] = max(start_ts, row["created_at"] - rng.randint(1, 30))
        error["other"] = {**row["other"], "http_status": status, "error_type": "upstream_error"}
        rows.append(error)
    # Subscription-billed rows: type 2 with quota, not charged to the wallet.
    for row in rng.sample([r for r in consumption if r["model_name"] == "claude-sonnet-4-5"], 12):
        row["other"]["billing_source"] = "subscription"
    # Expression (tiered) pricing: new-api logs the ratios as 0 and the expression, not a price per token.
    for row in rng.sample([r for r in consumption if r["model_name"] == "gemini-2.5-pro"], 6):
        row["other"].update(model_ratio=0, completion_ratio=0, cache_ratio=0, model_price=0)
        row["other"].update(
            billing_mode="tiered_expr", expr_b64="cCAqIDEuMjUgKyBjICogMTA=", matched_tier="<=200k"
        )
    # Tokens used but nothing charged (a free promotion).
    for row in rng.sample([r for r in consumption if r["model_name"] == "gpt-5-mini"], 3):
        row["quota"] = 0
    # Twins: genuinely different requests, identical rows in the same second.
    for row in rng.sample([r for r in consumption if r["quota"] > 0 and r["type"] == 2], 3):
        rows.append({**row, "other": dict(row["other"])})
    # Exactly on the month's boundaries, and one second outside each.
    rows.append(_consume(rng, start_ts, "key-alice", "gpt-5-mini"))
    rows.append(_consume(rng, end_ts - 1, "key-zhangsan", "deepseek-v3"))
    rows.append(_consume(rng, start_ts - 1, "key-bob", "gemini-2.5-pro"))
    rows.append(_consume(rng, end_ts, "key-lisi", "gpt-5-mini"))


def _tokens(rows: list[dict[str, Any]], start_ts: int) -> list[dict[str, Any]]:
    used = Counter[str]()
    for row in rows:
        if row["type"] == 2:
            used[row["token_name"]] += row["quota"]
    tokens = []
    for key, (token_id, _, _, _) in KEYS.items():
        tokens.append(
            {
                "id": token_id,
                "user_id": USER_ID,
                "name": key,
                "key": f"{token_id:04d}{'*' * 40}{key[-4:]}",
                "status": 1,
                "created_time": start_ts - 86400 * (30 + token_id),
                "accessed_time": start_ts + 86400 * 20 if used[key] else start_ts - 86400 * 40,
                "expired_time": -1,
                "remain_quota": 10_000_000,
                "unlimited_quota": key != "ci-pipeline",
                "model_limits_enabled": key == "ci-pipeline",
                "model_limits": "gpt-5-mini" if key == "ci-pipeline" else "",
                "used_quota": used[key],
                "group": "default",
            }
        )
    return tokens


def iter_rows(
    n: int, start_ts: int, end_ts: int, members: int = 50, models: int = 12, seed: int = 1
) -> Iterator[dict[str, Any]]:
    """``n`` canonical consumption rows spread evenly over ``[start_ts, end_ts)``, oldest first.

    Streams: nothing is held beyond the current row, so a benchmark can feed millions.
    """
    rng = random.Random(seed)
    span = max(1, end_ts - start_ts)
    names = [f"member-{i:03d}" for i in range(members)]
    model_table = [(f"model-{j:02d}", 0.1 + 0.15 * j, 1 + j % 4) for j in range(models)]
    for i in range(n):
        ts = start_ts + (i * span) // max(1, n)
        model, ratio, completion_ratio = model_table[rng.randrange(models)]
        prompt = rng.randrange(100, 8000)
        completion = rng.randrange(0, 1500)
        member = rng.randrange(members)
        token = names[member]
        request_id = f"bench{i:012d}{rng.getrandbits(32):08x}"
        yield {
            "user_id": USER_ID,
            "created_at": ts,
            "type": 2,
            "content": "",
            "username": USERNAME,
            "token_name": token,
            "token_id": 1000 + member,
            "model_name": model,
            "quota": int(round((prompt + completion * completion_ratio) * ratio)),
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "use_time": rng.randrange(1, 30),
            "is_stream": bool(i & 1),
            "channel": 7,
            "channel_name": "",
            "group": "default",
            "ip": "",
            "request_id": request_id,
            "other": {
                "model_ratio": ratio,
                "group_ratio": 1,
                "completion_ratio": completion_ratio,
                "model_price": -1,
                "frt": rng.randrange(100, 2000),
                "client": "openai-python",
                "request_id": request_id,
                "http_status": 200,
            },
        }
