"""A client-side sliding-window limiter that matches the gateway's own (180 per 180 s).

The gateway counts requests per client IP over a sliding window and answers 429 past
the limit.  Pacing evenly would waste the burst it allows, so the first N requests go
at once and later ones wait only until the oldest leaves the window.  A request's slot
is dated by when its *response* arrived: the server saw the request no later than that,
so the slot never frees earlier on our side than on the server's.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class SlidingWindowLimiter:
    """Allows ``limit - margin`` requests in any ``window`` seconds; see the module doc."""

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        margin: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        slack: float = 0.05,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a rate limit needs limit >= 1 and window > 0")
        self.limit = limit
        self.window = float(window)
        self.allowance = max(1, limit - max(0, margin))
        self.slack = slack
        self._clock = clock
        self._sleep = sleep
        self._stamps: deque[float] = deque()
        self._paused_until = 0.0
        self.waited = 0.0

    def _expire(self, now: float) -> None:
        horizon = now - self.window - self.slack
        stamps = self._stamps
        while stamps and stamps[0] <= horizon:
            stamps.popleft()

    def delay(self) -> float:
        """Seconds to wait before the next request may be sent (0 when it may go now)."""
        return self._delay_at(self._clock())

    def _delay_at(self, now: float) -> float:
        self._expire(now)
        wait = max(0.0, self._paused_until - now)
        if len(self._stamps) >= self.allowance:
            oldest = self._stamps[len(self._stamps) - self.allowance]
            wait = max(wait, oldest + self.window + self.slack - now)
        return wait

    def acquire(self) -> None:
        """Wait (through the injected sleep) until a request may be sent, then take a slot.

        One sleep, never a polling loop: with a test's no-op sleep the limiter keeps its
        own timeline (slots dated when they were due) instead of spinning on the clock.
        """
        now = self._clock()
        wait = self._delay_at(now)
        if wait > 0:
            self.waited += wait
            self._sleep(wait)
            now = max(self._clock(), now + wait)
        self._stamps.append(now)

    def done(self) -> None:
        """Re-date the latest slot to now: the response has arrived (see the module doc)."""
        if self._stamps:
            self._stamps[-1] = max(self._stamps[-1], self._clock())

    def pause(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (after a 429 the server's bucket is full)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def seed(self, ages: list[float]) -> None:
        """Count requests another process sent ``ages`` seconds ago (the gateway counts per IP)."""
        now = self._clock()
        self._stamps.extend(sorted(now - age for age in ages if 0 <= age < self.window + self.slack))
        self._stamps = deque(sorted(self._stamps))

    def ages(self) -> list[float]:
        """How many seconds ago each request still in the window was sent (for the next process)."""
        now = self._clock()
        self._expire(now)
        return [now - stamp for stamp in self._stamps]

    @property
    def in_window(self) -> int:
        """Requests the limiter currently counts in its window."""
        self._expire(self._clock())
        return len(self._stamps)
