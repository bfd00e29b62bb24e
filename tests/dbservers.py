"""Real PostgreSQL and MariaDB servers on loopback for the database-source tests (never mocked).

Each server is started once per test session in a temporary folder on a free port, loaded
with new-api- and one-api-shaped ``logs``, ``tokens``, ``options`` and ``users`` tables
holding the rows the fake gateway serves, and stopped at the end.  A missing server binary
or driver skips the tests that need it, with the reason; ``REPORTGEN_REQUIRE_DB_SERVERS=1``
(set by ``.ci/run``) turns that skip into a failure, so CI never skips them silently.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ADMIN_PASSWORD = "admin-pw-Ψ-0"
READER = "reportgen"
READER_PASSWORD = "reader-pw-9f3b"  # the tests assert it never appears in any message
NO_RIGHTS = "nobody"
WRITER = "writer"  # may write everything: proves the source's connection itself is read-only
OTHER_USER = (7, "other-team")  # a second gateway user whose rows must never be read
_CRAZYROUTER_ONLY = ("client", "request_id", "request_method", "http_status")
#: Databases every server gets: the two gateway shapes and the broken ones for bad-input tests.
DATABASES = ("newapi", "oneapi", "nologs", "missingcol", "badtypes")


def require_servers() -> bool:
    return os.environ.get("REPORTGEN_REQUIRE_DB_SERVERS", "") not in ("", "0")


def unavailable(reason: str) -> None:
    """Skip, or fail when CI requires the servers."""
    if require_servers():
        pytest.fail(f"REPORTGEN_REQUIRE_DB_SERVERS is set but {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ----------------------------------------------------------------------------- row shapes
def _shared_columns(row: dict[str, Any]) -> dict[str, Any]:
    """The columns new-api and one-api both keep, as both keep them."""
    return {
        "user_id": row["user_id"],
        "created_at": row["created_at"],
        "type": row["type"],
        "content": row.get("content", ""),
        "username": row["username"],
        "token_name": row["token_name"],
        "model_name": row["model_name"],
        "quota": row["quota"],
        "prompt_tokens": row["prompt_tokens"],
        "completion_tokens": row["completion_tokens"],
    }


def newapi_row(row: dict[str, Any], seq: int) -> dict[str, Any]:
    """A canonical row as new-api stores it: ``other`` as JSON text, ``use_time`` whole seconds."""
    other = {k: v for k, v in (row.get("other") or {}).items() if k not in _CRAZYROUTER_ONLY}
    return {
        **_shared_columns(row),
        "use_time": int(row.get("use_time") or 0),
        "is_stream": bool(row.get("is_stream")),
        "channel_id": row.get("channel", 0),
        "token_id": row.get("token_id", 0),
        "group": row.get("group", ""),
        "ip": row.get("ip", ""),
        # new-api writes "" for no detail; old rows hold the text "null": keep both kinds.
        "other": json.dumps(other, ensure_ascii=False, separators=(",", ":"))
        if other
        else ("null" if seq % 2 else ""),
        "request_id": row.get("request_id", ""),
    }


def oneapi_row(row: dict[str, Any]) -> dict[str, Any]:
    """A canonical row as one-api (v0.6, with elapsed_time) stores it."""
    return {
        **_shared_columns(row),
        "channel_id": row.get("channel", 0),
        "elapsed_time": int(row.get("use_time") or 0) * 1000,
        "is_stream": bool(row.get("is_stream")),
    }


def oneapi_api_row(row: dict[str, Any]) -> dict[str, Any]:
    """The same row as the fake's one-api flavour should serve it: one-api logs have no
    ``token_id``, ``group`` or ``ip`` (the fake otherwise passes canonical fields through)."""
    return {k: v for k, v in row.items() if k not in ("token_id", "group", "ip")}


def oneapi_api_token(token: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in token.items() if k != "group"}


# ----------------------------------------------------------------------------- DDL
@dataclass(frozen=True)
class Dialect:
    name: str
    q: str  # identifier quote
    pk: str
    boolean: str
    text: str
    placeholder: str

    def quote(self, name: str) -> str:
        return f"{self.q}{name}{self.q}"


PG = Dialect("postgresql", '"', "bigserial PRIMARY KEY", "boolean", "text", "%s")
MY = Dialect("mysql", "`", "bigint AUTO_INCREMENT PRIMARY KEY", "tinyint(1)", "longtext", "%s")
LITE = Dialect("sqlite", '"', "integer PRIMARY KEY AUTOINCREMENT", "numeric", "text", "?")

NEWAPI_LOG_COLUMNS = (
    ("user_id", "bigint"),
    ("created_at", "bigint"),
    ("type", "bigint"),
    ("content", "TEXT"),
    ("username", "varchar(191) DEFAULT ''"),
    ("token_name", "varchar(191) DEFAULT ''"),
    ("model_name", "varchar(191) DEFAULT ''"),
    ("quota", "bigint DEFAULT 0"),
    ("prompt_tokens", "bigint DEFAULT 0"),
    ("completion_tokens", "bigint DEFAULT 0"),
    ("use_time", "bigint DEFAULT 0"),
    ("is_stream", "BOOL"),
    ("channel_id", "bigint"),
    ("token_id", "bigint DEFAULT 0"),
    ("group", "varchar(191)"),
    ("ip", "varchar(191) DEFAULT ''"),
    ("other", "TEXT"),
    ("request_id", "varchar(64) DEFAULT ''"),
)
ONEAPI_LOG_COLUMNS = (
    ("user_id", "bigint"),
    ("created_at", "bigint"),
    ("type", "bigint"),
    ("content", "TEXT"),
    ("username", "varchar(191) DEFAULT ''"),
    ("token_name", "varchar(191) DEFAULT ''"),
    ("model_name", "varchar(191) DEFAULT ''"),
    ("quota", "bigint DEFAULT 0"),
    ("prompt_tokens", "bigint DEFAULT 0"),
    ("completion_tokens", "bigint DEFAULT 0"),
    ("channel_id", "bigint"),
    ("elapsed_time", "bigint DEFAULT 0"),
    ("is_stream", "BOOL"),
)
TOKEN_COLUMNS = (
    ("user_id", "bigint"),
    ("key", "char(48)"),
    ("status", "bigint DEFAULT 1"),
    ("name", "varchar(191)"),
    ("created_time", "bigint"),
    ("accessed_time", "bigint"),
    ("expired_time", "bigint DEFAULT -1"),
    ("remain_quota", "bigint DEFAULT 0"),
    ("unlimited_quota", "BOOL"),
    ("used_quota", "bigint DEFAULT 0"),
)


def _ddl_type(d: Dialect, kind: str) -> str:
    return kind.replace("TEXT", d.text).replace("BOOL", d.boolean)


def create_logs(
    d: Dialect, columns: Sequence[tuple[str, str]], *, created_at: str | None = None
) -> list[str]:
    cols = [f"{d.quote('id')} {d.pk}"]
    for name, kind in columns:
        if name == "created_at" and created_at:
            kind = created_at
        cols.append(f"{d.quote(name)} {_ddl_type(d, kind)}")
    tail = " DEFAULT CHARSET=utf8mb4" if d.name == "mysql" else ""
    out = [f"CREATE TABLE {d.quote('logs')} ({', '.join(cols)}){tail}"]
    names = {n for n, _ in columns}
    if "created_at" in names:
        # new-api's own indexes: (id, created_at) and (created_at, type); one-api has the latter.
        out.append(f"CREATE INDEX idx_created_at_type ON logs ({d.quote('created_at')}, {d.quote('type')})")
        out.append(f"CREATE INDEX idx_created_at_id ON logs ({d.quote('id')}, {d.quote('created_at')})")
        out.append(f"CREATE INDEX idx_logs_user_id ON logs ({d.quote('user_id')})")
    return out


def create_tokens(d: Dialect, newapi: bool) -> list[str]:
    cols = [f"{d.quote('id')} {d.pk}"]
    cols += [f"{d.quote(n)} {_ddl_type(d, k)}" for n, k in TOKEN_COLUMNS]
    if newapi:
        cols += [f"{d.quote('group')} varchar(191) DEFAULT ''", f"{d.quote('deleted_at')} bigint NULL"]
    tail = " DEFAULT CHARSET=utf8mb4" if d.name == "mysql" else ""
    return [
        f"CREATE TABLE {d.quote('tokens')} ({', '.join(cols)}){tail}",
        f"CREATE TABLE {d.quote('options')} ({d.quote('key')} varchar(191) PRIMARY KEY, {d.quote('value')} {d.text})",
        f"CREATE TABLE {d.quote('users')} ({d.quote('id')} {d.pk}, {d.quote('username')} varchar(191))",
    ]


def insert_sql(d: Dialect, table: str, names: Sequence[str]) -> str:
    marks = ", ".join([d.placeholder] * len(names))
    return f"INSERT INTO {d.quote(table)} ({', '.join(map(d.quote, names))}) VALUES ({marks})"


@dataclass(frozen=True)
class Dataset:
    """What each server holds: rows per shape in database form, tokens, options and users."""

    newapi_rows: list[dict[str, Any]]
    oneapi_rows: list[dict[str, Any]]
    tokens: list[dict[str, Any]]
    users: list[tuple[int, str]] = field(default_factory=list)


def build_dataset(rows: Sequence[dict[str, Any]], tokens: Sequence[dict[str, Any]]) -> Dataset:
    """The gateway rows in both shapes, plus another user's rows that must never be read."""
    stranger = [
        {**r, "user_id": OTHER_USER[0], "username": OTHER_USER[1], "token_name": "stranger-key"}
        for r in rows[::5]
    ]
    # Interleave by time, as a shared gateway writes them; database ids then follow time.
    every = sorted([*rows, *stranger], key=lambda r: r["created_at"])
    db_tokens = [dict(t) for t in tokens]
    db_tokens.append({**tokens[0], "id": 900, "user_id": OTHER_USER[0], "name": "stranger-key"})
    # A key deleted in the console: new-api keeps the row with deleted_at set.
    db_tokens.append({**tokens[0], "id": 901, "name": "deleted-key", "deleted_at": 1767225600})
    return Dataset(
        newapi_rows=[newapi_row(r, i) for i, r in enumerate(every)],
        oneapi_rows=[oneapi_row(r) for r in every],
        tokens=db_tokens,
        users=[(42, "acme"), OTHER_USER, (9, "Zhang San")],
    )


def load(conn: Any, d: Dialect, data: Dataset, database: str) -> None:
    """Create and fill one database's tables through a DB-API connection."""
    cur = conn.cursor()

    def run(statements: Sequence[str]) -> None:
        for sql in statements:
            cur.execute(sql)

    if database in ("newapi", "oneapi"):
        newapi = database == "newapi"
        rows = data.newapi_rows if newapi else data.oneapi_rows
        run(create_logs(d, NEWAPI_LOG_COLUMNS if newapi else ONEAPI_LOG_COLUMNS))
        names = [n for n, _ in (NEWAPI_LOG_COLUMNS if newapi else ONEAPI_LOG_COLUMNS)]
        if rows:
            cur.executemany(insert_sql(d, "logs", names), [tuple(r[n] for n in names) for r in rows])
        run(create_tokens(d, newapi))
        token_names = ["id", *(n for n, _ in TOKEN_COLUMNS)] + (["group", "deleted_at"] if newapi else [])
        cur.executemany(
            insert_sql(d, "tokens", token_names),
            [tuple(t.get(n) for n in token_names) for t in data.tokens if newapi or "deleted_at" not in t],
        )
        options = [("QuotaPerUnit", "500000")] + ([("USDExchangeRate", "7.3")] if newapi else [])
        cur.executemany(insert_sql(d, "options", ["key", "value"]), options)
        if data.users:
            cur.executemany(insert_sql(d, "users", ["id", "username"]), data.users)
    elif database == "missingcol":
        run(create_logs(d, [c for c in NEWAPI_LOG_COLUMNS if c[0] != "quota"]))
    elif database == "badtypes":
        run(
            create_logs(
                d, NEWAPI_LOG_COLUMNS, created_at="timestamp NULL" if d.name == "mysql" else "timestamp"
            )
        )
    cur.close()
    conn.commit()


def make_sqlite(path: Path, data: Dataset, database: str = "newapi") -> Path:
    conn = sqlite3.connect(path)
    try:
        load(conn, LITE, data, database)
    finally:
        conn.close()
    return path


# ----------------------------------------------------------------------------- servers
@dataclass
class Server:
    """A running server: how to reach each database as the reader, and how to stop it."""

    dialect: str
    port: int
    proc: subprocess.Popen[bytes] | None = None
    stop_cmd: list[str] | None = None
    workdir: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def dsn(self, database: str, user: str = READER) -> str:
        scheme = "postgresql" if self.dialect == "postgresql" else "mysql"
        return f"{scheme}://{user}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self.stop_cmd:
            subprocess.run(self.stop_cmd, capture_output=True, timeout=60, check=False)
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _as_service_user(cmd: list[str], user: str) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", user, "--", *cmd]
    return cmd


def _workdir(prefix: str, owner: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(path, owner, owner)
    return path


def _binary(name: str, patterns: Sequence[str]) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for pattern in patterns:
        hits = sorted(glob.glob(pattern))
        if hits:
            return hits[-1]
    return None


def _accepts(path: str) -> bool:
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(path)  # raises until the server listens; closed either way (no ResourceWarning)
    return True


def _wait(ok: Any, what: str, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if ok():
                return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise RuntimeError(f"{what} did not start within {seconds:.0f} s:\n{tail}")


def start_postgres(data: Dataset) -> Server:
    """``initdb`` + ``pg_ctl start`` as the postgres user, password auth on 127.0.0.1."""
    pg_ctl = _binary("pg_ctl", ["/usr/lib/postgresql/*/bin/pg_ctl"])
    if pg_ctl is None:
        unavailable("PostgreSQL is not installed (apt-get install postgresql)")
    try:
        import psycopg
    except ImportError:
        unavailable("psycopg is not installed (pip install 'reportgen[postgres]')")
    assert pg_ctl is not None
    bindir = Path(pg_ctl).parent
    initdb = str(bindir / "initdb") if (bindir / "initdb").exists() else _binary("initdb", [])
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            unavailable("running as root and there is no postgres user to run PostgreSQL as")
    work = _workdir("reportgen-pg-", "postgres")
    pwfile = work / "pw"
    pwfile.write_text(ADMIN_PASSWORD)
    if os.geteuid() == 0:
        shutil.chown(pwfile, "postgres", "postgres")
    port = free_port()
    server = Server("postgresql", port, workdir=work)
    log = work / "log"
    try:
        subprocess.run(
            _as_service_user(
                [str(initdb), "-D", str(work / "data"), "-U", "postgres", "-A", "scram-sha-256",
                 f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C", "--no-sync"],
                "postgres",
            ),
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        opts = f"-p {port} -k {work} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
        subprocess.run(
            _as_service_user([pg_ctl, "-D", str(work / "data"), "-o", opts, "-l", str(log), "-w", "start"], "postgres"),
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        server.stop_cmd = _as_service_user(
            [pg_ctl, "-D", str(work / "data"), "-m", "immediate", "stop"], "postgres"
        )
        admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        with psycopg.connect(admin, password=ADMIN_PASSWORD, autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {READER} LOGIN PASSWORD '{READER_PASSWORD}'")
            conn.execute(f"CREATE ROLE {NO_RIGHTS} LOGIN PASSWORD '{READER_PASSWORD}'")
            conn.execute(f"CREATE ROLE {WRITER} LOGIN PASSWORD '{READER_PASSWORD}'")
            for db in DATABASES:
                conn.execute(f"CREATE DATABASE {db}")
        for db in DATABASES:
            with psycopg.connect(
                f"postgresql://postgres@127.0.0.1:{port}/{db}", password=ADMIN_PASSWORD
            ) as conn:
                load(conn, PG, data, db)
                conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READER}")
                conn.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {WRITER}")
                conn.commit()
        server.extra["admin"] = (psycopg, ADMIN_PASSWORD)
    except BaseException:
        server.stop()
        raise
    return server


def start_mariadb(data: Dataset) -> Server:
    """``mariadb-install-db`` + ``mariadbd`` in the background, on 127.0.0.1 and a socket."""
    mariadbd = _binary("mariadbd", ["/usr/sbin/mariadbd", "/usr/sbin/mysqld"])
    install = _binary("mariadb-install-db", ["/usr/bin/mysql_install_db"])
    if mariadbd is None or install is None:
        unavailable("MariaDB is not installed (apt-get install mariadb-server)")
    try:
        import pymysql
    except ImportError:
        unavailable("PyMySQL is not installed (pip install 'reportgen[mysql]')")
    assert mariadbd is not None and install is not None
    root = os.geteuid() == 0
    work = _workdir("reportgen-maria-", "mysql")
    sock = str(work / "sock")
    port = free_port()
    user = ["--user=mysql"] if root else []
    log = work / "error.log"
    server = Server("mysql", port, workdir=work)
    try:
        subprocess.run(
            [install, "--no-defaults", f"--datadir={work / 'data'}", *user, "--auth-root-authentication-method=normal",
             "--skip-test-db"],
            check=True, capture_output=True, timeout=180,
        )  # fmt: skip
        server.proc = subprocess.Popen(
            [mariadbd, "--no-defaults", f"--datadir={work / 'data'}", f"--port={port}", f"--socket={sock}",
             "--bind-address=127.0.0.1", *user, f"--log-error={log}", f"--pid-file={work / 'pid'}",
             "--skip-log-bin", "--innodb-buffer-pool-size=64M", "--innodb-flush-log-at-trx-commit=0",
             "--character-set-server=utf8mb4", "--skip-name-resolve"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

        def admin(database: str | None = None) -> Any:
            return pymysql.connect(
                unix_socket=sock, user="root", password="", database=database, charset="utf8mb4"
            )

        _wait(lambda: _accepts(sock), "mariadbd", log)
        conn = admin()
        with conn.cursor() as cur:
            for name, pw in (
                (READER, READER_PASSWORD),
                (NO_RIGHTS, READER_PASSWORD),
                (WRITER, READER_PASSWORD),
            ):
                cur.execute(f"CREATE USER '{name}'@'127.0.0.1' IDENTIFIED BY '{pw}'")
            for db in DATABASES:
                cur.execute(f"CREATE DATABASE {db} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
                cur.execute(f"GRANT SELECT ON {db}.* TO '{READER}'@'127.0.0.1'")
                cur.execute(f"GRANT ALL ON {db}.* TO '{WRITER}'@'127.0.0.1'")
        conn.commit()
        conn.close()
        for db in DATABASES:
            conn = admin(db)
            load(conn, MY, data, db)
            conn.close()
        server.extra["admin"] = admin
    except BaseException:
        server.stop()
        raise
    return server


@contextlib.contextmanager
def running(start: Any, data: Dataset) -> Iterator[Server]:
    server = start(data)
    try:
        yield server
    finally:
        server.stop()
