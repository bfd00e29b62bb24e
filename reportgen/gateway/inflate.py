"""Streaming gzip/deflate decoding with a cap on the output, for bodies from untrusted servers.

``zlib.decompressobj(...).decompress(data, max_length)`` never produces more than it is
allowed, so a 500 MB gzip bomb costs at most the cap in memory and stops within it.
"""

from __future__ import annotations

import zlib
from typing import Any


class BodyTooLarge(Exception):
    """The decoded body passed the cap."""


class CorruptBody(ValueError):
    """The compressed body is corrupt or ends early (retrying may help: a cut connection)."""


class UnsupportedEncoding(ValueError):
    """A Content-Encoding that was not asked for."""


class Inflater:
    """Streaming gzip/deflate decoding that stops as soon as the output passes ``limit`` bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        enc = encoding.strip().lower()
        if enc in ("", "identity"):
            self._mode = ""
        elif enc in ("gzip", "x-gzip"):
            self._mode = "gzip"
        elif enc == "deflate":
            self._mode = "deflate"
        else:
            raise UnsupportedEncoding(enc)
        self._limit = limit
        self._out = 0
        self._fed = False
        self._ended = False  # the first gzip member is complete: later garbage is ignored
        self._d = self._decoder()

    def _decoder(self, raw_deflate: bool = False) -> Any:
        if self._mode == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj(-zlib.MAX_WBITS if raw_deflate else zlib.MAX_WBITS)

    def _count(self, n: int) -> None:
        self._out += n
        if self._out > self._limit:
            raise BodyTooLarge

    def feed(self, data: bytes) -> bytes:
        """The decoded bytes of ``data``; raises :class:`BodyTooLarge` past the limit."""
        if not self._mode:
            self._count(len(data))
            return data
        out = bytearray()
        while data:
            room = self._limit - self._out + 1  # one byte over the limit proves it is passed
            try:
                piece = self._d.decompress(data, room)
            except zlib.error:
                if self._mode == "deflate" and not self._fed:
                    self._fed = True  # servers send raw deflate without the zlib header too
                    self._d = self._decoder(raw_deflate=True)
                    continue
                if self._ended:
                    return bytes(out)  # trailing garbage after a complete gzip body
                raise CorruptBody("the compressed response body is corrupt") from None
            self._fed = True
            self._count(len(piece))
            out += piece
            # Output below ``room`` means all input was consumed (never an unconsumed tail).
            if self._d.eof:
                self._ended = True
                data = self._d.unused_data
                if data and self._mode == "gzip":
                    self._d = self._decoder()  # a multi-member gzip body
                    continue
                return bytes(out)
            data = b""
        return bytes(out)

    def finish(self) -> bytes:
        """Whatever the decoder still holds; a compressed body that stopped early is transient."""
        if not self._mode or not self._fed:
            return b""
        tail = self._d.flush()
        self._count(len(tail))
        if not self._ended and not self._d.eof:
            raise CorruptBody("the compressed response body ended early (truncated)")
        return tail
