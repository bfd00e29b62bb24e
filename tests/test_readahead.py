"""Windows read ahead by a second process: in order, bounded, errors raised where the pages are used."""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reportgen.app import readahead
from reportgen.app.readahead import ReadAhead
from reportgen.errors import DatabaseSourceError, GatewayError


class _Source:
    """Pages ``[lo, n, pid]``; what it did is appended to ``log`` (a file: it runs in the other process)."""

    def __init__(
        self, log: str, pages_per_window: int = 3, fail_at: tuple[int, int] | None = None, pad: int = 0
    ) -> None:
        self.log = Path(log)
        self.pages_per_window = pages_per_window
        self.fail_at = fail_at
        self.pad = pad  # bytes added to each page

    def _note(self, line: str) -> None:
        with self.log.open("a") as fp:
            fp.write(line + "\n")

    def iter_log_pages(self, lo: int, hi: int) -> Iterator[list[int]]:
        try:
            for n in range(self.pages_per_window):
                if self.fail_at == (lo, n):
                    raise DatabaseSourceError(f"lost the connection in window {lo}")
                if self.fail_at == (lo, -n):
                    os._exit(3)  # killed mid-window
                self._note(f"page {lo} {n}")
                yield [lo, n, os.getpid(), *([b"x" * self.pad] if self.pad else [])]
        finally:
            self._note(f"closed {lo} {hi}")  # the window's snapshot ends in the reading process

    def close(self) -> None:
        self._note("source closed")


def _lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


WINDOWS = [(0, 9), (10, 19), (20, 29)]


def test_pages_come_in_order_from_another_process(tmp_path):
    log = tmp_path / "log"
    with ReadAhead(functools.partial(_Source, str(log)), WINDOWS) as ahead:
        got = [list(ahead.pages(lo, hi)) for lo, hi in WINDOWS]
    assert [[page[:2] for page in window] for window in got] == [
        [[lo, n] for n in range(3)] for lo, _ in WINDOWS
    ]
    assert {page[2] for window in got for page in window} != {os.getpid()}  # read elsewhere
    assert [line for line in _lines(log) if line.startswith("closed")] == [
        f"closed {lo} {hi}" for lo, hi in WINDOWS
    ]
    assert _lines(log)[-1] == "source closed" and ahead.pages_read == 9


def _produced(log: Path) -> int:
    return sum(1 for line in _lines(log) if line.startswith("page"))


def _settled(count: Callable[[], int], above: int, quiet: float = 0.2, cap: float = 60.0) -> int:
    """``count()`` once it is above ``above`` and has stopped moving for ``quiet`` seconds.

    A wait for the reader to fill what it may hold, never a check of how long anything took:
    a reader starved by a busy machine only makes the wait longer (or the check below looser).
    """
    start = last_change = time.monotonic()
    last = count()
    while time.monotonic() - start < cap:
        time.sleep(quiet / 5)
        now = count()
        if now != last:
            last, last_change = now, time.monotonic()
        elif last > above and time.monotonic() - last_change >= quiet:
            break
    return last


def test_reading_ahead_is_bounded(tmp_path):
    """The reader runs ahead until the queue and the pipe are full, then waits, page for page.

    Each page is bigger than a pipe's buffer, so what can wait is exact: the queue
    (``DEPTH``), the page the reading thread holds for it, and the page being written.
    """
    log = tmp_path / "log"
    bound = readahead.DEPTH + 2
    source = functools.partial(_Source, str(log), pages_per_window=100_000, pad=1 << 20)
    with ReadAhead(source, WINDOWS) as ahead:
        pages = ahead.pages(0, 9)
        for consumed in range(1, 5):
            next(pages)
            produced = _settled(lambda: _produced(log), above=consumed)
            assert consumed < produced <= consumed + bound, (consumed, produced)


def test_an_error_is_raised_where_the_window_is_used_and_earlier_windows_are_whole(tmp_path):
    log = tmp_path / "log"
    with ReadAhead(functools.partial(_Source, str(log), fail_at=(10, 1)), WINDOWS) as ahead:
        assert len(list(ahead.pages(0, 9))) == 3
        pages = ahead.pages(10, 19)
        assert next(pages)[:2] == [10, 0]
        with pytest.raises(DatabaseSourceError, match="window 10"):
            next(pages)
    assert [line for line in _lines(log) if line.startswith("closed")] == ["closed 0 9", "closed 10 19"]


def test_a_reader_that_dies_is_a_one_line_error(tmp_path):
    with ReadAhead(functools.partial(_Source, str(tmp_path / "log"), fail_at=(10, -1)), WINDOWS) as ahead:
        assert len(list(ahead.pages(0, 9))) == 3
        with pytest.raises(GatewayError, match=r"ended unexpectedly \(exit code 3\)"):
            list(ahead.pages(10, 19))


def test_stopping_early_ends_the_process_and_the_thread(tmp_path):
    ahead = ReadAhead(functools.partial(_Source, str(tmp_path / "log"), pages_per_window=100_000), WINDOWS)
    next(ahead.pages(0, 9))
    ahead.close()  # e.g. the store failed, or ^C
    assert ahead._process.poll() is not None
    assert not any(t.name == "reportgen-read-ahead" for t in threading.enumerate())
