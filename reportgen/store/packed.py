"""A closed snapshot's rows, packed: its ``logs`` and ``raw_blobs`` as one zlib-compressed SQLite file.

A snapshot keeps what its documents read without rows (rollups, facts, the frozen bridge,
credit texts) in its store file, and its rows beside it in ``rows.sqlite3.zlib``: ~45 bytes a
row instead of ~250 (issue 27: a closed month was a second full copy of its rows).  The close
seals both files (SHA-256, in its audit entry); ``summary`` reads rollups only and checks the
small store file.  A read that needs rows inflates the packed file once per open snapshot into
a private temporary database, hashing the packed bytes as it reads them (a file that differs
from its seal is refused before any row is read), and attaches it under temporary views named
``logs`` and ``raw_blobs``: every query of the store runs on it unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sqlite3
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from ..errors import StoreError

#: The packed rows of a snapshot, beside its store file (``PLAIN_NAME`` while a close writes them).
PACKED_NAME = "rows.sqlite3.zlib"
PLAIN_NAME = "rows.sqlite3"
#: The tables a snapshot keeps packed (their queries name them; nothing else reads them).
PACKED_TABLES = ("logs", "raw_blobs")
#: zlib level: 6 packs a snapshot's rows to ~45 bytes a row (1: ~50) and inflates as fast.
LEVEL = 6
_CHUNK = 1 << 20
#: A statement that reads a packed table (``logs_created_at`` and ``rollups`` do not match).
_READS_ROWS = re.compile(r"\b(?:logs|raw_blobs)\b")


def file_seal(path: Path) -> str:
    """``sha256:`` and the hex SHA-256 of a file, read at I/O speed."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fp:
            while chunk := fp.read(_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the closed snapshot ({exc.strerror or exc})") from None
    return "sha256:" + digest.hexdigest()


def rows_ddl(conn: sqlite3.Connection, schema: str = "main") -> list[str]:
    """The DDL of the packed tables and their indexes as ``schema`` of ``conn`` has them."""
    names = ", ".join(f"'{t}'" for t in PACKED_TABLES)
    return [
        str(r[0])
        for r in conn.execute(
            f"SELECT sql FROM {schema}.sqlite_master WHERE tbl_name IN ({names}) AND sql IS NOT NULL "
            "ORDER BY type = 'index', name"
        )
    ]


def pack(plain: Path, packed: Path) -> None:
    """Compress the SQLite file ``plain`` into ``packed`` (written whole, then renamed into place)."""
    part = packed.with_name(packed.name + ".part")
    squeeze = zlib.compressobj(LEVEL)
    try:
        with open(plain, "rb") as src, open(part, "wb") as out:
            while chunk := src.read(_CHUNK):
                out.write(squeeze.compress(chunk))
            out.write(squeeze.flush())
            out.flush()
            os.fsync(out.fileno())
        os.replace(part, packed)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise StoreError(f"{packed}: cannot write the closed snapshot ({exc.strerror or exc})") from None


def inflate(packed: Path, seal: str | None, target: Path) -> None:
    """Write the SQLite file packed in ``packed`` to ``target``, refusing it when its bytes do not
    give ``seal`` (None: not checked; a caller without a recorded seal checks the rows otherwise)."""
    digest = hashlib.sha256()
    grow = zlib.decompressobj()
    try:
        with open(packed, "rb") as src, open(target, "wb") as out:
            while chunk := src.read(_CHUNK):
                digest.update(chunk)
                out.write(grow.decompress(chunk))
            out.write(grow.flush())
    except zlib.error:
        raise StoreError(
            f"{packed}: the closed snapshot's rows are damaged; restore it from a backup"
        ) from None
    except OSError as exc:
        raise StoreError(f"{packed}: cannot read the closed snapshot ({exc.strerror or exc})") from None
    if seal is not None and "sha256:" + digest.hexdigest() != seal:
        raise StoreError(
            f"{packed}: the closed snapshot no longer matches its recorded fingerprint (its rows differ "
            "from the seal recorded at its close); restore it from a backup"
        )


@contextlib.contextmanager
def unpacked(packed: Path, seal: str | None) -> Iterator[Path]:
    """The rows of ``packed`` as a temporary SQLite file, removed after the block."""
    fd, name = tempfile.mkstemp(prefix="reportgen-rows-", suffix=".sqlite3")
    os.close(fd)
    path = Path(name)
    try:
        inflate(packed, seal, path)
        yield path
    finally:
        path.unlink(missing_ok=True)


class Unpacker:
    """Attaches a snapshot's packed rows to its connection when a statement first reads them."""

    def __init__(self, packed: Path) -> None:
        self.packed = packed
        self.seal: str | None = None
        self._temp: Path | None = None
        self._done = False

    def before(self, conn: sqlite3.Connection, sql: str) -> None:
        """Attach the rows if ``sql`` reads them and they are not attached yet."""
        if self._done or not _READS_ROWS.search(sql):
            return
        self._done = True
        fd, name = tempfile.mkstemp(prefix="reportgen-rows-", suffix=".sqlite3")
        os.close(fd)
        self._temp = Path(name)
        inflate(self.packed, self.seal, self._temp)
        conn.execute("ATTACH DATABASE ? AS packed", (str(self._temp),))
        for table in PACKED_TABLES:
            conn.execute(f"CREATE TEMP VIEW {table} AS SELECT * FROM packed.{table}")
        with contextlib.suppress(OSError):  # open files can be unlinked (not on Windows: see close)
            self._temp.unlink()
            self._temp = None

    def close(self) -> None:
        if self._temp is not None:
            self._temp.unlink(missing_ok=True)
            self._temp = None
