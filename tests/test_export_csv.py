"""The CSV exporters, read back with the csv module."""

from __future__ import annotations

import codecs
import csv
import io
from decimal import Decimal

import pytest

from reportgen import plugins
from reportgen.core.records import LogType

from .report_factory import CONTROL_KEY, HOSTILE_KEYS, HYPERLINK, MEMBERS, empty_report, export, make_report

DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "\n")


def read(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_registered_through_the_hook() -> None:
    plugins.reset_for_tests()
    try:
        found = plugins.exporters()
        assert {"csv", "csv-summary"} <= set(found)
        assert found["csv-summary"].suffix == "-summary"
        assert found["csv"].plugin == "reportgen"
    finally:
        plugins.reset_for_tests()


def test_bom_on_by_default_and_off_by_option() -> None:
    report = make_report()
    assert export("csv", report).startswith(codecs.BOM_UTF8)
    plain = export("csv", report, bom="false")
    assert not plain.startswith(codecs.BOM_UTF8)
    assert plain.decode("utf-8").startswith("时间,")


def test_headers_follow_the_language() -> None:
    report = make_report()
    assert read(export("csv", report, "en"))[0][:3] == ["Time", "Member", "API key"]
    assert read(export("csv", report, "zh"))[0][:3] == ["时间", "成员", "API 密钥"]


def test_detail_rows_quota_sum_and_refunds() -> None:
    report = make_report()
    rows = read(export("csv", report, "en"))
    header, body = rows[0], rows[1:]
    q, cost, kind = header.index("Quota"), header.index("Cost (USD)"), header.index("Type")
    assert len(body) == report.totals.requests + sum(
        1 for r in report.rows() if r.record.type == LogType.REFUND
    )
    assert sum(int(r[q]) for r in body) == report.totals.quota
    assert sum(Decimal(r[cost]) for r in body) == report.totals.cost_usd
    refunds = [r for r in body if r[kind] == "refund"]
    assert refunds and all(int(r[q]) < 0 and Decimal(r[cost]) < 0 for r in refunds)
    assert all("E" not in r[cost] for r in body)  # plain decimals, never exponent notation


def test_text_cells_are_inert_and_numbers_stay_numbers() -> None:
    rows = read(export("csv", make_report(), "en"))
    header = rows[0]
    text_cols = [header.index(c) for c in ("Member", "API key", "Model", "Client", "Request ID")]
    for row in rows[1:]:
        for i in text_cols:
            assert not row[i].startswith(DANGEROUS), row[i]
            assert not any(ord(c) < 32 or ord(c) == 127 for c in row[i])
    keys = {row[header.index("API key")] for row in rows[1:]}
    for hostile in HOSTILE_KEYS:
        assert "'" + hostile in keys
    assert "'" + HYPERLINK in keys
    assert "ctrlname" in keys and CONTROL_KEY not in keys
    # A negative quota is a number, not a neutralised string.
    q = header.index("Quota")
    assert any(row[q].startswith("-") for row in rows[1:])


def test_chinese_member_names() -> None:
    text = export("csv", make_report()).decode("utf-8-sig")
    assert "张三" in text


def test_summary_lines_and_totals() -> None:
    report = make_report()
    rows = read(export("csv-summary", report, "en"))
    header = rows[0]
    assert header[:2] == ["Member", "Model"]
    lines, total = rows[1:-1], rows[-1]
    assert len(lines) == len(report.member_models)
    assert total[0] == "Total"
    net = header.index("Net quota")
    assert int(total[net]) == report.totals.quota == sum(int(r[net]) for r in lines)
    cost = header.index("Cost (USD)")
    assert Decimal(total[cost]) == report.totals.cost_usd
    assert "'" + HYPERLINK in {r[0] for r in lines}
    assert "张三" in {r[0] for r in lines}


def test_member_filter() -> None:
    report = make_report(member="张三")
    rows = read(export("csv", report, "en"))
    assert {r[1] for r in rows[1:]} == {"张三"}
    assert sum(int(r[rows[0].index("Quota")]) for r in rows[1:]) == report.totals.quota
    summary = read(export("csv-summary", report, "en"))
    assert {r[0] for r in summary[1:-1]} == {"张三"}


@pytest.mark.parametrize("name", ["csv", "csv-summary"])
def test_empty_period(name: str) -> None:
    rows = read(export(name, empty_report(), "en"))
    assert rows[0][0] in ("Time", "Member")
    if name == "csv":
        assert rows[1:] == []
    else:
        assert rows[1] == ["No usage in this period."]
        assert rows[-1][0] == "Total" and rows[-1][2] == "0"


def test_every_configured_member_in_summary_csv_is_a_known_member() -> None:
    rows = read(export("csv-summary", make_report(), "en"))
    names = {r[0] for r in rows[1:-1]}
    assert {"张三", "Alice Smith"} <= names
    assert "王五" not in names  # no model lines for an idle member
    assert set(MEMBERS) - {"王五"} <= names
