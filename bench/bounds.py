"""What a hostile input costs in time and memory: measured here, not asserted by the tests.

The tests assert what happens (the one-line refusal, no retry, nothing written); how many
seconds and megabytes that takes depends on the machine and on what else it runs, so a test
asserting it on a shared machine's clock fails for reasons that are not reportgen's. Each
case runs in a fresh interpreter; the table shows its seconds, its peak RSS (``ru_maxrss``)
and the bound it was built to stay under:

- ``gzip-bomb``: the API client, default limits, reads a window from the hostile gateway
  that answers 500 MB of gzip zeros; the 32 MiB cap stops it (peak RSS grew 1.1 GB before
  the cap). Measured: the growth of peak RSS over the client's own, and the seconds.
- ``empty-objects``: the same client meets a gzip page inflating to just under 32 MiB of
  ``[{},{},…]``: it passes both size caps and was parsed for 157 s to 3.5 GB; the count of its
  values (``jsontext.MAX_JSON_VALUES``) refuses it before parsing.
- ``endless-pages``: a whole sync of one day from a gateway sending full pages with
  ``data.total`` 0 forever, with the default bounds but time (loopback pages take
  milliseconds): it stops at the 5,000-page bound with the window spooled to the store, not
  held (it held the window: 262 s and 512 MB before; measured 77 s and +152 MB, the rows'
  identities that tell repeats).  At the default rate limit the 30-minute bound of a listing
  without a total stops it first.
- ``verify-bomb``: ``reportgen verify`` of a packet whose CSV is 1 GiB of zeros (~1 MB
  compressed): refused from the zip's directory before anything is inflated.
- ``verify-huge-manifest``: a 600 MiB ``manifest.json``: refused by its size.
- ``verify-listed-bomb``: the bomb listed in an unsigned manifest with its true size
  (``--allow-unsigned``): streamed and hashed, never held; the hash differs.
- ``verify-hashed-bomb``: the same with its true hash too, so the CSV detail is read: a
  gigabyte without a newline, refused once ``Limits.line`` bytes went by without one (it
  was read as one 1 GiB line: 2.4 GB of peak RSS and 32 s; now 66 MB and 7.5 s, mostly
  hashing).

    python bench/bounds.py [--json] [--workdir DIR]

The packet (unsigned, so every case is verified with ``--allow-unsigned``) comes from
``reportgen demo`` in ``--workdir`` (a temporary folder by default).
Exit status 1 when a case is over its bound. Progress goes to stderr. Not run by CI.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reportgen.app.documents import write_packet  # noqa: E402
from reportgen.config import load_config  # noqa: E402
from reportgen.core.periods import parse_period  # noqa: E402
from reportgen.demo import DEMO_MONTH, DEMO_YEAR, run_demo  # noqa: E402
from tests.hostile_server import TOKEN, HostileGateway  # noqa: E402

#: A case's bounds: seconds and MB of peak RSS (the growth over the client's own for the bomb).
BOUNDS = {
    "gzip-bomb": (10.0, 100),
    "empty-objects": (10.0, 150),
    "endless-pages": (150.0, 250),
    "verify-bomb": (10.0, 100),
    "verify-huge-manifest": (10.0, 100),
    "verify-listed-bomb": (30.0, 100),
    "verify-hashed-bomb": (30.0, 100),
}
#: The window the hostile gateway answers with its bomb (its second day, 2026-04-02 UTC).
BOMB_DAY = int(datetime(2026, 4, 2, tzinfo=UTC).timestamp())

_BOMB_CLIENT = """
import resource, sys, time
from reportgen.config import GatewayConfig, Secret
from reportgen.errors import GatewayProtocolError
from reportgen.gateway import GatewayClient

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

cfg = GatewayConfig(base_url=sys.argv[1], user_id=42, access_token=Secret(sys.argv[2]))
client = GatewayClient(cfg, sleep=lambda s: None)  # the default limits
client.status()
base = peak_mb()
started = time.monotonic()
try:
    list(client.iter_log_pages(int(sys.argv[3]), int(sys.argv[3]) + 86399))
except GatewayProtocolError as exc:
    print(json.dumps({"seconds": time.monotonic() - started, "mb": peak_mb() - base, "message": str(exc)}))
""".replace("import resource, sys, time", "import json, resource, sys, time")

_ENDLESS_SYNC = """
import json, resource, sys, tempfile, time
from pathlib import Path
from reportgen.app.sync import run_sync
from reportgen.core.periods import date_range_period
from reportgen.config import load_config
from reportgen.errors import GatewayProtocolError
from reportgen.gateway import GatewayClient
from datetime import date
from zoneinfo import ZoneInfo

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

folder = Path(tempfile.mkdtemp())
lines = ["[gateway]", f'base_url = "{sys.argv[1]}"', "user_id = 42", 'flavor = "new-api"',
         "requests_per_window = 100000", "[report]", 'timezone = "UTC"']
(folder / "reportgen.toml").write_text(chr(10).join(lines) + chr(10), encoding="utf-8")
config = load_config(folder / "reportgen.toml", env={"REPORTGEN_ACCESS_TOKEN": sys.argv[2]})
day = date_range_period(date(2026, 4, 2), date(2026, 4, 2), ZoneInfo("UTC"))
factory = lambda gw, on_request=None: GatewayClient(gw, sleep=lambda s: None, max_listing_seconds=1e9)
base = peak_mb()
started = time.monotonic()
try:
    run_sync(config, day, client_factory=factory)
except GatewayProtocolError as exc:
    print(json.dumps({"seconds": time.monotonic() - started, "mb": peak_mb() - base, "message": str(exc)}))
"""

_VERIFY = """
import json, resource, subprocess, sys, time
started = time.monotonic()
done = subprocess.run([sys.executable, "-m", "reportgen", "verify", *sys.argv[1:]], capture_output=True, text=True)
print(json.dumps({"seconds": time.monotonic() - started, "code": done.returncode,
                  "mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  "message": done.stdout.strip().replace("\\n", " | ")}))
"""


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(script: str, *args: str, cwd: Path) -> dict[str, Any]:
    env = {"HOME": str(cwd), "PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", script, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    if out.returncode != 0 or not out.stdout.strip():
        raise SystemExit(f"the measuring process failed: {out.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def hostile_window(home: Path, mode: str) -> dict[str, Any]:
    """The API client reading one window from the hostile gateway in ``mode``."""
    with HostileGateway(mode) as gw:
        return run(_BOMB_CLIENT, gw.url, TOKEN, str(BOMB_DAY), cwd=home)


def demo_packet(workdir: Path) -> Path:
    log("building a packet with reportgen demo ...")
    with contextlib.chdir(workdir):
        result = run_demo(workdir / "demo", lang="en")
    config = load_config(result.config_path, env={})
    period = parse_period(f"{DEMO_YEAR}-{DEMO_MONTH:02d}", config.tz)
    return write_packet(config, period, workdir / "packets", lang="en", unsigned=True)


def _big_member(zf: zipfile.ZipFile, name: str, size: int, byte: bytes) -> None:
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    chunk = byte * (1 << 22)
    with zf.open(info, "w", force_zip64=True) as fp:
        for _ in range(size // len(chunk)):
            fp.write(chunk)


def hostile_packets(packet: Path, workdir: Path) -> dict[str, tuple[Path, tuple[str, ...]]]:
    """The three verify cases: (zip, extra arguments)."""
    with zipfile.ZipFile(packet) as zf:
        files = [(info, zf.read(info)) for info in zf.infolist()]
    csv_name = next(i.filename for i, _ in files if i.filename.endswith(".csv"))
    bomb = workdir / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in files:
            if info.filename != csv_name:
                zf.writestr(info, data)
        _big_member(zf, csv_name, 1 << 30, b"\0")
    huge = workdir / "huge.zip"
    with zipfile.ZipFile(huge, "w", zipfile.ZIP_DEFLATED) as zf:
        _big_member(zf, "manifest.json", 600 << 20, b" ")
    manifest = json.loads(next(data for info, data in files if info.filename == "manifest.json"))
    zeros = hashlib.sha256()
    for _ in range(1 << 8):
        zeros.update(b"\0" * (1 << 22))

    def listed(path: Path, sha256: str | None) -> Path:
        """The bomb listed in an unsigned manifest with its true size (and hash, if given)."""
        edited = json.loads(json.dumps(manifest))
        entry = next(f for f in edited["files"] if f["name"] == csv_name)
        entry["bytes"] = 1 << 30
        if sha256 is not None:
            entry["sha256"] = sha256
        edited["signature"] = None
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for info, data in files:
                if info.filename not in (csv_name, "manifest.json", "manifest.sig"):
                    zf.writestr(info, data)
            _big_member(zf, csv_name, 1 << 30, b"\0")
            zf.writestr("manifest.json", json.dumps(edited, ensure_ascii=False, indent=2) + "\n")
        return path

    return {
        "verify-bomb": (bomb, ("--allow-unsigned",)),
        "verify-huge-manifest": (huge, ("--allow-unsigned",)),
        "verify-listed-bomb": (listed(workdir / "listed.zip", None), ("--allow-unsigned",)),
        "verify-hashed-bomb": (listed(workdir / "hashed.zip", zeros.hexdigest()), ("--allow-unsigned",)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="JSON instead of a table")
    parser.add_argument(
        "--workdir", type=Path, help="where the demo and the zips go (default: a temporary folder)"
    )
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        workdir = args.workdir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="reportgen-bounds-"))
        )
        workdir.mkdir(parents=True, exist_ok=True)
        home = workdir / "home"
        home.mkdir(exist_ok=True)
        results: dict[str, dict[str, Any]] = {}
        for name in ("gzip-bomb", "empty-objects"):
            log(f"{name} ...")
            results[name] = hostile_window(home, name.replace("-", "_"))
        log("endless-pages ...")
        with HostileGateway("endless_total0") as gw:
            results["endless-pages"] = run(_ENDLESS_SYNC, gw.url, TOKEN, cwd=home)
        for name, (path, extra) in hostile_packets(demo_packet(workdir), workdir).items():
            log(f"{name} ...")
            results[name] = run(_VERIFY, str(path), *extra, cwd=home)
    over = False
    for name, r in results.items():
        seconds, mb = BOUNDS[name]
        r["bound_seconds"], r["bound_mb"] = seconds, mb
        r["within"] = r["seconds"] < seconds and r["mb"] < mb
        over |= not r["within"]
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        print(f"{'case':<22} {'seconds':>8} {'bound':>6} {'MB':>7} {'bound':>6}  within  message")
        for name, r in results.items():
            print(
                f"{name:<22} {r['seconds']:>8.2f} {r['bound_seconds']:>6.0f} {r['mb']:>7.0f} {r['bound_mb']:>6}"
                f"  {'yes' if r['within'] else 'NO':<6}  {r['message'][:90]}"
            )
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
