"""Reading gateway JSON with bounds: no nesting past a limit, no more values than a page could hold,
no number with thousands of digits."""

from __future__ import annotations

import json
from typing import Any

from ..core.rawjson import orjson as _orjson

#: Gateway JSON is at most 5 levels deep (envelope, data, items, row, other); 32 is ample.
MAX_JSON_DEPTH = 32
#: Containers and separators (``{``, ``[``, ``,``) one text may hold.  A 100-row log page has a
#: few thousand; 32 MiB of ``[{},{},…]`` has 16 million and would take seconds and gigabytes to
#: parse into objects, so it is refused from a count of its bytes before parsing.
MAX_JSON_VALUES = 500_000


class JSONRejected(ValueError):
    """Well-formed JSON we refuse to hold: nested too deeply, or a number with too many digits."""


def loads(data: str | bytes, max_depth: int = MAX_JSON_DEPTH, max_values: int = MAX_JSON_VALUES) -> Any:
    """Parse JSON text (orjson when installed, else the stdlib) no deeper than ``max_depth`` and
    with at most ``max_values`` containers and separators.

    Raises :class:`json.JSONDecodeError` on malformed text and :class:`JSONRejected` on
    text that is well-formed but refused.
    """
    # a shorter text cannot hold more: skip the count
    if len(data) > max_values and _count(data, "{[,") > max_values:
        raise JSONRejected(f"more than {max_values:,} JSON values (objects, arrays, list items)")
    try:
        value = _parse(data)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise JSONRejected(f"JSON nested deeper than {max_depth} levels") from None
    except ValueError:  # int() refusing thousands of digits (sys.get_int_max_str_digits)
        raise JSONRejected("a JSON number with too many digits") from None
    if _count(data, "{[") > max_depth:  # fewer brackets cannot nest deeper: skip the walk
        _check_depth(value, max_depth)
    return value


def _count(data: str | bytes, chars: str) -> int:
    """How often any of ``chars`` occurs in ``data`` (C-speed passes, no parsing)."""
    if isinstance(data, str):
        return sum(data.count(c) for c in chars)
    return sum(data.count(c.encode()) for c in chars)


def _parse(data: str | bytes) -> Any:
    if _orjson is not None:
        try:
            return _orjson.loads(data)  # refuses nesting past 1024 levels itself
        except _orjson.JSONDecodeError:
            pass  # e.g. integers wider than 64 bits: let the stdlib decide
    return json.loads(data)


def _check_depth(value: Any, max_depth: int) -> None:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise JSONRejected(f"JSON nested deeper than {max_depth} levels")
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
