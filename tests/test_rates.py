"""Dated official exchange rates from ``[report.rates."2026-04"]``: config, which one applies, what
every document says, --strict, and closed periods keeping the rate they were closed with."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pypdf
import pytest
from click.testing import CliRunner

from reportgen.app.closing import close_period
from reportgen.app.documents import write_packet, write_report
from reportgen.app.packet import manifest_of
from reportgen.app.sync import run_sync
from reportgen.cli import cli
from reportgen.config import load_config
from reportgen.core.periods import date_range_period, parse_period
from reportgen.core.rates import DatedRate
from reportgen.errors import ConfigError, QualityError
from reportgen.plugins import select_exporters
from tests.conftest import TOKEN, fast_client, make_config

APRIL = (
    '\n[report.rates."2026-04"]\ncny_per_usd = 7.1053\nsource = "PBoC central parity"\ndate = 2026-04-30\n'
)
Q2 = '\n[report.rates."2026-Q2"]\ncny_per_usd = 7.2\nsource = "Finance office, Q2"\ndate = 2026-03-31\n'
MARCH = '\n[report.rates."2026-03"]\ncny_per_usd = 7.0\nsource = "PBoC central parity"\ndate = 2026-03-31\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "reportgen.toml"
    path.write_text('[report]\ntimezone = "Asia/Shanghai"\nexchange_rate = 6.9\n' + text, encoding="utf-8")
    return path


def test_rates_parse_and_the_shortest_covering_entry_applies(tmp_path):
    config = load_config(write(tmp_path, APRIL + Q2), env={})
    assert config.rates == (
        DatedRate("2026-04", Decimal("7.1053"), "PBoC central parity", date(2026, 4, 30)),
        DatedRate("2026-Q2", Decimal("7.2"), "Finance office, Q2", date(2026, 3, 31)),
    )
    tz = config.tz
    assert config.dated_rate(parse_period("2026-04", tz)).period == "2026-04"  # month beats quarter
    assert config.dated_rate(parse_period("2026-05", tz)).period == "2026-Q2"
    assert config.dated_rate(parse_period("2026-Q2", tz)).period == "2026-Q2"
    half = date_range_period(date(2026, 4, 1), date(2026, 4, 15), tz)
    assert config.dated_rate(half).period == "2026-04"  # a part of April takes April's rate
    assert config.dated_rate(parse_period("2026-03", tz)) is None
    assert config.dated_rate(parse_period("2026", tz)) is None  # no entry covers the whole year
    ex = config.exchange(None, tz, parse_period("2026-04", tz))
    assert (ex.rate, ex.source, ex.applies_to) == (Decimal("7.1053"), "PBoC central parity", "2026-04")
    assert ex.as_of.isoformat() == "2026-04-30T00:00:00+08:00"
    # without a dated entry: [report] exchange_rate, as before
    assert config.exchange(None, tz, parse_period("2026-03", tz)).rate == Decimal("6.9")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (APRIL.replace('"2026-04"', '"April"'), r'report\.rates\."April": name a month'),
        (APRIL.replace('"2026-04"', '"2026-4"'), r'report\.rates\."2026-4": name a month'),
        (APRIL.replace("7.1053", "0"), r'report\.rates\."2026-04"\.cny_per_usd must be a positive number'),
        (APRIL.replace("7.1053", "-7"), r"cny_per_usd must be a positive number"),
        (APRIL.replace("7.1053", "nan"), r"cny_per_usd must be a positive number"),
        (APRIL.replace("7.1053", "inf"), r"cny_per_usd must be a positive number"),
        (APRIL.replace("7.1053", '"7.1"'), r"cny_per_usd must be a positive number"),
        (APRIL.replace("cny_per_usd = 7.1053\n", ""), r"cny_per_usd is required"),
        (APRIL.replace('source = "PBoC central parity"\n', ""), r'"2026-04"\.source is required'),
        (APRIL.replace('"PBoC central parity"', "1"), r'"2026-04"\.source is required'),
        (APRIL.replace("date = 2026-04-30\n", ""), r'"2026-04"\.date is required'),
        (APRIL.replace("2026-04-30", '"2026-04-30"'), r'"2026-04"\.date is required'),
        (APRIL.replace("2026-04-30", "2026-04-30T00:00:00"), r'"2026-04"\.date is required'),
        (APRIL + "rate = 1\n", r'unknown setting report\.rates\."2026-04"\.rate'),
        ('\n[report.rates]\n"2026-04" = 7.1\n', r'report\.rates\."2026-04" must be a table'),
    ],
)
def test_bad_rate_is_one_line_naming_file_and_key(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match):
        load_config(write(tmp_path, text), env={})


# -- over loopback ------------------------------------------------------------------------------


@pytest.fixture
def april_config(tmp_path, team, gateway):
    config = make_config(tmp_path, gateway.url, team, extra=APRIL)
    run_sync(config, parse_period("2026-04", config.tz), client_factory=fast_client)
    return config


def summary_json(config, *args):
    result = CliRunner().invoke(
        cli,
        ["--config", str(config.path), "summary", "--period", "2026-04", "--json", *args],
        env={"REPORTGEN_ACCESS_TOKEN": TOKEN},
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_april_uses_its_official_rate_and_every_document_says_so(april_config, tmp_path):
    data = summary_json(april_config)
    ex = data["exchange_rate"]
    assert ex == {
        "cny_per_usd": "7.1053",
        "source": "PBoC central parity",
        "as_of": "2026-04-30T00:00:00+08:00",
        "applies_to": "2026-04",
    }
    usd = Decimal(data["totals"]["cost_usd"])
    assert Decimal(data["totals"]["cost_cny"]) == (Decimal(usd) * Decimal("7.1053")).quantize(
        Decimal("0.000001")
    )
    assert "official rate for 2026-04" in CliRunner().invoke(
        cli, ["--config", str(april_config.path), "summary", "--period", "2026-04"]
    ).output.replace("\n", " ")

    april = parse_period("2026-04", april_config.tz)
    packet = write_packet(april_config, april, tmp_path / "out", lang="zh")
    assert manifest_of(packet)["source"]["exchange_rate"]["applies_to"] == "2026-04"
    assert manifest_of(packet)["source"]["exchange_rate"]["cny_per_usd"] == "7.1053"
    with zipfile.ZipFile(packet) as zf:
        pdf = zf.read("reportgen-2026-04.pdf")
        xlsx = zf.read("reportgen-2026-04.xlsx")
        methodology = zf.read("methodology.md").decode()
    lines = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    # one unbroken line (no break between the rate and 人民币), no config syntax
    assert re.search("2026-04 官方汇率：1[ \xa0]美元[ \xa0]=[ \xa0]7\\.1053[ \xa0]人民币", lines)
    text = lines.replace("\n", "")
    assert "[report" not in text
    assert "来源：PBoC central parity" in text and "汇率日期：2026-04-30" in text
    rows = {
        r[0]: r[1]
        for r in openpyxl.load_workbook(io.BytesIO(xlsx)).worksheets[0].iter_rows(values_only=True)
        if r
    }
    assert rows["官方汇率期间"] == "2026-04"
    assert rows["汇率（人民币/美元）"] == pytest.approx(7.1053)
    assert rows["汇率来源"] == "PBoC central parity"
    assert "配置中为 2026-04 设定的官方汇率" in methodology and "[report" not in methodology

    paths = write_report(april_config, april, select_exporters("xlsx"), tmp_path / "en", lang="en")
    rows = {r[0]: r[1] for r in openpyxl.load_workbook(paths[0])["Summary"].iter_rows(values_only=True) if r}
    assert rows["Official rate for"] == "2026-04"


def test_a_period_without_an_official_rate_is_a_finding(tmp_path, team, gateway):
    config = make_config(tmp_path, gateway.url, team, extra=MARCH)
    april = parse_period("2026-04", config.tz)
    run_sync(config, april, client_factory=fast_client)
    said: list[str] = []
    write_report(config, april, select_exporters("csv"), tmp_path / "out", notify=said.append)
    assert any("No official exchange rate in [report.rates] covers 2026-04" in line for line in said)
    with pytest.raises(QualityError):
        write_report(config, april, select_exporters("csv"), tmp_path / "strict", strict=True)
    assert not (tmp_path / "strict").exists()
    assert summary_json(config)["exchange_rate"]["applies_to"] is None  # the gateway's rate, as before


def test_no_rates_configured_is_no_finding(tmp_path, team, gateway):
    config = make_config(tmp_path, gateway.url, team)
    april = parse_period("2026-04", config.tz)
    run_sync(config, april, client_factory=fast_client)
    said: list[str] = []
    write_report(config, april, select_exporters("csv"), tmp_path / "out", notify=said.append)
    assert not any("[report.rates]" in line for line in said)


def test_a_closed_period_keeps_the_rate_it_was_closed_with(april_config, tmp_path):
    close_period(april_config, parse_period("2026-04", april_config.tz))
    before = summary_json(april_config)["exchange_rate"]
    path = april_config.path
    path.write_text(path.read_text(encoding="utf-8").replace("7.1053", "7.3"), encoding="utf-8")
    changed = load_config(path, env={"REPORTGEN_ACCESS_TOKEN": TOKEN})
    result = CliRunner().invoke(cli, ["--config", str(path), "summary", "--period", "2026-04", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["exchange_rate"] == before
    assert before["cny_per_usd"] == "7.1053" and before["applies_to"] == "2026-04"
    assert "exchange rate" in result.stderr and "--reopen" in result.stderr
    said: list[str] = []
    write_report(
        changed,
        parse_period("2026-04", changed.tz),
        select_exporters("csv"),
        tmp_path / "o",
        notify=said.append,
    )
    assert not any("[report.rates]" in line for line in said)  # the frozen rate is no finding
