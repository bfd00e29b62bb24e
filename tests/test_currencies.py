"""Further currencies from ``[report.currencies]``: config, totals and closed periods."""

from __future__ import annotations

import json
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from reportgen.cli import cli
from reportgen.closing import close_period, open_view
from reportgen.config import load_config
from reportgen.errors import ConfigError
from reportgen.fakegateway.synthetic import expected_totals
from reportgen.models import Conversion
from reportgen.periods import parse_period
from reportgen.summary import money
from reportgen.sync import run_sync
from tests.conftest import fast_client, make_config

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
    with open_view(edited, april) as view:
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
