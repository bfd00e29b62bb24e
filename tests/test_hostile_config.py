"""Issue 12, config side: hostile or careless reportgen.toml values are one line, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reportgen.cli import cli
from reportgen.config import Config, load_config
from reportgen.errors import ConfigError

GATEWAY = '[gateway]\nbase_url = "https://gateway.example"\nuser_id = 42\n'


def _load(tmp_path: Path, text: str, env: dict[str, str] | None = None, *, encoding: str = "utf-8") -> Config:
    path = tmp_path / "reportgen.toml"
    path.write_text(text, encoding=encoding)
    return load_config(path, env=env or {})


def test_a_utf8_bom_from_notepad_is_accepted(tmp_path: Path) -> None:
    config = _load(tmp_path, GATEWAY + '[members."张三"]\nkeys = ["k"]\n', encoding="utf-8-sig")
    assert (tmp_path / "reportgen.toml").read_bytes().startswith(b"\xef\xbb\xbf")
    assert config.gateway.base_url == "https://gateway.example" and config.members == {"张三": ("k",)}


@pytest.mark.parametrize(
    ("value", "shown"),
    [("nan", "nan"), ("inf", "inf"), ("-inf", "-inf"), ("-7.2", "-7.2"), ("0", "0"), ("1e300", "1e+300")],
)
def test_exchange_rates_must_be_positive_finite_numbers(tmp_path: Path, value: str, shown: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, GATEWAY + f"[report]\nexchange_rate = {value}\n")
    message = str(info.value)
    assert "report.exchange_rate must be a positive number (CNY per USD" in message and shown in message
    assert "\n" not in message


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0"])
def test_currency_rates_must_be_positive_finite_numbers(tmp_path: Path, value: str) -> None:
    text = GATEWAY + f'[report.currencies.EUR]\nrate = {value}\nsource = "ECB"\ndate = 2026-04-30\n'
    with pytest.raises(ConfigError, match=r"report\.currencies\.EUR\.rate must be a positive number"):
        _load(tmp_path, text)


def test_a_numeric_string_rate_is_still_accepted(tmp_path: Path) -> None:
    assert str(_load(tmp_path, GATEWAY + '[report]\nexchange_rate = "7.20"\n').exchange_rate) == "7.20"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[store]\npath = 5\n", r"store\.path must be a folder path as a string"),
        ('[store]\npath = ["a"]\n', r"store\.path must be a folder path as a string"),
        ("[report]\nexchange_rate_source = 7\n", r"report\.exchange_rate_source must be a string"),
    ],
)
def test_non_string_paths_and_texts_are_one_line(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        _load(tmp_path, GATEWAY + text)


@pytest.mark.parametrize(
    "url",
    [
        "http://alice:pw-Secret9@gateway.example",
        "https://alice@gateway.example",
        "https://:pw-Secret9@gw.example",
    ],
)
def test_userinfo_in_base_url_is_refused_without_echoing_it(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, f'[gateway]\nbase_url = "{url}"\n')
    message = str(info.value)
    assert "gateway.base_url contains a user name or password" in message and "remove it" in message
    assert "pw-Secret9" not in message and "alice" not in message


def test_userinfo_in_the_environment_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, GATEWAY, env={"REPORTGEN_BASE_URL": "https://bob:pw-Secret9@gw.example"})
    assert str(info.value).startswith("REPORTGEN_BASE_URL contains") and "pw-Secret9" not in str(info.value)


@pytest.mark.parametrize(
    "url", ["https://gw.example:99999", "https://gw.example:port", "https://gw.example/?x=1", "https://"]
)
def test_malformed_base_urls_are_one_line(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match=r"gateway\.base_url .*(not a valid URL|must not have)"):
        _load(tmp_path, f'[gateway]\nbase_url = "{url}"\n')


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("http://gateway.example", True),
        ("http://192.168.1.20:3000", True),
        ("https://gateway.example", False),
        ("http://127.0.0.1:3000", False),
        ("http://localhost:3000", False),
        ("http://[::1]:3000", False),
    ],
)
def test_plain_http_to_a_non_loopback_host_warns_once(tmp_path: Path, url: str, warned: bool) -> None:
    config = _load(tmp_path, f'[gateway]\nbase_url = "{url}"\nuser_id = 42\n')
    assert len(config.warnings) == (1 if warned else 0)
    if warned:
        assert "plain http://" in config.warnings[0] and "https://" in config.warnings[0]


def test_cli_reports_a_bad_rate_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "reportgen.toml"
    path.write_text(GATEWAY + "[report]\nexchange_rate = nan\n", encoding="utf-8-sig")
    result = CliRunner().invoke(cli, ["--config", str(path), "summary", "--period", "2026-04"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "report.exchange_rate must be a positive number" in errors[0]


def test_sync_strict_refuses_a_token_over_plain_http_to_a_remote_host(tmp_path):
    (tmp_path / "reportgen.toml").write_text(
        '[gateway]\nbase_url = "http://gateway.example.com"\nuser_id = 42\n', encoding="utf-8"
    )
    result = CliRunner().invoke(
        cli,
        ["--config", str(tmp_path / "reportgen.toml"), "sync", "--period", "2026-04", "--strict"],
        env={"REPORTGEN_ACCESS_TOKEN": "tok-123456789"},
    )
    assert result.exit_code == 2, result.output
    assert "--strict: gateway.base_url is plain http:// to gateway.example.com" in result.output
    assert "tok-123456789" not in result.output and "Traceback" not in result.output
