"""Issue 27's bench: a month shaped like a real new-api account, whole processes, baselines in the same run.

    python bench/realistic.py                          # 1,000,000 rows, and 100,000
    python bench/realistic.py --rows 5000000 --also 1000000 --also 100000 --repeat 5
    python bench/realistic.py --rows 100000 --also 0 --steps version,summary,sqlite3-cli

The month (``data.rows(realistic=True)``): 50 keys, 12 models, ~2 % refunds, ~1 % errors,
~1 % subscription rows, a credit row (top-up, redemption, admin change, invitation bonus,
the amount only in its text) every 25,000 rows, ``other`` as new-api writes it (cache tokens
and ratios, the channel's admin info).  Each store is generated once under ``--workdir``; a
copy of it is closed with ``reportgen close`` for the closed-month steps.

Every step is a **whole process** started as a user starts it: ``reportgen ...`` through its
console script, or a bare script (``bare.py``, which imports nothing of reportgen), or the
``sqlite3`` CLI; seconds are wall time from start to exit, CPU seconds are the process's
user + system time (``wait4``), peak MB its ``ru_maxrss``.  Each step runs once unmeasured
(caches warm, bytecode written), then ``--repeat`` times round robin: every step once, then
again, so that a step and its baselines meet the same load on a shared machine.  Ratios are
medians over medians of the same run.  Results as a table (stdout) and JSON (``--json FILE``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import data  # noqa: E402

BARE = HERE / "bare.py"
REPORTGEN = str(Path(sys.executable).parent / "reportgen")
#: Steps run at every size: (name, what it is); the baselines each reportgen step is compared with.
PER_SIZE = ("summary", "summary-closed", "sqlite3-groupby", "sqlite3-cli", "polars-groupby", "duckdb-groupby",
            "csv", "csv-closed", "csv-bare", "xlsx", "xlsx-openpyxl", "xlsxwriter-bare")  # fmt: skip
ONCE = ("version", "help")
BASELINES = {
    "summary": ("sqlite3-groupby", "sqlite3-cli", "polars-groupby", "duckdb-groupby"),
    "summary-closed": ("summary",),
    "csv": ("csv-bare",),
    "csv-closed": ("csv",),
    "xlsx": ("xlsxwriter-bare",),
    "xlsx-openpyxl": ("xlsxwriter-bare",),
}
#: Steps that write a workbook run only up to this many rows (minutes each beyond).
XLSX_MAX_ROWS = 200_000


def run(argv: list[str], stdin: str | None = None) -> dict[str, Any]:
    """One whole process: wall seconds, CPU seconds (user + system) and peak RSS from ``wait4``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as installed: .pyc kept
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, env=env)  # fmt: skip
        if stdin:
            assert proc.stdin is not None
            proc.stdin.write(stdin.encode())
            proc.stdin.close()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            return {"failed": f"exit {code}: {err.read().decode(errors='replace').strip()[-300:]}"}
    return {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,
    }


def prepare(workdir: Path, rows: int, log: Any) -> dict[str, Any]:
    """The store of ``rows`` realistic rows, its config, a closed copy and the bare scripts' spec."""
    store = workdir / f"real-{rows}"
    if not data.store_ready(store, rows, realistic=True):
        shutil.rmtree(store, ignore_errors=True)
        print(f"generating a realistic store of {rows:,} rows ...", file=log, flush=True)
        code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); import data; from pathlib import Path; "
                f"data.build_store(Path({str(store)!r}), {rows}, realistic=True)")  # fmt: skip
        subprocess.run([sys.executable, "-c", code], check=True)
    config = data.write_config(store, workdir / f"real-{rows}.toml")
    closed = workdir / f"real-{rows}-closed"
    closed_config = data.write_config(closed, workdir / f"real-{rows}-closed.toml")
    if not (closed / "closed").is_dir():
        shutil.rmtree(closed, ignore_errors=True)
        shutil.copytree(store, closed)
        print(f"closing {data.PERIOD} in a copy ...", file=log, flush=True)
        subprocess.run([REPORTGEN, "--config", str(closed_config), "close", data.PERIOD], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    p = data.period()
    cfg = data.config(store)
    spec = {"db": str(store / "reportgen.sqlite3"), "start": p.start_ts, "end": p.end_ts, "tz": data.TZ,
            "qpu": data.QUOTA_PER_UNIT, "members": {m: list(k) for m, k in cfg.members.items()}}  # fmt: skip
    spec_path = workdir / f"real-{rows}.json"
    spec_path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    return {
        "at_rest": at_rest(store, closed),
        "store": store,
        "config": config,
        "closed_config": closed_config,
        "spec": spec_path,
        "spec_data": spec,
    }


def at_rest(store: Path, closed: Path) -> dict[str, int]:
    """Bytes on disk: the live store's file, and each file of the closed month's snapshot."""
    sizes = {"live store": (store / "reportgen.sqlite3").stat().st_size}
    for path in sorted((closed / "closed").glob("*/*")):
        sizes[f"snapshot {path.name}"] = path.stat().st_size
    return sizes


def argv_of(name: str, s: dict[str, Any], out: Path) -> tuple[list[str], str | None]:
    period = ["--period", data.PERIOD]
    if name == "version":
        return [REPORTGEN, "--version"], None
    if name == "help":
        return [REPORTGEN, "--help"], None
    if name == "summary":
        return [REPORTGEN, "--config", str(s["config"]), "summary", *period], None
    if name == "summary-closed":
        return [REPORTGEN, "--config", str(s["closed_config"]), "summary", *period], None
    if name in ("csv", "csv-closed"):
        return [
            REPORTGEN,
            "--config",
            str(s["config" if name == "csv" else "closed_config"]),
            "report",
            *period,
            "--format",
            "csv",
            "--out",
            str(out),
        ], None
    if name in ("xlsx", "xlsx-openpyxl"):
        engine = ["--option", "engine=openpyxl"] if name == "xlsx-openpyxl" else []
        return [REPORTGEN, "--config", str(s["config"]), "report", *period, "--format", "xlsx", *engine,
                "--out", str(out)], None  # fmt: skip
    if name == "sqlite3-cli":
        from bare import GROUP_SQL

        spec = s["spec_data"]
        return ["sqlite3", "-readonly", spec["db"]], GROUP_SQL.format(**spec) + ";\n"
    bare = {"sqlite3-groupby": "sqlite3-groupby", "polars-groupby": "polars-groupby",
            "duckdb-groupby": "duckdb-groupby", "csv-bare": "csv", "xlsxwriter-bare": "xlsxwriter"}  # fmt: skip
    spec_path = Path(str(s["spec"]) + f".{out.name}.json")
    spec_path.write_text(
        json.dumps({**s["spec_data"], "out": str(out)}, ensure_ascii=False), encoding="utf-8"
    )
    return [sys.executable, str(BARE), bare[name], str(spec_path)], None


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    good = sorted((r for r in runs if "seconds" in r), key=lambda r: r["seconds"])
    if not good:
        return runs[0] if runs else {"failed": "not run"}
    median = dict(good[len(good) // 2])
    cpus = sorted(r["cpu_seconds"] for r in good)
    median.update(runs=[round(r["seconds"], 3) for r in good], cpu_seconds=cpus[len(cpus) // 2],
                  peak_mb=max(r["peak_mb"] for r in good))  # fmt: skip
    return median


def measure(args: argparse.Namespace) -> dict[str, Any]:
    log = sys.stderr
    wanted = [s.strip() for s in args.steps.split(",")] if args.steps else [*ONCE, *PER_SIZE]
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    sizes = sorted({args.rows, *(n for n in args.also if n)})
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        },  # fmt: skip
        "repeat": args.repeat,
        "sizes": {},
    }
    prepared = {n: prepare(workdir, n, log) for n in sizes}
    results["at_rest"] = {str(n): p["at_rest"] for n, p in prepared.items()}
    jobs = [(None, name) for name in ONCE if name in wanted]
    for n in sizes:
        jobs += [
            (n, name)
            for name in PER_SIZE
            if name in wanted and (not name.startswith("xlsx") or n <= XLSX_MAX_ROWS)
        ]
    runs: dict[tuple[int | None, str], list[dict[str, Any]]] = {job: [] for job in jobs}
    loads = []
    for i in range(args.repeat + 1):  # the first round warms caches and is not counted
        for n, name in jobs:
            s = prepared[n] if n is not None else prepared[sizes[0]]
            with tempfile.TemporaryDirectory(dir=workdir) as out:
                argv, stdin = argv_of(name, s, Path(out))
                result = run(argv, stdin)
            label = f"{name}" if n is None else f"{n:,} {name}"
            shown = result.get("failed") or f"{result['seconds']:.2f} s, CPU {result['cpu_seconds']:.2f} s"
            print(f"round {i} {label}: {shown}", file=log, flush=True)
            if i:
                runs[(n, name)].append(result)
        loads.append(os.getloadavg()[0])
    results["load_average"] = [round(x, 2) for x in loads]
    for (n, name), measured in runs.items():
        results["sizes"].setdefault("once" if n is None else str(n), {})[name] = median_of(measured)
    return results


def table(results: dict[str, Any]) -> str:
    lines = [
        "| rows | step | seconds (median) | runs | CPU s (median) | peak MB | ratio to baselines (wall; CPU) |",
        "| ---: | --- | ---: | --- | ---: | ---: | --- |",
    ]
    for n, per in results["sizes"].items():
        for name, r in per.items():
            rows = n if n == "once" else f"{int(n):,}"
            if "seconds" not in r:
                lines.append(f"| {rows} | {name} | {r.get('failed')} | | | | |")
                continue
            ratios = ", ".join(
                f"{r['seconds'] / per[b]['seconds']:.2f}× ; {r['cpu_seconds'] / per[b]['cpu_seconds']:.2f}× {b}"
                for b in BASELINES.get(name, ())
                if "seconds" in per.get(b, {})
            )
            runs = " / ".join(f"{x:.2f}" for x in r["runs"])
            lines.append(f"| {rows} | {name} | {r['seconds']:.2f} | {runs} | {r['cpu_seconds']:.2f} | "
                         f"{r['peak_mb']:.0f} | {ratios} |")  # fmt: skip
    lines.append("")
    for n, sizes in results.get("at_rest", {}).items():
        shown = ", ".join(
            f"{name} {size / 1e6:.1f} MB ({size / int(n):.0f} B/row)" for name, size in sizes.items()
        )
        lines.append(f"At rest, {int(n):,} rows: {shown}")
    lines.append(f"Load average (1 min) after each round: {results['load_average']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--also", type=int, action="append", default=None, help="another size (default 100,000)"
    )
    parser.add_argument("--steps", help=f"comma-separated subset of: {', '.join((*ONCE, *PER_SIZE))}")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "reportgen-bench"))
    parser.add_argument("--json", help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    args.also = [100_000] if args.also is None else args.also
    results = measure(args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(table(results))


if __name__ == "__main__":
    main()
