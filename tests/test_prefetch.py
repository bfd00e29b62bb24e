"""A generator run one item ahead in a thread: same items, its error where the item would be, closed in its thread."""

from __future__ import annotations

import threading
from collections.abc import Generator

import pytest

from reportgen.sources.prefetch import prefetched


def _pages(log: list[str], n: int, fail_at: int | None = None) -> Generator[int, None, None]:
    try:
        for i in range(n):
            if i == fail_at:
                raise RuntimeError(f"lost the connection at page {i}")
            log.append(f"made {i}")
            yield i
    finally:
        log.append(f"closed in {threading.current_thread().name}")


def test_items_come_in_order_and_the_source_ends_in_its_thread():
    log: list[str] = []
    assert list(prefetched(_pages(log, 5))) == [0, 1, 2, 3, 4]
    assert log[-1] == "closed in reportgen-prefetch"


def test_the_error_is_raised_where_its_item_would_be():
    log: list[str] = []
    got = []
    with pytest.raises(RuntimeError, match="page 2"):
        for item in prefetched(_pages(log, 5, fail_at=2)):
            got.append(item)
    assert got == [0, 1] and log[-1] == "closed in reportgen-prefetch"


def test_stopping_early_closes_the_source_and_ends_the_thread():
    log: list[str] = []
    items = prefetched(_pages(log, 1000))
    assert next(items) == 0
    items.close()  # e.g. the store failed: the window's snapshot must end now
    assert log[-1] == "closed in reportgen-prefetch"
    assert len([line for line in log if line.startswith("made")]) <= 3  # one ahead, not a thousand
    assert not any(t.name == "reportgen-prefetch" for t in threading.enumerate())
