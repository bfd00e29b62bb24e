"""The XLSX exporter, read back with openpyxl (and LibreOffice when it is installed)."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from reportgen.core.money import cents
from reportgen.exporters.xlsx import SheetNames
from reportgen.exporters.xlsx import sheets as xlsx_sheets
from reportgen.exporters.xlsx.book import ENGINES

from .report_factory import HYPERLINK, LONG_A, LONG_B, empty_report, export, make_report, sample_records

BAD = set("[]:*?/\\")


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Every workbook test runs with both engines, read back with openpyxl."""
    return str(request.param)


def load(data: bytes, data_only: bool = True) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data), data_only=data_only)


def test_sheets_valid_unique_and_one_per_active_member(engine: str) -> None:
    report = make_report()
    wb = load(export("xlsx", report, "en", engine=engine))
    names = wb.sheetnames
    assert names[:3] == ["Summary", "By model", "By day"]
    for name in names:
        assert 0 < len(name) <= 31 and not (set(name) & BAD)
        assert not name.startswith("'") and not name.endswith("'")
        assert name.casefold() != "history"
    assert len({n.casefold() for n in names}) == len(names)
    active = [m for m in report.members if m.stats.active]
    assert len(names) == 3 + len(active)
    assert "张三" in names and "王五" not in names
    assert LONG_A[:31].rstrip() in names and any(
        n.endswith("~2") and n.startswith(LONG_B[:20]) for n in names
    )


def test_sheet_names_follow_the_language(engine: str) -> None:
    assert load(export("xlsx", make_report(), "zh", engine=engine)).sheetnames[:3] == [
        "汇总",
        "按模型",
        "按日期",
    ]
    assert load(export("xlsx", make_report(), "en", engine=engine)).sheetnames[:3] == [
        "Summary",
        "By model",
        "By day",
    ]


def test_sheet_name_rules() -> None:
    names = SheetNames()
    assert names.claim("Summary", "x") == "Summary"
    assert names.claim("summary", "x") == "summary~2"
    assert names.claim("History", "x") == "History~2"
    assert names.claim("'a/b:c'", "x") == "a_b_c"
    assert names.claim("\x00\x01", "Member") == "Member"
    long = "x" * 40
    assert names.claim(long, "m") == "x" * 31
    second = names.claim(long, "m")
    assert second == "x" * 29 + "~2" and len(second) == 31
    assert len(names.claim(long, "m", suffix=" (2)")) == 31


def test_no_formula_from_a_name_and_text_stays_text(engine: str) -> None:
    wb = load(export("xlsx", make_report(), "en", engine=engine), data_only=False)
    seen = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    seen.add(cell.value)
                    assert not any(ord(c) < 32 for c in cell.value)
    assert HYPERLINK in seen and "@SUM(1+1)" in seen and "ctrlname" in seen and "张三" in seen
    quoted = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value == HYPERLINK]
    assert quoted and all(c.quotePrefix for c in quoted)  # stays text when edited in Excel


def test_unknown_engine_is_a_usage_error() -> None:
    from reportgen.errors import UsageError

    with pytest.raises(UsageError, match="xlsxwriter, openpyxl"):
        export("xlsx", make_report(), "en", engine="pandas")


def test_summary_totals_equal_the_report(engine: str) -> None:
    report = make_report()
    ws = load(export("xlsx", report, "en", engine=engine))["Summary"]
    values = {row[0]: row[1] for row in ws.iter_rows(values_only=True) if row and row[0]}
    t = report.totals
    assert values["Requests"] == t.requests
    assert values["Net quota"] == t.quota
    assert values["Cost (USD)"] == pytest.approx(float(t.cost_usd), abs=1e-9)
    cny = report.cny(t.cost_usd)
    assert cny is not None and values["Cost (CNY)"] == float(cents(cny))  # as printed: half-up cents
    assert values["Quota per USD"] == 500000
    assert isinstance(values["Generated"], datetime)
    members = {row[0]: row for row in ws.iter_rows(values_only=True) if row and row[0] in {"张三", "王五"}}
    assert members["张三"][7] == report.members[0].stats.quota
    assert members["王五"][1] == 0  # members without usage are listed


def test_member_sheet_rows_and_totals_row(engine: str) -> None:
    report = make_report()
    wb = load(export("xlsx", report, "en", engine=engine))
    checked = 0
    for line in report.members:
        if not line.stats.active or line.name not in wb.sheetnames:
            continue  # renamed sheets are covered by the sheet-name tests
        checked += 1
        ws = wb[line.name]
        rows = list(ws.iter_rows(values_only=True))
        header, body, total = rows[0], rows[1:-1], rows[-1]
        q = header.index("Quota")
        assert total[0] == "Total"
        assert total[q] == line.stats.quota == sum(r[q] for r in body)
        assert total[header.index("Cost (USD)")] == pytest.approx(float(line.stats.cost_usd), abs=1e-9)
        assert all(isinstance(r[0], datetime) and r[0].tzinfo is None for r in body)
        assert all(isinstance(r[q], int) for r in body)
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == f"A1:O{len(body) + 1}"  # 15 columns: the token types added 3
    assert checked >= 4


def test_local_times_are_in_the_report_timezone(engine: str) -> None:
    report = make_report()
    ws = load(export("xlsx", report, "en", engine=engine))["张三"]
    first = next(iter(report.rows(member="张三")))
    assert ws["A2"].value == first.local_time.replace(tzinfo=None)
    assert ws["A2"].number_format == "yyyy-mm-dd hh:mm:ss"


def test_by_model_and_by_day_totals(engine: str) -> None:
    report = make_report()
    wb = load(export("xlsx", report, "en", engine=engine))
    for title, n in (("By model", len([m for m in report.models if m.stats.active])), ("By day", 30)):
        rows = [r for r in wb[title].iter_rows(values_only=True) if r[0] != "Rounding difference"]
        assert len(rows) == n + 2
        net = rows[0].index("Net quota")
        assert rows[-1][net] == report.totals.quota == sum(r[net] for r in rows[1:-1])
    assert isinstance(wb["By day"]["A2"].value, datetime)


def test_member_continues_on_a_second_sheet(monkeypatch: pytest.MonkeyPatch, engine: str) -> None:
    report = make_report()
    zhang = next(m for m in report.members if m.name == "张三")
    n = sum(1 for _ in report.rows(member="张三"))
    monkeypatch.setattr(xlsx_sheets, "MAX_SHEET_ROWS", 12)  # 10 data rows per sheet
    wb = load(export("xlsx", report, "en", engine=engine))
    parts = [n for n in wb.sheetnames if n.startswith("张三")]
    assert parts[0] == "张三" and parts[1] == "张三 (2)" and len(parts) == -(-n // 10)
    body = []
    for name in parts:
        rows = list(wb[name].iter_rows(values_only=True))
        assert len(rows) <= 12
        body += [r for r in rows[1:] if r[0] != "Total"]
    assert len(body) == n
    last = list(wb[parts[-1]].iter_rows(values_only=True))
    assert last[-1][last[0].index("Quota")] == zhang.stats.quota


def test_member_filter_and_empty_period(engine: str) -> None:
    wb = load(export("xlsx", make_report(member="张三"), "en", engine=engine))
    assert wb.sheetnames == ["Summary", "By model", "By day", "张三"]
    wb = load(export("xlsx", empty_report(), "en", engine=engine))
    assert wb.sheetnames == ["Summary", "By model", "By day"]
    texts = [c for row in wb["Summary"].iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert "No usage in this period." in texts


def test_charts_reference_the_summary_tables(engine: str) -> None:
    data = export("xlsx", make_report(), "en", engine=engine)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 2
        assert re.search(r"'?Summary'?!\$I\$", z.read(charts[0]).decode())


def test_same_report_same_bytes(engine: str) -> None:
    report = make_report()
    assert export("xlsx", report, engine=engine) == export("xlsx", report, engine=engine)
    with zipfile.ZipFile(io.BytesIO(export("xlsx", report, engine=engine))) as z:
        dates = {i.date_time for i in z.infolist()}
        # openpyxl: report.generated_at; XlsxWriter dates every entry with one fixed 1980 date
        assert dates == {(2026, 5, 1, 9, 30, 0)} if engine == "openpyxl" else len(dates) == 1
        assert "2026-05-01T01:30:00Z" in z.read("docProps/core.xml").decode()  # generated_at, in UTC


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_libreoffice_opens_it(tmp_path: Path, engine: str) -> None:
    path = tmp_path / "report.xlsx"
    report = make_report(sample_records(60))
    path.write_bytes(export("xlsx", report, "zh", engine=engine))
    utf8_csv = "csv:Text - txt - csv (StarCalc):44,34,76"  # 76: UTF-8; first sheet only
    out = subprocess.run(
        ["soffice", "--headless", "--convert-to", utf8_csv, "--outdir", str(tmp_path), str(path)],
        capture_output=True,
        text=True,
        timeout=180,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    converted = tmp_path / "report.csv"
    assert converted.exists(), out.stderr
    text = converted.read_text(encoding="utf-8")
    assert "API 使用费用结算单" in text and "张三" in text
    rows = {row[0]: row[1:] for row in csv.reader(io.StringIO(text)) if row}
    assert rows["净额度"][0] == f"{report.totals.quota:,}"  # a number, shown with its format
    assert rows["费用（美元）"][0] == f"{report.totals.cost_usd:.2f}"


def _workbook_values(data: bytes) -> dict[str, list[tuple[object, ...]]]:
    wb = load(data)
    return {name: list(wb[name].iter_rows(values_only=True)) for name in wb.sheetnames}


class _CountingSource:
    """The report's own record source, counting how often the period is read."""

    def __init__(self, source: object) -> None:
        self.source = source
        self.reads = 0

    def iter_records(self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None):  # type: ignore[no-untyped-def]
        self.reads += 1
        return self.source.iter_records(start_ts, end_ts, token_names)  # type: ignore[attr-defined]


def test_member_detail_is_read_once_per_batch_of_open_sheets(
    monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    from dataclasses import replace

    from reportgen.exporters.xlsx import detail

    report = make_report()
    active = [m for m in report.members if m.stats.active]
    assert len(active) > 4
    counting = _CountingSource(report.source)
    one_pass = export("xlsx", replace(report, source=counting), "en", engine=engine)
    assert counting.reads == 1  # every member sheet filled from one time-ordered read
    monkeypatch.setattr(detail, "OPEN_SHEETS", 2)
    counting = _CountingSource(report.source)
    batched = export("xlsx", replace(report, source=counting), "en", engine=engine)
    assert counting.reads == -(-len(active) // 2)
    assert _workbook_values(batched) == _workbook_values(one_pass)


def test_continued_member_sheets_stay_together_while_others_are_open(
    monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    report = make_report()
    monkeypatch.setattr(xlsx_sheets, "MAX_SHEET_ROWS", 7)  # 5 data rows per sheet
    values = _workbook_values(export("xlsx", report, "en", engine=engine))
    names = list(values)
    for member in ("张三", "Alice Smith"):
        n = sum(1 for _ in report.rows(member=member))
        parts = [i for i, name in enumerate(names) if name == member or name.startswith(f"{member} (")]
        assert len(parts) == -(-n // 5) > 2
        assert parts == list(range(parts[0], parts[0] + len(parts))), member  # adjacent, in order
        assert [names[i] for i in parts[1:]] == [f"{member} ({k})" for k in range(2, len(parts) + 1)]
        body = [r for i in parts for r in values[names[i]][1:] if r[0] != "Total"]
        assert len(body) == n
        assert [r[0] for r in body] == sorted(r[0] for r in body)  # time order across parts


def test_styled_cells_take_no_exception_path() -> None:
    """openpyxl's write-only append raises and catches a ValueError for every finished cell;
    our sheets hand such cells straight to the writer."""
    import sys

    raised: list[str] = []

    def tracer(frame, event, arg):  # type: ignore[no-untyped-def]
        if event == "exception" and issubclass(arg[0], ValueError):
            raised.append(f"{frame.f_code.co_filename}:{frame.f_code.co_name}")
        return tracer

    report = make_report()
    sys.settrace(tracer)
    try:
        data = export("xlsx", report, "en", engine="openpyxl")
    finally:
        sys.settrace(None)
    assert raised == []
    assert load(data, data_only=False)["Summary"]["A1"].font.b  # styled cells still styled


def test_loading_the_exporters_does_not_import_openpyxl() -> None:
    """openpyxl is ~19 MB of every process that imports it: only a workbook being written needs it."""
    import sys

    code = (
        "import sys\n"
        "from reportgen.plugins import select_exporters\n"
        "select_exporters('pdf,csv,xlsx')\n"
        "print('openpyxl' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
