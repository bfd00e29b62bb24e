"""Issue 12 at the trust boundary: row values, JSON depth and compressed bodies, without a server."""

from __future__ import annotations

import gzip
import zlib

import pytest

from reportgen.errors import GatewayDataError
from reportgen.gateway.inflate import BodyTooLarge, CorruptBody, Inflater, UnsupportedEncoding
from reportgen.gateway.parse import (
    MAX_AMOUNT,
    MAX_JSON_DEPTH,
    JSONRejected,
    amount,
    loads,
    parse_key,
    parse_log_row,
    parse_other,
    show_value,
)

ROW = {"id": 7, "request_id": "req-7", "created_at": 1775100000, "type": 2, "quota": 1215}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1215, 1215),
        (1215.0, 1215),
        ("1215", 1215),
        (" 12.0 ", 12),
        (None, 0),
        ("", 0),
        (MAX_AMOUNT, MAX_AMOUNT),
    ],
)
def test_whole_amounts_are_read(value: object, expected: int) -> None:
    assert amount({**ROW, "quota": value}, "quota") == expected


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (12.5, "is fractional"),
        ("12.5", "is fractional"),
        (-4000, "is negative"),
        (MAX_AMOUNT + 1, "is outside the accepted range"),
        (10**30, "is outside the accepted range"),
        (2**63 - 1, "is outside the accepted range"),
        (1e300, "is outside the accepted range"),
        ("1e30", "is outside the accepted range"),
        (float("nan"), "is not a finite number"),
        (float("inf"), "is not a finite number"),
        ("NaN", "is not a finite number"),
        (True, "is a boolean"),
        ("lots", "is not a number"),
        ([1], "is not a number"),
    ],
)
def test_impossible_quota_is_refused_naming_the_row_and_field(value: object, why: str) -> None:
    with pytest.raises(GatewayDataError) as info:
        parse_log_row({**ROW, "quota": value})
    message = str(info.value)
    assert message.startswith("row id 7 (request_id 'req-7', created_at 1775100000): quota ")
    assert why in message and "\n" not in message


def test_token_counts_share_the_range_but_tolerate_text() -> None:
    assert parse_log_row({**ROW, "prompt_tokens": "bad"}).prompt_tokens == 0
    with pytest.raises(GatewayDataError, match="completion_tokens -3 is negative"):
        parse_log_row({**ROW, "completion_tokens": -3})


def test_other_integers_beyond_64_bits_read_as_absent() -> None:
    rec = parse_log_row(
        {
            **ROW,
            "token_id": 10**30,
            "channel": -(10**20),
            "type": 10**19,
            "use_time": 1e300,
            "created_at": 2**64,
        }
    )
    assert (rec.token_id, rec.channel, rec.type, rec.use_time_ms, rec.created_at) == (None, None, 0, None, 0)


def test_keys_may_overspend_but_not_overflow() -> None:
    assert parse_key({"id": 3, "remain_quota": -20, "used_quota": "5000"}).remain_quota == -20
    with pytest.raises(GatewayDataError, match=r"^key id 3: used_quota 10{30} is outside"):
        parse_key({"id": 3, "used_quota": 10**30})


def test_values_in_messages_are_bounded_and_escaped() -> None:
    assert show_value(10**400) == "a 1329-bit integer"
    assert show_value("\x1b[31mred\x1b[0m") == "'\\x1b[31mred\\x1b[0m'"
    assert len(show_value("x" * 10_000)) == 60


@pytest.mark.parametrize("depth", [100, 5_000, 200_000])
def test_deep_json_is_refused_without_recursion_error(depth: int) -> None:
    with pytest.raises(JSONRejected, match=f"nested deeper than {MAX_JSON_DEPTH} levels"):
        loads("[" * depth + "]" * depth)
    with pytest.raises(JSONRejected):
        loads(b'{"a":' * depth + b"1" + b"}" * depth)


def test_json_at_the_depth_bound_is_fine_and_other_too_deep_is_absent() -> None:
    assert loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
    assert parse_other("[" * 10_000 + "]" * 10_000) is None
    assert parse_other('{"a":' * 10_000 + "1" + "}" * 10_000) is None


def test_a_number_of_thousands_of_digits_is_refused() -> None:
    with pytest.raises(JSONRejected, match="too many digits"):
        loads('{"quota": ' + "9" * 5000 + "}")


# ---------------------------------------------------------------------------- capped inflating
def _inflate(encoding: str, body: bytes, limit: int, chunk: int = 4096) -> bytes:
    inflater = Inflater(encoding, limit)
    out = b"".join(inflater.feed(body[i : i + chunk]) for i in range(0, len(body), chunk))
    return out + inflater.finish()


def test_gzip_and_both_deflate_forms_inflate() -> None:
    data = b'{"success":true}' * 1000
    raw = zlib.compressobj(6, zlib.DEFLATED, -15)
    assert _inflate("gzip", gzip.compress(data), 1 << 20) == data
    assert _inflate("deflate", zlib.compress(data), 1 << 20) == data
    assert _inflate("deflate", raw.compress(data) + raw.flush(), 1 << 20) == data
    assert _inflate("", data, 1 << 20) == data
    assert _inflate("gzip", gzip.compress(data[:8000]) + gzip.compress(data[8000:]), 1 << 20) == data


def test_a_bomb_stops_at_the_cap() -> None:
    bomb = gzip.compress(bytes(64 << 20), 9)  # 64 MiB of zeros in ~64 KB
    with pytest.raises(BodyTooLarge):
        _inflate("gzip", bomb, 1 << 20)
    with pytest.raises(BodyTooLarge):
        _inflate("", bytes(2 << 20), 1 << 20)


def test_corrupt_or_cut_bodies_and_unknown_encodings() -> None:
    body = gzip.compress(b"x" * 10_000)
    with pytest.raises(CorruptBody, match="ended early"):
        _inflate("gzip", body[: len(body) // 2], 1 << 20)
    with pytest.raises(CorruptBody, match="corrupt"):
        _inflate("gzip", b"\x1f\x8b" + b"\x00" * 100, 1 << 20)
    assert _inflate("gzip", body + b"\x00\x00garbage", 1 << 20) == b"x" * 10_000
    with pytest.raises(UnsupportedEncoding):
        Inflater("br", 1 << 20)
