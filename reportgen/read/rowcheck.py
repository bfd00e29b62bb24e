"""Re-checking rows against the store (verify): their fingerprint and count now, and which rows changed."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ..core.fingerprint import ROW_FIELDS
from ..store import Amendment, Closure, Reader, closures, find_closure, pending_amendment
from .timeline import Timeline, open_snapshot, pieces_around


@dataclass(frozen=True)
class RowCheck:
    """The fingerprint and count of some rows as the store holds them now, and what they were read from."""

    account: tuple[str, int | None]
    fingerprint: str
    count: int
    closure: Closure | None = None
    latest_revision: int | None = None
    pending: Amendment | None = None
    changes: tuple[str, ...] = ()  # rows that differ from the packet's, described (first ones)


def check_rows(
    store_dir: Any,
    start_ts: int,
    end_ts: int,
    token_names: tuple[str, ...] | None,
    *,
    closed: tuple[str, int] | None = None,
    packet_rows: Iterable[tuple[bytes, str]] | None = None,
    tz: Any = UTC,
) -> RowCheck:
    """Fingerprint the rows of ``[start_ts, end_ts)`` the way a view of that span reads them.

    With ``closed`` = (label, revision), the rows are read from that revision's snapshot
    (kept revisions: a packet of revision 1 still checks after a re-close).  When the
    fingerprint differs and ``packet_rows`` (the packet's ``(digest, line)`` in digest
    order) are given, ``changes`` names the rows that differ.
    """
    with contextlib.ExitStack() as stack:
        live = stack.enter_context(Reader.open(store_dir))
        live.begin()
        account = live.account()
        closure = latest = None
        pending = None
        if closed is not None:
            closure = find_closure(live, closed[0], closed[1])
            latest = find_closure(live, closed[0])
        if closure is not None and latest is not None:
            snap = stack.enter_context(open_snapshot(live, closure, sealed=False))
            timeline = Timeline.of_snapshot(snap, closure, UTC)
            pending = pending_amendment(live, latest)
        else:
            closure = latest = None
            pieces = pieces_around(live, closures(live), start_ts, end_ts, stack, sealed=False)
            timeline = Timeline(pieces, UTC)
        check = RowCheck(
            account,
            timeline.fingerprint(start_ts, end_ts, token_names),
            timeline.count_rows(start_ts, end_ts, token_names),
            closure,
            None if latest is None else latest.revision,
            pending,
        )
        if packet_rows is not None:
            now = timeline.canonical_rows(start_ts, end_ts, token_names)
            check = replace(check, changes=tuple(describe_changes(packet_rows, now, tz)))
        return check


_DIFF_LIMIT = 1000


def describe_changes(
    then: Iterable[tuple[bytes, str]], now: Iterable[tuple[bytes, str]], tz: Any
) -> list[str]:
    """Rows in one digest-ordered stream and not the other, paired into edits where they are the same request."""
    gone: list[tuple[Any, ...]] = []
    added: list[tuple[Any, ...]] = []
    a, b = iter(then), iter(now)
    x, y = next(a, None), next(b, None)
    while (x is not None or y is not None) and len(gone) + len(added) < _DIFF_LIMIT:
        if y is None or (x is not None and x[0] < y[0]):
            gone.append(tuple(json.loads(x[1])))  # type: ignore[index]
            x = next(a, None)
        elif x is None or y[0] < x[0]:
            added.append(tuple(json.loads(y[1])))
            y = next(b, None)
        else:
            x, y = next(a, None), next(b, None)
    out = []
    for old in gone:
        same = next((new for new in added if _same_request(old, new)), None)
        if same is None:
            out.append(f"row gone since: {_row_text(old, tz)}")
            continue
        added.remove(same)
        fields = [
            f"{name} {old[i]!r} then, {same[i]!r} now"
            for i, name in enumerate(ROW_FIELDS)
            if old[i] != same[i]
        ]
        out.append(f"row changed: {_row_text(old, tz)}: {', '.join(fields)}")
    out += [f"row added since: {_row_text(new, tz)}" for new in added]
    return out


def _same_request(old: tuple[Any, ...], new: tuple[Any, ...]) -> bool:
    if old[9] and old[9] == new[9]:  # the request id
        return True
    return (old[0], old[1], old[2], old[3]) == (new[0], new[1], new[2], new[3])


def _row_text(row: tuple[Any, ...], tz: Any) -> str:
    when = datetime.fromtimestamp(row[0], tz).strftime("%Y-%m-%d %H:%M:%S")
    request = f", request {row[9]}" if row[9] else ""
    return f"{when} type {row[1]} key {row[2]} model {row[3]} quota {row[4]}{request}"
