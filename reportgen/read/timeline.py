"""Live rows and closed snapshots laid end to end: every read of a view is split at their edges.

A closed period reads from its frozen snapshot, everything around it from the live store;
:class:`Timeline` answers each read (partials, rows, fingerprint, coverage) as one store
holding all those rows would.
"""

from __future__ import annotations

import contextlib
import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..core.columns import Field
from ..core.fingerprint import fingerprint_of
from ..core.partials import Bucket, Partials
from ..core.periods import Part, Period
from ..core.pricegroups import PriceGroup
from ..core.records import UsageRecord
from ..errors import StoreError
from ..store import Closure, Reader, closure_subject, snapshot_exists, snapshot_location, uncovered
from ..store.evidence import recorded_seal

#: Past either end of any period: a piece that reaches it is open on that side.
FAR = 2**62


@dataclass(frozen=True)
class Piece:
    """``[start_ts, end_ts)`` read from one store: the live one, or a closed period's snapshot."""

    start_ts: int
    end_ts: int
    reader: Reader
    closure: Closure | None


class Timeline:
    """Live rows and closed snapshots laid end to end; every read is split at their edges."""

    def __init__(self, pieces: list[Piece], tz: Any) -> None:
        self._pieces = pieces
        self._tz = tz

    @classmethod
    def of_snapshot(cls, snap: Reader, closure: Closure, tz: Any) -> Timeline:
        """A closed period's snapshot alone, read for all time."""
        return cls([Piece(-FAR, FAR, snap, closure)], tz)

    def cut(self, start: int, end: int) -> Iterator[tuple[Piece, int, int]]:
        """Each piece's part of ``[start, end)``, in order."""
        return self._cut(start, end)

    def _cut(self, start: int, end: int) -> Iterator[tuple[Piece, int, int]]:
        for piece in self._pieces:
            lo, hi = max(start, piece.start_ts), min(end, piece.end_ts)
            if lo < hi:
                yield piece, lo, hi

    def partials(
        self, period: Period, token_names: tuple[str, ...] | None = None, *, latency: bool = True
    ) -> Partials:
        """Each piece's partials laid end to end (buckets read, if asked, while the view is open)."""
        got: list[Partials] = []
        for piece, lo, hi in self._cut(period.start_ts, period.end_ts):
            part = Period(
                period.label, datetime.fromtimestamp(lo, self._tz), datetime.fromtimestamp(hi, self._tz)
            )
            got.append(piece.reader.partials(part, token_names, latency=latency))
        if len(got) == 1:
            return got[0]

        def load() -> tuple[Bucket, ...]:
            return tuple(b for p in got for b in p.buckets)

        return Partials(
            None,
            tuple(lc for p in got for lc in p.latency_by_key_model),
            tuple(lc for p in got for lc in p.latency_by_day),
            key_models=tuple(
                b for p in got for b in (p.key_models if p.key_models is not None else p.buckets)
            ),
            days=tuple(b for p in got for b in (p.days if p.days is not None else p.buckets)),
            load=load,
        )

    def iter_records(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None
    ) -> Iterator[UsageRecord]:
        for piece, lo, hi in self._cut(start_ts, end_ts):
            yield from piece.reader.iter_records(lo, hi, token_names, raw=False)

    def iter_detail(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None, fields: Sequence[Field]
    ) -> Iterator[Sequence[tuple[Any, ...]]]:
        for piece, lo, hi in self._cut(start_ts, end_ts):
            yield from piece.reader.iter_detail(lo, hi, token_names, fields)

    def price_groups(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None
    ) -> Iterator[PriceGroup]:
        """Each piece's rows grouped by price (:meth:`reportgen.store.Reader.price_groups`)."""
        for piece, lo, hi in self._cut(start_ts, end_ts):
            yield from piece.reader.price_groups(lo, hi, token_names)

    def fingerprint(self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None) -> str:
        """The same value one store holding all these rows would give (digests merged in order)."""
        cut = list(self._cut(start_ts, end_ts))
        if len(cut) == 1:  # the usual case: one store, hashed in batches
            piece, lo, hi = cut[0]
            return piece.reader.fingerprint(lo, hi, token_names)
        return fingerprint_of(heapq.merge(*(p.reader.digests(lo, hi, token_names) for p, lo, hi in cut)))

    def canonical_rows(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None
    ) -> Iterator[tuple[bytes, str]]:
        """``(digest, canonical line)`` of every row, in digest order (what the fingerprint hashes)."""
        streams = [p.reader.canonical_rows(lo, hi, token_names) for p, lo, hi in self._cut(start_ts, end_ts)]
        return heapq.merge(*streams)

    def count_rows(
        self, start_ts: int, end_ts: int, token_names: tuple[str, ...] | None = None, *, rolled: bool = False
    ) -> int:
        """Rows of the span (``rolled``: whole rolled-up days counted from the rollups, the same number)."""
        return sum(
            p.reader.count_rows(lo, hi, token_names, rolled=rolled)
            for p, lo, hi in self._cut(start_ts, end_ts)
        )

    def token_names(self, start_ts: int, end_ts: int) -> set[str]:
        return {n for p, lo, hi in self._cut(start_ts, end_ts) for n in p.reader.token_names(lo, hi)}

    def missing(self, start_ts: int, end_ts: int) -> list[tuple[int, int]]:
        """The ``[start, end)`` ranges of the span no piece holds."""
        gaps: list[tuple[int, int]] = []
        for piece, lo, hi in self._cut(start_ts, end_ts):
            for a, b in uncovered(piece.reader.coverage(), lo, hi - 1):
                if gaps and gaps[-1][1] == a:
                    gaps[-1] = (gaps[-1][0], b + 1)
                else:
                    gaps.append((a, b + 1))
        return gaps

    def has_live(self, period: Period) -> bool:
        """True when some part of ``period`` is read from live rows rather than a closed snapshot."""
        return any(piece.closure is None for piece, _, _ in self._cut(period.start_ts, period.end_ts))

    def basis(self, period: Period) -> tuple[Part, ...]:
        tz = period.tz
        parts = []
        for piece, lo, hi in self._cut(period.start_ts, period.end_ts):
            c = piece.closure
            parts.append(
                Part(
                    datetime.fromtimestamp(lo, tz),
                    datetime.fromtimestamp(hi, tz),
                    None if c is None else c.period.label,
                    None if c is None else c.revision,
                    None if c is None else c.generated_at,
                )
            )
        return tuple(parts)


def pieces_around(
    live: Reader,
    closed: list[Closure],
    start: int,
    end: int,
    stack: contextlib.ExitStack,
    *,
    sealed: bool = True,
) -> list[Piece]:
    """Live rows around every closed period that overlaps ``[start, end)``, each closed one from its
    snapshot (``sealed``: see :func:`open_snapshot`)."""
    pieces = []
    at = -FAR
    for c in closed:
        if c.period.end_ts <= start or c.period.start_ts >= end:
            continue
        if c.period.start_ts > at:
            pieces.append(Piece(at, c.period.start_ts, live, None))
        snap = stack.enter_context(open_snapshot(live, c, sealed=sealed))
        pieces.append(Piece(c.period.start_ts, c.period.end_ts, snap, c))
        at = c.period.end_ts
    pieces.append(Piece(at, FAR, live, None))
    return pieces


def frozen_history(
    live: Reader, closed: list[Closure], closure: Closure, snap: Reader, stack: contextlib.ExitStack
) -> list[Piece]:
    """A closed period with the days before it, as a project's figures since its start read them:
    each earlier closed period from its own snapshot, the days between and the period itself
    from ``closure``'s snapshot ``snap`` (as frozen with it)."""
    pieces = []
    at = -FAR
    for c in closed:
        if c.period.end_ts > closure.period.start_ts:
            continue
        if c.period.start_ts > at:
            pieces.append(Piece(at, c.period.start_ts, snap, closure))
        pieces.append(
            Piece(c.period.start_ts, c.period.end_ts, stack.enter_context(open_snapshot(live, c)), c)
        )
        at = c.period.end_ts
    pieces.append(Piece(at, FAR, snap, closure))
    return pieces


@contextlib.contextmanager
def open_snapshot(live: Reader, closure: Closure, *, sealed: bool = True) -> Iterator[Reader]:
    """The snapshot of ``closure``, reading the live store's sources, in one read transaction.

    ``sealed``: its packed rows, when a read needs them, are refused unless they are as sealed at
    the close; a check that fingerprints the rows itself (verify) reads them unsealed to name
    what changed."""
    directory = snapshot_location(live, closure)
    if not snapshot_exists(live, closure):
        raise StoreError(
            f"{directory}: the closed snapshot of {closure.period.label} is missing; restore it from a "
            f"backup or re-close with `reportgen close {closure.period.label} --reopen`"
        )
    with Reader.open(directory, snapshot=True) as snap:
        if sealed:
            subject = closure_subject(closure.period.label, closure.revision)
            snap.expect_rows_seal(recorded_seal(live, subject, "rows_seal"))
        snap.use_sources(live.sources)
        snap.begin()
        yield snap
