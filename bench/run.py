"""reportgen's performance benchmark: reportgen side by side with what a user would write instead.

    python bench/run.py                     # 1,000,000 rows, and 100,000 for the memory comparison
    python bench/run.py --rows 200000 --also 20000 --json

Generates (once, cached under --workdir) a deterministic store of N rows, then runs each
step in a fresh process and reports its seconds, rows/s, peak RSS and ratio to the
baselines, then checks the targets of issue 5.  See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
STEPS_PY = HERE / "steps.py"
sys.path.insert(0, str(HERE))

import data  # noqa: E402

PER_SIZE = ("summary", "aggregate", "csv", "csv-bare", "xlsx", "xlsx-engine-xlsxwriter", "xlsx-bare", "xlsxwriter",
            "pandas-openpyxl", "pandas-xlsxwriter", "pdf")  # fmt: skip
SYNC_STEPS = ("sync", "sync-limited")
LINES_STEPS = ("pdf-lines",)
ALL_STEPS = PER_SIZE + LINES_STEPS + SYNC_STEPS
#: The many-lines statement: members × models, every line present, in this many rows.
LINES_SHAPE = (500, 40, 60_000)
REPORTGEN_STEPS = ("summary", "aggregate", "csv", "xlsx", "xlsx-engine-xlsxwriter", "pdf")
#: Each reportgen step beside the baselines doing the same work (ratio = reportgen / baseline).
BASELINES = {
    "csv": ("csv-bare",),
    "xlsx": ("xlsx-bare", "xlsxwriter", "pandas-openpyxl", "pandas-xlsxwriter"),
    "xlsx-engine-xlsxwriter": ("xlsx-bare", "xlsxwriter", "pandas-openpyxl", "pandas-xlsxwriter"),
}


def run_median(name: str, spec: dict[str, Any], repeat: int) -> dict[str, Any]:
    """The run with the median seconds of ``repeat`` fresh-process runs (its peak RSS the largest seen)."""
    return median_of([run_step(name, spec) for _ in range(repeat)])


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    good = sorted((r for r in runs if "seconds" in r), key=lambda r: r["seconds"])
    if not good:
        return runs[0]
    median = dict(good[len(good) // 2])
    median["runs"] = [round(r["seconds"], 3) for r in good]
    median["peak_mb"] = max(r["peak_mb"] for r in good)
    return median


def run_step(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Run one step in a fresh interpreter; its peak RSS comes from wait4, not from itself."""
    proc = subprocess.Popen([sys.executable, str(STEPS_PY), name, json.dumps(spec)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        return {"failed": f"exit code {proc.returncode}"}
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    peak_kb = usage.ru_maxrss  # Linux: kilobytes
    if "server" in result:  # wait4 would count the step's own fake gateway: the client alone
        peak_kb = result["self_maxrss_kb"]
        result["server_peak_mb"] = result["server"]["self_maxrss_kb"] / 1024
    result["peak_mb"] = peak_kb / 1024
    return result


def ensure_store(
    workdir: Path,
    rows: int,
    fresh: bool,
    log: Any,
    period: str = data.PERIOD,
    members: int = data.MEMBERS,
    models: int = data.MODELS,
) -> Path:
    shaped = (members, models) != (data.MEMBERS, data.MODELS)
    name = f"store-{rows}-{members}x{models}" if shaped else f"store-{rows}"
    store = workdir / (name if period == data.PERIOD else f"store-{period}-{rows}")
    if fresh or not data.store_ready(store, rows, members, models, period):
        if store.exists():
            for f in store.iterdir():
                f.unlink()
        print(f"generating a store of {rows:,} rows in {store} ...", file=log, flush=True)
        spec = {"store": str(store), "rows": rows, "period": period, "members": members, "models": models}
        res = run_step("generate", spec)
        if "failed" in res:
            raise SystemExit(f"generating the store failed: {res['failed']}")
        print(f"  {res['seconds']:.1f} s", file=log, flush=True)
    return store


def measure(args: argparse.Namespace) -> dict[str, Any]:
    log = sys.stderr
    steps = [s.strip() for s in args.steps.split(",")] if args.steps else list(ALL_STEPS)
    unknown = set(steps) - set(ALL_STEPS)
    if unknown:
        raise SystemExit(f"unknown steps: {', '.join(sorted(unknown))} (known: {', '.join(ALL_STEPS)})")
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    sizes = sorted({args.rows, *args.also})
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "sizes": {},
        "sync": {},
    }
    for n in sizes:
        if not any(s in PER_SIZE for s in steps):
            break
        store = ensure_store(workdir, n, args.fresh, log)
        names = [s for s in PER_SIZE if s in steps]
        # Round robin (every step once, then again): on a shared machine each step and its
        # baseline see the same spread of load, so their ratio means something.
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for i in range(args.repeat):
            for name in names:
                print(f"{n:>9,} rows: {name} (run {i + 1} of {args.repeat}) ...", file=log, flush=True)
                with tempfile.TemporaryDirectory(dir=workdir) as out:
                    runs[name].append(run_step(name, {"store": str(store), "out": out}))
                print(f"           {_brief(runs[name][-1])}", file=log, flush=True)
        per: dict[str, Any] = {name: median_of(runs[name]) for name in names}
        rows = data.stored_rows(store)
        per["store"] = {"bytes_per_row": (store / "reportgen.sqlite3").stat().st_size / rows, "rows": rows}
        results["sizes"][str(n)] = per
    if args.quarter_rows:
        n = args.quarter_rows
        store = ensure_store(workdir, n, args.fresh, log, data.QUARTER)
        print(f"{n:>9,} rows over {data.QUARTER}: summary ...", file=log, flush=True)
        result = run_median("summary", {"store": str(store), "period": data.QUARTER}, args.repeat)
        print(f"           {_brief(result)}", file=log, flush=True)
        results["quarter"] = {"rows": n, "period": data.QUARTER, "summary": result}
    if "pdf-lines" in steps:
        members, models, rows = LINES_SHAPE
        store = ensure_store(workdir, rows, args.fresh, log, members=members, models=models)
        print(f"{members} members × {models} models ({rows:,} rows): pdf-lines ...", file=log, flush=True)
        with tempfile.TemporaryDirectory(dir=workdir) as out:
            spec = {"store": str(store), "out": out, "members": members}
            results["lines"] = run_median("pdf-lines", spec, args.repeat)
        print(f"           {_brief(results['lines'])}", file=log, flush=True)
    if "sync" in steps:
        print(f"sync of {args.sync_rows:,} rows from an unlimited local fake ...", file=log, flush=True)
        results["sync"]["sync"] = run_step("sync", {"rows": args.sync_rows, "tmp": str(workdir)})
        print(f"           {_brief(results['sync']['sync'])}", file=log, flush=True)
    if "sync-limited" in steps:
        limit, window = args.limit
        print(
            f"sync of {args.limited_rows:,} rows against {limit} requests per {window} s ...",
            file=log,
            flush=True,
        )
        spec = {"rows": args.limited_rows, "limit": limit, "window": window, "tmp": str(workdir)}
        results["sync"]["sync-limited"] = run_step("sync-limited", spec)
        print(f"           {_brief(results['sync']['sync-limited'])}", file=log, flush=True)
    results["targets"] = check_targets(results, args.rows, min(sizes))
    return results


def _brief(r: dict[str, Any]) -> str:
    if "failed" in r or "skipped" in r:
        return r.get("failed") or r["skipped"]
    return f"{r['seconds']:.2f} s, {r['peak_mb']:.0f} MB"


# -- targets (issue 14) -----------------------------------------------------------------------
def check_targets(results: dict[str, Any], big: int, small: int) -> list[dict[str, Any]]:
    targets: list[dict[str, Any]] = []

    def add(name: str, measured: str, ok: bool | None) -> None:
        targets.append({"target": name, "measured": measured, "met": ok})

    sizes = results["sizes"]
    top = sizes.get(str(big), {})
    low = sizes.get(str(small), {})

    def ok(r: dict[str, Any] | None) -> bool:
        return bool(r) and "seconds" in r  # type: ignore[operator]

    def ratio(a: str, b: str) -> float | None:
        return top[a]["seconds"] / top[b]["seconds"] if ok(top.get(a)) and ok(top.get(b)) else None

    if ok(top.get("summary")):
        s = top["summary"]["seconds"]
        add(
            f"summary of a {big:,}-row month ≤ 0.3 s (rollups)",
            f"{s:.2f} s (CPU {top['summary']['cpu_seconds']:.2f} s)",
            s <= 0.3 if big >= 1_000_000 else None,
        )
    quarter = results.get("quarter")
    if quarter and ok(quarter["summary"]):
        s, n = quarter["summary"]["seconds"], quarter["rows"]
        add(f"summary of a {n:,}-row quarter ≤ 1 s (10M rows)", f"{s:.2f} s (CPU {quarter['summary']['cpu_seconds']:.2f} s)",
            s <= 1 if n >= 10_000_000 else None)  # fmt: skip
    else:
        add("summary of a 10M-row quarter ≤ 1 s", "not run (--quarter-rows 10000000)", None)
    for name, base, limit in (
        ("csv", "csv-bare", 1.15),
        ("xlsx", "xlsx-bare", 1.1),
        ("xlsx", "xlsxwriter", 1.5),
        ("xlsx-engine-xlsxwriter", "xlsxwriter", 1.5),
    ):
        r = ratio(name, base)
        if r is not None:
            cpu = ""
            if "cpu_seconds" in top[name] and "cpu_seconds" in top[base]:  # the machine may be shared
                cpu = f" (CPU {top[name]['cpu_seconds'] / top[base]['cpu_seconds']:.2f}×)"
            shown = "XLSX (engine=xlsxwriter)" if name == "xlsx-engine-xlsxwriter" else name.upper()
            add(f"{shown} ≤ {limit} × {base} (end to end, medians)", f"{r:.2f}×{cpu}", r <= limit)
    for per_n, per in sizes.items():
        pdf = per.get("pdf")
        if ok(pdf):
            add(f"PDF ≤ 4 s and ≤ 150 MB ({int(per_n):,} rows)", f"{pdf['seconds']:.2f} s, {pdf['peak_mb']:.0f} MB",
                pdf["seconds"] <= 4 and pdf["peak_mb"] <= 150)  # fmt: skip
    members, models, _ = LINES_SHAPE
    lines = results.get("lines")
    name = f"PDF of {members * models:,} lines ({members} members × {models} models) ≤ 4 s, ≤ 150 MB"
    if ok(lines):
        assert lines is not None
        add(name, f"{lines['seconds']:.2f} s, {lines['peak_mb']:.0f} MB, {lines['pages']} pages",
            lines["seconds"] <= 4 and lines["peak_mb"] <= 150)  # fmt: skip
    else:
        add(name, "not run" if lines is None else str(lines.get("failed")), None if lines is None else False)
    for per_n, per in sizes.items():
        if "store" in per:
            b = per["store"]["bytes_per_row"]
            add(f"store ≤ 250 bytes per row ({int(per_n):,} rows)", f"{b:.0f} bytes", b <= 250)
    if big != small:
        worst = max(
            (
                (s, top[s]["peak_mb"] / low[s]["peak_mb"])
                for s in REPORTGEN_STEPS
                if ok(top.get(s)) and ok(low.get(s))
            ),
            key=lambda x: x[1],
            default=None,
        )
        if worst:
            add(f"peak RSS at {big:,} ≤ 1.2 × at {small:,} (every step)", f"worst {worst[1]:.2f}× ({worst[0]})",
                worst[1] <= 1.2)  # fmt: skip
    sync = results["sync"].get("sync", {})
    if ok(sync):
        rate = sync["stored"] / sync["seconds"]
        add("sync client overhead ≥ 20,000 rows/s", f"{rate:,.0f} rows/s wall, "
            f"{sync['stored'] / sync['client_cpu_seconds']:,.0f} per client CPU-second", rate >= 20000)  # fmt: skip
    lim = results["sync"].get("sync-limited", {})
    if ok(lim):
        util, too_many = lim.get("utilisation"), lim.get("server", {}).get("too_many")
        add("rate-limited sync uses ≥ 90 % of allowed requests", "n/a" if util is None else f"{util:.1%}",
            None if util is None else util >= 0.9)  # fmt: skip
        add("rate-limited sync triggers no 429", f"{too_many} × 429", too_many == 0)
    return targets


# -- output -----------------------------------------------------------------------------------
def table(results: dict[str, Any]) -> str:
    lines = [
        "| rows | step | seconds (median) | runs | CPU s (median run) | rows/s | peak MB | ratio to baselines |",
        "| ---: | --- | ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for n, per in results["sizes"].items():
        rows = int(n)
        for name, r in per.items():
            if name == "store":
                lines.append(
                    f"| {rows:,} | store at rest | | | | | | {r['bytes_per_row']:.0f} bytes per row |"
                )
                continue
            if "seconds" not in r:
                lines.append(f"| {rows:,} | {name} | {r.get('failed') or r.get('skipped')} | | | | | |")
                continue
            ratios = ", ".join(
                f"{r['seconds'] / per[b]['seconds']:.2f}× {b}"
                for b in BASELINES.get(name, ())
                if "seconds" in per.get(b, {})
            )
            runs = " / ".join(f"{x:.2f}" for x in r.get("runs", ()))
            cpu = f"{r['cpu_seconds']:.2f}" if "cpu_seconds" in r else ""
            lines.append(
                f"| {rows:,} | {name} | {r['seconds']:.2f} | {runs} | {cpu} | {rows / r['seconds']:,.0f} | "
                f"{r['peak_mb']:.0f} | {ratios} |"
            )
    quarter = results.get("quarter")
    if quarter and "seconds" in quarter["summary"]:
        r = quarter["summary"]
        runs = " / ".join(f"{x:.2f}" for x in r.get("runs", ()))
        lines.append(
            f"| {quarter['rows']:,} | summary of {quarter['period']} | {r['seconds']:.2f} | {runs} | "
            f"{r['cpu_seconds']:.2f} | {quarter['rows'] / r['seconds']:,.0f} | {r['peak_mb']:.0f} | |"
        )
    lines_run = results.get("lines")
    if lines_run and "seconds" in lines_run:
        members, models, rows = LINES_SHAPE
        runs = " / ".join(f"{x:.2f}" for x in lines_run.get("runs", ()))
        cpu = f"{lines_run['cpu_seconds']:.2f}" if "cpu_seconds" in lines_run else ""
        lines.append(
            f"| {rows:,} | pdf-lines ({members} members × {models} models, {lines_run['pages']} pages) | "
            f"{lines_run['seconds']:.2f} | {runs} | {cpu} | | {lines_run['peak_mb']:.0f} | |"
        )
    sync = results["sync"].get("sync")
    if sync and "seconds" in sync:
        lines.append(
            f"| {sync['stored']:,} | sync (unlimited local fake; client CPU {sync['client_cpu_seconds']:.2f} s) | "
            f"{sync['seconds']:.2f} | | | {sync['stored'] / sync['seconds']:,.0f} | {sync['peak_mb']:.0f} | |"
        )
    lim = results["sync"].get("sync-limited")
    if lim and "seconds" in lim:
        util = "n/a" if lim["utilisation"] is None else f"{lim['utilisation']:.1%}"
        lines.append(
            f"| {lim['stored']:,} | sync, rate-limited: {lim['requests_in_windows']} of "
            f"{lim['allowed_in_windows']} allowed requests in {lim['windows']} windows ({util}), "
            f"{lim['server'].get('too_many')} × 429 | {lim['seconds']:.2f} | | | | {lim['peak_mb']:.0f} | |"
        )
    lines.append("")
    lines.append("| target | measured | met |")
    lines.append("| --- | --- | --- |")
    for t in results["targets"]:
        met = {True: "yes", False: "**no**", None: "n/a"}[t["met"]]
        lines.append(f"| {t['target']} | {t['measured']} | {met} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="rows in the main store (default 1,000,000)"
    )
    parser.add_argument("--also", type=int, action="append", default=None,
                        help="another store size to run, for the memory comparison (default 100,000)")  # fmt: skip
    parser.add_argument("--steps", help=f"comma-separated subset of: {', '.join(ALL_STEPS)}")
    parser.add_argument("--quarter-rows", type=int, default=0,
                        help=f"also time `summary` of a {data.QUARTER} store of this many rows (e.g. 10000000)")  # fmt: skip
    parser.add_argument("--sync-rows", type=int, default=200_000, help="rows the unlimited fake serves")
    parser.add_argument("--limited-rows", type=int, default=24_000, help="rows the rate-limited fake serves")
    parser.add_argument("--limit", type=int, nargs=2, default=(60, 6), metavar=("REQUESTS", "SECONDS"))
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "reportgen-bench"))
    parser.add_argument("--fresh", action="store_true", help="regenerate the stores even if cached")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per step; the median is reported (default 3)"
    )
    args = parser.parse_args(argv)
    args.also = [100_000] if args.also is None else args.also
    results = measure(args)
    print(json.dumps(results, indent=2, ensure_ascii=False) if args.json else table(results))


if __name__ == "__main__":
    main()
