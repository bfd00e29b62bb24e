"""Tolerant parsing of gateway log rows and API keys into reportgen's frozen records.

Every flavour's quirks end here: ``other`` as a JSON string, ``"null"``, ``""``, an object
or absent; ``use_time`` in int or float seconds; strings or nulls where ints belong.
"""

from __future__ import annotations

import json
from typing import Any

from ..core.models import KeyInfo, UsageRecord

try:  # optional speed-up: orjson parses pages ~4x faster; the stdlib is always enough
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised only without orjson
    _orjson = None  # type: ignore[assignment]


def loads(data: str | bytes) -> Any:
    """Parse JSON text: orjson when installed (falling back on what it rejects), else the stdlib."""
    if _orjson is not None:
        try:
            return _orjson.loads(data)
        except _orjson.JSONDecodeError:
            pass  # e.g. integers wider than 64 bits: let the stdlib decide
    return json.loads(data)


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def dumps_compact(item: Any) -> str:
    """The row re-serialised compactly, as kept in ``UsageRecord.raw``."""
    return _dumps(item)


def _int(value: Any, default: int = 0) -> int:
    if type(value) is int:
        return value
    if value is None:
        return default
    if isinstance(value, bool):
        return int(value)
    try:
        if isinstance(value, float):
            return int(value)
        text = str(value).strip()
        return int(text) if text.lstrip("-").isdigit() else int(float(text))
    except (TypeError, ValueError, OverflowError):
        return default


def _opt_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    sentinel = -(2**63)
    result = _int(value, sentinel)
    return None if result == sentinel else result


def _str(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _opt_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def parse_other(value: Any) -> dict[str, Any] | None:
    """``other`` as a dict; None when absent, ``"null"``, ``""`` or unparseable."""
    if value is None:
        return None
    if isinstance(value, dict):
        return value
    if isinstance(value, str | bytes):
        if not value or value in ("null", b"null"):
            return None
        try:
            parsed = loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def use_time_ms(value: Any) -> int | None:
    """Latency in milliseconds from int seconds (new-api) or float seconds (Crazyrouter)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if type(value) is int:
        return value * 1000
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return int(round(seconds * 1000))


def _has_price(other: dict[str, Any] | None, other_present: bool) -> bool:
    if not other_present:
        # one-api rows carry no pricing detail at all: nothing to flag.
        return True
    if other is None:
        return False
    if other.get("model_ratio") is not None:
        return True
    price = other.get("model_price")
    if price is None:
        return False
    try:
        # -1 means "billed by ratio": priced only when the ratio is there (checked above).
        return float(price) >= 0
    except (TypeError, ValueError):
        return False


def parse_log_row(item: dict[str, Any]) -> UsageRecord:
    """One ``/api/log/self`` row as a :class:`UsageRecord`; never raises on odd values."""
    get = item.get
    other_present = "other" in item
    other = parse_other(get("other")) if other_present else None
    request_id = _opt_str(get("request_id"))
    client = http_status = billing_source = None
    if other is not None:
        if request_id is None:
            request_id = _opt_str(other.get("request_id"))
        client = _opt_str(other.get("client"))
        http_status = _opt_int(other.get("http_status"))
        billing_source = _opt_str(other.get("billing_source"))
    return UsageRecord(
        created_at=_int(get("created_at")),
        type=_int(get("type")),
        token_name=_str(get("token_name")),
        model_name=_str(get("model_name")),
        quota=_int(get("quota")),
        prompt_tokens=_int(get("prompt_tokens")),
        completion_tokens=_int(get("completion_tokens")),
        use_time_ms=use_time_ms(get("use_time")),
        is_stream=_bool(get("is_stream")),
        request_id=request_id,
        client=client,
        http_status=http_status,
        billing_source=billing_source,
        token_id=_opt_int(get("token_id")),
        group=_str(get("group")),
        username=_str(get("username")),
        channel=_opt_int(get("channel")),
        has_price=_has_price(other, other_present),
        raw=_dumps(item),
    )


def parse_key(item: dict[str, Any]) -> KeyInfo:
    """One ``/api/token/`` item as a :class:`KeyInfo`; the masked ``key`` is dropped."""
    get = item.get
    expired = get("expired_time")
    return KeyInfo(
        id=_int(get("id")),
        name=_str(get("name")),
        status=_int(get("status"), 1),
        used_quota=_int(get("used_quota")),
        remain_quota=_int(get("remain_quota")),
        unlimited_quota=_bool(get("unlimited_quota")),
        group=_str(get("group")),
        created_time=_int(get("created_time")),
        accessed_time=_int(get("accessed_time")),
        expired_time=-1 if expired is None or expired == "" else _int(expired, -1),
    )
