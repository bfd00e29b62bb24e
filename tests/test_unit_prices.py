"""Issue 22's done-when for unit prices: every statement line with a unit price multiplies out to its
amount at the cent, read back from the PDF's text; lines without one say why; the detail's token
sums equal the statement's quantities and ``summary --json``'s token types.

The demo month has cache reads (OpenAI path), the Claude path's cache writes split 5m / 1h,
per-call sora-2 with refunds, tiered-expression gemini rows, one-api-style qwen-max rows without
pricing, subscription-billed rows and a free promotion (a mismatch).
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pypdf
import pytest
from click.testing import CliRunner

from reportgen.cli import cli
from reportgen.core.money import cents
from reportgen.demo import DemoResult, run_demo
from reportgen.templating import wording

EN = wording("en")
_PRICED = re.compile(r"^  (?P<kind>\S.*?) (?P<qty>[\d,]+) (?P<price>\d+\.\d+) (?P<amount>-?[\d,]+\.\d\d)$")
_AMOUNT_ONLY = re.compile(r"^  (?P<why>\S.*?) (?P<amount>-?[\d,]+\.\d\d)$")
_TOTAL = re.compile(r"^Total (?P<model>\S+) (?P<amount>-?[\d,]+\.\d\d)$")
#: The detail column each priced kind counts.
_COLUMN = {
    "input": "input_tokens",
    "output": "completion_tokens",
    "cache_read": "cache_read_tokens",
    "cache_write_5m": "cache_write_5m_tokens",
    "cache_write_1h": "cache_write_1h_tokens",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("prices") / "demo", lang="en")


def _d(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def _section(demo: DemoResult) -> list[str]:
    # The statement, not the claim form the demo also writes.
    pdf = next(p for p in demo.paths if p.suffix == ".pdf" and not p.stem.endswith("-claim"))
    lines = "\n".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages).splitlines()
    start = lines.index(EN("prices_title"))
    end = lines.index(EN("price_list_title"), start)
    return lines[start:end]


def _statement(demo: DemoResult) -> dict[str, dict[str, object]]:
    """Each model's priced lines (kind -> quantity, price, amount), amount-only lines and total, from the PDF."""
    kinds = {EN(f"tt_{k}"): k for k in ("input", "output", "cache_read", "cache_write", "cache_write_5m",
                                         "cache_write_1h", "image", "call")}  # fmt: skip
    reasons = {EN(f"pn_{k}") for k in ("tiered", "no_pricing", "no_ratios", "surcharge", "audio", "mismatch",
                                        "refund", "per_request_rounding")}  # fmt: skip
    models: dict[str, dict[str, object]] = {}
    current: dict[str, object] | None = None
    for line in _section(demo):
        if m := _PRICED.match(line):
            assert current is not None and m["kind"] in kinds, line
            current["priced"].append((kinds[m["kind"]], _d(m["qty"]), _d(m["price"]), _d(m["amount"])))  # type: ignore[attr-defined]
        elif m := _AMOUNT_ONLY.match(line):
            assert current is not None
            assert m["why"] in reasons, f"a line without a unit price must say why: {line!r}"
            current["alone"].append((m["why"], _d(m["amount"])))  # type: ignore[attr-defined]
        elif m := _TOTAL.match(line):
            assert current is not None and current["model"] == m["model"]
            current["total"] = _d(m["amount"])
        elif re.fullmatch(r"[\w.\-]+", line):
            current = models.setdefault(line, {"model": line, "priced": [], "alone": [], "total": None})
    return models


def test_every_priced_line_multiplies_out_at_the_cent_and_the_lines_add_up(demo: DemoResult) -> None:
    models = _statement(demo)
    assert {"claude-sonnet-4-5", "gpt-5-mini", "sora-2", "gemini-2.5-pro", "qwen-max"} <= set(models)
    priced = 0
    for model in models.values():
        for kind, qty, price, amount in model["priced"]:  # type: ignore[attr-defined]
            per = price if kind == "call" else price / Decimal(1_000_000)
            assert cents(qty * per) == amount, (model["model"], kind, qty, price, amount)
            priced += 1
        lines = [a for *_, a in model["priced"]] + [a for _, a in model["alone"]]  # type: ignore[attr-defined]
        assert sum(lines, Decimal(0)) == model["total"], model["model"]
    assert priced >= 12
    report = demo.report_summary
    assert sum((m["total"] for m in models.values()), Decimal(0)) == cents(report.totals.cost_usd)  # type: ignore[misc]
    why = {w for m in models.values() for w, _ in m["alone"]}  # type: ignore[attr-defined]
    assert {EN("pn_tiered"), EN("pn_no_pricing"), EN("pn_refund"), EN("pn_mismatch")} <= why
    kinds = {k for m in models.values() for k, *_ in m["priced"]}  # type: ignore[attr-defined]
    assert {"input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "call"} <= kinds


def _detail_sums(demo: DemoResult) -> dict[str, dict[str, int | None]]:
    """Consumption rows' token columns summed per model from the CSV detail (None: no row reports it)."""
    path = next(p for p in demo.paths if p.name.endswith("-04.csv"))
    headers = {EN(k): k for k in ("model", "type", *_COLUMN.values(), "cache_write_tokens", "prompt_tokens")}
    sums: dict[str, dict[str, int | None]] = defaultdict(lambda: defaultdict(lambda: None))
    with path.open(encoding="utf-8-sig", newline="") as fp:
        for row in csv.DictReader(fp):
            values = {headers[k]: v for k, v in row.items() if k in headers}
            if values["type"] != EN("consumption"):
                continue
            into = sums[values["model"]]
            for key, value in values.items():
                if key not in ("model", "type") and value != "":
                    into[key] = (into[key] or 0) + int(value)
    return sums


def test_detail_token_sums_equal_the_statement_quantities(demo: DemoResult) -> None:
    sums = _detail_sums(demo)
    counted = 0
    for name, model in _statement(demo).items():
        explained = all(w in (EN("pn_refund"), EN("pn_per_request_rounding")) for w, _ in model["alone"])  # type: ignore[attr-defined]
        if not explained:
            continue  # rows without a unit price are in the detail, not in a priced line
        for kind, qty, _price, _amount in model["priced"]:  # type: ignore[attr-defined]
            if kind in _COLUMN:
                assert sums[name][_COLUMN[kind]] == qty, (name, kind)
                counted += 1
    assert counted >= 6


def test_summary_json_carries_token_types_and_hit_rates(demo: DemoResult) -> None:
    result = CliRunner().invoke(
        cli,
        ["--config", str(demo.config_path), "summary", "--period", "2026-04", "--json"],
        env={"REPORTGEN_ACCESS_TOKEN": "demo"},
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    sums = _detail_sums(demo)
    for model, types in data["tokens"]["models"].items():
        assert types["input"] == sums[model]["input_tokens"], model
        assert types["cache_read"] == sums[model]["cache_read_tokens"], model
        assert types["output"] == (sums[model]["completion_tokens"] or 0), model
    qwen = data["tokens"]["models"]["qwen-max"]
    assert qwen["cache_read"] is None and qwen["cache_hit_rate"] is None  # not reported, not 0
    assert Decimal(data["tokens"]["models"]["claude-sonnet-4-5"]["cache_hit_rate"]) > 0
    assert data["tokens"]["members"]["张三"]["totals"]["cache_read"] > 0
    lines = [line for m in data["prices"]["models"] for line in m["lines"]]
    for line in lines:
        if line["unit_price"] is not None:
            per = Decimal(line["unit_price"]) / (1 if line["kind"] == "call" else 1_000_000)
            assert Decimal(line["amount_usd"]) == line["quantity"] * per
        else:
            assert line["note"]


def test_the_workbook_price_sheet_foots(demo: DemoResult) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(next(p for p in demo.paths if p.suffix == ".xlsx"), read_only=True)
    try:
        rows = list(wb[EN("sheet_prices")].iter_rows(values_only=True))
    finally:
        wb.close()  # a read-only workbook keeps its zip open until closed
    total_label = EN("price_model_total")
    running: dict[str, Decimal] = defaultdict(Decimal)
    seen = 0
    for row in rows[3:]:
        if not row or row[0] is None:
            break
        name = str(row[0])
        if row[4] is None:
            continue
        if name.startswith("Total "):
            assert cents(running[name.removeprefix("Total ")]) == cents(Decimal(str(row[4]))), name
            seen += 1
            continue
        if row[3] is not None:
            per = Decimal(str(row[3])) / (1 if row[1] == EN("tt_call") else 1_000_000)
            assert cents(Decimal(row[2]) * per) == cents(Decimal(str(row[4])))
        running[name] += Decimal(str(row[4]))
    assert seen >= 5 and total_label.startswith("Total")


def test_demo_paths_exist(demo: DemoResult) -> None:
    assert all(Path(p).exists() for p in demo.paths)
