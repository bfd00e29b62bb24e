"""The fingerprint of what a sync wrote, from the rows as the sync wrote them.

The audit log records the content fingerprint of the span each sync covered.  Computed
by the store at the end, that is every row's canonical line and SHA-256 again, then a sort
of every digest: ~2.6 s a million rows, after the last window, while nothing else runs.
Here each page is digested as it is written, from the very tuples the store wrote
(``RowBatch.stored``: :func:`reportgen.core.fingerprint.page_digests`), and its digests
are sorted and cut by their first byte into 256 buckets.  The fingerprint hashes bucket
after bucket, each sorted on its own, so the end costs ~0.3 s a million rows; memory holds
the buckets' buffers (spilled to a temporary file past :data:`_SPILL`) and, at the end,
one bucket (1/256 of the digests) at a time.  It stands for the store's fingerprint only
where the sync wrote every row of the span itself: :meth:`SyncDigests.fingerprint` says
None otherwise, and the store computes it.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from typing import IO

from ..core.fingerprint import page_digests
from ..core.records import RowBatch
from ..store import Store

_DIGEST = 32
#: Bytes of digests kept in memory before the buckets are written to the temporary file.
_SPILL = 4 << 20
#: Where each first byte's bucket starts in a sorted list of digests.
_FIRSTS = [bytes([b]) for b in range(1, 256)]


class SyncDigests:
    """The digests of the rows a sync wrote, bucketed by their first byte; a context manager."""

    def __init__(self, key_prefix: str = "") -> None:
        """``key_prefix``: put before each key name, as reports name the source's keys."""
        self._prefix = key_prefix
        self._buffers = [bytearray() for _ in range(256)]
        self._buffered = 0
        self._file: IO[bytes] | None = None  # opened at the first spill, closed by close()
        self._spilled: list[list[tuple[int, int]]] = [[] for _ in range(256)]  # (offset, size)
        self._size = 0
        self._complete = True
        self._covered: list[tuple[int, int]] = []

    def pages(self, pages: Iterator[RowBatch], lo: int, hi: int) -> Iterator[RowBatch]:
        """``pages`` of window ``[lo, hi]``, each digested once the store has written it."""
        for page in pages:
            stamps = page.columns[0]
            if stamps and not lo <= stamps[0] <= stamps[-1] <= hi:
                self._complete = False  # the store keeps only [lo, hi]: these are not the stored rows
            yield page
            if self._complete and stamps:
                digests = page.digests  # computed by the reading process (prepare_page)
                self._add(page_digests(page.stored, self._prefix) if digests is None else digests)
        self._covered.append((lo, hi))

    def _add(self, digests: list[bytes]) -> None:
        digests.sort()
        at = 0
        for first, end in enumerate([*map(bisect.bisect_left, [digests] * 255, _FIRSTS), len(digests)]):
            if end > at:
                self._buffers[first] += b"".join(digests[at:end])
                at = end
        self._buffered += len(digests) * _DIGEST
        if self._buffered >= _SPILL:
            self._spill()

    def _spill(self) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="reportgen-digests-")  # noqa: SIM115
        for first, buffer in enumerate(self._buffers):
            if buffer:
                self._file.write(buffer)
                self._spilled[first].append((self._size, len(buffer)))
                self._size += len(buffer)
                buffer.clear()
        self._buffered = 0

    def fingerprint(self, span: tuple[int, int]) -> str | None:
        """The fingerprint of the rows written, when the windows written cover exactly ``span``
        (inclusive) and every page was digested; else None."""
        if not self._complete or not _covers(self._covered, span):
            return None
        if self._file is not None:
            self._file.flush()
        digest = hashlib.sha256()
        for first, buffer in enumerate(self._buffers):
            data = b"".join([*self._read(first), buffer])
            digests = [data[i : i + _DIGEST] for i in range(0, len(data), _DIGEST)]
            digests.sort()  # sorted runs, one a page: the sort merges them
            digest.update(b"".join(digests))
        return digest.hexdigest()

    def _read(self, first: int) -> Iterator[bytes]:
        if self._file is not None:
            fileno = self._file.fileno()
            for offset, size in self._spilled[first]:
                yield os.pread(fileno, size, offset)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> SyncDigests:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def prepare_page(key_prefix: str, batch: RowBatch) -> RowBatch:
    """A page as the sync's reading process sends it: its rows' digests computed there, sorted
    (what :class:`SyncDigests` adds of a page the store wrote; ``key_prefix`` as given to it),
    and made ready for the store (``Store.prepare``)."""
    if len(batch):
        digests = page_digests(batch.stored, key_prefix)
        digests.sort()
        batch.digests = digests
    return Store.prepare(batch)


def _covers(windows: Sequence[tuple[int, int]], span: tuple[int, int]) -> bool:
    """Whether the inclusive ``windows`` are exactly ``span``, without a gap or an overlap."""
    at = span[0]
    for lo, hi in sorted(windows):
        if lo != at:
            return False
        at = hi + 1
    return bool(windows) and at == span[1] + 1
