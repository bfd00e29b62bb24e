"""Further currencies from ``[report.currencies]``: config, totals and closed periods."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pypdf
import pytest
from click.testing import CliRunner

from reportgen.app.closing import close_period
from reportgen.app.documents import write_packet, write_report
from reportgen.app.export import export_report
from reportgen.app.packet import manifest_of
from reportgen.app.sync import run_sync
from reportgen.cli import cli
from reportgen.config import load_config
from reportgen.core.money import fixed as money
from reportgen.core.periods import parse_period
from reportgen.core.rates import Conversion
from reportgen.errors import ConfigError
from reportgen.plugins import select_exporters
from reportgen.read import open_period
from reportgen.testing.fakegateway.synthetic import expected_totals
from tests import report_factory, test_projects
from tests.conftest import fast_client, make_config
from tests.report_factory import open_project_report

synced_projects = test_projects.synced  # the hand-made project month, synced once per module

EUR = '\n[report.currencies.EUR]\nrate = 0.92\nsource = "ECB reference rate"\ndate = 2026-04-30\n'
JPY = '\n[report.currencies.JPY]\nrate = 143.5\nsource = "BoJ"\ndate = 2026-04-30\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "reportgen.toml"
    path.write_text('[report]\ntimezone = "UTC"\n' + text, encoding="utf-8")
    return path


def test_currencies_parse_in_config_order_with_exact_rates(tmp_path):
    config = load_config(write(tmp_path, EUR + JPY), env={})
    assert config.currencies == (
        Conversion("EUR", Decimal("0.92"), "ECB reference rate", date(2026, 4, 30)),
        Conversion("JPY", Decimal("143.5"), "BoJ", date(2026, 4, 30)),
    )
    assert config.currencies[0].convert(Decimal("77.036624")) == Decimal("70.87369408")
    assert load_config(write(tmp_path, ""), env={}).currencies == ()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (EUR.replace("EUR", "eur"), r"report\.currencies\.eur: the currency code must be 3 uppercase"),
        (EUR.replace("EUR", "EURO"), r"report\.currencies\.EURO: the currency code must be 3 uppercase"),
        (EUR.replace("EUR", "CNY"), r"report\.currencies\.CNY: CNY is built in"),
        (EUR.replace("EUR", "USD"), r"report\.currencies\.USD: USD is built in"),
        (EUR.replace("0.92", "0"), r"report\.currencies\.EUR\.rate must be a positive number"),
        (EUR.replace("0.92", "-1.5"), r"report\.currencies\.EUR\.rate must be a positive number"),
        (EUR.replace("0.92", '"0.92"'), r"report\.currencies\.EUR\.rate must be a positive number"),
        (EUR.replace("0.92", "nan"), r"report\.currencies\.EUR\.rate must be a positive number"),
        (EUR.replace("rate = 0.92\n", ""), r"report\.currencies\.EUR\.rate is required"),
        (EUR.replace('source = "ECB reference rate"\n', ""), r"report\.currencies\.EUR\.source is required"),
        (EUR.replace("date = 2026-04-30\n", ""), r"report\.currencies\.EUR\.date is required"),
        (EUR.replace("2026-04-30", '"2026-04-30"'), r"report\.currencies\.EUR\.date is required"),
        (EUR.replace("2026-04-30", "2026-04-30T00:00:00"), r"report\.currencies\.EUR\.date is required"),
        (EUR + "note = 1\n", r"unknown setting report\.currencies\.EUR\.note"),
        ("\n[report.currencies]\nEUR = 0.92\n", r"report\.currencies\.EUR must be a table"),
        ('currencies = "EUR"\n', r"report\.currencies must be tables"),
    ],
)
def test_bad_currency_is_one_line_naming_file_and_key(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match) as info:
        load_config(write(tmp_path, text), env={})
    message = str(info.value)
    assert "\n" not in message and str(tmp_path / "reportgen.toml") in message


def test_a_closed_period_keeps_its_currencies(tmp_path, team, gateway):
    config = make_config(tmp_path, gateway.url, team, extra=EUR)
    april = parse_period("2026-04", config.tz)
    run_sync(config, april, client_factory=fast_client)
    close_period(config, april)
    edited = make_config(tmp_path, gateway.url, team, extra=EUR.replace("0.92", "0.95") + JPY)
    assert edited.currencies != config.currencies
    with open_period(edited, april) as view:
        assert view.report.conversions == config.currencies
        assert view.config.currencies == config.currencies


@pytest.fixture
def synced_eur(tmp_path, team, gateway):
    """The team month synced, with EUR and JPY configured."""
    config = make_config(tmp_path, gateway.url, team, extra=EUR + JPY)
    run_sync(config, parse_period("2026-04", config.tz), client_factory=fast_client)
    return config


def test_summary_json_lists_each_currency_with_its_exact_total(synced_eur, team):
    result = CliRunner().invoke(
        cli, ["--config", str(synced_eur.path), "summary", "--period", "2026-04", "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    usd = Decimal(expected_totals(team.rows, team.start_ts, team.end_ts).net_quota) / 500000
    assert doc["currencies"] == [
        {
            "code": "EUR",
            "rate": "0.92",
            "source": "ECB reference rate",
            "date": "2026-04-30",
            "total": str((usd * Decimal("0.92")).quantize(Decimal("0.000001"))),
        },
        {
            "code": "JPY",
            "rate": "143.5",
            "source": "BoJ",
            "date": "2026-04-30",
            "total": str((usd * Decimal("143.5")).quantize(Decimal("0.000001"))),
        },
    ]


def test_exact_conversion_of_a_known_total():
    eur = Conversion("EUR", Decimal("0.92"), "ECB reference rate", date(2026, 4, 30))
    assert eur.convert(Decimal("77.036624")) == Decimal("70.87369408")
    assert money(eur.convert(Decimal("77.036624"))) == "70.873694"


def test_terminal_summary_has_one_line_per_currency(synced_eur, team):
    result = CliRunner().invoke(cli, ["--config", str(synced_eur.path), "summary", "--period", "2026-04"])
    assert result.exit_code == 0, result.output
    usd = Decimal(expected_totals(team.rows, team.start_ts, team.end_ts).net_quota) / 500000
    eur = (usd * Decimal("0.92")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert f"= EUR {eur:,.2f} at 0.92 per USD (ECB reference rate, 2026-04-30)" in result.output
    assert "= JPY " in result.output and "at 143.5 per USD (BoJ, 2026-04-30)" in result.output


EUR_RATE = Conversion("EUR", Decimal("0.92"), "ECB reference rate", date(2026, 4, 30))
JPY_RATE = Conversion("JPY", Decimal("143.5"), "BoJ", date(2026, 4, 30))


def eur_report():
    return replace(report_factory.make_report(), conversions=(EUR_RATE, JPY_RATE))


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


@pytest.mark.parametrize(
    ("lang", "total", "rate"),
    [
        (
            "en",
            "Grand total (EUR)",
            "Exchange rate: 1 USD = 0.9200 EUR. Source: ECB reference rate. Rate date: 2026-04-30.",
        ),
        ("zh", "总计（EUR）", "汇率：1 美元 = 0.9200 EUR。来源：ECB reference rate。汇率日期：2026-04-30。"),
    ],
)
def test_pdf_states_each_converted_total_with_its_rate_source_and_date(lang, total, rate):
    report = eur_report()
    text = pdf_text(report_factory.export("pdf", report, lang=lang))
    usd = report.totals.cost_usd
    assert usd == Decimal("32.947324")
    eur = (usd * Decimal("0.92")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    jpy = (usd * Decimal("143.5")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert (eur, jpy) == (Decimal("30.31"), Decimal("4727.94"))
    flat = " ".join(text.split())
    assert f"{total} 30.31" in flat and "4,727.94" in flat
    assert " ".join(rate.split()) in flat
    assert "EUR, JPY" in flat  # the rounding note names them
    # without configured currencies the PDF says nothing about them
    plain = pdf_text(report_factory.export("pdf", report_factory.make_report(), lang=lang))
    assert "EUR" not in plain


def test_xlsx_summary_has_a_row_per_currency_with_the_total_as_a_number():
    report = eur_report()
    data = report_factory.export("xlsx", report, lang="en")
    ws = openpyxl.load_workbook(io.BytesIO(data), data_only=True)["Summary"]
    rows = {row[0]: row for row in ws.iter_rows(values_only=True) if row and row[0] in ("EUR", "JPY")}
    code, total, rate, source, as_of = rows["EUR"][:5]
    assert isinstance(total, float) and total == pytest.approx(float(Decimal("32.947324") * Decimal("0.92")))
    assert (rate, source, as_of.date()) == (0.92, "ECB reference rate", date(2026, 4, 30))
    assert rows["JPY"][1] == pytest.approx(32.947324 * 143.5)


def test_closed_documents_stay_byte_identical_when_the_currencies_change(tmp_path, team, gateway):
    config = make_config(tmp_path, gateway.url, team, extra=EUR)
    april = parse_period("2026-04", config.tz)
    run_sync(config, april, client_factory=fast_client)
    close_period(config, april)
    first = write_packet(config, april, tmp_path / "p1", lang="en")
    docs1 = write_report(config, april, select_exporters("csv,xlsx,pdf"), tmp_path / "r1", lang="en")
    assert "ECB reference rate" in pdf_text(next(p for p in docs1 if p.suffix == ".pdf").read_bytes())
    assert manifest_of(first)["source"]["currencies"] == [
        {"code": "EUR", "per_usd": "0.92", "source": "ECB reference rate", "as_of": "2026-04-30"}
    ]
    with zipfile.ZipFile(first) as zf:
        note = zf.read("methodology.md").decode()
    assert (
        "**EUR.** EUR = exact USD × 0.92 (1 USD = 0.92 EUR; source: ECB reference rate; as of 2026-04-30)"
        in note
    )

    edited = make_config(tmp_path, gateway.url, team, extra=EUR.replace("0.92", "0.95") + JPY)
    assert write_packet(edited, april, tmp_path / "p2", lang="en").read_bytes() == first.read_bytes()
    docs2 = write_report(edited, april, select_exporters("csv,xlsx,pdf"), tmp_path / "r2", lang="en")
    assert [p.read_bytes() for p in docs2] == [p.read_bytes() for p in docs1]
    dropped = make_config(tmp_path, gateway.url, team)
    assert write_packet(dropped, april, tmp_path / "p3", lang="en").read_bytes() == first.read_bytes()


def test_the_grant_report_states_each_currency_rate(synced_projects, tmp_path):
    config = replace(load_config(synced_projects, env={}), currencies=(EUR_RATE,))
    at = datetime(2026, 7, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    with open_project_report(config, "alpha", generated_at=at) as report:
        assert report.conversions == (EUR_RATE,)
        (path,) = export_report(report, select_exporters("pdf"), tmp_path, lang="en", template="grant")
    flat = " ".join(pdf_text(path.read_bytes()).split())
    assert "Exchange rate: 1 USD = 0.9200 EUR. Source: ECB reference rate. Rate date: 2026-04-30." in flat
