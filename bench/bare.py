"""What a user would write instead of reportgen: bare scripts, each run as a whole process.

    python bench/bare.py STEP SPEC.json

``SPEC.json`` (written by ``realistic.py``) names the store's database, the period's
``[start, end)``, the timezone, the quota per USD, each member's keys and the output folder.
Nothing of reportgen is imported: a baseline pays only for what it uses, imports included.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Callable
from typing import Any

#: One line per key × model of the period: what ``reportgen summary`` shows, as a user would sum it.
GROUP_SQL = (
    "SELECT token_name, model_name, SUM(CASE WHEN type = 2 THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN type = 5 THEN 1 ELSE 0 END), SUM(prompt_tokens), SUM(completion_tokens), "
    "SUM(CASE WHEN type = 2 THEN quota WHEN type = 6 THEN -quota ELSE 0 END) FROM logs "
    "WHERE created_at >= {start} AND created_at < {end} AND type IN (2, 5, 6) GROUP BY 1, 2 ORDER BY 1, 2"
)
#: The rows of the detail CSV (consumption and refunds, time order).
DETAIL_SQL = (
    "SELECT created_at, token_name, model_name, type, prompt_tokens, completion_tokens, quota, "
    "use_time_ms, client, request_id, http_status FROM logs "
    "WHERE created_at >= ? AND created_at < ? AND type IN (2, 6){where} ORDER BY created_at, id"
)
HEADER = ["time", "member", "key", "model", "type", "prompt_tokens", "completion_tokens", "quota",
          "cost_usd", "latency_s", "client", "request_id", "http_status"]  # fmt: skip
#: The detail CSV's token columns since the token usage columns (issue 26): after completion_tokens.
CACHE_COLUMNS = ["input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_5m_tokens",
                 "cache_write_1h_tokens"]  # fmt: skip
CSV_SQL = (
    f"SELECT created_at, token_name, model_name, type, prompt_tokens, completion_tokens, {', '.join(CACHE_COLUMNS)}, "
    "quota, use_time_ms, client, request_id, http_status FROM logs "
    "WHERE created_at >= ? AND created_at < ? AND type IN (2, 6) ORDER BY created_at, id"
)
STEPS: dict[str, Callable[[dict[str, Any]], None]] = {}


def step(fn: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    STEPS[fn.__name__.removeprefix("bare_").replace("_", "-")] = fn
    return fn


def _members(spec: dict[str, Any]) -> dict[str, str]:
    return {key: member for member, keys in spec["members"].items() for key in keys}


def _print_groups(rows: list[tuple[Any, ...]], spec: dict[str, Any]) -> None:
    member_of, qpu = _members(spec), spec["qpu"]
    out = [
        f"{member_of.get(r[0], r[0])}\t{r[1]}\t{r[2]}\t{r[3]}\t{r[4]}\t{r[5]}\t{r[6] / qpu:.2f}" for r in rows
    ]
    sys.stdout.write("\n".join(out) + "\n")


@step
def bare_sqlite3_groupby(spec: dict[str, Any]) -> None:
    """The period's lines by key and model: one GROUP BY over the raw rows (Python's sqlite3)."""
    conn = sqlite3.connect(f"file:{spec['db']}?mode=ro", uri=True)
    _print_groups(conn.execute(GROUP_SQL.format(**spec)).fetchall(), spec)


@step
def bare_polars_groupby(spec: dict[str, Any]) -> None:
    """The same lines with polars, the rows read through sqlite3 (no connector is installed here)."""
    import polars as pl

    conn = sqlite3.connect(f"file:{spec['db']}?mode=ro", uri=True)
    sql = (
        "SELECT token_name, model_name, type, prompt_tokens, completion_tokens, quota FROM logs "
        f"WHERE created_at >= {spec['start']} AND created_at < {spec['end']} AND type IN (2, 5, 6)"
    )
    df = pl.read_database(sql, conn)
    signed = (
        pl.when(pl.col("type") == 2).then(pl.col("quota")).when(pl.col("type") == 6).then(-pl.col("quota"))
    )
    out = (
        df.group_by("token_name", "model_name")
        .agg(
            (pl.col("type") == 2).sum().alias("requests"),
            (pl.col("type") == 5).sum().alias("errors"),
            pl.col("prompt_tokens").sum(),
            pl.col("completion_tokens").sum(),
            signed.otherwise(0).sum().alias("quota"),
        )
        .sort("token_name", "model_name")
    )
    _print_groups(out.rows(), spec)


@step
def bare_duckdb_groupby(spec: dict[str, Any]) -> None:
    """The same GROUP BY in DuckDB, over the rows read through sqlite3 (DuckDB's SQLite scanner is
    an extension downloaded on first use: not available offline)."""
    import duckdb
    import polars as pl

    conn = sqlite3.connect(f"file:{spec['db']}?mode=ro", uri=True)
    sql = (
        "SELECT created_at, token_name, model_name, type, prompt_tokens, completion_tokens, quota FROM logs "
        f"WHERE created_at >= {spec['start']} AND created_at < {spec['end']} AND type IN (2, 5, 6)"
    )
    logs = pl.read_database(sql, conn)  # noqa: F841  (the SQL's "logs": DuckDB finds the frame by name)
    _print_groups(duckdb.sql(GROUP_SQL.format(**spec)).fetchall(), spec)


@step
def bare_csv(spec: dict[str, Any]) -> None:
    """csv.writer over one SELECT: the 18 columns of reportgen's detail CSV, no injection guard."""
    import csv
    from datetime import datetime
    from zoneinfo import ZoneInfo

    member_of, tz, qpu = _members(spec), ZoneInfo(spec["tz"]), spec["qpu"]
    conn = sqlite3.connect(f"file:{spec['db']}?mode=ro", uri=True)
    with open(f"{spec['out']}/bare.csv", "w", encoding="utf-8-sig", newline="") as fp:
        out = csv.writer(fp)
        out.writerow(HEADER[:7] + CACHE_COLUMNS + HEADER[7:])
        for (
            ts,
            key,
            model,
            kind,
            prompt,
            completion,
            i,
            cr,
            cw,
            c5,
            c1,
            quota,
            ms,
            client,
            rid,
            status,
        ) in conn.execute(CSV_SQL, (spec["start"], spec["end"])):
            quota = -quota if kind == 6 else quota
            out.writerow(
                (datetime.fromtimestamp(ts, tz).isoformat(), member_of.get(key, key), key, model,
                 "refund" if kind == 6 else "consumption", prompt, completion, i, cr, cw, c5, c1, quota,
                 quota / qpu, "" if ms is None else ms / 1000, client, rid, status)
            )  # fmt: skip


@step
def bare_xlsxwriter(spec: dict[str, Any]) -> None:
    """XlsxWriter constant_memory: one sheet per member, 12 columns, a bold filled header, datetime,
    integer and 6-place USD formats (reportgen's member sheets), one query per member."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import xlsxwriter

    tz, qpu = ZoneInfo(spec["tz"]), spec["qpu"]
    conn = sqlite3.connect(f"file:{spec['db']}?mode=ro", uri=True)
    wb = xlsxwriter.Workbook(f"{spec['out']}/bare.xlsx", {"constant_memory": True})
    head = wb.add_format({"bold": True, "bg_color": "#DDE4EE", "bottom": 1})
    when, integer, usd = (
        wb.add_format({"num_format": f}) for f in ("yyyy-mm-dd hh:mm:ss", "#,##0", "0.000000")
    )
    for member, keys in spec["members"].items():
        ws = wb.add_worksheet(member[:31])
        ws.freeze_panes(1, 0)
        ws.write_row(0, 0, HEADER[:1] + HEADER[2:], head)
        sql = DETAIL_SQL.format(where=f" AND token_name IN ({','.join('?' * len(keys))})")
        row = 1
        for ts, key, model, kind, prompt, completion, quota, ms, client, rid, status in conn.execute(
            sql, (spec["start"], spec["end"], *keys)
        ):
            quota = -quota if kind == 6 else quota
            ws.write_datetime(row, 0, datetime.fromtimestamp(ts, tz).replace(tzinfo=None), when)
            ws.write_string(row, 1, key)
            ws.write_string(row, 2, model)
            ws.write_string(row, 3, "refund" if kind == 6 else "consumption")
            ws.write_number(row, 4, prompt, integer)
            ws.write_number(row, 5, completion, integer)
            ws.write_number(row, 6, quota, integer)
            ws.write_number(row, 7, quota / qpu, usd)
            if ms is not None:
                ws.write_number(row, 8, ms / 1000)
            if client is not None:
                ws.write_string(row, 9, client)
            if rid is not None:
                ws.write_string(row, 10, rid)
            if status is not None:
                ws.write_number(row, 11, status)
            row += 1
    wb.close()


if __name__ == "__main__":
    with open(sys.argv[2], encoding="utf-8") as f:
        STEPS[sys.argv[1]](json.load(f))
