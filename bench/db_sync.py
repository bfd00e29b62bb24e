"""Benchmark: sync from the gateway's own database into the store (issue 10).

Starts throwaway PostgreSQL and MariaDB servers (as the tests do, tests/dbservers.py),
loads ``--rows`` new-api-shaped rows of March 2026 into each (and into a SQLite file),
then times, each in a fresh process so that its peak RSS is its own:

- ``sync``: ``run_sync`` with ``[gateway] source = "database"`` into an empty store;
- ``copy-csv``: the same rows' columns straight to a CSV file (PostgreSQL ``COPY ... TO
  STDOUT``; MariaDB/SQLite a ``SELECT`` and a bare ``csv.writer``), the floor;
- ``psql-copy`` (PostgreSQL): ``psql -c "\\copy (SELECT ...) TO FILE CSV"`` of the same
  columns, a whole ``psql`` process: the floor issue 27 measures the sync against
  (``--repeat N`` runs sync and floors round robin, N times, and reports medians);
- ``api`` (``--api-rows``, default 100,000): the same kind of rows served by the fake gateway
  (its own process, no rate limit) and synced through the management API client: the
  API path's own cost, side by side (a real gateway's rate limit allows ~100 rows/s).

- ClickHouse (``--dialects clickhouse``, issue 28): ``sync`` from new-api's ClickHouse logs
  table (``id`` 0; keys from a SQLite main database) against the bare clickhouse-driver
  streaming the same columns to CSV (``select``) and the server's ``GROUP BY`` of the month's
  rollup (``group-by``, the floor).

    python bench/db_sync.py --rows 1000000 [--dialects postgresql,mysql,sqlite,api,clickhouse] [--json]

``cpu s`` is the step's user + system CPU time (all threads): unlike the wall seconds it
does not depend on what else the machine runs.

Progress goes to stderr, the table (or JSON) to stdout.  Not run by CI.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))

import data  # noqa: E402

from reportgen.testing.fakegateway.synthetic import iter_rows  # noqa: E402
from tests import clickhouse_server, dbservers  # noqa: E402

#: March 2026 in the bench's report timezone (Asia/Shanghai), as the realistic month has it.
START, END = data.period().start_ts, data.period().end_ts
COLUMNS = [n for n, _ in dbservers.NEWAPI_LOG_COLUMNS]
#: The steps of the dialects that have other floors than ``copy-csv`` (``sync`` first).
STEPS = {
    "postgresql": ("sync", "copy-csv", "psql-copy"),
    "clickhouse": ("sync", "select", "group-by"),
}
API_TOKEN = "bench-token-0123456789"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _db_rows(n: int) -> Any:
    """A realistic month (issue 27, ``data.rows``): refunds, errors, credit rows, ``other`` as
    new-api writes it (cache tokens and ratios, the channel's admin info)."""
    for i, row in enumerate(data.rows(n, realistic=True)):
        row.setdefault("user_id", data.USER_ID)
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


def load_clickhouse(server: Any, n: int) -> None:
    """new-api's ClickHouse logs table (``id`` 0) holding the same rows."""
    server.load_logs("newapi", [])
    names = ", ".join(f"`{c}`" for c in COLUMNS)
    batch: list[tuple[Any, ...]] = []
    for values in _db_rows(n):
        batch.append(tuple(int(v) if isinstance(v, bool) else v for v in values))
        if len(batch) == 200_000:
            server.execute(f"INSERT INTO newapi.logs ({names}) VALUES", batch)
            batch = []
    if batch:
        server.execute(f"INSERT INTO newapi.logs ({names}) VALUES", batch)
    server.execute("OPTIMIZE TABLE newapi.logs FINAL")  # merged parts, as a table days old has them


def load_clickhouse_on_server(server: Any, n: int) -> None:
    """``n`` rows of the month generated by the server itself (``INSERT … SELECT FROM numbers``:
    seconds for 10M, where building them in Python takes most of an hour on this machine):
    50 keys, 12 models, ~2 % refunds, ~1 % errors, a unique request id, ``other`` as new-api
    writes it (ratios, cache tokens, first-response time, the billing source)."""
    server.load_logs("newapi", [])
    span = END - START
    names = ", ".join(f"`{c}`" for c in COLUMNS)
    kind = "multiIf(number % 100 = 7, 6, number % 100 = 13, 5, 2)"
    other = (
        'concat(\'{"model_ratio":\', toString(1 + number % 12), \',"group_ratio":1,"completion_ratio":\', '
        "toString(1 + number % 3), ',\"cache_tokens\":', toString(number % 97), ',\"frt\":', "
        "toString(200 + number % 900), ',\"billing_source\":\"', if(number % 100 = 3, 'subscription', "
        '\'wallet\'), \'","admin_info":{"use_channel":["\', toString(number % 7), \'"]}}\')'
    )
    values = (
        f"42, {START} + intDiv(number * {span}, {n}), {kind}, if({kind} = 6, 'refund', ''), 'acme', "
        f"concat('member-', substring(toString(1000 + number % {data.MEMBERS}), 2, 3)), "
        f"concat('model-', toString(number % {data.MODELS})), 100 + number % 5000, 50 + number % 3000, "
        f"number % 1500, number % 30, number % 2, number % 7, number % {data.MEMBERS}, 'default', '127.0.0.1', "
        f"{other}, hex(cityHash64(number))"
    )
    for at in range(0, n, 1_000_000):
        count = min(1_000_000, n - at)
        server.execute(
            f"INSERT INTO newapi.logs ({names}) SELECT {values} FROM "
            f"(SELECT number + {at} AS number FROM system.numbers LIMIT {count})"
        )
    server.execute("OPTIMIZE TABLE newapi.logs FINAL")


def child_clickhouse(kind: str, dsn: str, out: str) -> dict[str, Any]:
    """The floors a ClickHouse sync is measured against, through the bare driver (native protocol):
    ``select`` streams the sync's columns of the month to a CSV file; ``group-by`` is the
    month's rollup (local day x key x model x type) computed by the server."""
    from clickhouse_driver import Client

    from reportgen.sources.dsn import parse_dsn

    where = parse_dsn(dsn)
    client = Client(host=where.host, port=where.port, user=where.user, password=dbservers.READER_PASSWORD,
                    database=where.database)  # fmt: skip
    started = time.perf_counter()
    rows = 0
    if kind == "select":
        names = ", ".join(f"`{c}`" for c in COLUMNS)
        select = (
            f"SELECT {names} FROM logs WHERE user_id = 42 AND created_at >= {START} AND created_at < {END}"
        )
        with open(out, "w", newline="", encoding="utf-8") as fp:
            writer = csv.writer(fp)
            for row in client.execute_iter(select, settings={"max_block_size": 65536}):
                writer.writerow(row)
                rows += 1
    else:
        groups = client.execute(
            f"SELECT toDate(toDateTime(created_at, '{data.TZ}')) AS day, token_name, model_name, type, count(), "
            "sum(quota), sum(prompt_tokens), sum(completion_tokens) FROM logs "
            f"WHERE user_id = 42 AND created_at >= {START} AND created_at < {END} "
            "GROUP BY day, token_name, model_name, type"
        )
        rows = sum(g[4] for g in groups)
    client.disconnect()
    return {"seconds": time.perf_counter() - started, "rows": rows}


def child_sync(dsn: str, store: str, main_dsn: str = "") -> dict[str, Any]:
    from reportgen.app.sync import run_sync
    from reportgen.config import load_config
    from reportgen.core.periods import parse_period

    folder = Path(store)
    folder.mkdir(parents=True)
    (folder / "reportgen.toml").write_text(
        f'[gateway]\nsource = "database"\ndsn = "{dsn}"\nuser_id = 42\n'
        + (f'main_dsn = "{main_dsn}"\n' if main_dsn else "")
        + f'[report]\ntimezone = "{data.TZ}"\n'
    )
    config = load_config(folder / "reportgen.toml", env={"REPORTGEN_DB_PASSWORD": dbservers.READER_PASSWORD})
    started = time.perf_counter()
    result = run_sync(config, parse_period(data.PERIOD, config.tz), now=lambda: END + 86400)
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


def _copy_select(dialect: str) -> str:
    """The SELECT of every column of the month's rows: what the floors export."""
    names = ", ".join(f'"{c}"' if dialect != "mysql" else f"`{c}`" for c in COLUMNS)
    return f"SELECT {names} FROM logs WHERE user_id = 42 AND created_at >= {START} AND created_at < {END}"


def measure_psql(dsn: str, out: Path) -> dict[str, Any]:
    """``psql \\copy`` of the month's columns to a CSV file, as one whole process (wait4's figures)."""
    env = {**os.environ, "PGPASSWORD": dbservers.READER_PASSWORD}
    started = time.perf_counter()
    proc = subprocess.Popen(
        ["psql", "-X", "-q", "-d", dsn, "-c", f"\\copy ({_copy_select('postgresql')}) TO '{out}' WITH CSV"],
        env=env,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit("psql \\copy failed")
    with open(out, "rb") as fp:
        rows = sum(chunk.count(b"\n") for chunk in iter(lambda: fp.read(1 << 20), b""))
    return {
        "seconds": seconds,
        "rows": rows,
        "peak_mb": round(usage.ru_maxrss / 1024, 1),
        "rows_per_s": round(rows / seconds),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
    }


def child_copy(dialect: str, dsn: str, out: str) -> dict[str, Any]:
    select = _copy_select(dialect)
    started = time.perf_counter()
    rows = 0
    if dialect == "postgresql":
        import psycopg

        sql = f"COPY ({select}) TO STDOUT WITH CSV"
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
        cur.execute(select)
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
    parser.add_argument("--repeat", type=int, default=1, help="runs of each step, round robin (medians)")
    parser.add_argument(
        "--pg-dsn",
        help="a PostgreSQL database already holding the rows (as the reader): not started nor loaded",
    )
    parser.add_argument(
        "--ch-load",
        choices=("server", "python"),
        default="server",
        help="ClickHouse rows generated by the server (default, fast) or data.rows' realistic month",
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.child:
        kind, *rest = ns.child
        if kind == "serve":
            child_serve(*rest)
            return
        steps = {"sync": child_sync, "copy": child_copy, "api": child_api, "clickhouse": child_clickhouse}
        print(json.dumps(steps[kind](*rest)))
        return
    dialects = ns.dialects.split(",")
    work = Path(tempfile.mkdtemp(prefix="reportgen-dbbench-"))
    empty = dbservers.Dataset([], [], [])
    servers: dict[str, Any] = {}
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
            if dialect == "postgresql" and ns.pg_dsn:
                dsn = ns.pg_dsn
            elif dialect == "postgresql":
                servers[dialect] = server = dbservers.start_postgres(empty)
                load_postgres(server, ns.rows)
                dsn = server.dsn("newapi")
            elif dialect == "clickhouse":
                servers[dialect] = server = clickhouse_server.start_clickhouse()
                (load_clickhouse if ns.ch_load == "python" else load_clickhouse_on_server)(server, ns.rows)
                dsn = server.dsn("newapi")
            elif dialect == "mysql":
                servers[dialect] = server = dbservers.start_mariadb(empty)
                load_mysql(server, ns.rows)
                dsn = server.dsn("newapi")
            else:
                load_sqlite(work / "gateway.db", ns.rows)
                dsn = f"sqlite:///{work / 'gateway.db'}"
            _log(f"{dialect}: loaded {ns.rows:,} rows in {time.perf_counter() - started:.0f} s")
            runs: dict[str, list[dict[str, Any]]] = {}
            for run in range(ns.repeat):  # round robin: each step meets the same load
                shutil.rmtree(work / f"store-{dialect}", ignore_errors=True)
                for step in STEPS.get(dialect, ("sync", "copy-csv")):
                    result = {"dialect": dialect, "step": step, "run": run, **_step(step, dialect, dsn, work)}
                    _log(json.dumps(result))
                    runs.setdefault(step, []).append(result)
            floor = {"postgresql": "psql-copy", "clickhouse": "group-by"}.get(dialect, "copy-csv")
            medians = {step: _median(rs) for step, rs in runs.items()}
            for result in medians.values():
                result["x_floor"] = round(result["seconds"] / medians[floor]["seconds"], 2)
                result["cpu_x_floor"] = round(
                    result["cpu_seconds"] / max(medians[floor]["cpu_seconds"], 0.01), 2
                )
                results.append(result)
    finally:
        for server in servers.values():
            server.stop()
    if ns.json:
        print(json.dumps(results, indent=2))
        return
    print(
        f"{'dialect':<11} {'step':<9} {'rows':>10} {'seconds':>8} {'cpu s':>7} {'rows/s':>9} {'peak MB':>8}"
        f" {'x floor':>8}"
    )
    for r in results:
        print(
            f"{r['dialect']:<11} {r['step']:<9} {r['rows']:>10,} {r['seconds']:>8.2f} {r['cpu_seconds']:>7.2f} "
            f"{r['rows_per_s']:>9,} {r['peak_mb']:>8} {r.get('x_floor', ''):>8}"
        )


def _step(step: str, dialect: str, dsn: str, work: Path) -> dict[str, Any]:
    """One run of ``step`` (in its own process)."""
    if step == "sync":
        if dialect == "clickhouse":  # the keys and options live in the gateway's main database
            main = work / "main.db"
            if not main.exists():
                dbservers.make_sqlite(main, dbservers.Dataset([], [], []))
            return measure(["sync", dsn, str(work / f"store-{dialect}"), f"sqlite:///{main}"])
        return measure(["sync", dsn, str(work / f"store-{dialect}")])
    if dialect == "clickhouse":
        return measure(["clickhouse", step, dsn, str(work / "clickhouse.csv")])
    if step == "copy-csv":
        return measure(["copy", dialect, dsn, str(work / f"{dialect}.csv")])
    return measure_psql(dsn, work / "psql.csv")


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median run's figures of each measure (a step's runs)."""
    out = dict(runs[0])
    for name in ("seconds", "cpu_seconds", "peak_mb", "rows_per_s"):
        out[name] = statistics.median(r[name] for r in runs)
    out["runs"] = len(runs)
    out.pop("run", None)
    return out


if __name__ == "__main__":
    main()
