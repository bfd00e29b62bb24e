"""Late rows found by themselves: a sync without a period reads again the last days before
its newest window and every closed period that ended within the horizon (``[sync]``)."""

from __future__ import annotations

import pytest

from reportgen.app.closing import close_period
from reportgen.app.sync import run_sync
from reportgen.core.periods import parse_period
from reportgen.errors import ConfigError
from reportgen.store import Reader
from reportgen.testing.fakegateway import FakeGateway
from tests.conftest import TOKEN, fast_client, make_config
from tests.test_one_truth import late_row

DAY = 86400


def _sync(config, gw, period, at):
    gw.clock = lambda: at
    return run_sync(config, period, client_factory=fast_client, now=lambda: at)


def _quota(config, lo, hi) -> int:
    with Reader.open(config.store_dir) as store:
        store.begin()
        wallet, subscription, _ = store.spend_sums("default", lo, hi)
        return wallet + subscription


def test_a_plain_sync_finds_a_late_row_of_a_closed_month_and_of_the_last_days(tmp_path, team):
    with FakeGateway(team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        config = make_config(tmp_path, gw.url, team)
        april = parse_period("2026-04", config.tz)
        _sync(config, gw, april, team.end_ts + 3600)
        close_period(config, april, now=lambda: team.end_ts + 2 * DAY)
        _sync(config, gw, None, team.end_ts + 4 * DAY)  # cron, on May 5: nothing late yet
        before_april = _quota(config, team.start_ts, team.end_ts)
        # rows the gateway logged late: one dated in closed April, one on May 3
        gw.insert_rows([late_row(team, team.start_ts + 9 * DAY), late_row(team, team.end_ts + 2 * DAY)])
        found = _sync(config, gw, None, team.end_ts + 6 * DAY)  # cron, on May 7
    assert found.amended == ("2026-04",) and found.looked_back > 0
    assert "closed period(s) 2026-04 changed at the gateway" in found.summary()
    assert "looked back at for late rows" in found.summary()
    assert _quota(config, team.start_ts, team.end_ts) == before_april + 777_777
    assert _quota(config, team.end_ts + 2 * DAY, team.end_ts + 3 * DAY) == 777_777


def test_the_look_back_can_be_turned_off(tmp_path, team):
    extra = "\n[sync]\nlookback_days = 0\nclosed_horizon_days = 0\n"
    with FakeGateway(team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        config = make_config(tmp_path, gw.url, team, extra=extra)
        april = parse_period("2026-04", config.tz)
        _sync(config, gw, april, team.end_ts + 3600)
        close_period(config, april, now=lambda: team.end_ts + 2 * DAY)
        gw.insert_rows([late_row(team, team.start_ts + 9 * DAY)])
        found = _sync(config, gw, None, team.end_ts + 6 * DAY)
    assert found.amended == () and found.looked_back == 0


def test_a_closed_month_beyond_the_horizon_is_not_read_again(tmp_path, team):
    with FakeGateway(team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        config = make_config(tmp_path, gw.url, team)
        april = parse_period("2026-04", config.tz)
        _sync(config, gw, april, team.end_ts + 3600)
        close_period(config, april, now=lambda: team.end_ts + 2 * DAY)
        gw.insert_rows([late_row(team, team.start_ts + 9 * DAY)])
        found = _sync(config, gw, None, team.end_ts + 40 * DAY)  # April ended 40 days ago: past 35
    assert found.amended == ()


def test_the_look_back_settings_are_checked(tmp_path, team):
    for text, said in (
        ("lookback_days = -1", "sync.lookback_days must be a whole number of days from 0 (off) to 3660"),
        ('closed_horizon_days = "35"', "sync.closed_horizon_days must be a whole number"),
        ("look_back = 3", "unknown setting sync.look_back"),
    ):
        with pytest.raises(ConfigError, match=said.replace("(", r"\(").replace(")", r"\)")):
            make_config(tmp_path, "http://127.0.0.1:9", team, extra=f"\n[sync]\n{text}\n")
