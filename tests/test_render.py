"""The public helper surface for exporters, and the README's plugin example, run as written."""

from __future__ import annotations

import re
import sys
from decimal import Decimal
from pathlib import Path

from reportgen.render import RECORD_FIELDS, csv_cell, money_text, row_cost, row_fields
from tests.report_factory import make_report

README = Path(__file__).resolve().parent.parent / "README.md"


def test_row_helpers_match_the_report() -> None:
    report = make_report()
    rows = list(report.rows())
    assert rows
    total = sum((row_cost(report, r) for r in rows), Decimal(0))
    assert total == report.totals.cost_usd  # a column of row costs sums to net spend
    d = row_fields(rows[0])
    assert set(RECORD_FIELDS) - {"raw"} <= set(d) and d["member"] == rows[0].member
    assert csv_cell("=1+1") == "'=1+1" and money_text(Decimal("0.125")) == "0.13"


def test_the_readme_plugin_and_its_test_snippet_run_as_written(tmp_path, monkeypatch) -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Write your own exporter") :]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    plugin, test = blocks[0], blocks[1]
    package = tmp_path / "reportgen_total"
    package.mkdir()
    (package / "__init__.py").write_text(plugin, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        exec(compile(test, "README test snippet", "exec"), {})  # noqa: S102 - the README's own code
    finally:
        sys.modules.pop("reportgen_total", None)
