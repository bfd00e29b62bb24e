"""Benchmark: sync from the gateway's own database into the store (issue 10).

Starts throwaway PostgreSQL and MariaDB servers (as the tests do, tests/dbservers.py),
loads ``--rows`` new-api-shaped rows of March 2026 into each (and into a SQLite file),
then times, each in a fresh process so that its peak RSS is its own:

- ``sync``: ``run_sync`` with ``[gateway] source = "database"`` into an empty store;
- ``copy-csv``: the same rows' columns straight to a CSV file (PostgreSQL ``COPY ... TO
  STDOUT``; MariaDB/SQLite a ``SELECT`` and a bare ``csv.writer``), the floor;
- ``api`` (``--api-rows``, default 100,000): the same kind of rows served by the fake gateway
  (its own process, no rate limit) and synced through the management API client: the
  API path's own cost, side by side (a real gateway's rate limit allows ~100 rows/s).

    python bench/db_sync.py --rows 1000000 [--dialects postgresql,mysql,sqlite,api] [--json]

``cpu s`` is the step's user + system CPU time (all threads): unlike the wall seconds it
does not depend on what else the machine runs.

Progress goes to stderr, the table (or JSON) to stdout.  Not run by CI.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reportgen.testing.fakegateway.synthetic import iter_rows  # noqa: E402
from tests import dbservers  # noqa: E402

START, END = 1772323200, 1775001600  # March 2026, UTC
COLUMNS = [n for n, _ in dbservers.NEWAPI_LOG_COLUMNS]
API_TOKEN = "bench-token-0123456789"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _db_rows(n: int) -> Any:
    for i, row in enumerate(iter_rows(n, START, END)):
        yield tuple(dbservers.newapi_row(row, i)[c] for c in COLUMNS)


def load_postgres(server: dbservers.Server, n: int) -> None:
    psycopg, password = server.extra["admin"]
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{server.port}/newapi", password=password) as conn:
        with conn.cursor() as cur:
            cur.execute("TRUNCATE logs")
            names = ", ".join(f'"{c}"' for c in COLUMNS)
            with cur.copy(f"COPY logs ({names}) FROM STDIN") as copy:
                for values in _db_rows(n):
                    copy.write_row(values)
        conn.execute("ANALYZE logs")


def load_mysql(server: dbservers.Server, n: int) -> None:
    conn = server.extra["admin"]("newapi")
    sql = dbservers.insert_sql(dbservers.MY, "logs", COLUMNS)
    with conn.cursor() as cur:
        cur.execute("TRUNCATE logs")
        batch: list[tuple[Any, ...]] = []
        for values in _db_rows(n):
            batch.append(values)
            if len(batch) == 5000:
                cur.executemany(sql, batch)
                batch.clear()
        if batch:
            cur.executemany(sql, batch)
    conn.commit()
    conn.close()


def load_sqlite(path: Path, n: int) -> None:
    import sqlite3

    dbservers.make_sqlite(path, dbservers.Dataset([], [], []))
    conn = sqlite3.connect(path)
    conn.executemany(dbservers.insert_sql(dbservers.LITE, "logs", COLUMNS), _db_rows(n))
    conn.commit()
    conn.close()


def child_sync(dsn: str, store: str) -> dict[str, Any]:
    from reportgen.app.sync import run_sync
    from reportgen.config import load_config
    from reportgen.core.periods import parse_period

    folder = Path(store)
    folder.mkdir(parents=True)
    (folder / "reportgen.toml").write_text(
        f'[gateway]\nsource = "database"\ndsn = "{dsn}"\nuser_id = 42\n[report]\ntimezone = "UTC"\n'
    )
    config = load_config(folder / "reportgen.toml", env={"REPORTGEN_DB_PASSWORD": dbservers.READER_PASSWORD})
    started = time.perf_counter()
    result = run_sync(config, parse_period("2026-03", config.tz), now=lambda: END + 86400)
    return {"seconds": time.perf_counter() - started, "rows": result.rows, "queries": result.requests}


def child_serve(n: str) -> None:
    """The fake gateway serving ``n`` rows of March 2026 until stdin closes (its own process)."""
    from reportgen.testing.fakegateway import FakeGateway

    with FakeGateway(list(iter_rows(int(n), START, END)), [], flavor="new-api", access_token=API_TOKEN,
                     user_id=42, rate_limit=None) as gw:  # fmt: skip
        print(json.dumps({"url": gw.url}), flush=True)
        sys.stdin.read()


def child_api(url: str, store: str) -> dict[str, Any]:
    from reportgen.app.sync import run_sync
    from reportgen.config import load_config
    from reportgen.core.periods import parse_period

    folder = Path(store)
    folder.mkdir(parents=True)
    (folder / "reportgen.toml").write_text(
        f'[gateway]\nbase_url = "{url}"\nuser_id = 42\nrequests_per_window = 1000000000\n'
        '[report]\ntimezone = "UTC"\n'
    )
    config = load_config(folder / "reportgen.toml", env={"REPORTGEN_ACCESS_TOKEN": API_TOKEN})
    started = time.perf_counter()
    result = run_sync(config, parse_period("2026-03", config.tz), now=lambda: END + 86400)
    return {"seconds": time.perf_counter() - started, "rows": result.rows, "queries": result.requests}


def measure_api(n: int, store: Path) -> dict[str, Any]:
    server = subprocess.Popen([sys.executable, __file__, "--child", "serve", str(n)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert server.stdin is not None and server.stdout is not None
    try:
        url = json.loads(server.stdout.readline())["url"]
        return measure(["api", url, str(store)])
    finally:
        server.stdin.close()
        server.wait()


def child_copy(dialect: str, dsn: str, out: str) -> dict[str, Any]:
    names = ", ".join(f'"{c}"' if dialect != "mysql" else f"`{c}`" for c in COLUMNS)
    where = f"WHERE user_id = 42 AND created_at >= {START} AND created_at < {END}"
    started = time.perf_counter()
    rows = 0
    if dialect == "postgresql":
        import psycopg

        sql = f"COPY (SELECT {names} FROM logs {where}) TO STDOUT WITH CSV"
        with (
            psycopg.connect(dsn, password=dbservers.READER_PASSWORD) as conn,
            open(out, "wb") as fp,
            conn.cursor().copy(sql) as copy,
        ):
            for chunk in copy:
                fp.write(chunk)
                rows += bytes(chunk).count(b"\n")
    else:
        if dialect == "mysql":
            from reportgen.config import Secret
            from reportgen.sources.drivers import connect
            from reportgen.sources.dsn import parse_dsn

            # the driver the sync reads with: MySQL Connector/Python's C extension when it loads
            # (its default cursor streams the rows), else PyMySQL
            conn: Any = connect(parse_dsn(dsn), Secret(dbservers.READER_PASSWORD))._raw
        else:
            import sqlite3

            conn = sqlite3.connect(dsn.removeprefix("sqlite:///"))
        cur = conn.cursor()
        cur.execute(f"SELECT {names} FROM logs {where}")
        with open(out, "w", newline="", encoding="utf-8") as fp:
            writer = csv.writer(fp)
            while batch := cur.fetchmany(10000):
                writer.writerows(batch)
                rows += len(batch)
        conn.close()
    return {"seconds": time.perf_counter() - started, "rows": rows}


def measure(args: list[str]) -> dict[str, Any]:
    """Run one step in a fresh interpreter; its peak RSS comes from wait4."""
    proc = subprocess.Popen([sys.executable, __file__, "--child", *args], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"step {args[0]} failed")
    result = json.loads(out)
    result["peak_mb"] = round(usage.ru_maxrss / 1024, 1)
    result["rows_per_s"] = round(result["rows"] / result["seconds"])
    result["cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dialects", default="postgresql,mysql,sqlite,api")
    parser.add_argument(
        "--api-rows", type=int, default=100_000, help="rows for the API path (default 100,000)"
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.child:
        kind, *rest = ns.child
        if kind == "serve":
            child_serve(*rest)
            return
        steps = {"sync": child_sync, "copy": child_copy, "api": child_api}
        print(json.dumps(steps[kind](*rest)))
        return
    dialects = ns.dialects.split(",")
    work = Path(tempfile.mkdtemp(prefix="reportgen-dbbench-"))
    empty = dbservers.Dataset([], [], [])
    servers: dict[str, dbservers.Server] = {}
    results: list[dict[str, Any]] = []
    try:
        for dialect in dialects:
            if dialect == "api":
                _log(f"api: serving {ns.api_rows:,} rows from the fake gateway")
                result = {"dialect": "api", "step": "sync", **measure_api(ns.api_rows, work / "store-api")}
                _log(json.dumps(result))
                results.append(result)
                continue
            started = time.perf_counter()
            if dialect == "postgresql":
                servers[dialect] = server = dbservers.start_postgres(empty)
                load_postgres(server, ns.rows)
                dsn = server.dsn("newapi")
            elif dialect == "mysql":
                servers[dialect] = server = dbservers.start_mariadb(empty)
                load_mysql(server, ns.rows)
                dsn = server.dsn("newapi")
            else:
                load_sqlite(work / "gateway.db", ns.rows)
                dsn = f"sqlite:///{work / 'gateway.db'}"
            _log(f"{dialect}: loaded {ns.rows:,} rows in {time.perf_counter() - started:.0f} s")
            for step, args in (
                ("sync", ["sync", dsn, str(work / f"store-{dialect}")]),
                ("copy-csv", ["copy", dialect, dsn, str(work / f"{dialect}.csv")]),
            ):
                result = {"dialect": dialect, "step": step, **measure(args)}
                _log(json.dumps(result))
                results.append(result)
    finally:
        for server in servers.values():
            server.stop()
    if ns.json:
        print(json.dumps(results, indent=2))
        return
    print(
        f"{'dialect':<11} {'step':<9} {'rows':>10} {'seconds':>8} {'cpu s':>7} {'rows/s':>9} {'peak MB':>8}"
    )
    for r in results:
        print(
            f"{r['dialect']:<11} {r['step']:<9} {r['rows']:>10,} {r['seconds']:>8.1f} {r['cpu_seconds']:>7.1f} "
            f"{r['rows_per_s']:>9,} {r['peak_mb']:>8}"
        )


if __name__ == "__main__":
    main()
