"""A real ClickHouse server on loopback for the ClickHouse log source's tests (never mocked).

Started once per test module in a temporary folder on free ports (native and HTTP), from
the short ``<yandex>`` XML config Debian's ``clickhouse-server`` (18.16) runs with; stopped
at the end.  Users: ``default`` (no password: the tests' admin), ``reportgen`` (a password,
a read-only profile, as an operator gives a reporting tool) and ``writer`` (may write:
proves reportgen's own session is read-only).  A missing server or driver skips, and
``REPORTGEN_REQUIRE_DB_SERVERS=1`` turns that skip into a failure (``dbservers.unavailable``).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.dbservers import READER, READER_PASSWORD, WRITER, free_port, unavailable

#: new-api's ClickHouse logs table (model/main.go, LOG_SQL_DSN=clickhouse://...), without the
#: TTL clause 18.16 rejects; ``{ttl}`` is where a newer server's ``TTL ... DELETE`` would go.
NEWAPI_LOGS = """
CREATE TABLE logs (
    id Int64 DEFAULT 0,
    user_id Int32 DEFAULT 0,
    created_at Int64 DEFAULT 0,
    type Int32 DEFAULT 0,
    content String DEFAULT '',
    username String DEFAULT '',
    token_name String DEFAULT '',
    model_name String DEFAULT '',
    quota Int32 DEFAULT 0,
    prompt_tokens Int32 DEFAULT 0,
    completion_tokens Int32 DEFAULT 0,
    use_time Int32 DEFAULT 0,
    is_stream UInt8 DEFAULT 0,
    channel_id Int32 DEFAULT 0,
    token_id Int32 DEFAULT 0,
    `group` String DEFAULT '',
    ip String DEFAULT '',
    request_id String DEFAULT '',
    upstream_request_id String DEFAULT '',
    other String DEFAULT ''
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(toDateTime(created_at))
ORDER BY (created_at, request_id){ttl}
"""
LOG_COLUMNS = (
    "user_id", "created_at", "type", "content", "username", "token_name", "model_name", "quota",
    "prompt_tokens", "completion_tokens", "use_time", "is_stream", "channel_id", "token_id", "group",
    "ip", "request_id", "other",
)  # fmt: skip

_CONFIG = """<yandex>
  <logger><level>warning</level><log>{work}/server.log</log><errorlog>{work}/error.log</errorlog></logger>
  <http_port>{http}</http_port>
  <tcp_port>{tcp}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{work}/data/</path>
  <tmp_path>{work}/tmp/</tmp_path>
  <user_files_path>{work}/files/</user_files_path>
  <format_schema_path>{work}/schemas/</format_schema_path>
  <users_config>{work}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
</yandex>
"""
_USERS = """<yandex>
  <profiles><default/><readonly><readonly>1</readonly></readonly></profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default>
    <{reader}><password>{password}</password><networks><ip>127.0.0.1</ip></networks><profile>readonly</profile><quota>default</quota></{reader}>
    <{writer}><password>{password}</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></{writer}>
  </users>
  <quotas><default/></quotas>
</yandex>
"""


@dataclass
class ClickhouseServer:
    """A running server: its ports, an admin client, and how to stop it."""

    tcp: int
    http: int
    work: Path
    proc: subprocess.Popen[bytes]

    def dsn(self, database: str = "default", user: str = READER, scheme: str = "clickhouse") -> str:
        port = self.http if scheme.startswith("http") else self.tcp
        return f"{scheme}://{user}@127.0.0.1:{port}/{database}"

    def admin(self) -> Any:
        from clickhouse_driver import Client

        return Client(host="127.0.0.1", port=self.tcp, user="default", password="")

    def execute(self, sql: str, rows: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        client = self.admin()
        try:
            result = client.execute(sql, rows) if rows is not None else client.execute(sql)
            return list(result) if isinstance(result, list) else []
        finally:
            client.disconnect()

    def load_logs(self, database: str, rows: Sequence[dict[str, Any]], ttl: str = "") -> None:
        """A new-api logs table in ``database`` holding ``rows`` (new-api's database form; ``id`` 0)."""
        self.execute(f"CREATE DATABASE IF NOT EXISTS {database}")
        self.execute(f"DROP TABLE IF EXISTS {database}.logs")
        self.execute(
            NEWAPI_LOGS.replace("CREATE TABLE logs", f"CREATE TABLE {database}.logs").format(ttl=ttl)
        )
        self.insert(database, rows)

    def insert(self, database: str, rows: Sequence[dict[str, Any]]) -> None:
        names = ", ".join(f"`{c}`" for c in LOG_COLUMNS)
        values = [tuple(_value(c, r.get(c)) for c in LOG_COLUMNS) for r in rows]
        for at in range(0, len(values), 100_000):
            self.execute(f"INSERT INTO {database}.logs ({names}) VALUES", values[at : at + 100_000])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        shutil.rmtree(self.work, ignore_errors=True)


def _value(column: str, value: Any) -> Any:
    if column == "is_stream":
        return int(bool(value))
    if value is None:
        return "" if column in ("content", "group", "ip", "request_id", "other") else 0
    return value


def _answers(http: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{http}/?query=SELECT%201", timeout=2) as r:
        return bool(r.read().strip() == b"1")


def start_clickhouse() -> ClickhouseServer:
    binary = shutil.which("clickhouse-server") or next(
        (p for p in ("/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server") if Path(p).exists()), None
    )
    if binary is None:
        unavailable("ClickHouse is not installed (apt-get install clickhouse-server)")
    try:
        import clickhouse_driver  # noqa: F401
    except ImportError:
        unavailable("clickhouse-driver is not installed (pip install 'reportgen[clickhouse]')")
    assert binary is not None
    work = Path(tempfile.mkdtemp(prefix="reportgen-ch-"))
    tcp, http = free_port(), free_port()
    (work / "config.xml").write_text(_CONFIG.format(work=work, http=http, tcp=tcp))
    (work / "users.xml").write_text(_USERS.format(reader=READER, writer=WRITER, password=READER_PASSWORD))
    proc = subprocess.Popen(
        [binary, f"--config-file={work / 'config.xml'}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work,
    )  # fmt: skip
    server = ClickhouseServer(tcp, http, work, proc)
    deadline = time.monotonic() + 60
    while True:
        with contextlib.suppress(Exception):
            if _answers(http):
                return server
        if proc.poll() is not None or time.monotonic() > deadline:
            log = (
                (work / "error.log").read_text(errors="replace")[-2000:]
                if (work / "error.log").exists()
                else ""
            )
            server.stop()
            raise RuntimeError(f"clickhouse-server did not start:\n{log}")
        time.sleep(0.2)


@contextlib.contextmanager
def running() -> Iterator[ClickhouseServer]:
    server = start_clickhouse()
    try:
        yield server
    finally:
        server.stop()
