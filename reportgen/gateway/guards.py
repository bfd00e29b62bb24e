"""What one listing may hold: a page bound, the gateway's own ``data.total``, each row once.

A gateway that keeps sending full pages (ignoring ``p``, or with changing ids) would be
paged forever; one that repeats rows across pages would have them stored twice; rows
dated outside the window, or not readably dated, would be dropped without a word; rows
whose sums pass :data:`~.amounts.MAX_AMOUNT` could overflow the store's aggregates.  Each
raises a :class:`~reportgen.errors.GatewayProtocolError` subclass, so sync leaves the
window incomplete and keeps the windows already committed.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from ..core.findings import CUT, DUPLICATE, OUTSIDE, UNREADABLE, WindowTally
from ..core.rawjson import dumps_row
from ..core.records import UsageRecord
from ..core.text import was_cut
from ..errors import GatewayDataError, GatewayProtocolError
from .amounts import MAX_AMOUNT, amount, show_value
from .parse import created_at_of, parse_log_row

#: Pages one listing (a sync window of at most a day, or the key list) may take: 500,000
#: log rows a day at 100 a page, 50,000 at one-api's 10.  A server still sending full
#: pages past this ignores paging; the window is refused rather than paged forever.
MAX_PAGES = 5000
#: Seconds one listing may page on without a ``data.total`` that bounds it (absent, or 0 beside
#: rows): 1,800 pages at the default rate limit.  Full pages for longer are a gateway that
#: ignores paging, refused rather than paged for 83 minutes up to MAX_PAGES.
MAX_LISTING_SECONDS = 1800.0
_SAVED = "nothing from this listing was saved"


class ListingBound:
    """Counts a listing's pages and rows; raises once it goes on past any plausible end.

    ``data.total`` bounds the listing but does not end it (the contract is to stop on a
    short page): more than one page past the total is misbehaviour.  A total of 0 beside
    rows is a known bug of some releases and bounds nothing.
    """

    def __init__(
        self,
        path: str,
        max_pages: int = MAX_PAGES,
        clock: Callable[[], float] = time.monotonic,
        max_seconds: float = MAX_LISTING_SECONDS,
    ) -> None:
        self.path = path
        self.max_pages = max(1, max_pages)
        self.pages = self.rows = 0
        self.total: int | None = None
        self._clock = clock
        self._started = clock()
        self.max_seconds = max_seconds

    def before_page(self) -> None:
        if self.pages >= self.max_pages:
            raise GatewayProtocolError(
                f"{self.path}: still full pages after {self.pages:,} pages ({self.rows:,} rows) for one "
                f"listing: the gateway ignores paging or misreports page sizes; {_SAVED}"
            )
        elapsed = self._clock() - self._started
        if self.total is None and self.pages and elapsed > self.max_seconds:
            raise GatewayProtocolError(
                f"{self.path}: still full pages after {elapsed:,.0f} s ({self.pages:,} pages, {self.rows:,} "
                "rows) without a data.total that bounds them: the gateway ignores paging or misreports "
                f"page sizes; {_SAVED}"
            )

    def after_page(self, data: Any, items: list[dict], page_size: int) -> None:
        self.pages += 1
        self.rows += len(items)
        if self.total is None and isinstance(data, dict):
            claimed = data.get("total")
            if type(claimed) is int and claimed > 0:
                self.total = claimed
        if self.total is not None and self.rows > self.total + page_size:
            raise GatewayProtocolError(
                f"{self.path}: the gateway sent {self.rows:,} rows, more than a page past its own "
                f"data.total of {self.total:,}: it ignores paging; {_SAVED}"
            )


class WindowRows:
    """Parses one window's rows: each stored row once, every other row counted by reason, sums bounded.

    A row whose ``created_at`` cannot be read, or lies outside the window, is counted (see
    :mod:`reportgen.core.findings`), never parsed into the window.  A row the pages repeat is
    counted and kept once (:class:`RowIdentity`).
    """

    def __init__(
        self, start_ts: int, end_ts: int, row_ids: str = "position", memory: RepeatMemory | None = None
    ) -> None:
        self.start_ts, self.end_ts = start_ts, end_ts
        self.label = f"/api/log/self window {utc(start_ts)} .. {utc(end_ts)} UTC"
        self.tally = WindowTally(start_ts, end_ts)
        self.identity = RowIdentity(row_ids, memory)
        self.sums = WindowSums(self.label)

    @property
    def duplicates(self) -> int:
        return self.tally.count(DUPLICATE)

    def accept(self, items: list[dict], full_page: int, total: int | None = None) -> list[UsageRecord]:
        """The page's rows to store; raises on an impossible value or a page of repeats.

        ``total`` is the listing's ``data.total`` as this page gave it (None: not given).
        Rows that may be repeats or twins (no ids: alike a row of the page before) are held
        in ``undecided`` until :meth:`settle` is told whether the listing moved.
        """
        records: list[UsageRecord] = []
        repeats = 0
        digests = [content_digest(item) for item in items]
        run = self.identity.next_page(total, digests)
        self.undecided: list[dict[str, Any]] = []
        for i, (item, digest) in enumerate(zip(items, digests, strict=True)):
            seen = self.identity.repeat(item, digest, boundary=i < run)
            if seen is None:
                self.undecided.append(item)
                continue
            if seen:
                repeats += 1
                self.tally.add(DUPLICATE, _quota(item))
                continue
            record = self._placed(item)
            if record is not None:
                records.append(record)
        if repeats + len(self.undecided) == len(items) >= full_page and repeats:
            raise GatewayProtocolError(  # a full page of repeats: paging would go on
                f"{self.label}: a full page repeated only rows already received: the gateway ignores "
                "paging; window not saved"
            )
        self.sums.check()
        return records

    def settle(self, moved: bool) -> list[UsageRecord]:
        """The undecided rows of the last page: repeats when the listing ``moved`` (re-read, the page
        before differs: rows were pushed onto this one), else genuine twins, stored."""
        records = []
        for item in self.undecided:
            if moved:
                self.tally.add(DUPLICATE, _quota(item))
            elif (record := self._placed(item)) is not None:
                records.append(record)
        self.undecided = []
        self.sums.check()
        return records

    def _placed(self, item: dict[str, Any]) -> UsageRecord | None:
        """``item`` as a record when its time places it in the window, else counted and None."""
        stamp = created_at_of(item.get("created_at"))
        if stamp is None:
            self.tally.add(UNREADABLE, _quota(item), show_value(item.get("created_at")))
            return None
        if not self.start_ts <= stamp <= self.end_ts:
            self.tally.add(OUTSIDE, _quota(item), f"{utc(stamp)} UTC")
            return None
        try:
            record = parse_log_row(item)
        except GatewayDataError as exc:
            raise GatewayDataError(f"{self.label}: {exc}: the gateway misbehaved; window not saved") from None
        self.sums.add(record.quota, record.prompt_tokens, record.completion_tokens)
        r = record
        if any(map(was_cut, (r.token_name, r.model_name, r.request_id, r.client, r.billing_source, r.group,
                             r.username))):  # fmt: skip
            self.tally.add(CUT, record.quota)
        return record


class WindowSums:
    """The sums of one window's quota and token counts, bounded by :data:`~.amounts.MAX_AMOUNT` so that
    no aggregate of stored rows can overflow the store's 64-bit integers (both sources)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.quota = self.prompt = self.completion = 0

    def add(self, quota: int, prompt: int, completion: int) -> None:
        self.quota += quota
        self.prompt += prompt
        self.completion += completion

    def check(self) -> None:
        """Raise :class:`~reportgen.errors.GatewayDataError` once a sum passes the bound."""
        if max(self.quota, self.prompt, self.completion) > MAX_AMOUNT:
            raise GatewayDataError(
                f"{self.label}: the rows sum to more than 2^48 = {MAX_AMOUNT:,} quota or tokens: the "
                "gateway misbehaved; window not saved"
            )


class RowIdentity:
    """Which rows of one window's listing are repeats of rows already received, by full content.

    Two rows are the same row only when everything but ``id`` is equal, and then ``id``
    decides, as the flavour's ``row_ids`` says what it is:

    - ``"position"`` (new-api): the row's place in the listing.  The same place again is a
      repeat.  Offset paging over a list that grew moves every row down: a row of an earlier
      page comes again up to as many places further as ``data.total`` grew since, and is a
      repeat; anywhere else it is a genuine twin (two requests logged alike), kept.
    - ``"stable"``: the row's own id; the same id again is a repeat, another id a twin.
    - ``"none"`` (one-api's ``0``, or a row without an id): rows alike on one page are twins
      (one query never lists a row twice), and a row alike one of an earlier page is that row
      again, except at the boundary: when a page starts with the rows the page before ended
      with, they are twins split by the boundary or rows a growing list pushed down, and are
      undecided (None) until the caller reads the page before again (:meth:`WindowRows.settle`).
    """

    def __init__(self, row_ids: str = "position", memory: RepeatMemory | None = None) -> None:
        self.row_ids = row_ids
        self._page = 0
        self._total: int | None = None
        # content digest -> [place id, the listing's total then, page, still stands for a repeat]
        self._seen: RepeatMemory = InMemoryRepeats() if memory is None else memory
        self._last: list[bytes] = []

    def next_page(self, total: int | None, digests: list[bytes]) -> int:
        """Start the next page (its rows' :func:`content_digest`); returns how many of its first
        rows are, in order, the last rows of the page before."""
        self._page += 1
        self._total = total if type(total) is int and total > 0 else None
        last, self._last = self._last, digests
        for run in range(min(len(last), len(digests)), 0, -1):
            if digests[:run] == last[-run:]:
                return run
        return 0

    def repeat(self, item: dict[str, Any], digest: bytes, boundary: bool = False) -> bool | None:
        """True when ``item`` is a row already received, False when it is new, None when only
        re-reading the page before can tell (``boundary``: it is one of this page's first rows
        that the page before ended with); it is remembered either way."""
        row_id = item.get("id")
        if type(row_id) is not int or row_id == 0 or self.row_ids == "none":
            row_id = None
        earlier = self._seen.get(digest)
        entry = [row_id, self._total, self._page, True]
        if earlier is None:
            self._seen.put(digest, [entry])
            return False
        for seen in earlier:
            if row_id is None or seen[0] is None:
                if row_id is None and seen[0] is None and seen[2] < self._page and seen[3]:
                    seen[3] = False
                    if boundary and seen[2] == self._page - 1:
                        earlier.append(entry)  # a twin, if the page before reads the same again
                        self._seen.put(digest, earlier)
                        return None
                    self._seen.put(digest, earlier)
                    return True
                continue
            if seen[0] == row_id:
                return True
            grown = self._total - seen[1] if self._total is not None and seen[1] is not None else 0
            if self.row_ids == "position" and 0 < row_id - seen[0] <= grown:
                seen[0], seen[1] = row_id, self._total  # the row, where it is listed now
                self._seen.put(digest, earlier)
                return True
        earlier.append(entry)
        self._seen.put(digest, earlier)
        return False


class RepeatMemory(Protocol):
    """What :class:`RowIdentity` remembers of a window's rows: content digest -> the rows received
    with that content, each ``[place id or None, data.total then, page, still stands for a repeat]``.

    ``get`` returns a list the caller may change and hands back with ``put``.  A window of a
    sync remembers its rows in the store (:meth:`reportgen.store.Store.repeat_memory`), so the
    sync's memory stays flat however many pages a window takes; :class:`InMemoryRepeats` serves
    listings with no store beside them.
    """

    def get(self, digest: bytes) -> list[list[Any]] | None: ...

    def put(self, digest: bytes, entries: list[list[Any]]) -> None: ...


class InMemoryRepeats:
    """:class:`RepeatMemory` in a dict (about 160 bytes a row)."""

    def __init__(self) -> None:
        self._seen: dict[bytes, list[list[Any]]] = {}

    def get(self, digest: bytes) -> list[list[Any]] | None:
        return self._seen.get(digest)

    def put(self, digest: bytes, entries: list[list[Any]]) -> None:
        self._seen[digest] = entries


def content_digest(item: dict[str, Any]) -> bytes:
    """What a row says, but for its ``id``, as 16 bytes: rows alike have the same digest."""
    content = dumps_row({k: v for k, v in item.items() if k != "id"})
    return hashlib.blake2b(content.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _quota(item: dict[str, Any]) -> int:
    """A row's quota where it reads as one (else 0): what a row left out would have counted."""
    try:
        return amount(item, "quota")
    except GatewayDataError:
        return 0


def utc(ts: int) -> str:
    """A Unix time as ``YYYY-MM-DD HH:MM:SS`` UTC for messages (the number itself if out of range)."""
    try:
        return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return str(ts)
