"""Benchmark: the store on PostgreSQL against the store in SQLite (issue 29), side by side.

Loads ``--rows`` new-api-shaped rows of March 2026 into a SQLite gateway database (as
``bench/db_sync.py`` does), starts a throwaway PostgreSQL server on loopback
(``tests/dbservers.py``), then times, each in a fresh process:

- ``sync``: ``run_sync`` with ``[gateway] source = "database"`` into an empty store: a
  SQLite folder, and a PostgreSQL database (``[store] dsn``);
- ``summary``: ``reportgen summary --period 2026-03 --json`` on each store (the month's
  figures grouped from the rollups, on the server for PostgreSQL).

    python bench/pg_store.py --rows 1000000 [--json]

Progress goes to stderr, the table (or JSON) to stdout.  Not run by CI.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
import db_sync  # noqa: E402

from tests import dbservers  # noqa: E402

OWNER, OWNER_PASSWORD = "reportgen_bench", "bench-pw-4d2a"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _config(folder: Path, gateway: Path, store_dsn: str | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    store = f'\n[store]\ndsn = "{store_dsn}"\n' if store_dsn else ""
    path = folder / "reportgen.toml"
    path.write_text(
        f'[gateway]\nsource = "database"\ndsn = "sqlite:///{gateway}"\nuser_id = 42\n\n'
        f'[report]\ntimezone = "{data.TZ}"\n{store}',
        encoding="utf-8",
    )
    return path


def child_sync(config: str) -> dict[str, Any]:
    from reportgen.app.sync import run_sync
    from reportgen.config import load_config
    from reportgen.core.periods import parse_period

    loaded = load_config(Path(config), env=dict(os.environ))
    started = time.perf_counter()
    result = run_sync(loaded, parse_period(data.PERIOD, loaded.tz), now=lambda: db_sync.END + 86400)
    return {"seconds": time.perf_counter() - started, "rows": result.rows}


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str, int]:
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}… failed: {done.stderr[-2000:]}")
    peak_mb = int(after.ru_maxrss / 1024)
    del before
    return time.perf_counter() - started, done.stdout, peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    env = {**os.environ, "REPORTGEN_STORE_PASSWORD": OWNER_PASSWORD, "PYTHONPATH": str(ROOT)}
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="rg-pgstore-bench-") as tmp:
        work = Path(tmp)
        gateway = work / "gateway.db"
        _log(f"loading {args.rows:,} rows into {gateway}")
        db_sync.load_sqlite(gateway, args.rows)
        few = dbservers.build_dataset([{**r, "user_id": data.USER_ID} for r in data.rows(20)], data.tokens(2))
        with dbservers.running(dbservers.start_postgres, few) as server:
            psycopg, password = server.extra["admin"]
            admin = f"postgresql://postgres@127.0.0.1:{server.port}/postgres"
            with psycopg.connect(admin, password=password, autocommit=True) as conn:
                conn.execute(f"CREATE ROLE {OWNER} LOGIN PASSWORD '{OWNER_PASSWORD}'")
                conn.execute(f"CREATE DATABASE bench_store OWNER {OWNER}")
            stores = {
                "sqlite": _config(work / "sqlite", gateway, None),
                "postgresql": _config(work / "pg", gateway, server.dsn("bench_store", OWNER)),
            }
            for name, config in stores.items():
                _log(f"sync into {name}")
                seconds, out, peak = _timed([sys.executable, __file__, "--child-sync", str(config)], env)
                synced = json.loads(out.strip().splitlines()[-1])
                results.append({"store": name, "step": "sync", "rows": synced["rows"],
                                "seconds": round(synced["seconds"], 2), "rows_per_s": int(synced["rows"] / synced["seconds"]),
                                "peak_mb": peak})  # fmt: skip
                for attempt in range(2):  # the second: warm caches, as a finance user's repeated look
                    _log(f"summary of {name} ({attempt + 1})")
                    seconds, _, peak = _timed(
                        [sys.executable, "-m", "reportgen", "--config", str(config), "summary", "--period",
                         data.PERIOD, "--json"], env,
                    )  # fmt: skip
                    results.append({"store": name, "step": f"summary #{attempt + 1}", "rows": synced["rows"],
                                    "seconds": round(seconds, 2), "peak_mb": peak})  # fmt: skip
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'store':<11} {'step':<11} {'rows':>10} {'seconds':>8} {'rows/s':>9} {'peak MB':>8}")
    for r in results:
        rate = f"{r['rows_per_s']:,}" if "rows_per_s" in r else ""
        print(
            f"{r['store']:<11} {r['step']:<11} {r['rows']:>10,} {r['seconds']:>8} {rate:>9} {r['peak_mb']:>8}"
        )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child-sync":
        print(json.dumps(child_sync(sys.argv[2])))
    else:
        main()
