"""What one sync did (:class:`SyncResult`), and how it is told: one summary line, one error line."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from ..core.findings import REASONS, WindowFinding, unexplained
from ..errors import GatewayDataError


@dataclass(frozen=True)
class SyncResult:
    """What one sync did."""

    target: tuple[int, int]
    windows: int
    skipped: int
    rows: int
    pages: int
    requests: int
    seconds: float
    flavor: str
    keys: int
    #: Closed periods whose rows this sync changed (each recorded as an amendment).
    amended: tuple[str, ...] = ()
    #: What was read, when not the API ("the new-api (with request_id) database postgresql://...").
    source: str = ""
    #: Rows a window's pages repeated (same content; ids as the flavour tells them), kept once.
    duplicates: int = 0
    #: Rows stored with a name longer than MAX_NAME cut (whole in the raw row).
    cut: int = 0
    #: The rows served for a window but in no figure (dated outside it, unreadably dated): each
    #: such window is stored without coverage.
    findings: tuple[WindowFinding, ...] = ()
    #: What the user should hear: plain-http tokens, implausible gateway values.
    warnings: tuple[str, ...] = ()
    #: The source's name (``default`` for ``[gateway]``).
    name: str = "default"
    #: With several sources: each one's result (the fields above are their sums).
    parts: tuple[SyncResult, ...] = ()
    #: Windows read again by the look-back: rows were committed there after they were read.
    reread: int = 0
    #: Windows of the last days and of recently closed periods read again for late rows.
    looked_back: int = 0
    #: ``(label, advice)`` of each unclosed month whose rows the log table's TTL deletes soon.
    expiring: tuple[tuple[str, str], ...] = ()

    def summary(self) -> str:
        if self.parts:
            return "\n".join(f"[{p.name}] {p.summary()}" for p in self.parts)
        start = datetime.fromtimestamp(self.target[0], UTC).strftime("%Y-%m-%d %H:%M")
        end = datetime.fromtimestamp(self.target[1], UTC).strftime("%Y-%m-%d %H:%M")
        already = f"; {self.skipped} already in the store" if self.skipped else ""
        return (
            f"Synced {start} .. {end} UTC from {self.source or f'a {self.flavor} gateway'}: "
            f"{_plural(self.windows, 'window')}, "
            f"{self.rows:,} rows, {self.pages:,} pages, {self.requests:,} requests in {self.seconds:.1f} s"
            f"{already}; {self.keys} keys listed"
            + (
                f"; {_plural(self.duplicates, 'row')} repeated across pages kept once"
                if self.duplicates
                else ""
            )
            + (
                f"; {_plural(self.cut, 'row')} with a name longer than 1,024 characters stored with the name "
                "cut (whole in the raw row)"
                if self.cut
                else ""
            )
            + (f"; {self.unplaced_text()}" if self.findings else "")
            + (
                f"; {_plural(self.reread, 'window')} read again: rows were committed there after it was read"
                if self.reread
                else ""
            )
            + (
                f"; {_plural(self.looked_back, 'window')} looked back at for late rows"
                if self.looked_back
                else ""
            )
            + (
                f"; closed period(s) {', '.join(self.amended)} changed at the gateway: kept as amendments "
                "(see `reportgen amendments`), their documents unchanged"
                if self.amended
                else ""
            )
        )

    def unplaced_text(self) -> str:
        """``86 rows not stored (86 rows with an unreadable created_at (e.g. '…')) in 2026-04-10: …``."""
        days = sorted({f.start_ts for f in self.findings})
        shown = ", ".join(
            datetime.fromtimestamp(d, UTC).strftime("%Y-%m-%d %H:%M") + " UTC" for d in days[:3]
        ) + (f" and {len(days) - 3} more" if len(days) > 3 else "")
        whys = []
        for reason in REASONS:
            mine = [f for f in self.findings if f.reason == reason]
            if mine:
                example = next((f.example for f in mine if f.example), "")
                whys.append(replace(mine[0], rows=sum(f.rows for f in mine), example=example).describe())
        count = unexplained(self.findings)
        return (
            f"{_plural(count, 'row')} the gateway served could not be placed ({'; '.join(whys)}): not stored, "
            f"and the {_plural(len(days), 'window')} from {shown} left incomplete"
        )

    def check(self) -> None:
        """Raise when rows were left out of the figures (the summary was shown): a one-line
        :class:`~reportgen.errors.GatewayDataError`, so a scheduled sync does not pass it by."""
        if self.findings:
            raise GatewayDataError(
                f"{self.unplaced_text()}; the figures of those days miss them: run `reportgen sync` "
                "again once the gateway serves them readably dated"
            )


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")
