"""The fingerprint of what a sync wrote, from the sorted digest runs of its pages.

The audit log records the content fingerprint of the span each sync covered.  Computed
by the store at the end, that is every row's canonical line and SHA-256 again, then a sort:
~2.6 s a million rows, after the last window.  The reading process already digests each
page (:func:`reportgen.core.fingerprint.page_digests`, sorted); this keeps those runs in a
temporary file and merges them, so the end costs one pass (~0.6 s a million rows) in flat
memory.  It stands for the store's fingerprint only where the sync wrote every row of the
span itself: :meth:`DigestRuns.fingerprint` says None otherwise, and the store computes it.
"""

from __future__ import annotations

import hashlib
import heapq
import os
import tempfile
from collections.abc import Iterator, Sequence
from typing import IO

from ..core.models import RowBatch

_DIGEST = 32
#: Digests read from a run at a time while merging (per run: 100 runs, 3 MB).
_CHUNK = 1024


class DigestRuns:
    """Sorted digest runs of the pages written, in a temporary file; a context manager."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None  # opened for the first run, closed by close()
        self._runs: list[tuple[int, int]] = []  # (offset, digests)
        self._size = 0
        self._complete = True
        self._covered: list[tuple[int, int]] = []

    def pages(self, pages: Iterator[RowBatch], lo: int, hi: int) -> Iterator[RowBatch]:
        """``pages`` of window ``[lo, hi]``, their digest runs kept as they pass."""
        for page in pages:
            if page.digests is None or (
                (stamps := page.columns[0]) and not lo <= stamps[0] <= stamps[-1] <= hi
            ):
                self._complete = False  # the store keeps only [lo, hi]: these digests are not the stored rows
            elif page.digests:
                if self._file is None:
                    self._file = tempfile.TemporaryFile(prefix="reportgen-digests-")  # noqa: SIM115
                self._file.write(page.digests)
                self._runs.append((self._size, len(page.digests) // _DIGEST))
                self._size += len(page.digests)
            yield page
        self._covered.append((lo, hi))

    def fingerprint(self, span: tuple[int, int]) -> str | None:
        """The fingerprint of the rows written, when the windows written cover exactly ``span``
        (inclusive) and every page came digested; else None."""
        if not self._complete or not _covers(self._covered, span):
            return None
        if self._file is None:  # no row at all
            return hashlib.sha256().hexdigest()
        self._file.flush()
        digest = hashlib.sha256()
        batch: list[bytes] = []
        for d in heapq.merge(*(self._run(offset, count) for offset, count in self._runs)):
            batch.append(d)
            if len(batch) == 8192:
                digest.update(b"".join(batch))
                batch.clear()
        digest.update(b"".join(batch))
        return digest.hexdigest()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> DigestRuns:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, offset: int, count: int) -> Iterator[bytes]:
        assert self._file is not None
        fileno = self._file.fileno()
        while count:
            n = min(count, _CHUNK)
            data = os.pread(fileno, n * _DIGEST, offset)
            for i in range(0, len(data), _DIGEST):
                yield data[i : i + _DIGEST]
            offset += n * _DIGEST
            count -= n


def _covers(windows: Sequence[tuple[int, int]], span: tuple[int, int]) -> bool:
    """Whether the inclusive ``windows`` are exactly ``span``, without a gap or an overlap."""
    at = span[0]
    for lo, hi in sorted(windows):
        if lo != at:
            return False
        at = hi + 1
    return bool(windows) and at == span[1] + 1
