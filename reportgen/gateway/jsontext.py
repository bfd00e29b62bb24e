"""Reading gateway JSON with bounds: no nesting past a limit, no number with thousands of digits."""

from __future__ import annotations

import json
from typing import Any

from ..core.rawjson import orjson as _orjson

#: Gateway JSON is at most 5 levels deep (envelope, data, items, row, other); 32 is ample.
MAX_JSON_DEPTH = 32


class JSONRejected(ValueError):
    """Well-formed JSON we refuse to hold: nested too deeply, or a number with too many digits."""


def loads(data: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON text (orjson when installed, else the stdlib) no deeper than ``max_depth``.

    Raises :class:`json.JSONDecodeError` on malformed text and :class:`JSONRejected` on
    text that is well-formed but refused.
    """
    try:
        value = _parse(data)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise JSONRejected(f"JSON nested deeper than {max_depth} levels") from None
    except ValueError:  # int() refusing thousands of digits (sys.get_int_max_str_digits)
        raise JSONRejected("a JSON number with too many digits") from None
    brackets = (
        data.count("{") + data.count("[") if isinstance(data, str) else data.count(b"{") + data.count(b"[")
    )
    if brackets > max_depth:  # fewer brackets cannot nest deeper: skip the walk
        _check_depth(value, max_depth)
    return value


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
