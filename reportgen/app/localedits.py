"""Which closed periods a sync changed at the gateway (amendments), and which were edited in the store.

A sync replaces the windows it reads with the gateway's rows; a closed period whose live
rows changed where the sync read nothing was edited in the store itself.  That is said in
a warning, not recorded as an amendment "at the gateway".
"""

from __future__ import annotations

from collections.abc import Sequence

from ..store import Amendment, Store, detect_amendments, edited_locally


def closed_changes(
    store: Store, now: int, span: tuple[int, int], windows: Sequence[tuple[int, int]], sync_id: int
) -> tuple[list[Amendment], list[str]]:
    """The amendments a sync of ``windows`` (inclusive, within ``span``) records, and the warnings
    for closed periods edited in the store."""
    edits = edited_locally(store, span, windows)
    amended = detect_amendments(
        store, now, overlapping=span, sync_id=sync_id, skip=[label for label, _ in edits]
    )
    return amended, [local_edit(label, rows) for label, rows in edits]


def local_edit(label: str, rows: int) -> str:
    """The warning for a closed period whose live rows were edited where this sync read nothing."""
    return (
        f"closed period {label}: {rows:,} row(s) in the local store differ from its closed snapshot on days "
        "this sync did not read from the gateway: the store was edited here, not at the gateway (no "
        f"amendment recorded); run `reportgen store check`, and `reportgen sync --period {label} --refetch` "
        "to read those days again"
    )


__all__ = ["closed_changes", "local_edit"]
