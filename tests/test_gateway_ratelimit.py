"""The sliding-window limiter uses the burst, keeps a margin and honours 429 pauses."""

from __future__ import annotations

import pytest

from reportgen.gateway import SlidingWindowLimiter
from tests.test_gateway_client import FakeClock


def test_burst_then_waits_for_the_oldest_slot() -> None:
    clock = FakeClock(start=0.0)
    limiter = SlidingWindowLimiter(180, 180, clock=clock, sleep=clock.sleep)
    sent = []
    for _ in range(179 * 3):
        limiter.acquire()
        sent.append(clock.now)
        clock.now += 0.01  # each request takes a little time
        limiter.done()
    assert sent[178] - sent[0] < 2  # the first 179 go at once: the burst is used
    assert sent[179] >= sent[0] + 180  # slot 180 waits for the first to leave the window
    # over any 180 s span no more than 179 requests were sent: >= 90 % of the allowance, never 180
    for i in range(len(sent) - 179):
        assert sent[i + 179] - sent[i] > 180
    assert sum(1 for t in sent if t < sent[0] + 180) >= 0.9 * 180


def test_pause_delays_the_next_request() -> None:
    clock = FakeClock(start=0.0)
    limiter = SlidingWindowLimiter(20, 2, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.pause(5)
    assert limiter.delay() == pytest.approx(5)
    limiter.acquire()
    assert clock.now == pytest.approx(5) and limiter.waited == pytest.approx(5)


def test_slots_are_dated_by_the_response() -> None:
    clock = FakeClock(start=0.0)
    limiter = SlidingWindowLimiter(2, 10, clock=clock, sleep=clock.sleep)  # allowance 1
    limiter.acquire()
    clock.now = 3.0  # a slow response: the server may have counted it as late as this
    limiter.done()
    assert limiter.delay() == pytest.approx(10 + limiter.slack)
    assert limiter.in_window == 1


def test_invalid_limits() -> None:
    with pytest.raises(ValueError):
        SlidingWindowLimiter(0, 10)
    assert SlidingWindowLimiter(1, 1).allowance == 1


def test_a_no_op_sleep_never_spins() -> None:
    calls: list[float] = []
    limiter = SlidingWindowLimiter(3, 1000, sleep=calls.append)  # the real clock, a sleep that does nothing
    for _ in range(10):
        limiter.acquire()
        limiter.done()
    assert len(calls) == 8 and all(c > 900 for c in calls)
