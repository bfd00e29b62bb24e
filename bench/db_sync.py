"""Benchmark: sync from the gateway's own database into the store (issue 10).

Starts throwaway PostgreSQL and MariaDB servers (as the tests do, tests/dbservers.py),
loads ``--rows`` new-api-shaped rows of March 2026 into each (and into a SQLite file),
then times, each in a fresh process so that its peak RSS is its own:

- ``sync``: ``run_sync`` with ``[gateway] source = "database"`` into an empty store;
- ``copy-csv``: the same rows' columns straight to a CSV file (PostgreSQL ``COPY ... TO
  STDOUT``; MariaDB/SQLite a ``SELECT`` and a bare ``csv.writer``), the floor.

    python bench/db_sync.py --rows 1000000 [--dialects postgresql,mysql,sqlite] [--json]

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

from reportgen.fakegateway.synthetic import iter_rows  # noqa: E402
from tests import dbservers  # noqa: E402

START, END = 1772323200, 1775001600  # March 2026, UTC
COLUMNS = [n for n, _ in dbservers.NEWAPI_LOG_COLUMNS]


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
            import pymysql

            from reportgen.sources.dsn import parse_dsn

            d = parse_dsn(dsn)
            conn: Any = pymysql.connect(
                host=d.host, port=d.port, user=d.user, password=dbservers.READER_PASSWORD, database=d.database,
                cursorclass=pymysql.cursors.SSCursor,
            )  # fmt: skip
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
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dialects", default="postgresql,mysql,sqlite")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.child:
        kind, *rest = ns.child
        print(json.dumps(child_sync(*rest) if kind == "sync" else child_copy(*rest)))
        return
    dialects = ns.dialects.split(",")
    work = Path(tempfile.mkdtemp(prefix="reportgen-dbbench-"))
    empty = dbservers.Dataset([], [], [])
    servers: dict[str, dbservers.Server] = {}
    results: list[dict[str, Any]] = []
    try:
        for dialect in dialects:
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
    print(f"{'dialect':<11} {'step':<9} {'rows':>10} {'seconds':>8} {'rows/s':>9} {'peak MB':>8}")
    for r in results:
        print(
            f"{r['dialect']:<11} {r['step']:<9} {r['rows']:>10,} {r['seconds']:>8.1f} {r['rows_per_s']:>9,} {r['peak_mb']:>8}"
        )


if __name__ == "__main__":
    main()
