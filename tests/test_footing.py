"""Issue 22's done-when: re-adding every printed column gives the printed totals, in USD and CNY,
with rounding lines where needed; printed USD × printed rate + 折算差额 = printed CNY.

The PDF is read back as text (pypdf), the workbook's columns are summed by LibreOffice
(a SUM formula per column, recalculated headless), for the factory month (refunds,
subscription rows, one rate) and for the two-source month at two rates.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from tests.report_factory import export, make_report
from tests.test_sources import _served

CENT = Decimal("0.01")
_NUMBER = r"-?\d{1,3}(?:,\d{3})*\.\d{2}"


def _d(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def _lines(pdf: bytes) -> list[str]:
    """The PDF's text as pdftotext lays it out: a table row, its label and figures, on one line."""
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True, timeout=60
    ).stdout.decode("utf-8")
    return [" ".join(line.split()) for line in text.splitlines()]


def _value(lines: list[str], label: str) -> Decimal:
    (found,) = [
        line
        for line in lines
        if line.startswith(label + " ") and re.fullmatch(rf"{re.escape(label)} {_NUMBER}", line)
    ]
    return _d(found.rsplit(" ", 1)[1])


def _check_pdf(lines: list[str], lab: dict[str, str]) -> None:
    """The totals block and the split table of a statement add up as printed."""
    usd = _value(lines, lab["usd"])
    # the members' subtotals and the rounding row before the USD total add up to it
    subtotals = [_d(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(lab["subtotal"] + " ")]
    at = next(i for i, line in enumerate(lines) if line.startswith(lab["usd"] + " "))
    rounding = _d(lines[at - 1].rsplit(" ", 1)[1]) if lines[at - 1].startswith(lab["rounding"] + " ") else 0
    assert sum(subtotals) + rounding == usd
    # CNY: each printed USD × printed rate, the conversion difference, the total
    cny = _value(lines, lab["cny"])
    products = Decimal(0)
    for line in lines:
        m = re.fullmatch(
            rf"{lab['converted']}.*?({_NUMBER}) {lab['usd_word']} [x×] ([\d.]+) ({_NUMBER})", line
        )
        if m:
            product = _d(m[3])
            assert (_d(m[1]) * Decimal(m[2])).quantize(CENT, ROUND_HALF_UP) == product, line
            assert len(m[2].split(".")[1]) >= 4  # a rate prints at least four decimals
            products += product
    assert products  # the conversion lines were found and re-multiplied
    difference = [line for line in lines if line.startswith(lab["difference"] + " ")]
    assert products + sum((_d(x.rsplit(" ", 1)[1]) for x in difference), Decimal(0)) == cny
    # the split table: every column foots, with its rounding row
    head = next(i for i, line in enumerate(lines) if line.startswith(lab["split_head"]))
    end = next(i for i in range(head, len(lines)) if lines[i].startswith(lab["total"] + " "))
    rows = [[_d(x) for x in re.findall(_NUMBER, line)[-5:]] for line in lines[head + 1 : end]]
    total = [_d(x) for x in re.findall(_NUMBER, lines[end])[-5:]]
    assert len([row for row in rows if len(row) == 5]) >= 2
    for column in range(5):
        assert sum(row[column] for row in rows if len(row) == 5) == total[column]
    consumption, refunds, net, wallet, subscription = total
    assert net == usd and (consumption + refunds - net).copy_abs() <= CENT


ZH = {
    "usd": "总计（美元）",
    "cny": "总计（人民币）",
    "subtotal": "小计",
    "rounding": "舍入差额",
    "converted": "(?:折合人民币：|人民币，来源 )",
    "usd_word": "美元",
    "difference": "折算差额（人民币）",
    "split_head": "成员 消费 退款",
    "total": "合计",
}
EN = {
    "usd": "Grand total (USD)",
    "cny": "Grand total (CNY)",
    "subtotal": "Subtotal",
    "rounding": "Rounding difference",
    "converted": "(?:CNY: |CNY, source )",
    "usd_word": "USD",
    "difference": "Conversion difference (CNY)",
    "split_head": "Member Consumption Refunds",
    "total": "Total",
}


def _libreoffice_sums(xlsx: bytes, tmp_path: Path) -> list[tuple[str, Decimal, Decimal]]:
    """Each money column of the Summary's member and model tables: LibreOffice's SUM of the rows
    above its total line (a rounding row included) and the total line's value."""
    wb = openpyxl.load_workbook(io.BytesIO(xlsx))
    ws = wb.worksheets[0]
    checks = []
    width = ws.max_column
    row = 1
    formulas = {}
    while row <= ws.max_row:
        first = ws.cell(row, 1).value
        if first in ("成员", "模型", "Member", "Model") and ws.cell(row, 2).value:
            end = row + 1
            while ws.cell(end, 1).value not in ("合计", "Total"):
                end += 1
            for col in range(2, width + 1):
                fmt = ws.cell(end, col).number_format
                if ws.cell(end, col).value is not None and "0.00" in fmt:
                    letter = get_column_letter(col)
                    at = f"{get_column_letter(width + 2)}{len(formulas) + 1}"
                    ws[at] = f"=SUM({letter}{row + 1}:{letter}{end - 1})"
                    formulas[at] = (f"{first}/{ws.cell(row, col).value}", f"{letter}{end}")
            row = end
        row += 1
    path = tmp_path / "sums.xlsx"
    wb.save(path)
    out = tmp_path / "lo"
    done = subprocess.run(
        ["soffice", "--headless", "--convert-to", "xlsx", "--outdir", str(out), str(path)],
        capture_output=True,
        text=True,
        timeout=180,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    recalculated = openpyxl.load_workbook(out / "sums.xlsx", data_only=True).worksheets[0]
    assert formulas, done.stderr
    for at, (name, total_at) in formulas.items():
        checks.append(
            (name, Decimal(str(recalculated[at].value)), Decimal(str(recalculated[total_at].value)))
        )
    return checks


def _check_xlsx(xlsx: bytes, tmp_path: Path) -> None:
    sums = _libreoffice_sums(xlsx, tmp_path)
    assert any("人民币" in name for name, _, _ in sums) and any("美元" in name for name, _, _ in sums)
    for name, summed, total in sums:
        # as displayed (two places): the column's SUM is its total line
        assert summed.quantize(CENT, ROUND_HALF_UP) == total.quantize(CENT, ROUND_HALF_UP), name


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler not installed")
def test_the_factory_month_foots_in_the_pdf() -> None:
    report = make_report()
    _check_pdf(_lines(export("pdf", report, lang="zh")), ZH)
    _check_pdf(_lines(export("pdf", report, lang="en")), EN)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_the_factory_month_foots_in_libreoffice(tmp_path: Path) -> None:
    _check_xlsx(export("xlsx", make_report(), lang="zh"), tmp_path)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_a_two_source_two_rate_month_foots_everywhere(tmp_path: Path) -> None:
    with _served(tmp_path, 'exchange_rate = 7.10\nexchange_rate_source = "Legacy contract rate"') as (run, _):
        out = tmp_path / "docs"
        for lang in ("zh", "en"):
            done = run(
                "report",
                "--period",
                "2026-04",
                "--format",
                "pdf,xlsx",
                "--lang",
                lang,
                "--out",
                str(out / lang),
            )
            assert done.exit_code == 0, done.output
            _check_pdf(_lines(next((out / lang).glob("*.pdf")).read_bytes()), ZH if lang == "zh" else EN)
        _check_xlsx(next((out / "zh").glob("*.xlsx")).read_bytes(), tmp_path)
        data = json.loads(run("summary", "--period", "2026-04", "--json").stdout)
        assert data["exchange_rate"]["per_source"]
        _check_json(data)
        cny = data["printed"]["cny"]
        assert [p["source"] for p in cny["parts"]] == ["legacy", "main", "second"]


def _check_json(data: dict) -> None:
    """summary --json: the printed figures re-add, the split adds up, the claim multiplies out."""
    printed = data["printed"]
    usd = printed["members_usd"]
    assert sum(map(Decimal, usd["lines"])) + Decimal(usd["rounding"]) == Decimal(usd["total"])
    assert Decimal(usd["total"]) == Decimal(data["totals"]["cost_usd"]).quantize(CENT, ROUND_HALF_UP)
    cny = printed["cny"]
    parts = cny.get("parts", [cny])
    for part in parts:
        assert (Decimal(part["usd"]) * Decimal(part["rate"])).quantize(CENT, ROUND_HALF_UP) == Decimal(
            part["product"]
        )
    products = sum(Decimal(p["product"]) for p in parts)
    assert products + Decimal(cny["conversion_difference"]) == Decimal(cny["total"])
    assert Decimal(cny["total"]) == Decimal(data["totals"]["cost_cny"]).quantize(CENT, ROUND_HALF_UP)
    t = data["totals"]
    assert (
        Decimal(t["consumption_usd"]) - Decimal(t["refunds_usd"])
        == Decimal(t["net_usd"])
        == Decimal(t["cost_usd"])
    )
    assert Decimal(t["wallet_usd"]) + Decimal(t["subscription_usd"]) == Decimal(t["net_usd"])
    claim = data["claim"]
    assert claim["base"] == "wallet" and Decimal(claim["usd"]) == Decimal(t["wallet_usd"])
    shown = claim["printed"]
    assert sum(Decimal(p["product"]) + Decimal(p["conversion_difference"]) for p in shown["parts"]) + Decimal(
        shown["rounding"]
    ) == Decimal(shown["cny"])


def test_the_factory_month_foots_in_json() -> None:
    from reportgen.app.summary import report_json

    _check_json(json.loads(json.dumps(report_json(make_report()))))


@pytest.mark.parametrize("by", ["member", "model", "day", "key"])
def test_the_terminal_tables_foot(by: str) -> None:
    from rich.console import Console

    from reportgen.console import print_summary

    report = make_report()
    console = Console(width=200, record=True, color_system=None)
    print_summary(report, by, console)
    text = console.export_text()
    lines = text.splitlines()
    header = next(line for line in lines if line.split()[:2] == [by, "requests"])
    end = header.index(" USD") + len(" USD")  # the USD column is right-aligned under its header

    def usd_of(line: str) -> Decimal:
        return _d(re.findall(_NUMBER, line[:end])[-1])

    amounts = []
    total = None
    for line in lines[lines.index(header) + 2 :]:
        if line.strip().startswith("total "):
            total = usd_of(line)
            break
        if re.search(_NUMBER, line[:end]):
            amounts.append(usd_of(line))
    assert sum(amounts) == total == report.totals.cost_usd.quantize(CENT, ROUND_HALF_UP)
    cny = re.search(
        rf"\(({_NUMBER}) × ([\d.]+) = ({_NUMBER})(?:, conversion difference ({_NUMBER}))?\)", text
    )
    assert cny is not None
    printed = re.search(rf"= CNY ({_NUMBER})", text)
    assert printed is not None
    assert _d(cny[3]) + _d(cny[4] or "0") == _d(printed[1])
    assert (_d(cny[1]) * Decimal(cny[2])).quantize(CENT, ROUND_HALF_UP) == _d(cny[3])
