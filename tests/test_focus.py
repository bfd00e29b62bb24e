"""The FOCUS 1.2 exporter: the FinOps Foundation's validator, our own checks for what 1.2 adds,
and totals that equal ``summary --json``."""

from __future__ import annotations

import csv
import io
import json
import re
import tracemalloc
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from reportgen.app.closing import close_period
from reportgen.app.documents import write_report
from reportgen.app.sync import run_sync
from reportgen.cli import cli
from reportgen.core.money import cents, usd
from reportgen.core.periods import parse_period
from reportgen.core.records import LogType, UsageRecord
from reportgen.core.unitprice import row_usage
from reportgen.demo import DEMO_PROJECTS
from reportgen.errors import UsageError
from reportgen.exporters.focus import write_focus
from reportgen.exporters.focus_accounts import accounts
from reportgen.exporters.focus_spec import EXTENSION_COLUMNS, FOCUS_1_3_COLUMNS, FOCUS_COLUMNS, publisher
from reportgen.plugins import select_exporters
from reportgen.read import open_period
from reportgen.store import Store, recorded_amendments
from tests import focus_validator
from tests.conftest import TOKEN, fast_client, make_config
from tests.report_factory import context, make_report

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture(scope="session")
def validator():
    found = focus_validator.validator()
    if found is None:
        pytest.skip("focus-validator could not be installed (offline?); see tests/focus_validator.py")
    return found


@pytest.fixture
def config(tmp_path, team, gateway):
    config = make_config(tmp_path, gateway.url, team, extra=DEMO_PROJECTS)
    run_sync(config, parse_period("2026-04", config.tz), client_factory=fast_client)
    return config


def focus_file(config, out: Path, *options: str, member: str | None = None) -> Path:
    opts = dict(o.split("=", 1) for o in options)
    (path,) = write_report(
        config,
        parse_period("2026-04", config.tz),
        select_exporters("focus"),
        out,
        member=member,
        options=opts,
    )
    return path


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as fp:
        reader = csv.DictReader(fp)
        return list(reader.fieldnames or []), list(reader)


def summary(config, *args: str) -> dict:
    result = CliRunner().invoke(
        cli,
        ["--config", str(config.path), "summary", "--period", "2026-04", "--json", *args],
        env={"REPORTGEN_ACCESS_TOKEN": TOKEN},
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def total(rows: list[dict[str, str]], column: str) -> Decimal:
    return sum((Decimal(r[column]) for r in rows if r[column]), Decimal(0))


#: FOCUS-defined SkuPriceDetails keys (1.2) a gateway's prices could use; any other key starts with x_.
_SKU_PRICE_PROPERTIES = frozenset({"CoreCount", "DiskMaxIops", "DiskSpace", "DiskType", "GpuCount"})


def _key_values(text: str) -> dict:
    """A FOCUS KeyValueFormat cell: a JSON object of unique keys with primitive values."""
    found = json.loads(text, object_pairs_hook=_unique)
    assert isinstance(found, dict), text
    assert all(v is None or isinstance(v, str | int | float | bool) for v in found.values()), text
    return found


def _unique(pairs: list) -> dict:
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), keys
    return dict(pairs)


#: SkuMeter of each token type a row is split into when its ratios explain its cost.
METERS = {
    "input": "Input Tokens",
    "output": "Output Tokens",
    "cache_read": "Cache Read Input Tokens",
    "cache_write": "Cache Write Input Tokens",
    "cache_write_5m": "Cache Write Input Tokens (5m)",
    "cache_write_1h": "Cache Write Input Tokens (1h)",
    "image": "Image Input Tokens",
}
#: The x_ token column each token type counts in.
TOKEN_COLUMN = {
    "input": "x_InputTokens",
    "output": "x_OutputTokens",
    "cache_read": "x_CacheReadTokens",
    "cache_write": "x_CacheWriteTokens",
    "cache_write_5m": "x_CacheWriteTokens",
    "cache_write_1h": "x_CacheWriteTokens",
    "image": "x_ImageTokens",
}
TOKEN_COLUMNS = (
    "x_InputTokens",
    "x_OutputTokens",
    "x_CacheReadTokens",
    "x_CacheWriteTokens",
    "x_ImageTokens",
    "x_AudioInputTokens",
    "x_AudioOutputTokens",
)


def check_meter(r: dict[str, str]) -> None:
    """A row's meter, units and SKU: per token type (1M tokens), per call, or billed in quota units."""
    details = _key_values(r["SkuPriceDetails"])
    model = details["x_ModelId"]
    kind = details.get("x_TokenType")
    assert r["SkuPriceId"] in (r["SkuId"], f"{r['SkuId']}@{details.get('x_UserGroup')}")
    if kind in METERS:  # one token type of a row its ratios explain
        assert r["SkuMeter"] == METERS[kind] and r["SkuId"] == f"{model}:{kind}"
        assert (r["ConsumedUnit"], r["PricingUnit"]) == ("Tokens", "1000000 Tokens")
        assert Decimal(r["PricingQuantity"]) * 1_000_000 == Decimal(r["ConsumedQuantity"]) != 0
        assert Decimal(r[TOKEN_COLUMN[kind]]) == Decimal(r["ConsumedQuantity"])
        assert not any(r[c] for c in TOKEN_COLUMNS if c != TOKEN_COLUMN[kind])
        assert not r["x_PriceNote"] and r["x_LogType"] == "consumption"
        assert f"at USD {r['ListUnitPrice']} per 1M tokens" in r["ChargeDescription"]
    elif kind == "call":  # a per-call model at its price
        assert (r["SkuMeter"], r["ConsumedUnit"], r["PricingUnit"]) == ("Requests", "Requests", "Requests")
        assert r["SkuId"] == f"{model}:call" and r["PricingQuantity"] == r["ConsumedQuantity"]
        assert not r["x_PriceNote"]
    else:  # the cost on one row, as the gateway billed it, and why
        assert kind is None and r["SkuId"] == model and r["x_PriceNote"]
        assert (r["SkuMeter"], r["ConsumedUnit"], r["PricingUnit"]) == ("Requests", "Requests", "Quota units")
        assert Decimal(r["PricingCurrencyListUnitPrice"]) == 1
        assert Decimal(r["PricingQuantity"]) == Decimal(r["PricingCurrencyEffectiveCost"])
        assert (r["x_PriceNote"] == "refund") == (r["x_LogType"] == "refund")


def check_focus_1_2(header: list[str], rows: list[dict[str, str]], data: dict) -> None:
    """What FOCUS 1.2 and 1.3 ask beyond the validator's 1.0 rules, and reportgen's mapping.

    The totals are the documented relation: the report's own rows sum to ``totals``, the
    ``ChargeClass = Correction`` rows to ``corrections``, each cost exactly.
    """
    assert header[: len(FOCUS_COLUMNS)] == list(FOCUS_COLUMNS)
    assert set(FOCUS_1_3_COLUMNS) < set(FOCUS_COLUMNS) and {"ProviderName", "PublisherName"} < set(header)
    assert all(c.startswith("x_") for c in header[len(FOCUS_COLUMNS) :])  # custom columns: x_ prefix
    bps, bpe = "2026-03-31T16:00:00Z", "2026-04-30T16:00:00Z"  # 2026-04 in Asia/Shanghai, in UTC
    qpu = Decimal(data["quota_per_unit"])
    for r in rows:
        assert (r["BillingPeriodStart"], r["BillingPeriodEnd"]) == (
            bps,
            bpe,
        )  # the period, UTC, end exclusive
        for col in ("ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd"):
            assert ISO.match(r[col]), (col, r[col])
        assert bps <= r["ChargePeriodStart"] < r["ChargePeriodEnd"] <= bpe
        assert r["ChargeCategory"] == "Usage"
        assert r["ChargeClass"] == ("Correction" if r["x_Correction"] else "")
        assert r["ChargeFrequency"] == "Usage-Based"
        assert r["ServiceCategory"] == "AI and Machine Learning"
        assert r["ServiceSubcategory"] == "Generative AI"  # a 1.1+ allowed value
        assert r["BillingCurrency"] == "USD" and r["BillingAccountId"] and r["BillingAccountType"]
        assert r["SubAccountType"] == "Member" and r["SubAccountId"] == r["SubAccountName"]
        # 1.3: the service provider and host provider are the gateway, never null
        assert r["ServiceProviderName"] == r["HostProviderName"] == r["ProviderName"] != ""
        assert r["InvoiceIssuerName"] == r["ProviderName"] and not r["InvoiceId"]
        assert not r["CapacityReservationId"] and not r["CapacityReservationStatus"]
        # 1.2: SkuMeter and SkuPriceDetails go with SkuId / SkuPriceId; details keys FOCUS's or x_
        assert r["SkuId"] and r["SkuMeter"] and r["SkuPriceId"]
        details = _key_values(r["SkuPriceDetails"])
        assert all(k in _SKU_PRICE_PROPERTIES or k.startswith("x_") for k in details)
        tags = _key_values(r["Tags"])
        assert tags["member"] == r["SubAccountId"] and tags["key"] == r["ResourceId"]
        assert tags["source"] == r["x_Source"]
        # ListCost = ListUnitPrice × PricingQuantity, exactly; no discount: contracted = list
        assert Decimal(r["ListUnitPrice"]) * Decimal(r["PricingQuantity"]) == Decimal(r["ListCost"])
        assert Decimal(r["ContractedUnitPrice"]) * Decimal(r["PricingQuantity"]) == Decimal(
            r["ContractedCost"]
        )
        assert r["ContractedCost"] == r["ListCost"] and r["ContractedUnitPrice"] == r["ListUnitPrice"]
        # what was charged: the list cost and, on one part of a row, new-api's rounding to a whole quota
        rounding = (Decimal(r["EffectiveCost"]) - Decimal(r["ListCost"])) * qpu
        assert rounding == 0 or r["SkuMeter"].endswith("Tokens"), r
        assert abs(rounding) <= 1 or not r["x_RequestId"]  # a day's line carries its rows' roundings
        check_meter(r)
        # 1.2 pricing currency: the gateway's quota, a virtual currency, at the period's quota per unit
        assert r["PricingCurrency"] == "Quota" and Decimal(r["x_QuotaPerUnit"]) == qpu
        assert Decimal(r["PricingCurrencyEffectiveCost"]) / qpu == Decimal(r["EffectiveCost"])
        assert Decimal(r["PricingCurrencyListUnitPrice"]) / qpu == Decimal(r["ListUnitPrice"])
        assert r["PricingCurrencyContractedUnitPrice"] == r["PricingCurrencyListUnitPrice"]
        if r["x_BillingSource"] == "subscription":
            assert Decimal(r["BilledCost"]) == 0
            assert r["PricingCategory"] == "Committed" and r["CommitmentDiscountStatus"] == "Used"
            assert r["CommitmentDiscountId"] and r["CommitmentDiscountCategory"] == "Spend"
            assert (
                r["CommitmentDiscountQuantity"] == r["EffectiveCost"] and r["CommitmentDiscountUnit"] == "USD"
            )
            if r["x_LogType"] == "consumption":
                assert Decimal(r["EffectiveCost"]) > 0
        else:
            assert r["BilledCost"] == r["EffectiveCost"]
            assert r["PricingCategory"] == "Standard" and not r["CommitmentDiscountId"]
        negated = r["x_Correction"] == "removed"  # a row removed since the close counts negated
        if r["x_LogType"] == "refund" and r["x_BillingSource"] == "wallet":
            assert (Decimal(r["BilledCost"]) < 0) != negated  # negative usage
            assert (Decimal(r["PricingQuantity"]) < 0) != negated
    # each row's parts add up to a whole quota (the row's; twins alike add up to twice theirs)
    charged: dict[tuple[str, ...], Decimal] = {}
    for r in rows:
        if r["x_RequestId"]:
            at = (
                r["ChargePeriodStart"],
                r["ResourceId"],
                r["x_RequestId"],
                r["x_Correction"],
                r["x_LogType"],
            )
            charged[at] = charged.get(at, Decimal(0)) + Decimal(r["PricingCurrencyEffectiveCost"])
    assert all(q == q.to_integral_value() for q in charged.values())
    own = [r for r in rows if not r["x_Correction"]]
    fixes = [r for r in rows if r["x_Correction"]]
    for part, figures in ((own, data["totals"]), (fixes, data["corrections"] or dict.fromkeys(_SUMS, 0))):
        # summary --json prints six places; the FOCUS amounts are exact
        assert total(part, "EffectiveCost") == Decimal(figures["quota"]) / qpu
        subscription = figures["subscription_quota"] - figures.get("subscription_refunded_quota", 0)
        billed = Decimal(figures["quota"] - subscription) / qpu
        assert total(part, "BilledCost") == billed  # the wallet-billed part of the same total
        # reconciled through the subscription rows: billed + the commitment drawn = the cost
        drawn = total([r for r in part if r["CommitmentDiscountStatus"] == "Used"], "EffectiveCost")
        assert total(part, "BilledCost") + drawn == total(part, "EffectiveCost")
        assert drawn == Decimal(subscription) / qpu
    micro = Decimal("0.000001")
    assert total(own, "EffectiveCost").quantize(micro) == Decimal(data["totals"]["cost_usd"])
    # the statement's split as summary --json prints it: wallet-paid (what a claim is for) + subscription
    own_drawn = [r for r in own if r["CommitmentDiscountStatus"] == "Used"]
    assert total(own, "BilledCost").quantize(micro) == Decimal(data["totals"]["wallet_usd"])
    assert total(own_drawn, "EffectiveCost").quantize(micro) == Decimal(data["totals"]["subscription_usd"])
    if data["claim"]["base"] == "wallet" and data["corrections"] is None:
        assert total(own, "BilledCost").quantize(micro) == Decimal(data["claim"]["usd"])


_SUMS = ("quota", "subscription_quota", "cost_usd")


def test_demo_month_validates_and_adds_up(config, tmp_path, validator):
    data = summary(config)
    for grain in ("row", "day"):
        path = focus_file(config, tmp_path / grain, f"grain={grain}")
        result = focus_validator.validate(*validator, path, tmp_path / grain)
        assert result.ok, result.output
        assert result.skipped == len(focus_validator.OVERRIDES)
        header, rows = read(path)
        check_focus_1_2(header, rows, data)
        assert {r["x_LogType"] for r in rows} == {"consumption", "refund"}
        assert {r["SkuMeter"] for r in rows} >= {"Input Tokens", "Output Tokens", "Requests"}
        assert any(r["x_BillingSource"] == "subscription" for r in rows)
    _, by_row = read(tmp_path / "row" / "reportgen-2026-04-focus.csv")
    _, by_day = read(tmp_path / "day" / "reportgen-2026-04-focus.csv")
    assert total(by_row, "x_Requests") == data["totals"]["requests"]
    assert len(by_day) < len(by_row)
    for column in (
        "BilledCost",
        "EffectiveCost",
        "ListCost",
        "PricingCurrencyEffectiveCost",
        "x_Requests",
        *TOKEN_COLUMNS,
    ):
        assert total(by_row, column) == total(by_day, column), column
    for meter in ("Input Tokens", "Output Tokens", "Requests"):
        assert total([r for r in by_row if r["SkuMeter"] == meter], "ConsumedQuantity") == total(
            [r for r in by_day if r["SkuMeter"] == meter], "ConsumedQuantity"
        )


def test_rows_carry_member_project_key_and_request(config, tmp_path):
    _, rows = read(focus_file(config, tmp_path / "m", member="张三"))
    assert rows and {r["SubAccountId"] for r in rows} == {"张三"}
    # allocation in Tags, as FOCUS defines it: one JSON object per row
    tags = {r["Tags"] for r in rows if r["ResourceId"] == "key-zhangsan"}
    assert tags == {
        '{"member":"张三","key":"key-zhangsan","source":"default","project":"nlp-grant","project:nlp-grant":100}'
    }
    fingerprint = summary(config, "--member", "张三")["source"]["fingerprint"]
    assert all(r["x_RequestId"] and r["x_Fingerprint"] == fingerprint for r in rows)
    assert {r["ResourceType"] for r in rows} == {"API key"}
    _, rows = read(focus_file(config, tmp_path / "t"))
    ci = [
        json.loads(r["Tags"])
        for r in rows
        if r["ResourceId"] == "ci-pipeline" and r["ChargePeriodStart"] < "2026-04-19"
    ]
    assert ci and all(t["project:nlp-grant"] == 60 and t["project:platform"] == 40 for t in ci)
    assert not any("project" in t for t in ci)  # a split names no one project
    assert {r["PublisherName"] for r in rows if r["SkuId"].startswith("claude")} == {"Anthropic"}
    data = summary(config, "--member", "张三")
    _, mine = read(tmp_path / "m" / "reportgen-2026-04-张三-focus.csv")
    assert total(mine, "EffectiveCost").quantize(Decimal("0.000001")) == Decimal(data["totals"]["cost_usd"])


def test_a_closed_month_with_amendments_exports_them_as_corrections(
    config, team, gateway, tmp_path, validator
):
    """Frozen rows + Correction rows = the live rows: the FOCUS totals are the figures a re-close gives."""
    april = parse_period("2026-04", config.tz)
    close_period(config, april)
    frozen = summary(config)
    assert frozen["corrections"] is None
    base = next(r for r in team.rows if r["type"] == 2 and r["token_name"] == "key-alice" and r["quota"] > 0)
    late = {**base, "other": dict(base["other"]), "created_at": team.start_ts + 12 * 86400 + 3 * 3600}
    gateway.insert_rows([late])
    cut = team.start_ts + 3 * 3600  # the gateway's retention drops April's first three hours
    dropped = [r for r in team.rows if team.start_ts <= r["created_at"] < cut]
    assert any(r["type"] == 2 for r in dropped)
    gateway.delete_rows_before(cut)
    run_sync(config, april, refetch=True, client_factory=fast_client)
    with Store.open(config.store_dir) as store:
        assert recorded_amendments(store, "2026-04")
    data = summary(config)
    assert data["totals"] == frozen["totals"]  # the closed version, like every document
    fix = data["corrections"]
    assert (fix["rows_added"], fix["rows_removed"]) == (1, len(dropped))
    assert fix["quota"] == base["quota"] - sum(r["quota"] for r in dropped if r["type"] == 2) + sum(
        r["quota"] for r in dropped if r["type"] == 6
    )
    by_grain = {}
    for grain in ("row", "day"):
        path = focus_file(config, tmp_path / grain, f"grain={grain}")
        result = focus_validator.validate(*validator, path, tmp_path / grain)
        assert result.ok, result.output
        header, rows = read(path)
        check_focus_1_2(header, rows, data)
        by_grain[grain] = rows
    fixes = [r for r in by_grain["row"] if r["ChargeClass"] == "Correction"]
    assert total(fixes, "x_Requests") == 1 - sum(1 for r in dropped if r["type"] == 2)
    added = [r for r in fixes if r["x_Correction"] == "added"]
    assert total(added, "BilledCost") == Decimal(base["quota"]) / Decimal(data["quota_per_unit"]) > 0
    assert {(r["ResourceId"], r["x_RequestId"]) for r in added} == {("key-alice", base["request_id"])}
    assert all("Correction to closed 2026-04 (revision 1)" in r["ChargeDescription"] for r in added)
    removed = [r for r in fixes if r["x_Correction"] == "removed" and r["x_LogType"] == "consumption"]
    assert removed and all(Decimal(r["PricingCurrencyEffectiveCost"]) <= 0 for r in removed)
    assert all(int(r["x_Requests"]) in (-1, 0) for r in removed)
    assert total(removed, "x_Requests") == -sum(1 for r in dropped if r["type"] == 2)
    assert {r["x_Correction"] for r in by_grain["day"] if r["ChargeClass"]} == {"net"}
    # the exact relation to summary --json: frozen totals + corrections = what a re-close shows
    run = CliRunner().invoke(cli, ["--config", str(config.path), "close", "2026-04", "--reopen"])
    assert run.exit_code == 0, run.output
    live = summary(config)
    assert live["corrections"] is None
    for field in ("requests", "consumed_quota", "refunded_quota", "quota", "subscription_quota"):
        assert live["totals"][field] == frozen["totals"][field] + fix[field], field
    _, again = read(focus_file(config, tmp_path / "reclosed"))
    assert not any(r["ChargeClass"] for r in again)
    for column in (
        "BilledCost",
        "EffectiveCost",
        "PricingCurrencyEffectiveCost",
        "x_Requests",
        *TOKEN_COLUMNS,
    ):
        assert total(again, column) == total(by_grain["row"], column) == total(by_grain["day"], column)


def test_grain_must_be_row_or_day():
    with pytest.raises(UsageError, match="grain=row or grain=day"):
        write_focus(make_report(), io.BytesIO(), context("en", grain="hour"))


def test_extension_columns_are_x_prefixed_and_publishers_map():
    assert all(c.startswith("x_") for c in EXTENSION_COLUMNS)
    assert publisher("gpt-5-mini", "gw") == "OpenAI"
    assert publisher("openai/o3-mini", "gw") == "OpenAI"
    assert publisher("deepseek-v3", "gw") == "DeepSeek"
    assert publisher("my-finetune", "gw") == "gw"


def test_hostile_text_is_made_inert_unless_raw_is_asked():
    """Safe by default (issue 26): a file meant for spreadsheet-based FinOps tools evaluates nothing."""
    report = make_report()
    raw = io.BytesIO()
    write_focus(report, raw, context("en", safe="false"))
    text = raw.getvalue().decode("utf-8")
    assert "\ufeff" not in text[:1]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert any(r["ResourceId"].startswith("=HYPERLINK") for r in rows)
    assert not any(re.search(r"[\x00-\x1f]", v) for r in rows for v in r.values() if v)
    safe = io.BytesIO()
    write_focus(report, safe, context("en"))
    rows = list(csv.DictReader(io.StringIO(safe.getvalue().decode("utf-8"))))
    assert not any(r["ResourceId"].startswith(("=", "+", "-", "@")) for r in rows)


class _Many:
    """A record source that makes ``n`` rows as they are read (nothing held)."""

    def __init__(self, n: int, start: int) -> None:
        self.n, self.start = n, start

    def iter_records(self, start_ts: int, end_ts: int, token_names=None) -> Iterator[UsageRecord]:
        for i in range(self.n):
            kind = LogType.REFUND if i % 50 == 0 else LogType.CONSUME
            yield UsageRecord(
                self.start + i % 2_000_000, int(kind), f"key-{i % 40}", f"model-{i % 7}", 1000 + i % 999,
                prompt_tokens=i % 5000, completion_tokens=i % 700, request_id=f"req-{i}",
            )  # fmt: skip


def test_rows_stream_with_flat_memory():
    report = make_report([])
    start = report.period.start_ts

    def peak(n: int) -> int:
        sink = _Sink()
        tracemalloc.start()
        write_focus(replace(report, source=_Many(n, start)), sink, context("en"))
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert sink.lines == n + 1
        return top

    small, big = peak(2_000), peak(40_000)
    assert big < small * 2 + 2_000_000, (small, big)


class _Sink(io.RawIOBase):
    """Counts lines written and keeps nothing."""

    def __init__(self) -> None:
        self.lines = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self.lines += bytes(data).count(b"\n")
        return len(data)


def test_a_project_file_carries_the_corrections_of_its_charged_days_only(config, team, gateway, tmp_path):
    april = parse_period("2026-04", config.tz)
    close_period(config, april)
    base = next(r for r in team.rows if r["type"] == 2 and r["token_name"] == "key-bob" and r["quota"] > 0)
    # key-bob is charged to nlp-grant from 2026-04-16: the row of the 10th is not the grant's, the 20th's is
    early, late = (
        {**base, "other": dict(base["other"]), "created_at": team.start_ts + day * 86400 + 3 * 3600}
        for day in (9, 19)
    )
    gateway.insert_rows([early, late])
    run_sync(config, april, refetch=True, client_factory=fast_client)
    (path,) = write_report(config, april, select_exporters("focus"), tmp_path / "p", project="nlp-grant")
    _, rows = read(path)
    (fix,) = [r for r in rows if r["ChargeClass"] == "Correction"]
    assert (
        fix["ResourceId"] == "key-bob" and fix["ChargePeriodStart"] == "2026-04-19T19:00:00Z"
    )  # 04-20 03:00 in Shanghai
    assert json.loads(fix["Tags"])["project"] == "nlp-grant" and fix["x_Correction"] == "added"
    _, team_rows = read(focus_file(config, tmp_path / "t"))
    assert sum(1 for r in team_rows if r["ChargeClass"] == "Correction") == 2


def test_each_source_is_its_own_billing_account_and_service():
    """The port and path stay, a database source names its server and database (never a password),
    and two sources reading one account stay two accounts."""
    bound = (
        ("a", "http://gw.example:3000#1"),
        ("b", "http://gw.example:3001#1"),
        ("c", "https://gw.example/newapi/#1"),
        ("d", "https://gw.example/newapi/#1"),
        ("db", "postgresql://reader:***@db.internal:5432/newapi?usernames=alice,bob#None"),
        ("file", "sqlite:///srv/one-api.db#7"),
    )
    found = accounts(replace(make_report(), source_accounts=bound))
    assert {n: a.account_id for n, a in found.items()} == {
        "a": "gw.example:3000#1",
        "b": "gw.example:3001#1",
        "c": "gw.example/newapi#1@c",
        "d": "gw.example/newapi#1@d",
        "db": "db.internal:5432/newapi#usernames=alice,bob",
        "file": "/srv/one-api.db#7",
    }
    assert len({a.service for a in found.values()}) == len(bound)
    assert found["a"].service == "gw.example:3000 LLM API (a)" and found["a"].provider == "gw.example"
    assert all("***" not in a.account_name and "reader" not in a.account_id for a in found.values())
    (lone,) = accounts(replace(make_report(), source_accounts=(("default", "http://gw:8080#42"),))).values()
    assert (lone.account_id, lone.service, lone.source) == ("gw:8080#42", "gw:8080 LLM API", "default")


def test_the_file_reconciles_to_the_statement_through_its_subscription_rows(config, team, gateway, tmp_path):
    """Σ EffectiveCost = the statement's net total; Σ BilledCost = its wallet-paid part; the rows
    drawn from the subscription (refunds of subscription-billed rows included) = its subscription part."""
    april = parse_period("2026-04", config.tz)
    billed = next(
        r for r in team.rows if r["type"] == 2 and r["other"].get("billing_source") == "subscription"
    )
    refund = {
        **billed,
        "type": 6,
        "content": "task failed, refunded",
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "other": {"billing_source": "subscription"},
        "created_at": billed["created_at"] + 60,
    }
    gateway.insert_rows([refund])
    run_sync(config, april, refetch=True, client_factory=fast_client)
    with open_period(config, april) as view:
        report = view.report
        split = report.split(report.totals)
    assert split.subscription < usd(report.totals.subscription_quota, report.quota_per_unit)  # the refund
    for grain in ("row", "day"):
        _, rows = read(focus_file(config, tmp_path / grain, f"grain={grain}"))
        drawn = [r for r in rows if r["CommitmentDiscountStatus"] == "Used"]
        assert total(rows, "EffectiveCost") == split.net
        assert total(rows, "BilledCost") == split.wallet
        assert total(drawn, "EffectiveCost") == split.subscription
        assert total(rows, "BilledCost") + total(drawn, "EffectiveCost") == total(rows, "EffectiveCost")
        if grain == "row":
            assert (
                total([r for r in rows if r["x_LogType"] == "consumption"], "EffectiveCost")
                == split.consumption
            )
            assert total([r for r in rows if r["x_LogType"] == "refund"], "EffectiveCost") == -split.refunds
    # the printed statement: its total, at the cent, is the file's
    (pdf,) = write_report(config, april, select_exporters("pdf"), tmp_path / "pdf", lang="en")
    printed = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert f"{cents(split.net):,}" in printed


def test_token_quantities_equal_the_detail_token_sums(config, team, tmp_path):
    """Per model, the x_ token columns add up to the month's token types as the rows log them, and
    the Input/Output/Cache meters to those of the rows their ratios explain (the rest on one row)."""
    april = parse_period("2026-04", config.tz)
    logged: dict[str, dict[str, int]] = {}
    metered: dict[str, dict[str, int]] = {}
    for row in team.rows:
        if row["type"] != 2 or not april.start_ts <= row["created_at"] < april.end_ts:
            continue
        other = row.get("other")
        other = json.loads(other) if isinstance(other, str) and other else other or None
        usage = row_usage(other, "other" in row, row["prompt_tokens"], row["completion_tokens"], row["quota"])
        counts = {
            "x_InputTokens": usage.input_tokens or 0,
            "x_OutputTokens": row["completion_tokens"],
            "x_CacheReadTokens": usage.cache_read_tokens or 0,
            "x_CacheWriteTokens": usage.cache_write_tokens or 0,
        }
        for column, n in counts.items():
            mine = logged.setdefault(row["model_name"], {})
            mine[column] = mine.get(column, 0) + n
        if usage.price_note is None:
            for meter, column in (("Input Tokens", "x_InputTokens"), ("Output Tokens", "x_OutputTokens"),
                                  ("Cache Read Input Tokens", "x_CacheReadTokens")):  # fmt: skip
                mine = metered.setdefault(row["model_name"], {})
                mine[meter] = mine.get(meter, 0) + counts[column]
    for grain in ("row", "day"):
        _, rows = read(focus_file(config, tmp_path / grain, f"grain={grain}"))
        used = [r for r in rows if r["x_LogType"] == "consumption"]
        for model, columns in logged.items():
            mine = [r for r in used if _key_values(r["SkuPriceDetails"])["x_ModelId"] == model]
            assert {c: int(total(mine, c)) for c in columns} == columns, (grain, model)
            for meter, n in metered.get(model, {}).items():
                assert total([r for r in mine if r["SkuMeter"] == meter], "ConsumedQuantity") == n, (
                    model,
                    meter,
                )


def test_cache_tokens_claude_writes_per_call_and_tiered_rows_as_the_gateway_logs_them(
    config, team, gateway, tmp_path, validator
):
    """Rows as new-api writes them, through sync and the store: each split by token type at the
    unit price its ratios give, multiplying out exactly; the ones the ratios do not explain on one row."""
    april = parse_period("2026-04", config.tz)
    base = next(r for r in team.rows if r["type"] == 2 and r["token_name"] == "key-alice" and r["quota"] > 0)
    at = team.start_ts + 5 * 86400 + 3600

    def row(n: int, model: str, prompt: int, completion: int, quota: int, **other) -> dict:
        return {**base, "created_at": at + n, "model_name": model, "prompt_tokens": prompt,
                "completion_tokens": completion, "quota": quota, "request_id": f"req-focus-{n}",
                "other": other}  # fmt: skip

    gateway.insert_rows([
        # OpenAI usage: prompt 5000 includes 2000 cached; (3000 + 2000 × 0.1 + 300 × 8) × 1.25 = 7000
        row(1, "gpt-5", 5000, 300, 7000, model_ratio=1.25, completion_ratio=8, cache_ratio=0.1,
            cache_tokens=2000, group_ratio=1, model_price=-1),
        # Claude: prompt excludes the cache; (2000 + 500 × 0.1 + 600 × 1.25 + 400 × 2 + 100 × 5) × 1.5
        row(2, "claude-opus-4-1", 2000, 100, 6150, model_ratio=1.5, completion_ratio=5, cache_ratio=0.1,
            cache_tokens=500, cache_creation_tokens=1000, cache_creation_ratio=1.25,
            cache_creation_tokens_5m=600, cache_creation_ratio_5m=1.25, cache_creation_tokens_1h=400,
            cache_creation_ratio_1h=2, usage_semantic="anthropic", group_ratio=1, model_price=-1),
        # per call: USD 0.5 × 500,000 × group ratio 1
        row(3, "sora-2-pro", 0, 0, 250000, model_ratio=0, completion_ratio=0, group_ratio=1, model_price=0.5),
        # expression pricing: the quota is not the ratios'
        row(4, "gpt-5-tiered", 4000, 200, 9999, billing_mode="tiered_expr", expr_b64="eA==",
            model_ratio=0, group_ratio=1, model_price=0),
        # the same OpenAI row billed to a subscription
        {**row(5, "gpt-5", 5000, 300, 7000, model_ratio=1.25, completion_ratio=8, cache_ratio=0.1,
               cache_tokens=2000, group_ratio=1, model_price=-1, billing_source="subscription")},
    ])  # fmt: skip
    run_sync(config, april, refetch=True, client_factory=fast_client)
    data = summary(config)
    for grain in ("row", "day"):
        path = focus_file(config, tmp_path / grain, f"grain={grain}")
        result = focus_validator.validate(*validator, path, tmp_path / grain)
        assert result.ok, result.output
        header, rows = read(path)
        check_focus_1_2(header, rows, data)
    _, rows = read(tmp_path / "row" / "reportgen-2026-04-focus.csv")
    mine = {n: [r for r in rows if r["x_RequestId"] == f"req-focus-{n}"] for n in range(1, 6)}

    def lines(n: int) -> dict[str, tuple[str, str, str, str]]:
        return {r["SkuMeter"]: (r["ConsumedQuantity"], r["ListUnitPrice"], r["ListCost"], r["EffectiveCost"])
                for r in mine[n]}  # fmt: skip

    assert lines(1) == {
        "Input Tokens": ("3000.0", "2.5", "0.0075", "0.0075"),
        "Output Tokens": ("300.0", "20", "0.006", "0.006"),
        "Cache Read Input Tokens": ("2000.0", "0.25", "0.0005", "0.0005"),
    }
    assert {r["PricingUnit"] for r in mine[1]} == {"1000000 Tokens"}
    assert {r["SkuId"] for r in mine[1]} == {"gpt-5:input", "gpt-5:output", "gpt-5:cache_read"}
    assert lines(2) == {
        "Input Tokens": ("2000.0", "3", "0.006", "0.006"),
        "Output Tokens": ("100.0", "15", "0.0015", "0.0015"),
        "Cache Read Input Tokens": ("500.0", "0.3", "0.00015", "0.00015"),
        "Cache Write Input Tokens (5m)": ("600.0", "3.75", "0.00225", "0.00225"),
        "Cache Write Input Tokens (1h)": ("400.0", "6", "0.0024", "0.0024"),
    }
    assert total(mine[2], "x_CacheWriteTokens") == 1000
    assert lines(3) == {"Requests": ("1.0", "0.5", "0.5", "0.5")}
    assert mine[3][0]["SkuId"] == "sora-2-pro:call" and not mine[3][0]["x_PriceNote"]
    ((tiered,),) = [mine[4]]
    assert (tiered["SkuId"], tiered["PricingUnit"], tiered["x_PriceNote"]) == (
        "gpt-5-tiered",
        "Quota units",
        "tiered",
    )
    assert (tiered["EffectiveCost"], tiered["x_InputTokens"], tiered["x_OutputTokens"]) == (
        "0.019998",
        "4000",
        "200",
    )
    assert lines(5) == lines(1) and {r["BilledCost"] for r in mine[5]} == {"0"}
    assert {r["CommitmentDiscountStatus"] for r in mine[5]} == {"Used"}
    for n, quota in ((1, 7000), (2, 6150), (3, 250000), (4, 9999), (5, 7000)):
        assert total(mine[n], "PricingCurrencyEffectiveCost") == quota
        assert total(mine[n], "x_Requests") == 1


def test_token_quantities_equal_the_detail_csv(config, tmp_path):
    """The FOCUS file's token types, per model, are the detail CSV's columns summed (consumption rows)."""
    april = parse_period("2026-04", config.tz)
    out = tmp_path / "both"
    write_report(config, april, select_exporters("csv,focus"), out, lang="en", options={"grain": "day"})
    with (out / "reportgen-2026-04.csv").open(encoding="utf-8-sig", newline="") as fp:
        detail = [r for r in csv.DictReader(fp) if r["Type"] == "consumption"]
    _, rows = read(out / "reportgen-2026-04-focus.csv")
    used = [r for r in rows if r["x_LogType"] == "consumption"]
    pairs = {
        "Output tokens": "x_OutputTokens",
        "Uncached input tokens": "x_InputTokens",
        "Cache read tokens": "x_CacheReadTokens",
        "Cache write tokens": "x_CacheWriteTokens",
    }
    for model in {r["Model"] for r in detail}:
        mine = [r for r in used if _key_values(r["SkuPriceDetails"])["x_ModelId"] == model]
        theirs = [r for r in detail if r["Model"] == model]
        for label, column in pairs.items():
            assert total(mine, column) == total(theirs, label), (model, label)
    assert total(used, "x_CacheReadTokens") > 0 and total(used, "x_CacheWriteTokens") > 0
    split = [r for r in used if r["SkuMeter"].endswith("Tokens")]
    assert {r["SkuMeter"] for r in split} >= {"Input Tokens", "Output Tokens", "Cache Read Input Tokens"}
