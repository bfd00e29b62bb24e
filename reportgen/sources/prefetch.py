"""A generator run one item ahead in a thread: the next page is fetched while this one is used."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Generator
from typing import TypeVar

T = TypeVar("T")

_END = object()


class Failed:
    """An error handed from the producing side to the consumer, which raises it (picklable, so
    it also crosses between processes: :mod:`reportgen.app.readahead`)."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetched(
    source: Generator[T, None, None], depth: int = 1, name: str = "reportgen-prefetch"
) -> Generator[T, None, None]:
    """``source``'s items, produced by a thread at most ``depth`` items ahead.

    The thread alone runs ``source`` (its setup, its ``finally``, e.g. a snapshot's end), so
    a source bound to one connection is used by one thread at a time.  Its error is raised
    here, where the item would have come; closing this iterator early stops the thread and
    closes ``source`` in it, and returns once that is done.
    """
    items: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                items.put(item, timeout=0.1)
                return True
        return False

    def run() -> None:
        try:
            for item in source:
                if not put(item):
                    return
            put(_END)
        except BaseException as exc:  # handed to the consumer, which raises it
            put(Failed(exc))
        finally:
            source.close()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _END:
                return
            if isinstance(item, Failed):
                raise item.exc
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                items.get(timeout=0.05)  # unblock a put
        thread.join()
