"""The store's facade: a folder's database opened for reading (:class:`Reader`) or writing (:class:`Store`).

SQLite from the standard library.  Each table family keeps its queries in its own module
(:mod:`.logs`, :mod:`.coverage`, :mod:`.facts`, :mod:`.partials` and :mod:`.rollups`,
:mod:`.windows`, :mod:`.wallet`, :mod:`.reconcile`); the classes here compose their reads
and writes over one connection (:mod:`.connection`).  Only sync, close and reconcile write,
each under the folder's :func:`sync_lock`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

from ..core.storeserver import StoreServer
from ..errors import StoreError, SyncLockedError
from . import postgres, schema
from .connection import DB_NAME, connect_ro, damaged, store_error
from .facts import FactWrites
from .logs import LogReads
from .migrations import postgres as pgschema
from .prices import PriceReads, PriceWrites
from .reconcile import ReconcileReads, ReconcileWrites
from .rollups import RollupWrites
from .usage import UsageReads
from .wallet import WalletReads, WalletWrites
from .windows import WindowWrites

LOCK_NAME = "sync.lock"


class Reader(LogReads, WalletReads, ReconcileReads, PriceReads, UsageReads):
    """Read access to a store folder's database, inside one read transaction once :meth:`begin` ran.

    Every query a period's figures need is a method here, so a view that reads totals,
    detail rows, fingerprint and coverage through one reader sees one consistent
    snapshot of the store even while a sync commits windows.
    """

    @classmethod
    def open(cls, directory: Path | StoreServer, *, snapshot: bool = False) -> Reader:
        """Open the store in ``directory`` (or the PostgreSQL store of ``[store] dsn``) read-only,
        migrating an older live store first.

        A read-only copy of a store works too: when SQLite cannot create its shared-memory
        file beside the copy, the copy is opened as immutable.
        """
        if isinstance(directory, StoreServer):
            return cls._on_server(directory)
        directory = Path(directory)
        db = directory / DB_NAME
        if not db.is_file():
            if db.exists():
                raise damaged(db, "not a file (a folder or device is in the store's place)")
            raise StoreError(f"{directory}: no store yet; run `reportgen sync` first")
        conn = connect_ro(db)
        try:
            version = schema.version_of(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise store_error(exc, db, "read") from None
        if version is None or version < schema.OLDEST_MIGRATABLE or version > schema.SCHEMA_VERSION:
            conn.close()
            Store.open(directory, create=False).close()  # raises the one-line reason
            raise StoreError(f"{db}: not a reportgen store")  # pragma: no cover - open raised
        if version < schema.SCHEMA_VERSION and not snapshot:
            conn.close()
            with sync_lock(directory, "store migration"):
                Store.open(directory, create=False).close()  # migrates, with a backup
            conn = connect_ro(db)
        return cls(directory, conn)

    @classmethod
    def _on_server(cls, server: StoreServer) -> Reader:
        conn = postgres.connect(server, purpose="read")
        try:
            version = schema.version_of(conn.as_db())
        except BaseException:
            conn.close()
            raise
        if version is None:
            conn.close()
            raise StoreError(f"{server}: no store yet; run `reportgen sync` first")
        if version != schema.SCHEMA_VERSION:
            conn.close()
            Store.open(server, create=False).close()  # migrates, or says why it cannot
            conn = postgres.connect(server, purpose="read")
        return cls(Path(), conn.as_db(), server=server)


class Store(FactWrites, WindowWrites, RollupWrites, WalletWrites, ReconcileWrites, PriceWrites, Reader):
    """One gateway account's synced logs in ``<dir>/reportgen.sqlite3``, open for writing.

    Only sync, close and reconcile write, each under the folder's sync lock.
    """

    @classmethod
    def open(cls, directory: Path | StoreServer, create: bool = True, *, snapshot: bool = False) -> Store:
        if isinstance(directory, StoreServer):
            shared = postgres.connect(directory, purpose="write")
            try:
                if create and directory.schema != "public":  # a closed snapshot's schema
                    shared.execute(f'CREATE SCHEMA IF NOT EXISTS "{directory.schema}"')
                if not create and schema.version_of(shared.as_db()) is None:
                    raise StoreError(f"{directory}: no store yet; run `reportgen sync` first")
                pgschema.migrate(shared)
            except BaseException:
                shared.close()
                raise
            return cls(Path(), shared.as_db(), server=directory)
        directory = Path(directory)
        db = directory / DB_NAME
        if not db.exists() and not create:
            raise StoreError(f"{directory}: no store yet; run `reportgen sync` first")
        if db.exists() and (not db.is_file() or db.stat().st_size == 0):
            raise damaged(db, "not a file" if not db.is_file() else "the file is empty (truncated)")
        try:
            directory.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(db, isolation_level=None, timeout=30)
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            schema.migrate(conn, db)
        except sqlite3.Error as exc:
            raise store_error(exc, db, "open") from None
        except OSError as exc:
            raise StoreError(f"{db}: cannot open the store ({exc.strerror or exc})") from None
        return cls(directory, conn)


def init_server(server: StoreServer, sync: str, reader: str, closer: str) -> list[str]:
    """Create the store's tables in the (empty) database of ``server`` (or migrate them) and return
    the ``GRANT`` statements its owner runs for the sync, reader and closer roles."""
    with Store.open(server) as store:
        tables = store._dialect.tables(store._conn)
    return pgschema.grants(tables, sync, reader, closer)


@contextlib.contextmanager
def sync_lock(directory: Path | StoreServer, holder: str = "sync") -> Iterator[None]:
    """Hold a store's write lock for ``holder`` (``sync``, ``packet 2026-04``, …); another
    command that writes the store is refused at once, told which command holds it.

    A folder's lock is a ``flock`` on its lock file; a PostgreSQL store's a session advisory
    lock (:func:`.postgres.advisory_lock`).  Either is released when the process dies."""
    if isinstance(directory, StoreServer):
        with postgres.advisory_lock(directory, holder):
            yield
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StoreError(
            f"{directory}: cannot take the sync lock ({exc.strerror or exc}); the store folder must be "
            "writable to sync, close or issue packets (reading works on a read-only copy)"
        ) from None
    try:
        try:
            _lock(fd)
        except OSError:
            raise SyncLockedError(
                f"another reportgen command ({_holder(fd)}) is writing {directory}; wait for it to finish"
            ) from None
        with contextlib.suppress(OSError):  # who holds it, for the command refused (the lock is the fd's)
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"reportgen {holder} (pid {os.getpid()})".encode())
            os.lseek(fd, 0, os.SEEK_SET)
        yield
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    """What the lock's holder wrote in it (``reportgen packet 2026-04 (pid 4242)``), printable."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 200).decode("utf-8", "replace")
    except OSError:  # Windows locks the byte it would read
        text = ""
    shown = "".join(c for c in text if c.isprintable()).strip()
    return shown or "reportgen sync, close, reconcile or packet"


def _lock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
