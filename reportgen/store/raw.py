"""Rows' raw JSON, kept compressed: zlib blobs, each holding the rows of one id range.

A blob holds either a JSON array of ``[id, raw]`` pairs (the API path: each row's text as
received) or a table, ``{"fields": [...], "rows": [[...], ...]}`` (the database source:
one page's values, the row ``first_id + i`` in ``rows[i]``), whose rows' text is written
when read, by the same :func:`~reportgen.core.rawjson.dumps_row` that
would have written it at sync time.  Writing a page as one table costs one ``orjson``
call instead of a dict and a dump per row.

Nothing computes from the raw JSON (figures, fingerprints and reconciliation read the
parsed columns); it is kept for inspection.  As a plain column it was 80 % of the store.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

from ..core.rawjson import dumps_row, dumps_table
from ..core.rawjson import orjson as _orjson
from .dialect import dialect_of

#: zlib level of the blobs: on log JSON 3 compresses 2.6x faster than 6 for ~20 % more bytes (55 vs 46 per row).
LEVEL = 3
#: zlib level of the table blobs: 1 compresses a page 1.35x faster than 3 for ~2.4 more bytes a row (44 vs 41.3).
TABLE_LEVEL = 1

TABLE = """
CREATE TABLE IF NOT EXISTS raw_blobs (first_id INTEGER PRIMARY KEY, last_id INTEGER NOT NULL, data BLOB NOT NULL)
"""


def keep_raw(cur: sqlite3.Cursor | sqlite3.Connection, pairs: list[tuple[int, str]]) -> None:
    """Store the raw JSON of rows ``(id, raw)`` (ids ascending) as one blob."""
    data = zlib.compress(_pairs_json(pairs), LEVEL)
    cur.execute(
        "INSERT INTO raw_blobs (first_id, last_id, data) VALUES (?, ?, ?)", (pairs[0][0], pairs[-1][0], data)
    )


def pack_table(fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes | None:
    """The compressed table blob of ``rows`` (one tuple of ``fields`` each), or None when orjson
    cannot write them as they are.  Pure: the sync builds it beside the store's writes.

    Call it only with values JSON carries exactly (``RowBatch.faithful``)."""
    data = dumps_table({"fields": fields, "rows": rows})
    return None if data is None else zlib.compress(data, TABLE_LEVEL)


def unpack_table(packed: bytes) -> list[list[Any]]:
    """The rows of a :func:`pack_table` blob."""
    rows: list[list[Any]] = (_orjson or json).loads(zlib.decompress(packed))["rows"]
    return rows


def keep_table(
    cur: sqlite3.Cursor | sqlite3.Connection,
    first: int,
    count: int,
    packed: bytes | None,
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Store the raw values of the ``count`` rows ``first, first + 1, ...``: ``packed`` (their
    :func:`pack_table`), else ``rows`` (one tuple of ``fields`` each) as ``[id, raw]`` pairs."""
    if packed is None:
        keep_raw(
            cur, [(first + i, dumps_row(dict(zip(fields, row, strict=True)))) for i, row in enumerate(rows)]
        )
        return
    cur.execute(
        "INSERT INTO raw_blobs (first_id, last_id, data) VALUES (?, ?, ?)", (first, first + count - 1, packed)
    )


def blob_rows(first_id: int, data: bytes) -> Iterator[tuple[int, str]]:
    """``(id, raw)`` of every row of the blob at ``first_id``, in id order."""
    text = zlib.decompress(data)
    try:
        value = (_orjson or json).loads(text)
    except ValueError:  # a lone surrogate, escaped: only the stdlib reads it back
        value = json.loads(text)
    if isinstance(value, dict):
        fields = value["fields"]
        for i, row in enumerate(value["rows"]):
            yield first_id + i, dumps_row(dict(zip(fields, row, strict=True)))
    else:
        yield from ((row_id, raw) for row_id, raw in value)


def _pairs_json(pairs: list[tuple[int, str]]) -> bytes:
    if _orjson is not None:
        try:
            data: bytes = _orjson.dumps(pairs)
            return data
        except TypeError:  # a lone surrogate in a raw row: the stdlib writes it, escaped (UTF-8 has none)
            pass
    return json.dumps(pairs, separators=(",", ":")).encode()


def forget_raw(cur: sqlite3.Cursor | sqlite3.Connection, ids: set[int], lo: int, hi: int) -> None:
    """Drop the raw JSON of rows ``ids`` (all within ``[lo, hi]``) from the blobs holding them."""
    blobs = cur.execute(
        "SELECT first_id, data FROM raw_blobs WHERE first_id <= ? AND last_id >= ?", (hi, lo)
    ).fetchall()
    for first_id, data in blobs:
        cur.execute("DELETE FROM raw_blobs WHERE first_id = ?", (first_id,))
        kept = [(i, raw) for i, raw in blob_rows(first_id, data) if i not in ids]
        if kept:
            keep_raw(cur, kept)


class RawLookup:
    """The raw JSON of a row by id, decompressing one blob at a time (rows come in id order per window)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._legacy = dialect_of(conn).has_table(conn, "log_raw")
        self._pairs: dict[int, str] = {}

    def __getitem__(self, row_id: int) -> str:
        raw = self._pairs.get(row_id)
        if raw is not None:
            return raw
        if self._legacy:  # a snapshot closed before schema 6 keeps its uncompressed table
            row = self._conn.execute("SELECT raw FROM log_raw WHERE id = ?", (row_id,)).fetchone()
            return "" if row is None else str(row[0])
        self._pairs = {}
        for first_id, data in self._conn.execute(
            "SELECT first_id, data FROM raw_blobs WHERE first_id <= ? AND last_id >= ?", (row_id, row_id)
        ):
            self._pairs.update(blob_rows(first_id, data))
        return self._pairs.get(row_id, "")
