"""Sync through the real client over loopback HTTP into the store; totals equal the gateway's."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from reportgen.app.sync import plan_windows, run_sync
from reportgen.core.periods import local_days, parse_period
from reportgen.errors import GatewayError, StoreError, SyncLockedError
from reportgen.gateway import GatewayClient
from reportgen.store import Store, sync_lock
from reportgen.testing.fakegateway import FakeGateway, Faults
from reportgen.testing.fakegateway.synthetic import expected_totals
from tests.conftest import TOKEN, fast_client, make_config
from tests.report_factory import open_report


def april(config):
    return parse_period("2026-04", config.tz)


def log_requests(gw) -> int:
    return sum(1 for r in gw.requests if r.path == "/api/log/self")


def assert_matches_gateway(config, team, billing_known=True):
    period = april(config)
    want = expected_totals(team.rows, period.start_ts, period.end_ts)
    with open_report(config, period) as report:
        t = report.totals
        assert t.consumed_quota == want.consumed
        assert t.refunded_quota == want.refunded
        assert t.quota == want.net_quota
        assert t.requests == want.count_by_type[2]
        assert t.errors == want.count_by_type[5]
        # one-api rows carry no `other`, so nothing says a row was billed to a subscription
        assert t.subscription_quota == (want.subscription_quota if billing_known else 0)
        assert (t.prompt_tokens, t.completion_tokens) == (want.prompt_tokens, want.completion_tokens)
        by_key = {k.name: k.stats.quota for k in report.keys}
        for name, net in want.net_by_token().items():
            assert by_key[name] == net, name
        by_model = {m.name: m.stats.consumed_quota for m in report.models}
        for name, consumed in want.consumed_by_model.items():
            assert by_model[name] == consumed, name
        members = {m.name for m in report.members}
        assert set(team.members) <= members
        return report


@pytest.mark.parametrize("flavor", ["new-api", "new-api-legacy", "crazyrouter", "one-api"])
def test_each_flavor_syncs_every_row_exactly_once(tmp_path, team, flavor):
    with FakeGateway(team.rows, team.tokens, flavor=flavor, access_token=TOKEN, user_id=team.user_id,
                     rate_limit=None) as gw:  # fmt: skip
        config = make_config(tmp_path, gw.url, team)
        result = run_sync(config, april(config), client_factory=fast_client)
        assert result.flavor == ("new-api" if flavor == "new-api-legacy" else flavor)
        assert gw.user_token_calls == 0
    assert result.windows == 30  # one window per local day of the report timezone
    assert_matches_gateway(config, team, billing_known=flavor != "one-api")


def test_second_sync_downloads_no_log_pages_and_refetch_does(tmp_path, team):
    with FakeGateway(team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        config = make_config(tmp_path, gw.url, team)
        run_sync(config, april(config), client_factory=fast_client)
        first = log_requests(gw)
        again = run_sync(config, april(config), client_factory=fast_client)
        assert log_requests(gw) == first
        assert again.windows == 0 and again.skipped == 30
        refetched = run_sync(config, april(config), refetch=True, client_factory=fast_client)
        assert refetched.windows == 30 and log_requests(gw) > first
    assert_matches_gateway(config, team)


def test_faults_are_ridden_out(tmp_path, team):
    faults = Faults(
        every=4, kinds=("429", "html502", "html520", "truncated", "badjson", "reset", "success_false")
    )
    with FakeGateway(team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None,
                     faults=faults) as gw:  # fmt: skip
        config = make_config(tmp_path, gw.url, team)
        run_sync(config, april(config), client_factory=fast_client)
        assert gw.faults_injected > 5
    assert_matches_gateway(config, team)


def test_interrupted_sync_keeps_windows_and_resumes_exactly(tmp_path, team):
    with FakeGateway(team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        config = make_config(tmp_path, gw.url, team)
        seen = {"logs": 0}

        def failing_client(gwc, on_request=None):
            def count(path):
                if path == "/api/log/self":
                    seen["logs"] += 1
                    if seen["logs"] == 15:
                        gw.faults = Faults(down="reset")

            return GatewayClient(gwc, sleep=lambda s: None, on_request=count)

        with pytest.raises(GatewayError, match="windows saved"):
            run_sync(config, april(config), client_factory=failing_client)
        with Store.open(config.store_dir) as store:
            kept = store.coverage()
            rows_kept = store.row_count()
            assert kept and rows_kept > 0
            assert store.last_sync()["state"] == "failed"
        gw.faults = Faults()
        resumed = run_sync(config, april(config), client_factory=fast_client)
        assert 0 < resumed.windows < 30
        assert resumed.skipped > 0
    assert_matches_gateway(config, team)


def test_ctrl_c_keeps_completed_windows(tmp_path, team):
    with FakeGateway(team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        config = make_config(tmp_path, gw.url, team)

        class Stop:
            windows = 0

            def planned(self, windows, skipped):
                pass

            def request(self, path):
                pass

            def window_done(self, rows, pages):
                Stop.windows += 1
                if Stop.windows == 5:
                    raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            run_sync(config, april(config), client_factory=fast_client, progress=Stop())
        with Store.open(config.store_dir) as store:
            assert store.last_sync()["state"] == "interrupted"
            assert len(store.coverage()) == 1
        resumed = run_sync(config, april(config), client_factory=fast_client)
        assert resumed.windows == 25
    assert_matches_gateway(config, team)


def test_second_sync_at_once_is_refused(tmp_path, team):
    with FakeGateway(team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        config = make_config(tmp_path, gw.url, team)
        with (
            sync_lock(config.store_dir),
            pytest.raises(
                SyncLockedError, match=r"another reportgen command \(reportgen sync \(pid \d+\)\) is writing"
            ),
        ):
            run_sync(config, april(config), client_factory=fast_client)


def test_sync_without_period_continues_from_the_last_end(tmp_path, team):
    with FakeGateway(team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        config = make_config(tmp_path, gw.url, team)
        now = april(config).start_ts + 10 * 86400 + 3600  # 10 days and an hour into April
        first = run_sync(config, client_factory=fast_client, now=lambda: now)
        assert first.target[0] == parse_period("2026-03", config.tz).start_ts  # first run: last month
        assert first.target[1] == now - 300
        later = now + 20 * 86400
        second = run_sync(config, client_factory=fast_client, now=lambda: later)
        assert second.target[0] == now - 300 + 1
        with Store.open(config.store_dir) as store:
            assert store.coverage() == [(first.target[0], later - 300)]
    assert_matches_gateway(config, team)


def test_live_rows_during_a_crawl_do_not_change_closed_windows(tmp_path, team):
    with FakeGateway(team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        config = make_config(tmp_path, gw.url, team)
        fresh = dict(team.rows[0], created_at=int(datetime.now(UTC).timestamp()))

        def client(gwc, on_request=None):
            def insert(path):
                if path == "/api/log/self":
                    gw.insert_rows([fresh])  # traffic keeps arriving while we page

            return GatewayClient(gwc, sleep=lambda s: None, on_request=insert)

        run_sync(config, april(config), client_factory=client)
    assert_matches_gateway(config, team)


def test_rate_limited_gateway_sees_no_429_from_us(tmp_path, team):
    with FakeGateway(
        team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=(40, 2)
    ) as gw:
        config = make_config(tmp_path, gw.url, team, requests_per_window=40, window_seconds=2)
        run_sync(config, april(config))
        assert gw.too_many == 0
    assert_matches_gateway(config, team)


def test_token_is_never_on_disk(tmp_path, team):
    with FakeGateway(team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        config = make_config(tmp_path, gw.url, team)
        run_sync(config, april(config), client_factory=fast_client)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_store_refuses_another_account(tmp_path, team):
    with FakeGateway(team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        config = make_config(tmp_path, gw.url, team)
        run_sync(config, april(config), client_factory=fast_client)
    with Store.open(config.store_dir) as store, pytest.raises(StoreError, match="holds the logs of"):
        store.bind_account("https://other.example", 9)


def test_plan_windows_never_overlap_and_skip_covered():
    day = 86400
    windows, skipped = plan_windows(10, 3 * day + 5, [])
    assert windows == [(10, day - 1), (day, 2 * day - 1), (2 * day, 3 * day - 1), (3 * day, 3 * day + 5)]
    windows, skipped = plan_windows(0, 3 * day - 1, [(day, 2 * day - 1)])
    assert windows == [(0, day - 1), (2 * day, 3 * day - 1)] and skipped == 1
    assert plan_windows(0, day - 1, [(0, day - 1)]) == ([], 1)
    windows, _ = plan_windows(0, day - 1, [(0, day - 1)], refetch=True)
    assert windows == [(0, day - 1)]
    windows, _ = plan_windows(0, 2 * day, [(100, 200), (300, day + 50)])
    assert windows == [(0, 99), (201, 299), (day + 51, 2 * day - 1), (2 * day, 2 * day)]


def test_plan_windows_cut_at_the_report_timezones_midnights():
    """One window per local day, so each window's close rolls up whole days (of that zone) once."""
    shanghai, berlin = ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/Berlin")
    april = parse_period("2026-04", shanghai)
    windows, skipped = plan_windows(april.start_ts, april.end_ts - 1, [], tz=shanghai)
    assert len(windows) == 30 and skipped == 0
    assert windows[0] == (april.start_ts, april.start_ts + 86399)
    assert all(hi + 1 == lo for (_, hi), (lo, _) in itertools.pairwise(windows))
    assert [lo for lo, _ in windows] == [start for _, start, _ in local_days(april)]
    march = parse_period("2026-03", berlin)  # clocks go forward on 29 March: a 23-hour day
    windows, _ = plan_windows(march.start_ts, march.end_ts - 1, [], tz=berlin)
    assert len(windows) == 31 and windows[28][1] - windows[28][0] + 1 == 23 * 3600
    windows, skipped = plan_windows(march.start_ts, march.end_ts - 1, [windows[3], windows[4]], tz=berlin)
    assert len(windows) == 29 and skipped == 2


def test_concurrent_threads_only_one_syncs(tmp_path, team):
    with FakeGateway(team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        config = make_config(tmp_path, gw.url, team)
        outcomes = []

        def go():
            try:
                outcomes.append(run_sync(config, april(config), client_factory=fast_client).windows)
            except SyncLockedError:
                outcomes.append("locked")

        threads = [threading.Thread(target=go) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(map(str, outcomes)) in (["30", "locked"], ["0", "30"])
    assert_matches_gateway(config, team)


def test_rows_a_gateway_returns_outside_the_window_are_not_stored_twice(tmp_path, team):
    """A gateway that ignores the time filter must not make a row count twice."""

    class IgnoresFilter(GatewayClient):
        def iter_log_pages(self, start_ts, end_ts):
            yield from super().iter_log_pages(team.start_ts - 86400, team.end_ts + 86400)

    with FakeGateway(team.rows, team.tokens, access_token=TOKEN, user_id=team.user_id, rate_limit=None) as gw:
        config = make_config(tmp_path, gw.url, team)
        run_sync(config, april(config),
                 client_factory=lambda g, on_request=None: IgnoresFilter(g, sleep=lambda s: None))  # fmt: skip
    assert_matches_gateway(config, team)


def test_uncovered_is_the_complement_of_the_coverage():
    from reportgen.store import uncovered

    assert uncovered([], 5, 10) == [(5, 10)]
    assert uncovered([(0, 4), (6, 7), (9, 20)], 0, 12) == [(5, 5), (8, 8)]
    assert uncovered([(0, 100)], 10, 20) == []
    assert uncovered([(12, 14)], 10, 20) == [(10, 11), (15, 20)]
