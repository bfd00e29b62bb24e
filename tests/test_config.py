from pathlib import Path

import pytest

from reportgen.config import EXAMPLE_CONFIG, load_config
from reportgen.errors import ConfigError

TOKEN = "s3cr3t-access-token-value"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "reportgen.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_loads(tmp_path):
    path = write(tmp_path, EXAMPLE_CONFIG)
    config = load_config(path, env={"REPORTGEN_ACCESS_TOKEN": TOKEN})
    assert config.gateway.base_url == "https://crazyrouter.com"
    assert config.gateway.user_id == 485
    assert config.timezone == "Asia/Shanghai"
    assert config.members["张三"] == ("key-zhangsan", "key-zhangsan-batch")
    assert config.store_dir == tmp_path / ".reportgen"
    assert TOKEN not in repr(config) and TOKEN not in str(config.gateway)
    assert config.gateway.access_token is not None and config.gateway.access_token.reveal() == TOKEN


def test_found_in_cwd_or_env(tmp_path):
    path = write(tmp_path, '[report]\ntimezone = "UTC"\n')
    assert load_config(env={}, cwd=tmp_path).path == path
    other = tmp_path / "sub"
    other.mkdir()
    assert load_config(env={"REPORTGEN_CONFIG": str(path)}, cwd=other).path == path


def test_env_overrides(tmp_path):
    path = write(tmp_path, EXAMPLE_CONFIG)
    config = load_config(
        path, env={"REPORTGEN_BASE_URL": "http://127.0.0.1:9/api/", "REPORTGEN_USER_ID": "7"}
    )
    assert config.gateway.base_url == "http://127.0.0.1:9"
    assert config.gateway.user_id == 7


@pytest.mark.parametrize(
    "text,env,match",
    [
        ('[gateway]\nuser_id = "acme"\n', {}, "gateway.user_id .*username.*numeric user id"),
        ("[gateway]\nuser_id = 1\n", {"REPORTGEN_USER_ID": "acme"}, "REPORTGEN_USER_ID .*numeric"),
        ('[gateway]\nbase_url = "crazyrouter.com"\n', {}, "gateway.base_url .*http"),
        ('[gateway]\naccess_token = "x"\n', {}, "REPORTGEN_ACCESS_TOKEN"),
        ('[gateway]\nflavour = "new-api"\n', {}, "unknown setting gateway.flavour"),
        ("[gateway]\nflavor = 7\n", {}, "gateway.flavor must be .auto. or a flavour's name"),
        ('[report]\ntimezone = "Beijing"\n', {}, "report.timezone .*IANA"),
        ("[report]\nexchange_rate = -1\n", {}, "exchange_rate must be a positive"),
        (
            '[gateways.lab]\nbase_url = "https://x.example"\nexchange_rate = 0\n',
            {},
            "gateways.lab.exchange_rate",
        ),
        (
            "[gateways.lab]\nexchange_rate_source = 7\n",
            {},
            "gateways.lab.exchange_rate_source must be a string",
        ),
        ('[members."张三"]\nkey = "k"\n', {}, 'members."张三" needs keys'),
        ('[members.a]\nkeys = ["k"]\n[members.b]\nkeys = ["k"]\n', {}, "listed for both"),
        ("[gateway\n", {}, "not valid TOML"),
        ("", {"REPORTGEN_ACCESS_TOKEN": "sk-abc123"}, "sk- model key"),
    ],
)
def test_bad_config_is_one_line_naming_file_and_key(tmp_path, text, env, match):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=match) as info:
        load_config(path, env=env)
    message = str(info.value)
    assert "\n" not in message
    assert "sk-abc123" not in message
    if "REPORTGEN_" not in message:
        assert str(path) in message


def test_missing_explicit_config(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.toml", env={})
