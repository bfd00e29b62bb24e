"""The content fingerprint of a set of log rows: how any verifier recomputes it from the rows alone.

Each row is written canonically as a compact JSON array of :data:`ROW_FIELDS`, in that
order (``json.dumps(values, ensure_ascii=False, separators=(",", ":"))``; booleans as
0/1, missing values as ``null``).  A row's digest is the SHA-256 of that line's UTF-8
bytes; the fingerprint is the SHA-256 of the row digests (32 bytes each) concatenated in
ascending byte order.  Identical rows keep their multiplicity.  Every field that reaches
a figure or a document is in the line, so an edit of any of them changes the fingerprint;
the store's row id (a position) and the raw JSON (which carries that id) are not.

A packet's ``rows.jsonl`` holds exactly these lines, one per row, in digest order.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import operator
from collections.abc import Iterable, Sequence
from typing import Any

from .rawjson import orjson as _orjson  # one page of canonical lines ~15x faster than row by row

#: Version of the scheme described above (1 hashed digests stored at sync time).
FINGERPRINT_SCHEME = 2

#: The fields of a canonical row, in order (the store's column names; ``grp`` is ``group``).
ROW_FIELDS = (
    "created_at", "type", "token_name", "model_name", "quota", "prompt_tokens", "completion_tokens",
    "use_time_ms", "is_stream", "request_id", "client", "http_status", "billing_source", "token_id",
    "group", "username", "channel", "has_price",
)  # fmt: skip

#: What each field must hold: an int, a str, or either of those or None.
FIELD_KINDS: tuple[tuple[type, bool], ...] = (
    (int, False), (int, False), (str, False), (str, False), (int, False), (int, False), (int, False),
    (int, True), (int, False), (str, True), (str, True), (int, True), (str, True), (int, True),
    (str, False), (str, False), (int, True), (int, False),
)  # fmt: skip

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def canonical_row(values: Sequence[Any]) -> str:
    """The canonical line of a row (without a newline): a compact JSON array of ``ROW_FIELDS``."""
    return _ENCODER.encode(list(values))


def row_digest(*values: Any) -> bytes:
    """SHA-256 of a row's canonical line (32 bytes)."""
    return hashlib.sha256(_ENCODER.encode(list(values)).encode("utf-8")).digest()


def fingerprint_of(digests: Iterable[bytes]) -> str:
    """SHA-256 (hex) over row digests given in ascending order."""
    digest = hashlib.sha256()
    for d in digests:
        digest.update(d)
    return digest.hexdigest()


def parse_row(line: str) -> tuple[Any, ...]:
    """The values of one canonical line; ValueError when it is not a canonical row."""
    values = json.loads(line)
    if not isinstance(values, list) or len(values) != len(ROW_FIELDS):
        raise ValueError(f"not an array of {len(ROW_FIELDS)} fields")
    for name, value, (kind, nullable) in zip(ROW_FIELDS, values, FIELD_KINDS, strict=True):
        if value is None and nullable:
            continue
        if isinstance(value, bool) or not isinstance(value, kind):
            raise ValueError(f"{name} must be {'an integer' if kind is int else 'a string'}")
    if canonical_row(values) != line:
        raise ValueError("not in canonical form (compact JSON, fields in order)")
    return tuple(values)


#: How to recompute a fingerprint from a packet's rows.jsonl (printed in the methodology note).
RECIPE = """\
import hashlib, zipfile
with zipfile.ZipFile("PACKET.zip") as zf:
    lines = zf.read("rows.jsonl").decode("utf-8").splitlines()
digests = sorted(hashlib.sha256(line.encode("utf-8")).digest() for line in lines)
print(len(lines), hashlib.sha256(b"".join(digests)).hexdigest())"""


def page_digests(rows: Sequence[Sequence[Any]], key_prefix: str = "") -> list[bytes]:
    """The digests of a page of rows given as stored (tuples of ``ROW_FIELDS``, booleans as
    0/1: ``RowBatch.stored``), in no particular order.

    ``key_prefix`` is put before each key name (``"SOURCE:"`` for a source other than
    ``default``, as reports name its keys).  The page is written as one JSON array and cut
    into rows, which is the row-by-row :func:`canonical_row` byte for byte when no value
    needed an escape (then neither writer escapes anything) and no string holds ``],[``; a
    page where either is not so is written row by row.
    """
    if not rows:
        return []
    if key_prefix:
        rows = [(r[0], r[1], key_prefix + r[2], *r[3:]) for r in rows]
    lines: list[bytes] | None = None
    if _orjson is not None:
        with contextlib.suppress(TypeError):
            page: bytes = _orjson.dumps(rows)
            if b"\\" not in page and page.count(b"],[") == len(rows) - 1:
                # no escape in the page: no newline inside a string, so one may mark the cuts
                lines = page[1:-1].replace(b"],[", b"]\n[").split(b"\n")
    if lines is None:
        lines = [canonical_row(row).encode("utf-8", "surrogatepass") for row in rows]
    return list(map(_digest, map(hashlib.sha256, lines)))


_digest = operator.methodcaller("digest")
