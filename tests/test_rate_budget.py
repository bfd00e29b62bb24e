"""Consecutive commands share the gateway's rate limit through the store folder."""

from __future__ import annotations

import json

from reportgen.app import ratebudget
from reportgen.app.reconcile import run_reconcile
from reportgen.app.sync import run_sync
from reportgen.core.periods import parse_period
from reportgen.gateway import GatewayClient, SlidingWindowLimiter
from tests.conftest import make_config


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_seeded_limiter_counts_what_another_process_sent() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(10, 180, clock=clock, sleep=clock.sleep)
    limiter.seed([5.0] * 9)  # nine requests five seconds ago: one slot left (margin 1)
    assert limiter.delay() > 0
    clock.now += 176
    assert limiter.delay() == 0
    assert all(0 <= a < 180 for a in limiter.ages())


def test_sync_after_reconcile_counts_the_reconcile_requests(tmp_path, team, gateway):
    config = make_config(tmp_path, gateway.url, team)
    april = parse_period("2026-04", config.tz)
    run_sync(
        config, april, client_factory=lambda gw, on_request=None: GatewayClient(gw, sleep=lambda s: None)
    )
    saved = json.loads((config.store_dir / ratebudget.FILE).read_text())
    assert saved["host"] == "127.0.0.1" and len(saved["sent_at"]) > 30
    made: list[GatewayClient] = []

    def factory(gw, on_request=None):
        made.append(GatewayClient(gw, sleep=lambda s: None))
        return made[-1]

    run_reconcile(config, april, client_factory=factory)
    assert made[0].limiter.in_window >= len(saved["sent_at"])  # the sync's requests still count
    again = json.loads((config.store_dir / ratebudget.FILE).read_text())
    assert len(again["sent_at"]) >= len(saved["sent_at"]) + made[0].requests_made


def test_a_damaged_budget_file_costs_nothing(tmp_path):
    (tmp_path / ratebudget.FILE).write_text("{not json", encoding="utf-8")
    assert ratebudget.recent_ages(tmp_path, "https://gw.example", 180) == []
