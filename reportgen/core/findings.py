"""Window findings: the rows a source served for a window that were not stored as rows, by reason.

Every row the gateway serves for a sync window is stored, or counted here: a row whose
``created_at`` lies outside the window (it cannot be stored in a window it does not belong
to, and the window it names may hold it too), a row whose ``created_at`` cannot be read
(an ISO string, ``-1``, ``"yesterday"``), or a row the pages repeated (stored once).  A
repeat is explained: the window still holds every row.  The other two are not: the
window's figures miss rows nobody can place, so the window is stored but not complete.
A row with a name longer than :data:`~reportgen.core.text.MAX_NAME` is stored with the name
cut (the raw row keeps it whole) and counted too: it is in every figure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

#: Rows left out because their time lies outside the window asked for.
OUTSIDE = "outside"
#: Rows left out because their time cannot be read.
UNREADABLE = "unreadable"
#: Rows the pages repeated, stored once.
DUPLICATE = "duplicate"
#: Rows stored with a name cut to MAX_NAME characters (whole in the raw row).
CUT = "cut"
#: Every reason, in the order they are told.
REASONS = (UNREADABLE, OUTSIDE, DUPLICATE, CUT)
#: The reasons that leave a window incomplete: rows that are in no figure.
UNEXPLAINED = frozenset({UNREADABLE, OUTSIDE})
#: How long an example value may be (it is shown to the user and stored).
EXAMPLE_CHARS = 60

_WORDS = {
    UNREADABLE: "with an unreadable created_at",
    OUTSIDE: "dated outside the window",
    DUPLICATE: "repeated across pages, kept once",
    CUT: "with a name longer than 1,024 characters, stored cut (whole in the raw row)",
}


@dataclass(frozen=True)
class WindowFinding:
    """``rows`` rows of one window left out for ``reason``; ``quota`` their quota where readable,
    ``example`` one offending ``created_at`` as received (shortened, printable)."""

    start_ts: int
    end_ts: int
    reason: str
    rows: int
    quota: int = 0
    example: str = ""

    @property
    def unexplained(self) -> bool:
        """True when the rows are in no figure (the window is not complete)."""
        return self.reason in UNEXPLAINED

    def describe(self) -> str:
        """``86 rows with an unreadable created_at (e.g. '2026-04-10T08:00:00Z')``."""
        text = f"{self.rows:,} row{'' if self.rows == 1 else 's'} {_WORDS.get(self.reason, self.reason)}"
        return text + (f" (e.g. {self.example})" if self.example and self.reason in UNEXPLAINED else "")


@dataclass
class WindowTally:
    """Counts one window's findings while its pages are read."""

    start_ts: int
    end_ts: int
    _rows: dict[str, int] = field(default_factory=dict)
    _quota: dict[str, int] = field(default_factory=dict)
    _example: dict[str, str] = field(default_factory=dict)

    def add(self, reason: str, quota: int = 0, example: str = "", rows: int = 1) -> None:
        self._rows[reason] = self._rows.get(reason, 0) + rows
        self._quota[reason] = self._quota.get(reason, 0) + quota
        if example and reason not in self._example:
            self._example[reason] = shorten(example)

    def count(self, reason: str) -> int:
        return self._rows.get(reason, 0)

    def findings(self) -> tuple[WindowFinding, ...]:
        """What was counted, a :class:`WindowFinding` per reason, in :data:`REASONS` order."""
        return tuple(
            WindowFinding(
                self.start_ts,
                self.end_ts,
                reason,
                self._rows[reason],
                self._quota.get(reason, 0),
                self._example.get(reason, ""),
            )
            for reason in sorted(self._rows, key=_order)
            if self._rows[reason]
        )


def unexplained(findings: Iterable[WindowFinding]) -> int:
    """The rows of ``findings`` that are in no figure."""
    return sum(f.rows for f in findings if f.unexplained)


def by_reason(findings: Iterable[WindowFinding]) -> dict[str, int]:
    """Rows per reason, in :data:`REASONS` order (reasons without rows left out)."""
    out: dict[str, int] = {}
    for f in sorted(findings, key=lambda f: _order(f.reason)):
        out[f.reason] = out.get(f.reason, 0) + f.rows
    return out


def describe_counts(counts: dict[str, int]) -> str:
    """``86 rows with an unreadable created_at, 50 rows repeated across pages, kept once``."""
    return ", ".join(f"{n:,} row{'' if n == 1 else 's'} {_WORDS.get(r, r)}" for r, n in counts.items())


def shorten(text: str) -> str:
    """``text`` printable, on one line and at most :data:`EXAMPLE_CHARS` characters."""
    clean = "".join(c if c.isprintable() else "?" for c in text)
    return clean if len(clean) <= EXAMPLE_CHARS else clean[: EXAMPLE_CHARS - 1] + "…"


def _order(reason: str) -> int:
    return REASONS.index(reason) if reason in REASONS else len(REASONS)
