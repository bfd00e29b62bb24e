"""Windows read ahead in a second thread: in order, bounded, errors raised where the pages are used."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from reportgen.app import readahead
from reportgen.app.readahead import ReadAhead


class _Source:
    def __init__(self, pages_per_window: int = 3, fail_at: tuple[int, int] | None = None) -> None:
        self.pages_per_window = pages_per_window
        self.fail_at = fail_at
        self.produced = 0
        self.closed: list[tuple[int, int]] = []
        self.threads: set[str] = set()

    def read(self, lo: int, hi: int) -> Iterator[list[int]]:
        self.threads.add(threading.current_thread().name)
        try:
            for n in range(self.pages_per_window):
                if self.fail_at == (lo, n):
                    raise RuntimeError(f"lost the connection in window {lo}")
                self.produced += 1
                yield [lo, n]
        finally:
            self.closed.append((lo, hi))  # the window's snapshot ends in the reading thread


WINDOWS = [(0, 9), (10, 19), (20, 29)]


def test_pages_come_in_order_from_another_thread():
    source = _Source()
    with ReadAhead(source.read, WINDOWS) as ahead:
        got = [list(ahead.pages(lo, hi)) for lo, hi in WINDOWS]
    assert got == [[[lo, n] for n in range(3)] for lo, _ in WINDOWS]
    assert source.closed == WINDOWS and source.threads == {"reportgen-read-ahead"}


def test_reading_ahead_is_bounded():
    source = _Source(pages_per_window=50)
    with ReadAhead(source.read, WINDOWS) as ahead:
        pages = ahead.pages(0, 9)
        next(pages)
        time.sleep(0.3)  # the reader runs ahead until the queue is full, then waits
        assert source.produced <= 1 + readahead.DEPTH + 1


def test_an_error_is_raised_where_the_window_is_used_and_earlier_windows_are_whole():
    source = _Source(fail_at=(10, 1))
    with ReadAhead(source.read, WINDOWS) as ahead:
        assert len(list(ahead.pages(0, 9))) == 3
        pages = ahead.pages(10, 19)
        assert next(pages) == [10, 0]
        with pytest.raises(RuntimeError, match="window 10"):
            next(pages)
    assert source.closed == [(0, 9), (10, 19)]


def test_stopping_early_ends_the_thread_and_the_open_window():
    source = _Source(pages_per_window=50)
    ahead = ReadAhead(source.read, WINDOWS)
    next(ahead.pages(0, 9))
    ahead.close()  # e.g. the store failed, or ^C
    assert source.closed == [(0, 9)]
    assert not any(t.name == "reportgen-read-ahead" for t in threading.enumerate())
