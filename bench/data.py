"""The benchmark's deterministic data: a month of 50 members' calls, refunds and errors mixed in.

Rows come from :func:`reportgen.testing.fakegateway.synthetic.iter_rows` (consumption only) and
are turned, by a seeded rule, into ~2 % refunds, ~1 % errors and ~1 % subscription rows.
They reach the store the way a sync writes them: parsed by the real row parser and
committed one local day at a time through ``Store.replace_window``, never all in memory.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from reportgen.app.sync import plan_windows
from reportgen.config import Config, GatewayConfig, Secret
from reportgen.core.periods import Period, parse_period
from reportgen.core.records import GatewayStatus
from reportgen.gateway.parse import parse_key, parse_log_row
from reportgen.store import Store
from reportgen.testing.fakegateway.synthetic import CREDITS, credit_row, iter_rows

TZ = "Asia/Shanghai"
PERIOD = "2026-03"
#: The quarter of the 10M-row summary case (``run.py --quarter-rows``).
QUARTER = "2026-Q1"
MEMBERS = 50
MODELS = 12
SEED = 20260301
BASE_URL = "http://bench.invalid"
USER_ID = 42
TOKEN = "bench-token"
QUOTA_PER_UNIT = 500000


def member_name(i: int) -> str:
    """Half Chinese, half English names, so the CJK paths (fonts, widths) are exercised."""
    return f"成员{i:02d}" if i % 2 == 0 else f"Member {i:02d}"


def key_name(i: int) -> str:
    return f"member-{i:03d}"  # iter_rows's token names


def config(
    store_dir: Path,
    base_url: str = BASE_URL,
    limit: tuple[int, int] | None = None,
    members: int = MEMBERS,
) -> Config:
    """The bench's Config; ``limit`` is the client's (requests, seconds) rate limit."""
    requests, seconds = limit or (10**9, 1)
    return Config(
        gateway=GatewayConfig(
            base_url=base_url,
            user_id=USER_ID,
            flavor="new-api",
            requests_per_window=requests,
            window_seconds=seconds,
            access_token=Secret(TOKEN),
        ),
        timezone=TZ,
        members={member_name(i): (key_name(i),) for i in range(members)},
        store_dir=store_dir,
    )


def period(text: str = PERIOD) -> Period:
    return parse_period(text, config(Path(".")).tz)


#: A realistic month (issue 27): one credit row (top-up, redemption, admin change, invitation
#: bonus) per this many rows, as a busy new-api account has them (~40 per 1M rows).
CREDIT_EVERY = 25_000


def rows(
    n: int,
    seed: int = SEED,
    members: int = MEMBERS,
    models: int = MODELS,
    every_line: bool = False,
    text: str = PERIOD,
    realistic: bool = False,
) -> Iterator[dict[str, Any]]:
    """``n`` canonical gateway rows of period ``text``, oldest first: consumption, refunds, errors.

    ``every_line``: row *i* goes to member × model line *i* mod (members × models), so every
    line of the statement exists (the many-lines PDF case) instead of a random member and model.
    ``realistic``: shaped like a real new-api month (issue 27): every :data:`CREDIT_EVERY`-th row
    a credit row (the demo's four texts in turn, quota 0, the amount only in the text), and
    ``other`` as new-api writes it (cache tokens and ratios, the channel's admin info, the
    mapped model).
    """
    if realistic:
        yield from _realistic(rows(n, seed, members, models, every_line, text), seed)
        return
    p = period(text)
    rng = random.Random(seed)
    for i, row in enumerate(iter_rows(n, p.start_ts, p.end_ts, members=members, models=models, seed=seed)):
        if every_line:
            member, model = divmod(i % (members * models), models)
            row.update(token_name=key_name(member), token_id=1000 + member, model_name=f"model-{model:02d}")
        roll = rng.random()
        if roll < 0.02:  # a refund of a failed call: negative spend, no tokens
            row.update(
                type=6, prompt_tokens=0, completion_tokens=0, use_time=0, content="task failed, refunded"
            )
            row["other"] = {"task_id": row["request_id"]}
            del row["request_id"]
        elif roll < 0.03:  # an upstream error: no charge, a bad status
            row.update(type=5, quota=0, completion_tokens=0, content="upstream error: status 502")
            row["other"] = {**row["other"], "http_status": 502, "error_type": "upstream_error"}
        elif roll < 0.04:
            row["other"]["billing_source"] = "subscription"
        yield row


def _realistic(stream: Iterator[dict[str, Any]], seed: int) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed + 1)
    for i, row in enumerate(stream):
        if i % CREDIT_EVERY == CREDIT_EVERY // 2:
            _, kind, content, _ = CREDITS[(i // CREDIT_EVERY) % len(CREDITS)]
            yield credit_row(row["created_at"], kind, content)
            continue
        other = row["other"]
        if row["type"] == 2:
            cached = rng.randrange(0, row["prompt_tokens"]) if rng.random() < 0.4 else 0
            other.update(
                cache_tokens=cached,
                cache_ratio=0.1,
                cache_creation_tokens=0,
                cache_creation_ratio=1.25,
                user_group_ratio=-1,
                is_model_mapped=False,
                admin_info={"use_channel": ["7"], "is_multi_key": False, "multi_key_index": 0},
                request_path="/v1/chat/completions",
            )
        yield row


def tokens(members: int = MEMBERS) -> list[dict[str, Any]]:
    return [
        {"id": 1000 + i, "name": key_name(i), "key": "sk-" + "*" * 40, "status": 1, "group": "default",
         "used_quota": 0, "remain_quota": 0, "unlimited_quota": True, "created_time": 0,
         "accessed_time": 0, "expired_time": -1}
        for i in range(members)
    ]  # fmt: skip


def build_store(
    directory: Path,
    n: int,
    members: int = MEMBERS,
    models: int = MODELS,
    text: str = PERIOD,
    realistic: bool = False,
) -> dict[str, Any]:
    """Write ``n`` rows of period ``text`` into a fresh store at ``directory``, one local-day window per transaction.

    A store of other than the default members and models has every member × model line
    (:func:`rows` with ``every_line``): the many-lines PDF case.
    """
    every_line = (members, models) != (MEMBERS, MODELS)
    p = period(text)
    windows, _ = plan_windows(p.start_ts, p.end_ts - 1, [], tz=p.tz)  # as a sync cuts them
    directory.mkdir(parents=True, exist_ok=True)
    with Store.open(directory) as store:
        store.bind_account(BASE_URL, USER_ID)
        store.set_rollup_zone(TZ)
        store.save_status(GatewayStatus(Decimal(QUOTA_PER_UNIT), p.end_ts, Decimal("7.3"), "USD", "v0.9.6"))
        store.save_keys([parse_key(t) for t in tokens(members)], seen_at=p.end_ts)
        sync_id = store.start_sync(p.end_ts, "new-api", (p.start_ts, p.end_ts - 1))
        stream = rows(
            n, members=members, models=models, every_line=every_line, text=text, realistic=realistic
        )
        pending = next(stream, None)
        written = 0
        for lo, hi in windows:
            batch = []
            while pending is not None and pending["created_at"] <= hi:
                batch.append(parse_log_row(pending))
                pending = next(stream, None)
            store.replace_window(lo, hi, batch, len(batch) // 100 + 1, p.end_ts)
            written += len(batch)
        store.finish_sync(sync_id, p.end_ts, "ok", len(windows), written, 0)
    info = {
        "rows": written,
        "seed": SEED,
        "period": text,
        "timezone": TZ,
        "members": members,
        "models": models,
        "realistic": realistic,
    }
    (directory / "bench.json").write_text(json.dumps(info))
    return info


def store_ready(
    directory: Path,
    n: int,
    members: int = MEMBERS,
    models: int = MODELS,
    text: str = PERIOD,
    realistic: bool = False,
) -> bool:
    marker = directory / "bench.json"
    if not marker.exists():
        return False
    info = json.loads(marker.read_text())
    shape = (info.get("members", MEMBERS), info.get("models", MODELS))
    return bool(
        info.get("rows") == n and info.get("seed") == SEED and info.get("period") == text
        and shape == (members, models) and bool(info.get("realistic")) == realistic
    )  # fmt: skip


def stored_rows(directory: Path) -> int:
    return int(json.loads((directory / "bench.json").read_text())["rows"])


def write_config(store_dir: Path, where: Path) -> Path:
    """The bench's :func:`config` as a ``reportgen.toml`` at ``where``: for whole-process runs of the CLI."""
    lines = [
        "[gateway]",
        f'base_url = "{BASE_URL}"',
        f"user_id = {USER_ID}",
        'flavor = "new-api"',
        "[report]",
        f'timezone = "{TZ}"',
        "[store]",
        f"path = {json.dumps(str(store_dir))}",
    ]
    for i in range(MEMBERS):
        lines += [f"[members.{json.dumps(member_name(i), ensure_ascii=False)}]", f'keys = ["{key_name(i)}"]']
    where.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return where
