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

PER_SIZE = ("aggregate", "csv", "csv-bare", "xlsx", "xlsx-bare", "pandas", "pdf")
SYNC_STEPS = ("sync", "sync-limited")
ALL_STEPS = PER_SIZE + SYNC_STEPS
REPORTGEN_STEPS = ("aggregate", "csv", "xlsx", "pdf")
BASELINE_OF = {"csv": "csv-bare", "xlsx": "xlsx-bare"}


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


def ensure_store(workdir: Path, rows: int, fresh: bool, log: Any) -> Path:
    store = workdir / f"store-{rows}"
    if fresh or not data.store_ready(store, rows):
        if store.exists():
            for f in store.iterdir():
                f.unlink()
        print(f"generating a store of {rows:,} rows in {store} ...", file=log, flush=True)
        res = run_step("generate", {"store": str(store), "rows": rows})
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
        per: dict[str, Any] = {}
        for name in (s for s in PER_SIZE if s in steps):
            print(f"{n:>9,} rows: {name} ...", file=log, flush=True)
            with tempfile.TemporaryDirectory(dir=workdir) as out:
                per[name] = run_step(name, {"store": str(store), "out": out})
            print(f"           {_brief(per[name])}", file=log, flush=True)
        results["sizes"][str(n)] = per
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


# -- targets (issue 5) ------------------------------------------------------------------------
def check_targets(results: dict[str, Any], big: int, small: int) -> list[dict[str, Any]]:
    targets: list[dict[str, Any]] = []

    def add(name: str, measured: str, ok: bool | None) -> None:
        targets.append({"target": name, "measured": measured, "met": ok})

    sizes = results["sizes"]
    top = sizes.get(str(big), {})
    low = sizes.get(str(small), {})

    def ok(r: dict[str, Any] | None) -> bool:
        return bool(r) and "seconds" in r  # type: ignore[operator]

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
    peaks = [
        (s, r["peak_mb"]) for per in sizes.values() for s, r in per.items() if s in REPORTGEN_STEPS and ok(r)
    ]
    if results["sync"].get("sync", {}).get("peak_mb"):
        peaks.append(("sync", results["sync"]["sync"]["peak_mb"]))
    if peaks:
        name, mb = max(peaks, key=lambda x: x[1])
        add("peak RSS ≤ 250 MB (every reportgen step)", f"max {mb:.0f} MB ({name})", mb <= 250)
    if ok(top.get("aggregate")):
        add(f"aggregation of {big:,} rows ≤ 3 s", f"{top['aggregate']['seconds']:.2f} s",
            top["aggregate"]["seconds"] <= 3)  # fmt: skip
    if ok(top.get("csv")) and ok(top.get("csv-bare")):
        r = top["csv"]["seconds"] / top["csv-bare"]["seconds"]
        add("CSV detail ≤ 1.3 × bare csv.writer", f"{r:.2f}×", r <= 1.3)
    if ok(top.get("xlsx")) and ok(top.get("xlsx-bare")):
        r = top["xlsx"]["seconds"] / top["xlsx-bare"]["seconds"]
        add("XLSX ≤ 1.2 × bare openpyxl write_only", f"{r:.2f}×", r <= 1.2)
    if ok(top.get("xlsx")) and ok(top.get("pandas")):
        r = top["xlsx"]["seconds"] / top["pandas"]["seconds"]
        add("XLSX faster than pandas", f"{r:.2f}× the pandas time", r < 1)
    pdfs = [(n, per["pdf"]["seconds"]) for n, per in sizes.items() if ok(per.get("pdf"))]
    if pdfs:
        worst_pdf = max(pdfs, key=lambda x: x[1])
        add(
            "PDF ≤ 2 s at any row count",
            f"max {worst_pdf[1]:.2f} s ({int(worst_pdf[0]):,} rows)",
            worst_pdf[1] <= 2,
        )
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
        "| rows | step | seconds | rows/s | peak MB | vs csv.writer | vs openpyxl write_only | vs pandas |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n, per in results["sizes"].items():
        rows = int(n)
        for name, r in per.items():
            if "seconds" not in r:
                lines.append(f"| {rows:,} | {name} | {r.get('failed') or r.get('skipped')} | | | | | |")
                continue
            ratios = []
            for base in ("csv-bare", "xlsx-bare", "pandas"):
                b = per.get(base, {})
                relevant = (base == "csv-bare" and name in ("csv", "csv-bare")) or (
                    base != "csv-bare" and name in ("xlsx", "xlsx-bare", "pandas")
                )
                ratios.append(f"{r['seconds'] / b['seconds']:.2f}×" if relevant and "seconds" in b else "")
            lines.append(
                f"| {rows:,} | {name} | {r['seconds']:.2f} | {rows / r['seconds']:,.0f} | {r['peak_mb']:.0f} | "
                + " | ".join(ratios)
                + " |"
            )
    sync = results["sync"].get("sync")
    if sync and "seconds" in sync:
        lines.append(
            f"| {sync['stored']:,} | sync (unlimited local fake; client CPU {sync['client_cpu_seconds']:.2f} s) | "
            f"{sync['seconds']:.2f} | {sync['stored'] / sync['seconds']:,.0f} | {sync['peak_mb']:.0f} | | | |"
        )
    lim = results["sync"].get("sync-limited")
    if lim and "seconds" in lim:
        util = "n/a" if lim["utilisation"] is None else f"{lim['utilisation']:.1%}"
        lines.append(
            f"| {lim['stored']:,} | sync, rate-limited: {lim['requests_in_windows']} of "
            f"{lim['allowed_in_windows']} allowed requests in {lim['windows']} windows ({util}), "
            f"{lim['server'].get('too_many')} × 429 | {lim['seconds']:.2f} | | {lim['peak_mb']:.0f} | | | |"
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
    parser.add_argument("--sync-rows", type=int, default=200_000, help="rows the unlimited fake serves")
    parser.add_argument("--limited-rows", type=int, default=24_000, help="rows the rate-limited fake serves")
    parser.add_argument("--limit", type=int, nargs=2, default=(60, 6), metavar=("REQUESTS", "SECONDS"))
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "reportgen-bench"))
    parser.add_argument("--fresh", action="store_true", help="regenerate the stores even if cached")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    args.also = [100_000] if args.also is None else args.also
    results = measure(args)
    print(json.dumps(results, indent=2, ensure_ascii=False) if args.json else table(results))


if __name__ == "__main__":
    main()
