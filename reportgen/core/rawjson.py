"""A log row's raw JSON: how a row as received is written back to text, by both sources and the store.

The API path keeps each item it parsed as compact JSON (``UsageRecord.raw``).  The
database source keeps its pages columnar instead (field names once, then the rows' values)
and the store writes a row's raw JSON only when it is read, with :func:`dumps_row`: the
same text the API path would have kept for the same item, so both sources read back alike.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any


def _safe_orjson() -> Any:
    """orjson when a release that limits nesting is installed, else None."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - exercised only without orjson
        return None
    try:
        version = tuple(int(x) for x in orjson.__version__.split(".")[:2])
    except ValueError:  # pragma: no cover - an unreadable version
        return None
    # Releases before 3.9 have no nesting limit and overflow the C stack (a crash, not an
    # error) on deeply nested hostile JSON: only later ones are used.
    return orjson if version >= (3, 9) else None


#: orjson (a declared dependency: ~4-8x faster JSON) when a safe release is installed, else
#: None.  Every fast JSON path in reportgen checks this one; the stdlib is always enough.
orjson: Any = _safe_orjson()

#: A value JSON has no type for (a database driver's ``Decimal``, ``bytes``, ``datetime``, from
#: an unusual column type) is written as its ``str``: the raw JSON is kept for inspection.
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def dumps_compact(item: Any) -> str:
    """``item`` as compact JSON (the standard library's spelling), as kept in ``UsageRecord.raw``."""
    return _dumps(item)


def dumps_row(item: dict[str, Any]) -> str:
    """A row's raw JSON, compact: the same JSON value as :func:`dumps_compact` (orjson, ~8x faster,
    may spell a float's exponent differently: ``1e-5`` for ``1e-05``)."""
    if orjson is not None:
        values = item.values()
        # orjson writes NaN and infinities as null: only the stdlib keeps them.
        if float not in map(type, values) or all(math.isfinite(v) for v in values if type(v) is float):
            try:
                return str(orjson.dumps(item), "utf-8")
            except TypeError:  # an int beyond 64 bits, a lone surrogate: the stdlib writes those
                pass
    return _dumps(item)


def faithful(columns: Sequence[Sequence[Any]], kinds: Sequence[set[type]]) -> bool:
    """Whether orjson writes these columns (each with the set of its values' types) so that they
    read back as the very same values: plain JSON types only, and no NaN or infinity (which
    orjson writes as null).  An int beyond 64 bits or a lone surrogate it refuses itself."""
    if orjson is None or any(not kind <= _PLAIN for kind in kinds):
        return False
    return all(
        all(math.isfinite(v) for v in column if type(v) is float)
        for column, kind in zip(columns, kinds, strict=True)
        if float in kind
    )


def dumps_table(table: Any) -> bytes | None:
    """``table`` as JSON bytes with orjson, or None when orjson refuses a value (an int beyond 64
    bits, a lone surrogate): the caller then writes each row with :func:`dumps_row`."""
    if orjson is None:
        return None
    try:
        data: bytes = orjson.dumps(table)
    except TypeError:
        return None
    return data


_PLAIN = {int, str, type(None), bool, float}


def content_text(value: Any) -> str:
    """A row's ``content`` value as the wallet bridge reads it: text as is, a number or ``true``
    as written, another JSON value as compact JSON, nothing as ``""`` (what the raw JSON keeps)."""
    if value is None:
        return ""
    if type(value) is str:
        return value
    value = json.loads(dumps_compact(value))  # the value as the raw JSON keeps it
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def raw_content(raw: str) -> str:
    """The :func:`content_text` of a raw row's ``content`` (``""`` when the raw JSON is unreadable)."""
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        return ""
    return content_text(value.get("content")) if isinstance(value, dict) else ""
