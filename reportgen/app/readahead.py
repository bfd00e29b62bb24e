"""Read the next windows' pages in a second process while the store writes the current one.

The database source's pages cost Python time (fetching and parsing), and so do the
store's writes: ``executemany`` gives up the interpreter lock for every row it steps, and
with a second *thread* parsing beside it each row then waits for that thread's time slice
(a page of 10,000 rows took seconds instead of 35 ms).  A second *process* has its own
interpreter, so reading and writing really run side by side on two cores.

The process (``python -m reportgen.app.readahead``, not :mod:`multiprocessing`, which
would run the caller's main module again in the child) gets ``open_source`` (a picklable
callable: the source's class and its config) and ``prepare`` on its stdin, opens its own
connection at once, then gets the windows (so its start-up overlaps the caller's planning),
reads them in order, passes each page through
``prepare`` (e.g. the store compresses its raw table there) and writes it to its stdout,
one length-prefixed pickle at a time.  A thread of ours reads those frames into a queue of
:data:`DEPTH` (:func:`~reportgen.sources.prefetch.prefetched`); the pipe and the queue bound what waits, so memory stays flat whatever the
sync's size.  Its errors are raised where the pages are used; :meth:`ReadAhead.close`
(also on ^C) stops it.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import subprocess
import sys
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import IO, Any

from ..errors import GatewayError
from ..sources.prefetch import Failed, prefetched

#: Pages read ahead at most (each up to the source's page size), besides the pipe's own
#: buffer: enough that reading goes on while the store rolls up a finished day.
DEPTH = 4

_WINDOW_END = "window-end"
#: Seconds a reader that sent every window gets to close its connection before it is ended.
_GRACE = 5
_FRAME = struct.Struct("<Q")


class ReadAhead:
    """``pages(lo, hi)`` of each window in turn, read ahead by a second process; a context manager."""

    def __init__(
        self,
        open_source: Callable[[], Any],
        windows: Sequence[tuple[int, int]] | None = None,
        prepare: Callable[[Any], Any] | None = None,
    ) -> None:
        """Start the process, which opens its source at once; it reads once given the windows
        (here, or by :meth:`read` when they are known: the start-up overlaps the planning)."""
        self._windows: list[tuple[int, int]] = []
        self._next = 0
        self._done = 0  # windows received whole
        #: Pages received (each one query of the source).
        self.pages_read = 0
        # It imports what we import (reportgen, the source's class) from where we found it.
        path = os.pathsep.join(p for p in sys.path if p)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "reportgen.app.readahead"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._tell((open_source, prepare), last=False)
        # a thread of ours reads the frames ahead (the pipe's reads give up the GIL)
        self._frames = prefetched(_frames(self._process.stdout), depth=DEPTH, name="reportgen-read-ahead")
        if windows is not None:
            self.read(windows)

    def read(self, windows: Sequence[tuple[int, int]]) -> None:
        """Read these windows, in order (once)."""
        self._windows = list(windows)
        self._tell(self._windows, last=True)

    def _tell(self, job: object, last: bool) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        with contextlib.suppress(BrokenPipeError):  # it died: pages() says so
            stdin.write(pickle.dumps(job))
            stdin.flush()
            if last:
                stdin.close()

    def pages(self, lo: int, hi: int) -> Iterator[Any]:
        """The pages of the next window, which must be ``(lo, hi)``; the reader's error is raised here."""
        if self._windows[self._next] != (lo, hi):  # pragma: no cover - a caller's bug
            raise ValueError(f"windows read out of order: {(lo, hi)} asked, {self._windows[self._next]} next")
        self._next += 1
        while True:
            frame = next(self._frames, None)
            if frame is None:
                self._process.wait()
                raise GatewayError(
                    f"the process reading the source ended unexpectedly (exit code {self._process.returncode})"
                )
            item = pickle.loads(frame)  # here, not in the receiving thread: see the module doc
            if isinstance(item, str) and item == _WINDOW_END:
                self._done += 1
                return
            if isinstance(item, Failed):
                raise item.exc
            self.pages_read += 1
            yield item

    def close(self) -> None:
        """Stop the reading process (its connection and snapshot end with it) and the receiving thread."""
        if self._process.stdin is not None and not self._process.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self._process.stdin.close()  # never given windows: it ends when it reads that
        if self._done == len(self._windows):  # it read everything: let it close its connection itself
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=_GRACE)
        if self._process.poll() is None:
            self._process.terminate()
        self._frames.close()  # the reading thread sees the pipe end, and stops
        self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _frames(stream: IO[bytes]) -> Generator[bytes, None, None]:
    """The process's frames, until its stdout ends."""
    while len(header := stream.read(_FRAME.size)) == _FRAME.size:
        frame = stream.read(_FRAME.unpack(header)[0])
        if not frame:
            return
        yield frame


def _serve() -> None:
    """The reading process: every window's pages on stdout, in order, each window then a marker; or
    the error that stopped it.  ^C reaches the whole process group: the parent decides, and ends us."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = sys.stdout.buffer

    def send(item: object) -> None:
        data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
        out.write(_FRAME.pack(len(data)))
        out.write(data)
        out.flush()  # a window's end marker must not wait in the buffer for the next page

    source = None
    try:
        open_source, prepare = pickle.load(sys.stdin.buffer)
        source = open_source()  # connects while the caller still plans the windows
        try:
            windows = pickle.load(sys.stdin.buffer)
        except EOFError:  # nothing to read after all
            return
        for lo, hi in windows:
            pages = source.iter_log_pages(lo, hi)
            try:
                for page in pages:
                    send(page if prepare is None else prepare(page))
            finally:
                close = getattr(pages, "close", None)
                if close is not None:
                    close()  # ends the window's snapshot, now
            send(_WINDOW_END)
    except BrokenPipeError:  # the parent stopped reading
        return
    except BaseException as exc:  # handed to the parent, which raises it
        with contextlib.suppress(BrokenPipeError):
            send(Failed(_picklable(exc)))
    finally:
        with contextlib.suppress(Exception):
            out.flush()
        if source is not None:
            with contextlib.suppress(Exception):
                source.close()


def _picklable(exc: BaseException) -> BaseException:
    """``exc`` if it crosses to the parent intact, else a one-line :class:`GatewayError` saying it."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return GatewayError(f"reading the source failed: {type(exc).__name__}: {exc}")
    return exc


if __name__ == "__main__":  # run as the module itself, so that what it sends names reportgen.app.readahead
    from reportgen.app.readahead import _serve as serve

    serve()
