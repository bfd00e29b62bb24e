"""Parsing gateway log rows and API keys into reportgen's frozen records: the trust boundary.

Every flavour's quirks end here: ``other`` as a JSON string, ``"null"``, ``""``, an object
or absent; ``use_time`` in int or float seconds; strings or nulls where ints belong.

Values that cannot be true are refused here, once, with the row's id and the field
(:class:`~reportgen.errors.GatewayDataError`): the caller leaves the row's window
incomplete rather than storing it.  The rules:

- **Amounts** (``quota``, ``prompt_tokens``, ``completion_tokens``) are whole numbers in
  ``0 ..`` :data:`MAX_AMOUNT`.  An integral float or numeric string (``1215.0``, ``"12"``)
  is that integer.  A **fractional** amount is refused, never rounded: quota is money
  counted in whole units, and rounding would change a bill silently.  A **negative** amount
  is refused: the API never logs one (a refund is type 6 with a positive quota).
  Null or absent is 0, as on non-request rows.  Non-numeric text is refused for quota and
  read as 0 for token counts (informational, never money).
- Other integers (ids, timestamps, status) that do not fit a signed 64-bit integer are
  read as absent (their default), so no value can overflow the store.
- JSON nested deeper than :data:`MAX_JSON_DEPTH` is refused (no ``RecursionError``).
- Names and other texts (key, model, group, user, request id, client) longer than
  :data:`~reportgen.core.text.MAX_NAME` are cut with a marker (:func:`~reportgen.core.text.cut_name`);
  the raw row keeps them whole, and sync counts such rows.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..core import rawjson
from ..core.rawjson import dumps_compact
from ..core.rawjson import orjson as _orjson
from ..core.records import KeyInfo, RowBatch, UsageRecord
from ..core.text import MAX_NAME, cut_name
from ..core.tokens import TokenUsage
from ..core.unitprice import row_usage
from .amounts import MAX_AMOUNT, amount, describe_row, show_value
from .jsontext import MAX_JSON_DEPTH, JSONRejected, loads

_INT64 = 2**63


def _int(value: Any, default: int = 0) -> int:
    """A tolerant integer: odd values, and values beyond 64 bits, are ``default``."""
    result = _int_or_none(value)
    return default if result is None or not -_INT64 <= result < _INT64 else result


def _int_or_none(value: Any) -> int | None:
    if type(value) is int:
        return value
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    try:
        if isinstance(value, float):
            return int(value)
        text = str(value).strip()
        if len(text) > 40:
            return None
        return int(text) if text.lstrip("-").isdigit() else int(float(text))
    except (TypeError, ValueError, OverflowError):
        return None


def created_at_of(value: Any) -> int | None:
    """A row's ``created_at`` as Unix seconds, or None when it cannot be read as one: absent, not a
    number (an ISO string, ``"yesterday"``), zero or negative, or past 64 bits."""
    if isinstance(value, bool):
        return None
    stamp = _int_or_none(value)
    return stamp if stamp is not None and 0 < stamp < _INT64 else None


def _opt_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    result = _int_or_none(value)
    return result if result is not None and -_INT64 <= result < _INT64 else None


def _str(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_NAME else cut_name(text)


def _opt_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return _str(value)


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
        return value * 1000 if abs(value) <= MAX_AMOUNT else None
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(seconds) or abs(seconds) > MAX_AMOUNT:
        return None
    return int(round(seconds * 1000))


def _has_price(other: dict[str, Any] | None, other_present: bool) -> bool:
    if not other_present:
        # one-api rows carry no pricing detail at all: nothing to flag.
        return True
    return other is not None and (other.get("model_ratio") is not None or _price_ok(other.get("model_price")))


def _other_fields(
    other: dict[str, Any] | None, request_id: str | None
) -> tuple[str | None, str | None, int | None, str | None]:
    """``(request_id, client, http_status, billing_source)`` of a row's ``other`` (the row's own
    request id wins over the one in ``other``)."""
    if other is None:
        return request_id, None, None, None
    if request_id is None:
        request_id = _opt_str(other.get("request_id"))
    return (
        request_id,
        _opt_str(other.get("client")),
        _opt_int(other.get("http_status")),
        _opt_str(other.get("billing_source")),
    )


def parse_log_row(item: dict[str, Any]) -> UsageRecord:
    """One ``/api/log/self`` row as a :class:`UsageRecord`.

    Tolerant of odd shapes; raises :class:`~reportgen.errors.GatewayDataError` naming the
    row and field for a value that cannot be true (see the module doc).
    """
    get = item.get
    other_present = "other" in item
    other = parse_other(get("other")) if other_present else None
    request_id, client, http_status, billing_source = _other_fields(other, _opt_str(get("request_id")))
    quota = amount(item, "quota")
    prompt = amount(item, "prompt_tokens", money=False)
    completion = amount(item, "completion_tokens", money=False)
    return UsageRecord(
        created_at=_int(get("created_at")),
        type=_int(get("type")),
        token_name=_str(get("token_name")),
        model_name=_str(get("model_name")),
        quota=quota,
        prompt_tokens=prompt,
        completion_tokens=completion,
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
        raw=dumps_compact(item),
        usage=row_usage(other, other_present, prompt, completion, quota),
    )


def parse_log_rows(fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> RowBatch:
    """Rows given as tuples of ``fields`` (API field names), parsed as :func:`parse_log_row` parses
    ``dict(zip(fields, row))``: the same values, the same errors, the same raw JSON value.

    The fast path of the database source.  It works a column at a time: a column whose
    values all take the common case of their rule (ints in range, strings) is taken as it
    is, checked by C-level passes (``set(map(type, ...))``, ``min``, ``max``); any other
    column goes value by value through the very rule :func:`parse_log_row` applies, and a
    batch with an amount off the common case is parsed row by row (:func:`_parse_each`),
    which raises the error that row's :func:`parse_log_row` raises.  One set of rules.
    """
    fields = tuple(fields)
    width = len(fields)
    if not rows or any(n != width for n in set(map(len, rows))):
        parsed, each = _parse_each(fields, rows)
        return RowBatch.of_rows(parsed, fields, rows, each)
    columns = list(zip(*rows, strict=True))
    kinds = [set(map(type, c)) for c in columns]
    faithful = rawjson.faithful(columns, kinds)
    n = len(rows)
    absent: tuple[Any, ...] = (None,) * n

    def column(name: str) -> tuple[tuple[Any, ...], set[type]]:
        if name in fields:
            at = fields.index(name)
            return columns[at], kinds[at]
        return absent, {type(None)}

    amounts = []
    for name in ("quota", "prompt_tokens", "completion_tokens"):
        values, kind = column(name)
        if kind != {int} or min(values) < 0 or max(values) > MAX_AMOUNT:
            # row by row: it raises what parse_log_row raises, or reads the odd amounts
            parsed, each = _parse_each(fields, rows)
            batch = RowBatch.of_rows(parsed, fields, rows, each)
            batch.faithful = faithful
            return batch
        amounts.append(values)
    created_at, kind_ = (_ints(*column(name), _int64) for name in ("created_at", "type"))
    token_id, channel = (_ints(*column(name), _opt_int64, nullable=True) for name in ("token_id", "channel"))
    token, model, group, user = (
        _texts(*column(name)) for name in ("token_name", "model_name", "group", "username")
    )
    values, kind = column("use_time")
    if kind == {int} and min(values) >= -MAX_AMOUNT and max(values) <= MAX_AMOUNT:
        use_ms: Sequence[Any] = [v * 1000 for v in values]
    else:
        use_ms = list(map(_use_ms, values))
    values, kind = column("is_stream")
    stream = (
        values if kind == {bool} else list(map(bool, values)) if kind == {int} else list(map(_stream, values))
    )
    request_id = _opt_texts(*column("request_id"))
    if "other" in fields:
        others = _others(column("other")[0])
        request_id, client, status, billing = _other_columns(others, request_id)
        priced: Sequence[bool] = list(map(_has_price, others, itertools.repeat(True)))
        usage = list(map(row_usage, others, itertools.repeat(True), amounts[1], amounts[2], amounts[0]))
    else:  # one-api rows carry no pricing detail at all: nothing to flag
        client = status = billing = absent
        priced = (True,) * n
        usage = list(map(row_usage, absent, itertools.repeat(False), amounts[1], amounts[2], amounts[0]))
    # A page names few keys, models, groups, users, clients: one object each, not one per row
    # (a driver makes a new str per value), so the page pickles to the store ~7x faster.
    token, model, client, billing, group, user = map(_shared, (token, model, client, billing, group, user))
    return RowBatch(
        [
            created_at,
            kind_,
            token,
            model,
            *amounts,
            use_ms,
            stream,
            request_id,
            client,
            status,
            billing,
            token_id,
            group,
            user,
            channel,
            priced,
        ],  # fmt: skip
        fields,
        rows,
        faithful,
        usage,
    )


def _shared(values: Sequence[Any]) -> list[Any]:
    """``values`` with equal values the same object."""
    seen: dict[Any, Any] = {}
    return list(map(seen.setdefault, values, values))


def _int64(v: Any) -> int:
    return v if type(v) is int and -_INT64 <= v < _INT64 else _int(v)


def _opt_int64(v: Any) -> int | None:
    return v if type(v) is int and -_INT64 <= v < _INT64 else _opt_int(v)


def _use_ms(v: Any) -> int | None:
    return v * 1000 if type(v) is int and -MAX_AMOUNT <= v <= MAX_AMOUNT else use_time_ms(v)


def _stream(v: Any) -> bool:
    return v if type(v) is bool else _bool(v)


def _text(v: Any) -> str:
    return v if type(v) is str and len(v) <= MAX_NAME else _str(v)


def _ints(
    values: Sequence[Any], kind: set[type], rule: Callable[[Any], int | None], nullable: bool = False
) -> Sequence[Any]:
    """An integer column as ``rule`` reads it: as it is when every value is an int in 64 bits."""
    if kind == {int} and min(values) >= -_INT64 and max(values) < _INT64:
        return values
    if nullable and kind == {type(None)}:
        return values
    return list(map(rule, values))


def _texts(values: Sequence[Any], kind: set[type]) -> Sequence[Any]:
    return values if kind == {str} and _short(values) else list(map(_text, values))


def _opt_texts(values: Sequence[Any], kind: set[type]) -> Sequence[Any]:
    """An optional text column as :func:`_opt_str` reads it (``""`` is None)."""
    if kind <= {str, type(None)} and "" not in values and _short(filter(None, values)):
        return values
    return list(map(_opt_str, values))


def _short(texts: Iterable[str]) -> bool:
    """True when no text is longer than MAX_NAME (none to cut)."""
    return max(map(len, texts), default=0) <= MAX_NAME


def _others(values: Sequence[Any]) -> list[dict[str, Any] | None]:
    """:func:`parse_other` of each value: the common case (a short JSON object in a str) in one
    comprehension, anything else (or a page where orjson refuses one) value by value."""
    if _orjson is None:
        return list(map(parse_other, values))
    loads, depth, odd = _orjson.loads, MAX_JSON_DEPTH, _ODD
    try:
        parsed = [
            # more brackets than the depth allowed: loads() checks the depth (parse_other)
            loads(v) if type(v) is str and v and v.count("{") + v.count("[") <= depth else odd
            for v in values
        ]
    except ValueError:  # e.g. an int wider than 64 bits: the stdlib decides, value by value
        return list(map(parse_other, values))
    if set(map(type, parsed)) == {dict}:  # the usual page: every value an object
        return parsed  # type: ignore[return-value]
    return [
        d if type(d) is dict else parse_other(v) if d is odd else None
        for d, v in zip(parsed, values, strict=True)
    ]


_ODD = object()


def _other_columns(
    others: list[dict[str, Any] | None], request_id: Sequence[Any]
) -> tuple[Sequence[Any], Sequence[Any], Sequence[Any], Sequence[Any]]:
    """``(request_id, client, http_status, billing_source)`` columns, as :func:`_other_fields` gives them."""
    found = [_NO_OTHER if d is None else d for d in others] if None in others else others

    def field(name: str) -> list[Any]:
        return list(map(operator.methodcaller("get", name), found))

    client, billing = (
        _opt_texts(values, set(map(type, values))) for values in map(field, ("client", "billing_source"))
    )
    statuses = field("http_status")
    status = _ints(statuses, set(map(type, statuses)), _opt_int, nullable=True)
    if None in request_id:  # the row's own request id wins over the one in other
        given = field("request_id")
        from_other = _opt_texts(given, set(map(type, given)))
        request_id = [r if r is not None else o for r, o in zip(request_id, from_other, strict=True)]
    return request_id, client, status, billing


_NO_OTHER: dict[str, Any] = {}


def _price_ok(price: Any) -> bool:
    if price is None:
        return False
    try:
        # -1 means "billed by ratio": priced only when the ratio is there (checked before).
        return float(price) >= 0
    except (TypeError, ValueError):
        return False


def _parse_each(
    fields: tuple[str, ...], rows: Sequence[Sequence[Any]]
) -> tuple[list[tuple[Any, ...]], list[TokenUsage]]:
    """Rows parsed one by one, each value through its rule (the path of any batch holding an
    odd value: it raises what :func:`parse_log_row` raises, for the first row that fails), and
    each row's token usage."""
    width = len(fields)

    def at(name: str) -> int:  # a missing field reads as None, as item.get() does
        return fields.index(name) if name in fields else width

    i_ts, i_type, i_token, i_model = at("created_at"), at("type"), at("token_name"), at("model_name")
    i_quota, i_prompt, i_completion = at("quota"), at("prompt_tokens"), at("completion_tokens")
    i_use, i_stream, i_request, i_token_id = at("use_time"), at("is_stream"), at("request_id"), at("token_id")
    i_group, i_user, i_channel, i_other = at("group"), at("username"), at("channel"), at("other")
    other_present = "other" in fields
    pad = any(i == width for i in (i_ts, i_type, i_token, i_model, i_quota, i_prompt, i_completion, i_use,
                                   i_stream, i_request, i_token_id, i_group, i_user, i_channel, i_other))  # fmt: skip
    big, most = _INT64, MAX_AMOUNT
    values: list[tuple[Any, ...]] = []
    usage: list[TokenUsage] = []
    for row in rows:
        item = dict(zip(fields, row, strict=True))
        if pad:
            row = (*row, None)
        v = row[i_ts]
        created_at = v if type(v) is int and -big <= v < big else _int(v)
        v = row[i_type]
        kind = v if type(v) is int and -big <= v < big else _int(v)
        v = row[i_quota]
        quota = v if type(v) is int and 0 <= v <= most else amount(item, "quota")
        v = row[i_prompt]
        prompt = v if type(v) is int and 0 <= v <= most else amount(item, "prompt_tokens", money=False)
        v = row[i_completion]
        completion = (
            v if type(v) is int and 0 <= v <= most else amount(item, "completion_tokens", money=False)
        )
        v = row[i_use]
        use_ms = v * 1000 if type(v) is int and -most <= v <= most else use_time_ms(v)
        v = row[i_stream]
        stream = v if type(v) is bool else _bool(v)
        v = row[i_request]
        request_id = v if type(v) is str and v and len(v) <= MAX_NAME else _opt_str(v)
        other = parse_other(row[i_other]) if other_present else None
        request_id, client, http_status, billing_source = _other_fields(other, request_id)
        v = row[i_token_id]
        token_id = v if type(v) is int and -big <= v < big else _opt_int(v)
        v = row[i_channel]
        channel = v if type(v) is int and -big <= v < big else _opt_int(v)
        v, w, x, y = row[i_token], row[i_model], row[i_group], row[i_user]
        values.append((
            created_at, kind, _text(v), _text(w), quota, prompt, completion, use_ms, stream, request_id, client,
            http_status, billing_source, token_id, _text(x), _text(y), channel,
            _has_price(other, other_present),
        ))  # fmt: skip
        usage.append(row_usage(other, other_present, prompt, completion, quota))
    return values, usage


def parse_key(item: dict[str, Any]) -> KeyInfo:
    """One ``/api/token/`` item as a :class:`KeyInfo`; the masked ``key`` is dropped.

    ``remain_quota`` may be negative (a key can overspend); both quotas are bounded by
    :data:`MAX_AMOUNT` like a row's.
    """
    get = item.get
    expired = get("expired_time")
    return KeyInfo(
        id=_int(get("id")),
        name=_str(get("name")),
        status=_int(get("status"), 1),
        used_quota=amount(item, "used_quota", kind="key"),
        remain_quota=amount(item, "remain_quota", signed=True, kind="key"),
        unlimited_quota=_bool(get("unlimited_quota")),
        group=_str(get("group")),
        created_time=_int(get("created_time")),
        accessed_time=_int(get("accessed_time")),
        expired_time=-1 if expired is None or expired == "" else _int(expired, -1),
    )


__all__ = [
    "MAX_AMOUNT",
    "MAX_JSON_DEPTH",
    "JSONRejected",
    "amount",
    "created_at_of",
    "describe_row",
    "loads",
    "parse_key",
    "parse_log_row",
    "parse_log_rows",
    "parse_other",
    "show_value",
    "use_time_ms",
]
