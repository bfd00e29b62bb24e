"""One benchmark step per process: ``python bench/steps.py STEP JSON-ARGS`` prints one JSON result.

Each step runs in a fresh interpreter so that the parent can read this process's peak RSS
(``ru_maxrss`` from ``wait4``) as the step's own.  ``seconds`` is end to end: from opening
the store to the closed file, the report build included (imports are outside it), for
reportgen and for every baseline alike.
"""

from __future__ import annotations

import csv
import json
import os
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import data  # noqa: E402

from reportgen.core.report import Report  # noqa: E402
from reportgen.read import open_period  # noqa: E402  (imports stay outside the timed part)

STEPS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
_OPEN: list[Any] = []


def step(fn: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    STEPS[fn.__name__.removeprefix("step_").replace("_", "-")] = fn
    return fn


def _report(
    store_dir: Path, fingerprint: bool = True, period: str = data.PERIOD, members: int = data.MEMBERS
) -> Report:
    # The view stays open (held here) while its report streams detail rows to the exporter.
    cm = open_period(data.config(store_dir, members=members), data.period(period), fingerprint=fingerprint)
    _OPEN.append(cm)
    return cm.__enter__().report


def _export(args: dict[str, Any], fmt: str, **options: str) -> dict[str, Any]:
    from reportgen.app.export import export_report
    from reportgen.plugins import select_exporters

    exporters = select_exporters(fmt)
    started, cpu = time.perf_counter(), time.process_time()
    # Built as `reportgen report --format FMT` builds it: with the row fingerprint only when a
    # chosen exporter prints it (XLSX and PDF do, CSV does not).
    report = _report(
        Path(args["store"]),
        fingerprint=any(e.prints_fingerprint for e in exporters),
        members=int(args.get("members", data.MEMBERS)),
    )
    built = time.perf_counter() - started
    paths = export_report(report, exporters, Path(args["out"]), lang="zh", options=options)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "cpu_seconds": time.process_time() - cpu, "report_seconds": built,
            "bytes": sum(p.stat().st_size for p in paths)}  # fmt: skip


# -- the store ------------------------------------------------------------------------------
@step
def step_generate(args: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    shape = int(args.get("members", data.MEMBERS)), int(args.get("models", data.MODELS))
    info = data.build_store(
        Path(args["store"]), int(args["rows"]), *shape, text=args.get("period", data.PERIOD)
    )
    return {"seconds": time.perf_counter() - started, "stored": info["rows"]}


# -- reportgen ----------------------------------------------------------------------------------
@step
def step_summary(args: dict[str, Any]) -> dict[str, Any]:
    """What `reportgen summary` reads: the period's view from the rollups, no row fingerprint."""
    started, cpu = time.perf_counter(), time.process_time()
    report = _report(Path(args["store"]), fingerprint=False, period=args.get("period", data.PERIOD))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "cpu_seconds": time.process_time() - cpu, "requests": report.totals.requests,
            "quota": report.totals.quota}  # fmt: skip


@step
def step_aggregate(args: dict[str, Any]) -> dict[str, Any]:
    """What every document builds first: the view with the content fingerprint of every row."""
    started, cpu = time.perf_counter(), time.process_time()
    report = _report(Path(args["store"]))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "cpu_seconds": time.process_time() - cpu, "requests": report.totals.requests,
            "quota": report.totals.quota}  # fmt: skip


@step
def step_csv(args: dict[str, Any]) -> dict[str, Any]:
    return _export(args, "csv")


@step
def step_xlsx(args: dict[str, Any]) -> dict[str, Any]:
    return _export(args, "xlsx")


@step
def step_xlsx_engine_xlsxwriter(args: dict[str, Any]) -> dict[str, Any]:
    """The same workbook through the XlsxWriter engine (``--option engine=xlsxwriter``)."""
    try:
        import xlsxwriter  # noqa: F401
    except ImportError:
        return {"skipped": "XlsxWriter is not installed (pip install 'llm-gateway-reportgen[xlsxwriter]')"}
    return _export(args, "xlsx", engine="xlsxwriter")


@step
def step_pdf(args: dict[str, Any]) -> dict[str, Any]:
    return _export(args, "pdf")


@step
def step_pdf_lines(args: dict[str, Any]) -> dict[str, Any]:
    """The statement of the many-lines store (500 members × 40 models: 20,000 member × model lines)."""
    result = _export(args, "pdf")
    pdf = next(Path(args["out"]).glob("*.pdf")).read_bytes()
    result["pages"] = len(re.findall(rb"/Type /Page\b(?!s)", pdf))
    return result


# -- baselines: the same output the way a user would write it by hand ---------------------------
_DETAIL_SQL = (
    "SELECT created_at, token_name, model_name, type, prompt_tokens, completion_tokens, quota, "
    "use_time_ms, client, request_id, http_status FROM logs "
    "WHERE created_at >= ? AND created_at < ? AND type IN (2, 6){where} ORDER BY created_at, id"
)
_HEADER = ["time", "member", "key", "model", "type", "prompt_tokens", "completion_tokens", "quota",
           "cost_usd", "latency_s", "client", "request_id", "http_status"]  # fmt: skip


def _connect(args: dict[str, Any]) -> sqlite3.Connection:
    return sqlite3.connect(Path(args["store"]) / "reportgen.sqlite3")


@step
def step_csv_bare(args: dict[str, Any]) -> dict[str, Any]:
    """csv.writer over one SELECT: the same 18 columns, no injection guard, float cost."""
    from datetime import datetime

    from bare import CACHE_COLUMNS, CSV_SQL

    cfg, period = data.config(Path(".")), data.period()
    member_of, tz, qpu = cfg.key_to_member(), cfg.tz, data.QUOTA_PER_UNIT
    path = Path(args["out"]) / "bare.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    started, cpu = time.perf_counter(), time.process_time()
    conn = _connect(args)
    with open(path, "w", encoding="utf-8-sig", newline="") as fp:
        out = csv.writer(fp)
        out.writerow(_HEADER[:7] + CACHE_COLUMNS + _HEADER[7:])
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
        ) in conn.execute(CSV_SQL, (period.start_ts, period.end_ts)):
            quota = -quota if kind == 6 else quota
            out.writerow(
                (datetime.fromtimestamp(ts, tz).isoformat(), member_of.get(key, key), key, model,
                 "refund" if kind == 6 else "consumption", prompt, completion, i, cr, cw, c5, c1, quota,
                 quota / qpu, "" if ms is None else ms / 1000, client, rid, status)
            )  # fmt: skip
    conn.close()
    return {"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu,
            "bytes": path.stat().st_size}  # fmt: skip


def _styled_openpyxl_sheet(wb: Any, title: str) -> tuple[Any, list[Any]]:
    from openpyxl.cell import WriteOnlyCell

    ws = wb.create_sheet(title)
    ws.freeze_panes = "A2"
    header = []
    for text in _HEADER[:1] + _HEADER[2:]:
        cell = WriteOnlyCell(ws, value=text)
        cell.style = "b header"
        header.append(cell)
    ws.append(header)
    cells = []
    for style in ("b datetime", "b int", "b int", "b int", "b usd6"):
        cell = WriteOnlyCell(ws, value=0)
        cell.style = style
        cells.append(cell)
    return ws, cells


@step
def step_xlsx_bare(args: dict[str, Any]) -> dict[str, Any]:
    """openpyxl write_only: one sheet per member, the same 12 columns and the same styled cells
    (a bold filled header; datetime, three integer and a 6-place USD column per row, through
    prebuilt styled cells as reportgen does), one query per member."""
    from datetime import datetime

    from openpyxl import Workbook
    from openpyxl.styles import Border, Font, NamedStyle, PatternFill, Side

    cfg, period = data.config(Path(".")), data.period()
    tz, qpu = cfg.tz, data.QUOTA_PER_UNIT
    path = Path(args["out"]) / "bare.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    conn = _connect(args)
    wb = Workbook(write_only=True)
    for name, fmt in (("b datetime", "yyyy-mm-dd hh:mm:ss"), ("b int", "#,##0"), ("b usd6", "0.000000")):
        wb.add_named_style(NamedStyle(name=name, number_format=fmt))
    head = NamedStyle(name="b header", font=Font(bold=True), fill=PatternFill("solid", fgColor="DDE4EE"))
    head.border = Border(bottom=Side(style="thin"))
    wb.add_named_style(head)
    for member, keys in cfg.members.items():
        ws, (t, p, o, q, c) = _styled_openpyxl_sheet(wb, member[:31])
        sql = _DETAIL_SQL.format(where=f" AND token_name IN ({','.join('?' * len(keys))})")
        for ts, key, model, kind, prompt, completion, quota, ms, client, rid, status in conn.execute(
            sql, (period.start_ts, period.end_ts, *keys)
        ):
            quota = -quota if kind == 6 else quota
            t.value = datetime.fromtimestamp(ts, tz).replace(tzinfo=None)
            p.value, o.value, q.value, c.value = prompt, completion, quota, quota / qpu
            ws.append(
                (t, key, model, "refund" if kind == 6 else "consumption", p, o, q, c,
                 None if ms is None else ms / 1000, client, rid, status)
            )  # fmt: skip
    wb.save(path)
    conn.close()
    return {"seconds": time.perf_counter() - started, "bytes": path.stat().st_size}


@step
def step_xlsxwriter(args: dict[str, Any]) -> dict[str, Any]:
    """XlsxWriter constant_memory: the same sheets, cells and styles as xlsx-bare."""
    from datetime import datetime

    import xlsxwriter

    cfg, period = data.config(Path(".")), data.period()
    tz, qpu = cfg.tz, data.QUOTA_PER_UNIT
    path = Path(args["out"]) / "xlsxwriter.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    conn = _connect(args)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    head = wb.add_format({"bold": True, "bg_color": "#DDE4EE", "bottom": 1})
    when, integer, usd = (
        wb.add_format({"num_format": f}) for f in ("yyyy-mm-dd hh:mm:ss", "#,##0", "0.000000")
    )
    for member, keys in cfg.members.items():
        ws = wb.add_worksheet(member[:31])
        ws.freeze_panes(1, 0)
        ws.write_row(0, 0, _HEADER[:1] + _HEADER[2:], head)
        sql = _DETAIL_SQL.format(where=f" AND token_name IN ({','.join('?' * len(keys))})")
        row = 1
        for ts, key, model, kind, prompt, completion, quota, ms, client, rid, status in conn.execute(
            sql, (period.start_ts, period.end_ts, *keys)
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
    conn.close()
    return {"seconds": time.perf_counter() - started, "bytes": path.stat().st_size}


def _pandas(args: dict[str, Any], engine: str) -> dict[str, Any]:
    """The data-savvy path: a DataFrame, groupby member and model, to_excel with ``engine``."""
    try:
        import pandas as pd
    except ImportError:
        return {"skipped": "pandas is not installed (pip install pandas)"}
    try:
        __import__(engine)
    except ImportError:
        return {"skipped": f"{engine} is not installed"}
    cfg, period = data.config(Path(".")), data.period()
    path = Path(args["out"]) / "pandas.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    conn = _connect(args)
    df = pd.read_sql_query(_DETAIL_SQL.format(where=""), conn, params=(period.start_ts, period.end_ts))
    conn.close()
    df["time"] = (
        pd.to_datetime(df["created_at"], unit="s", utc=True).dt.tz_convert(cfg.timezone).dt.tz_localize(None)
    )
    df["member"] = df["token_name"].map(cfg.key_to_member())
    refund = df["type"] == 6
    df.loc[refund, "quota"] = -df.loc[refund, "quota"]
    df["type"] = refund.map({True: "refund", False: "consumption"})
    df["cost_usd"] = df["quota"] / data.QUOTA_PER_UNIT
    df["latency_s"] = df["use_time_ms"] / 1000
    summary = df.groupby(["member", "model_name"]).agg(
        requests=("quota", "size"), prompt_tokens=("prompt_tokens", "sum"),
        completion_tokens=("completion_tokens", "sum"), net_quota=("quota", "sum"), cost_usd=("cost_usd", "sum"),
    )  # fmt: skip
    columns = ["time", "token_name", "model_name", "type", "prompt_tokens", "completion_tokens", "quota",
               "cost_usd", "latency_s", "client", "request_id", "http_status"]  # fmt: skip
    with pd.ExcelWriter(path, engine=engine) as xw:
        summary.to_excel(xw, sheet_name="Summary")
        for member, part in df.groupby("member", sort=False):
            part[columns].to_excel(xw, sheet_name=str(member)[:31], index=False)
    return {"seconds": time.perf_counter() - started, "bytes": path.stat().st_size}


@step
def step_pandas_openpyxl(args: dict[str, Any]) -> dict[str, Any]:
    return _pandas(args, "openpyxl")


@step
def step_pandas_xlsxwriter(args: dict[str, Any]) -> dict[str, Any]:
    return _pandas(args, "xlsxwriter")


# -- sync --------------------------------------------------------------------------------------
@step
def step_serve(args: dict[str, Any]) -> dict[str, Any]:
    """A fake gateway in its own process (so the client's CPU and RSS are measured alone).

    Prints its URL, serves until stdin closes, then the result line.
    """
    from reportgen.testing.fakegateway import FakeGateway

    limit = args.get("limit")
    gw = FakeGateway(
        rows=data.rows(int(args["rows"])),
        tokens=data.tokens(),
        flavor="new-api",
        access_token=data.TOKEN,
        user_id=data.USER_ID,
        rate_limit=None if limit is None else (int(limit[0]), float(limit[1])),
    )
    with gw:
        print(json.dumps({"url": gw.url}), flush=True)
        sys.stdin.read()
    return {"too_many": gw.too_many, "requests": len(gw.requests), "errors": len(gw.errors)}


class _Clock:
    def __init__(self) -> None:
        self.times: list[float] = []

    def planned(self, windows: int, skipped: int) -> None:
        pass

    def request(self, path: str) -> None:
        self.times.append(time.monotonic())

    def window_done(self, rows: int, pages: int) -> None:
        pass


def _sync_once(url: str, store_dir: Path, limit: tuple[int, int] | None) -> tuple[Any, _Clock, float, float]:
    from reportgen.app.sync import run_sync

    period = data.period()
    clock = _Clock()
    cpu = time.process_time()
    started = time.perf_counter()
    result = run_sync(
        data.config(store_dir, url, limit), period, progress=clock, now=lambda: period.end_ts + 3600
    )
    return result, clock, time.perf_counter() - started, time.process_time() - cpu


def _with_server(
    rows: int, limit: tuple[int, int] | None, body: Callable[[str], dict[str, Any]]
) -> dict[str, Any]:
    spec = json.dumps({"rows": rows, "limit": limit})
    server = subprocess.Popen(
        [sys.executable, __file__, "serve", spec], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert server.stdin is not None and server.stdout is not None
    try:
        url = json.loads(server.stdout.readline())["url"]
        result = body(url)
    finally:
        server.stdin.close()
        tail = server.stdout.read()
        server.wait()
    result["server"] = json.loads(tail.strip().splitlines()[-1]) if tail.strip() else {}
    return result


@step
def step_sync(args: dict[str, Any]) -> dict[str, Any]:
    """run_sync through the real GatewayClient from an unlimited local fake: client overhead."""
    rows = int(args["rows"])

    def body(url: str) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(dir=args.get("tmp")) as tmp:
            # A first pass warms the fake's rendered-row cache, so the second measures the client.
            _sync_once(url, Path(tmp) / "warm", None)
            result, clock, seconds, cpu = _sync_once(url, Path(tmp) / "store", None)
        return {"seconds": seconds, "client_cpu_seconds": cpu, "stored": result.rows,
                "pages": result.pages, "requests": result.requests}  # fmt: skip

    return _with_server(rows, None, body)


@step
def step_sync_limited(args: dict[str, Any]) -> dict[str, Any]:
    """A sync against a rate-limited fake: share of the allowed requests used, and 429s."""
    rows = int(args["rows"])
    limit, window = int(args["limit"]), int(args["window"])

    def body(url: str) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(dir=args.get("tmp")) as tmp:
            result, clock, seconds, _ = _sync_once(url, Path(tmp) / "store", (limit, window))
        times = clock.times
        first, last = times[0], times[-1]
        # Whole windows from the first request while the sync still had requests to make:
        # a sliding window allows at most `limit` requests in each of them, the burst included.
        full = int((last - first) // window)
        used = sum(1 for t in times if t < first + full * window)
        return {
            "seconds": seconds, "stored": result.rows, "requests": len(times), "windows": full,
            "requests_in_windows": used, "allowed_in_windows": full * limit,
            "utilisation": used / (full * limit) if full else None,
        }  # fmt: skip

    return _with_server(rows, (limit, window), body)


def main() -> None:
    name, spec = sys.argv[1], json.loads(sys.argv[2])
    result = STEPS[name](spec)
    result["self_maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sys.stdout.flush()
    print(json.dumps(result), flush=True)
    os._exit(0)  # skip interpreter teardown: nothing left to flush, and it is not part of a step


if __name__ == "__main__":
    main()
