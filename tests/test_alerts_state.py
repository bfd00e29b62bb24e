"""[alerts]/[delivery] config and the store's alert state: raised once, resolved once, delivered once."""

from __future__ import annotations

from pathlib import Path

import pytest

from reportgen.config import parse_config
from reportgen.errors import ConfigError
from reportgen.store import Store
from reportgen.store import alerts as state

CHANNELS = {
    "mail": {
        "type": "email",
        "host": "127.0.0.1",
        "port": 2525,
        "security": "none",
        "from": "rg@example.com",
    },
    "chat": {"type": "dingtalk", "url_env": "DING_URL", "secret_env": "DING_SECRET"},
}


def _config(tmp_path: Path, alerts: dict, env: dict | None = None):
    data = {"delivery": CHANNELS, "alerts": alerts, "projects": {}}
    return parse_config(data, None, env or {}, tmp_path)


def test_rules_and_channels_parse_with_secrets_from_the_environment(tmp_path: Path) -> None:
    env = {"DING_URL": "https://oapi.dingtalk.com/robot/send?access_token=t0k3n", "DING_SECRET": "SEC1"}
    config = _config(
        tmp_path,
        {
            "spend": {"kind": "spike", "by": "key", "factor": 2.5, "to": ["chat", "mail:lead@example.com"]},
            "idle": {"kind": "key_idle", "days": 3, "to": ["chat"]},
        },
        env,
    )
    spike, idle = config.alerts
    assert (spike.kind, spike.by, str(spike.factor), spike.to) == (
        "spike",
        "key",
        "2.5",
        ("chat", "mail:lead@example.com"),
    )
    assert idle.days == 3
    chat = next(c for c in config.channels if c.name == "chat")
    assert chat.url is not None and chat.url.reveal().endswith("t0k3n")
    assert "t0k3n" not in repr(chat) and "SEC1" not in repr(config)


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ({"kind": "budget", "to": ["nowhere"]}, r"no \[delivery\.nowhere\]"),
        ({"kind": "budget", "to": ["mail"]}, "needs an address"),
        ({"kind": "wallet", "to": ["chat"]}, "below_usd"),
        ({"kind": "spike", "by": "team", "to": ["chat"]}, "by must be one of"),
        ({"kind": "weather", "to": ["chat"]}, "kind must be one of"),
        ({"kind": "budget", "projects": ["ghost"], "to": ["chat"]}, "configured projects"),
    ],
)
def test_bad_rules_are_one_line_errors(tmp_path: Path, rule: dict, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        _config(tmp_path, {"r": rule})


def test_a_secret_written_in_the_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="environment variable"):
        parse_config(
            {"delivery": {"c": {"type": "feishu", "url_env": "https://open.feishu.cn/x"}}}, None, {}, tmp_path
        )


def test_raised_resolved_and_delivered_once(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s") as store:
        assert state.raise_alerts(store, [("budget/a/80", "b", "budget", "{}")], 10) == ["budget/a/80"]
        assert state.raise_alerts(store, [("budget/a/80", "b", "budget", "{}")], 11) == []
        assert state.claim(store, "budget/a/80", "raised", "chat", "run1", 12, "d") == state.NEW
        # a run killed here leaves the claim: the next run gets it back as in doubt
        assert state.claim(store, "budget/a/80", "raised", "chat", "run2", 13, "d") == state.IN_DOUBT
        state.finish(store, "budget/a/80", "raised", "chat", 14, 1, "SMTP refused")
        assert state.claim(store, "budget/a/80", "raised", "chat", "run3", 15, "d") == state.RETRY
        state.finish(store, "budget/a/80", "raised", "chat", 16, 1)
        assert state.claim(store, "budget/a/80", "raised", "chat", "run4", 17, "d") == state.SENT
        assert state.delivered(store, "budget/a/80", "raised") == {"chat": (16, "d")}
        assert state.resolve_alerts(store, ["budget/a/80"], 20) == ["budget/a/80"]
        assert state.resolve_alerts(store, ["budget/a/80"], 21) == []
        assert [a.resolved_at for a in state.raised_alerts(store)] == [20]
        # raised again after it was resolved: its second episode, delivered on its own
        assert state.raise_alerts(store, [("budget/a/80", "b", "budget", "{}")], 30) == ["budget/a/80"]
        assert [a.key for a in state.raised_alerts(store)] == ["budget/a/80#1", "budget/a/80#2"]
