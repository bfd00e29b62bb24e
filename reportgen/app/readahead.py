"""Read the next windows' pages in a background thread while the store writes the current one.

The database source's pages cost Python time (fetching and parsing) and the store's
writes mostly do not (SQLite and zlib release the GIL), so on two cores they overlap.
The queue is bounded: at most :data:`DEPTH` pages wait, so memory stays flat whatever
the window or sync size.  The source is used by the reading thread alone until
:meth:`ReadAhead.close` returns.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

#: Pages read ahead at most (each up to the source's page size): enough that reading goes
#: on while the store rolls up a finished day.
DEPTH = 4

_WINDOW_END = object()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class ReadAhead:
    """``pages(lo, hi)`` of each window in turn, read ahead by one thread (each page passed through
    ``prepare`` there, when given); use as a context manager."""

    def __init__(
        self,
        read: Callable[[int, int], Iterator[Sequence[Any]]],
        windows: Sequence[tuple[int, int]],
        prepare: Callable[[Any], Any] | None = None,
    ) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=DEPTH)
        self._stop = threading.Event()
        self._windows = list(windows)
        self._next = 0
        self._prepare = prepare
        self._thread = threading.Thread(
            target=self._run, args=(read,), name="reportgen-read-ahead", daemon=True
        )
        self._thread.start()

    def pages(self, lo: int, hi: int) -> Iterator[Sequence[Any]]:
        """The pages of the next window, which must be ``(lo, hi)``; the reader's error is raised here."""
        if self._windows[self._next] != (lo, hi):  # pragma: no cover - a caller's bug
            raise ValueError(f"windows read out of order: {(lo, hi)} asked, {self._windows[self._next]} next")
        self._next += 1
        while True:
            item = self._queue.get()
            if item is _WINDOW_END:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item

    def close(self) -> None:
        """Stop reading and wait for the thread (it ends the source's open snapshot itself)."""
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.05)  # unblock a put
        self._thread.join()

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, read: Callable[[int, int], Iterator[Sequence[Any]]]) -> None:
        try:
            for lo, hi in self._windows:
                pages = read(lo, hi)
                try:
                    for page in pages:
                        if self._prepare is not None:
                            page = self._prepare(page)
                        if not self._put(page):
                            return
                finally:
                    close = getattr(pages, "close", None)
                    if close is not None:
                        close()  # ends the window's snapshot in this thread, now
                if not self._put(_WINDOW_END):
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(_Failed(exc))

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False
