"""Every CSV of an incomplete period says so on every line (a last column), and verify says INCOMPLETE."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date

from reportgen import plugins
from reportgen.app.documents import write_packet, write_report
from reportgen.app.sync import run_sync
from reportgen.app.verify import verify_packet
from reportgen.core.periods import date_range_period
from tests.conftest import fast_client, make_config
from tests.test_evidence import april


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_the_detail_and_focus_csv_of_an_incomplete_month_carry_a_coverage_column(tmp_path, team, gateway):
    config = make_config(tmp_path, gateway.url, team)
    first_half = date_range_period(date(2026, 4, 1), date(2026, 4, 15), config.tz)
    run_sync(config, first_half, client_factory=fast_client)
    exporters = plugins.select_exporters("csv,focus")
    partial = write_report(
        config, april(config), exporters, tmp_path / "partial", allow_partial=True, lang="en"
    )
    whole = write_report(config, first_half, exporters, tmp_path / "whole", lang="en")
    for path in partial:
        rows = _rows(path.read_bytes())
        header, lines = rows[0], rows[1:]
        assert header[-1] in ("Coverage", "x_Coverage"), (path.name, header[-3:])
        assert lines and all(len(line) == len(header) for line in lines)
        assert {line[-1] for line in lines} == {
            "INCOMPLETE: 2026-04-16 – 2026-04-30 not synced; every figure is a floor."
        }, path.name
    for path in whole:  # a complete period: no such column
        header = _rows(path.read_bytes())[0]
        assert header[-1] not in ("Coverage", "x_Coverage"), path.name

    packet = write_packet(config, april(config), tmp_path / "packet", allow_partial=True)
    result = verify_packet(packet)
    assert result.ok, result.differences
    assert result.missing == ["2026-04-16 – 2026-04-30"]
    with zipfile.ZipFile(packet) as zf:
        detail = next(n for n in zf.namelist() if n.endswith(".csv"))
        header = _rows(zf.read(detail))[0]
    assert header[-1] == "数据完整性"  # the packet's language (the config's: zh)
    assert any("lines are exactly the packet's consumption and refund rows" in c for c in result.checked)
