"""What one listing may hold: a page bound, the gateway's own ``data.total``, each row once.

A gateway that keeps sending full pages (ignoring ``p``, or with changing ids) would be
paged forever; one that repeats rows across pages would have them stored twice; rows
whose sums pass :data:`~.amounts.MAX_AMOUNT` could overflow the store's aggregates.  Each
raises a :class:`~reportgen.errors.GatewayProtocolError` subclass, so sync leaves the
window incomplete and keeps the windows already committed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..core.records import UsageRecord
from ..errors import GatewayDataError, GatewayProtocolError
from .amounts import MAX_AMOUNT
from .parse import parse_log_row

#: Pages one listing (a sync window of at most a day, or the key list) may take: 500,000
#: log rows a day at 100 a page, 50,000 at one-api's 10.  A server still sending full
#: pages past this ignores paging; the window is refused rather than paged forever.
MAX_PAGES = 5000
_SAVED = "nothing from this listing was saved"


class ListingBound:
    """Counts a listing's pages and rows; raises once it goes on past any plausible end.

    ``data.total`` bounds the listing but does not end it (the contract is to stop on a
    short page): more than one page past the total is misbehaviour.  A total of 0 beside
    rows is a known bug of some releases and bounds nothing.
    """

    def __init__(self, path: str, max_pages: int = MAX_PAGES) -> None:
        self.path = path
        self.max_pages = max(1, max_pages)
        self.pages = self.rows = 0
        self.total: int | None = None

    def before_page(self) -> None:
        if self.pages >= self.max_pages:
            raise GatewayProtocolError(
                f"{self.path}: still full pages after {self.pages:,} pages ({self.rows:,} rows) for one "
                f"listing: the gateway ignores paging or misreports page sizes; {_SAVED}"
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
    """Parses one window's rows, each once: repeats dropped and counted, sums bounded.

    A row is a repeat when its non-zero ``id``, ``request_id`` and ``created_at`` match a
    row already received in this window.  new-api's ``id`` is the row's position (db id %
    1024 on older builds, 0 on one-api), so it is never trusted alone; two genuine twin
    rows differ in position and are both kept.
    """

    def __init__(self, start_ts: int, end_ts: int) -> None:
        self.label = f"/api/log/self window {utc(start_ts)} .. {utc(end_ts)} UTC"
        self.duplicates = 0
        self._seen: set[tuple[int, str, Any]] = set()
        self._sums = [0, 0, 0]

    def accept(self, items: list[dict], full_page: int) -> list[UsageRecord]:
        """The page's new rows as records; raises on an impossible value or a page of repeats."""
        records: list[UsageRecord] = []
        repeats = 0
        for item in items:
            key = row_key(item)
            if key is not None:
                if key in self._seen:
                    repeats += 1
                    continue
                self._seen.add(key)
            try:
                record = parse_log_row(item)
            except GatewayDataError as exc:
                raise GatewayDataError(
                    f"{self.label}: {exc}: the gateway misbehaved; window not saved"
                ) from None
            self._sums[0] += record.quota
            self._sums[1] += record.prompt_tokens
            self._sums[2] += record.completion_tokens
            records.append(record)
        self.duplicates += repeats
        if repeats == len(items) >= full_page:  # a full page of repeats: paging would go on
            raise GatewayProtocolError(
                f"{self.label}: a full page repeated only rows already received: the gateway ignores "
                "paging; window not saved"
            )
        if max(self._sums) > MAX_AMOUNT:
            raise GatewayDataError(
                f"{self.label}: the rows sum to more than 2^48 = {MAX_AMOUNT:,} quota or tokens: the "
                "gateway misbehaved; window not saved"
            )
        return records


def row_key(item: dict[str, Any]) -> tuple[int, str, Any] | None:
    """What makes a row the same row on two pages of one window, or None if nothing can."""
    row_id, request_id, created = item.get("id"), item.get("request_id"), item.get("created_at")
    if type(row_id) is not int or row_id == 0 or not isinstance(request_id, str) or not request_id:
        return None
    return row_id, request_id, created if isinstance(created, int | str) else None


def utc(ts: int) -> str:
    """A Unix time as ``YYYY-MM-DD HH:MM:SS`` UTC for messages (the number itself if out of range)."""
    try:
        return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return str(ts)
