"""A wallet balance at a period's end: a balance read, rolled through the stored rows, or not known.

Pure.  The gateway tells a balance only when it is read (at a sync: ``/api/user/self``, or
its users table), each "after every row logged before ``read_at``".  A balance at a
boundary is a read rolled through every row between it and the boundary; that takes the
rows of the whole span in the store and each credit among them read.  When no read can be
rolled so, the end is not known — never the nearest read's balance borrowed — and the span
that kept the nearest read from reaching it is named, to be synced.

Both ends told by one read close by construction (opening and closing differ by exactly
the logged flows between them), so two different reads are preferred; one read for both
is said (:data:`ONE_READ`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from .wallet import Balance, End, Flow

#: What ``tell_ends`` says when one balance read tells both ends.
ONE_READ = "one_read"

FlowBetween = Callable[[int, int], Flow]
GapsBetween = Callable[[int, int], list[tuple[int, int]]]


def rolled(
    reads: Sequence[Balance], boundary: int, flow_between: FlowBetween, gaps_between: GapsBetween
) -> Iterator[tuple[Balance, End]]:
    """Each read that can be rolled to ``boundary`` (no gap, every credit read), and the end it
    tells, the nearest first."""
    for read in sorted(reads, key=lambda b: (abs(b.read_at - boundary), b.read_at)):
        lo, hi = sorted((read.read_at, boundary))
        if gaps_between(lo, hi):
            continue
        flow = flow_between(lo, hi)
        if flow.unreadable:
            continue
        moved = flow.change if read.read_at <= boundary else -flow.change
        yield read, End(read.quota + moved, read.read_at, read.quota, moved)


def unknown(reads: Sequence[Balance], boundary: int, gaps_between: GapsBetween) -> End:
    """An end no read tells: the nearest read, and what keeps it from the boundary (the store's
    missing spans; none when credit rows between could not be read)."""
    if not reads:
        return End(None)
    near = min(reads, key=lambda b: (abs(b.read_at - boundary), b.read_at))
    lo, hi = sorted((near.read_at, boundary))
    return End(None, near.read_at, near.quota, 0, tuple(gaps_between(lo, hi)))


def tell_ends(
    reads: Sequence[Balance], start: int, end: int, flow_between: FlowBetween, gaps_between: GapsBetween
) -> tuple[End, End, bool]:
    """``(opening, closing, one read told both)``: each end rolled from the nearest read that
    reaches it, two different reads when there are, else the one read for both."""
    opening = next(rolled(reads, start, flow_between, gaps_between), None)
    closing = next(
        (
            told
            for told in rolled(reads, end, flow_between, gaps_between)
            if opening is None or told[0] is not opening[0]
        ),
        None,
    )
    one = False
    if opening is not None and closing is None:
        # the only read reaching the closing may be the opening's: another for the opening, else one for both
        closing = next(rolled(reads, end, flow_between, gaps_between), None)
        if closing is not None:
            other = next(
                (t for t in rolled(reads, start, flow_between, gaps_between) if t[0] is not closing[0]), None
            )
            opening, one = (other, False) if other is not None else (opening, True)
    return (
        opening[1] if opening is not None else unknown(reads, start, gaps_between),
        closing[1] if closing is not None else unknown(reads, end, gaps_between),
        one,
    )
