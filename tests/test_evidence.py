"""Evidence anyone can check: hostile packets, content-bound fingerprints, kept revisions, register and log."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from reportgen.app.closing import close_period
from reportgen.app.documents import write_packet
from reportgen.app.packet import manifest_of
from reportgen.app.sync import run_sync
from reportgen.app.verify import Limits, verify_packet
from reportgen.cli import cli
from reportgen.core.periods import parse_period
from reportgen.store import DB_NAME, Store, find_closure
from tests.conftest import TOKEN, closed_rows, fast_client, make_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def config(tmp_path, team, gateway):
    config = make_config(tmp_path, gateway.url, team)
    run_sync(config, april(config), client_factory=fast_client)
    return config


@pytest.fixture
def packet(config, tmp_path):
    return write_packet(config, april(config), tmp_path / "out", member="张三", lang="en")


def april(config):
    return parse_period("2026-04", config.tz)


def items(path: Path) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(path) as zf:
        return [(info, zf.read(info)) for info in zf.infolist()]


def write_zip(path: Path, entries) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in entries:
            zf.writestr(info, data)
    return path


def forged(
    packet: Path,
    out: Path,
    edit_manifest,
    *,
    edit_files=None,
    key=None,
    unsigned=False,
    signer="Test Preparer",
) -> Path:
    """A copy of ``packet`` with its files and manifest edited, re-signed with ``key`` (or unsigned)."""
    files = {info.filename: data for info, data in items(packet)}
    manifest = json.loads(files.pop("manifest.json"))
    files.pop("manifest.sig")
    for name, change in (edit_files or {}).items():
        files[name] = change(files[name])
        entry = next(f for f in manifest["files"] if f["name"] == name)
        entry["sha256"] = hashlib.sha256(files[name]).hexdigest()
        entry["bytes"] = len(files[name])
    edit_manifest(manifest)
    entries = [(name, data) for name, data in files.items()]
    if unsigned:
        manifest["signature"] = None
    elif key is not None:
        public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        manifest["signature"]["public_key"] = base64.b64encode(public).decode()
        manifest["signature"]["key_fingerprint"] = hashlib.sha256(public).hexdigest()
        manifest["signature"]["signer"] = signer  # claims to be the preparer
    raw = (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode()
    entries.append(("manifest.json", raw))
    if not unsigned and key is not None:
        entries.append(("manifest.sig", base64.b64encode(key.sign(raw)) + b"\n"))
    return write_zip(out, entries)


def cli_verify(path: Path, *args: str, cwd: Path | None = None):
    """``reportgen verify`` in an empty folder with no config and no store (the finance office)."""
    with tempfile.TemporaryDirectory(dir=cwd) as empty, contextlib.chdir(empty):
        result = CliRunner().invoke(cli, ["verify", str(path), *args], env={"REPORTGEN_CONFIG": ""})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def one_line_differs(path: Path, *args: str) -> str:
    result = cli_verify(path, *args)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("DIFFERS:")]
    assert lines and "Traceback" not in result.output
    return lines[0]


# -- without a store ---------------------------------------------------------------------------


def test_a_clean_packet_verifies_on_a_machine_with_no_store_in_a_fresh_process(
    packet, config, tmp_path_factory
):
    home = tmp_path_factory.mktemp("finance-home")  # not below the preparer's folder and its config
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"}
    pub = config.signing_key.with_suffix(".pub")
    done = subprocess.run(
        [sys.executable, "-m", "reportgen", "verify", "--key", str(pub), str(packet)],
        cwd=home,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("OK: statement RG-000001 is intact")
    assert "Test Preparer" in done.stdout and "2026-04" in done.stdout and "member 张三" in done.stdout
    assert "net USD" in done.stdout and "CNY" in done.stdout
    assert "no reportgen store here" in done.stderr
    assert not (home / ".reportgen").exists()


def test_the_packet_carries_its_rows_and_the_methodology_recipe_recomputes_the_fingerprint(packet):
    manifest = manifest_of(packet)
    note = dict((i.filename, d) for i, d in items(packet))["methodology.md"].decode()
    recipe = note.split("```python\n", 1)[1].split("```", 1)[0].replace("PACKET.zip", str(packet))
    out = subprocess.run([sys.executable, "-c", recipe], capture_output=True, text=True, check=True).stdout
    assert out.split() == [str(manifest["rows"]["count"]), manifest["rows"]["fingerprint"]]


@pytest.mark.parametrize(
    "edit",
    ["generated_at", "filters", "count", "quota_per_unit", "exchange_rate", "byte"],
)
def test_forged_manifest_metadata_breaks_the_signature(packet, tmp_path, edit):
    def change(m):
        if edit == "generated_at":
            m["generated_at"] = "2026-05-02T09:00:00+08:00"
        elif edit == "filters":
            m["request"]["filters"] = {"member": "Alice Smith"}
        elif edit == "count":
            m["rows"]["count"] += 1
        elif edit == "quota_per_unit":
            m["source"]["quota_per_unit"] = "250000"
        elif edit == "exchange_rate":
            m["source"]["exchange_rate"]["cny_per_usd"] = "8.1"

    files = {i.filename: d for i, d in items(packet)}
    if edit == "byte":  # one flipped byte of the signed manifest, the signature kept
        raw = files["manifest.json"]
        at = raw.index(b'"generated_at": "') + 20
        files["manifest.json"] = raw[:at] + bytes([raw[at] ^ 1]) + raw[at + 1 :]
        path = write_zip(tmp_path / "x.zip", list(files.items()))
    else:  # the manifest edited, the original signature kept
        path = forged(packet, tmp_path / "x.zip", change)
        with zipfile.ZipFile(path, "a") as zf:
            zf.writestr("manifest.sig", files["manifest.sig"])
    assert one_line_differs(path).startswith("DIFFERS: manifest.json: the signature does not match")


def test_an_edited_csv_with_its_hash_updated_is_caught(packet, tmp_path):
    csv_name = "reportgen-2026-04-张三.csv"

    def edit(data: bytes) -> bytes:
        lines = data.decode("utf-8-sig").split("\r\n")
        cells = lines[1].split(",")
        at = next(i for i, h in enumerate(lines[0].split(",")) if h in ("额度", "Quota"))  # the quota column
        cells[at] = str(int(cells[at]) + 500000)
        lines[1] = ",".join(cells)
        return ("\ufeff" + "\r\n".join(lines)).encode()

    kept_signature = forged(packet, tmp_path / "a.zip", lambda m: None, edit_files={csv_name: edit})
    with zipfile.ZipFile(kept_signature, "a") as zf:
        zf.writestr("manifest.sig", dict((i.filename, d) for i, d in items(packet))["manifest.sig"])
    assert "the signature does not match" in one_line_differs(kept_signature)
    # an attacker who re-signs with a key of their own: the figures no longer agree with the rows
    attacker = Ed25519PrivateKey.generate()
    resigned = forged(packet, tmp_path / "b.zip", lambda m: None, edit_files={csv_name: edit}, key=attacker)
    line = one_line_differs(resigned)
    assert line.startswith(f"DIFFERS: {csv_name}: ") and "not the packet's rows" in line
    # and with the preparer's key pinned, the other signer is named first
    pinned = manifest_of(packet)["signature"]["key_fingerprint"]
    assert "not the expected key" in one_line_differs(resigned, "--key", pinned)


def test_a_self_signed_forgery_of_the_totals_or_rows_is_caught_by_the_figures(packet, tmp_path):
    attacker = Ed25519PrivateKey.generate()

    def more_quota(m):
        m["totals"]["quota"] += 500000
        m["totals"]["consumed_quota"] += 500000

    line = one_line_differs(forged(packet, tmp_path / "t.zip", more_quota, key=attacker))
    assert line.startswith("DIFFERS: manifest.json: totals.consumed_quota is") and "the rows give" in line

    def cheaper(m):
        m["source"]["quota_per_unit"] = "250000"

    line = one_line_differs(forged(packet, tmp_path / "q.zip", cheaper, key=attacker))
    assert "totals.cost_usd" in line

    def edit_row(data: bytes) -> bytes:  # one row's quota raised, the lines put back in digest order
        first, *rest = data.decode().splitlines()
        row = json.loads(first)
        row[4] += 500000
        lines = [json.dumps(row, ensure_ascii=False, separators=(",", ":")), *rest]
        return "".join(
            f"{x}\n" for x in sorted(lines, key=lambda x: hashlib.sha256(x.encode()).digest())
        ).encode()

    line = one_line_differs(forged(packet, tmp_path / "r.zip", lambda m: None, edit_files={"rows.jsonl": edit_row}, key=attacker))  # fmt: skip
    assert line.startswith("DIFFERS: rows.jsonl: ") and "rows and manifest disagree" in line


def test_a_packet_re_signed_with_another_key_differs_when_the_key_is_pinned(packet, config, tmp_path):
    other = Ed25519PrivateKey.generate()
    path = forged(packet, tmp_path / "x.zip", lambda m: None, key=other)
    untrusted = cli_verify(path)  # internally sound, but the key is not one the reader trusts
    assert untrusted.exit_code == 11 and untrusted.stdout.startswith("UNTRUSTED: statement RG-000001")
    for pin in (
        str(config.signing_key.with_suffix(".pub")),
        manifest_of(packet)["signature"]["key_fingerprint"][:16],
    ):
        line = one_line_differs(path, "--key", pin)
        assert line.startswith("DIFFERS: manifest.sig: signed by key") and "not the expected key" in line
    assert cli_verify(packet, "--key", str(config.signing_key.with_suffix(".pub"))).exit_code == 0


def test_only_keys_the_reader_trusts_verify_ok_and_keys_trust_list_untrust(
    packet, config, tmp_path, tmp_path_factory
):
    """The finance office: a fresh user config folder, no store. An attacker's re-signed packet
    that calls itself the preparer is its own outcome (exit 11), never OK; after trusting the
    preparer's key (out of band), the genuine packet is OK and the forgery still is not."""
    finance = {"REPORTGEN_CONFIG": "", "XDG_CONFIG_HOME": str(tmp_path / "finance-config")}
    runner = CliRunner()
    office = tmp_path_factory.mktemp("office")  # not below the preparer's folder and its config

    def verify(path: Path, *args: str):
        with contextlib.chdir(office):
            return runner.invoke(cli, ["verify", str(path), *args], env=finance)

    attacker = Ed25519PrivateKey.generate()

    claims = "Zhang San, Finance\u202e\x1b[2J"
    forgery = forged(packet, tmp_path / "forged.zip", lambda m: None, key=attacker, signer=claims)
    fingerprint = hashlib.sha256(
        attacker.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    ).hexdigest()
    for path in (packet, forgery):  # nothing trusted yet: neither is OK
        result = verify(path)
        assert result.exit_code == 11, result.output
        assert result.stdout.startswith("UNTRUSTED: statement RG-000001 is signed by an unknown key")
        assert "OK" not in result.stdout.split()
    line = verify(forgery).stdout.splitlines()[0]
    assert line.endswith("(self-named 'Zhang San, Finance[2J'): not trusted"), line  # ESC and RLO gone
    assert "\u202e" not in verify(forgery).stdout and "\x1b" not in verify(forgery).stdout
    assert fingerprint in verify(forgery).stdout

    pub = config.signing_key.with_suffix(".pub")
    with contextlib.chdir(office):
        added = runner.invoke(cli, ["keys", "trust", str(pub), "--name", "Li Si (preparer)"], env=finance)
        assert added.exit_code == 0, added.output
        listed = runner.invoke(cli, ["keys", "list"], env=finance)
    preparer = manifest_of(packet)["signature"]["key_fingerprint"]
    assert listed.stdout == f"{preparer}  Li Si (preparer)\n"
    assert (tmp_path / "finance-config" / "reportgen" / "trusted-keys").is_file()
    ok = verify(packet)
    assert ok.exit_code == 0 and ok.stdout.startswith("OK: statement RG-000001")
    assert (
        "trusted as Li Si (preparer) (self-named 'Test Preparer')" in ok.stdout
        or "trusted as Li Si" in ok.stdout
    )
    assert verify(forgery).exit_code == 11
    with contextlib.chdir(office):  # trusting the attacker by its fingerprint alone needs a name
        nameless = runner.invoke(cli, ["keys", "trust", fingerprint], env=finance)
        assert nameless.exit_code == 2 and "--name" in nameless.stderr
        gone = runner.invoke(cli, ["keys", "untrust", preparer[:16]], env=finance)
        assert gone.exit_code == 0 and "Li Si" in gone.stdout
    assert verify(packet).exit_code == 11
    # on the preparer's own machine (their signing key in its folder) their packets are trusted
    with contextlib.chdir(tmp_path):  # the preparer's folder: their config names their key
        own = runner.invoke(cli, ["verify", str(packet)], env={"REPORTGEN_CONFIG": ""})
    assert own.exit_code == 0 and "trusted as your own key (self-named 'Test Preparer')" in own.stdout


def test_an_incomplete_packet_says_incomplete_and_the_missing_ranges_on_its_first_line(
    packet, config, tmp_path
):
    pub = str(config.signing_key.with_suffix(".pub"))
    assert cli_verify(packet, "--key", pub).stdout.startswith("OK: statement RG-000001 is intact")

    def gap(m):
        m["coverage"] = {"complete": False, "missing": ["2026-04-16 – 2026-04-30", "2026-04-03\u202e"]}

    path = forged(packet, tmp_path / "gap.zip", gap, unsigned=True)
    first = cli_verify(path, "--allow-unsigned").stdout.splitlines()[0]
    assert first == (
        "OK INCOMPLETE (missing 2026-04-16 – 2026-04-30, 2026-04-03): statement RG-000001 is intact "
        "and agrees with itself"
    )
    for wrong in ({"complete": "no", "missing": []}, {"complete": False, "missing": [1]}):
        bad = forged(packet, tmp_path / "bad.zip", lambda m, w=wrong: m.update(coverage=w), unsigned=True)
        assert one_line_differs(bad, "--allow-unsigned").startswith("DIFFERS: manifest.json: coverage.")


def test_duplicate_unsafe_and_link_entries_are_refused(packet, tmp_path):
    files = items(packet)
    csv_info, csv_data = next((i, d) for i, d in files if i.filename.endswith(".csv"))
    forged_csv = csv_data.replace(b",", b";", 5)
    with pytest.warns(UserWarning, match="Duplicate name"):  # zipfile writes both and keeps both
        dup = write_zip(tmp_path / "dup.zip", [(zipfile.ZipInfo(csv_info.filename), forged_csv), *files])
    line = one_line_differs(dup)
    assert "appears twice in the zip" in line and csv_info.filename in line
    for bad in ("../x", "/abs", "a/../../x", "C:/x"):
        path = write_zip(tmp_path / "bad.zip", [*files, (zipfile.ZipInfo(bad), b"x")])
        assert "an unsafe entry name" in one_line_differs(path)
    link = zipfile.ZipInfo("link")
    link.create_system = 3
    link.external_attr = (0o120777) << 16
    path = write_zip(tmp_path / "link.zip", [*files, (link, b"/etc/passwd")])
    assert "a symbolic link" in one_line_differs(path)
    extra = write_zip(tmp_path / "extra.zip", [*files, (zipfile.ZipInfo("extra.txt"), b"x")])
    assert (
        one_line_differs(extra)
        == "DIFFERS: extra.txt: in the packet but not listed in the manifest: it was added"
    )


@pytest.mark.parametrize(
    "manifest",
    [
        b"[]",
        b'{"format": "reportgen-packet", "format_version": 2}',
        b'{"format": 1}',
        b"[" * 200_000 + b"]" * 200_000,
        b'{"format": "reportgen-packet", "format_version": 2, "files": "x"}',
        b"\xff\xfe not utf-8",
        b"{not json",
    ],
    ids=["list", "missing", "wrong-type", "deep", "files-string", "bad-utf8", "bad-json"],
)
def test_malformed_manifests_are_one_line_never_a_traceback(tmp_path, manifest):
    path = write_zip(tmp_path / "m.zip", [("manifest.json", manifest)])
    line = one_line_differs(path)
    assert line.startswith("DIFFERS: manifest.json: ") and "\n" not in line


def test_malformed_manifest_fields_are_named(packet, tmp_path):
    def shapes(m):
        m["files"][0] = {"name": "x"}

    line = one_line_differs(forged(packet, tmp_path / "f.zip", shapes, unsigned=True), "--allow-unsigned")
    assert line == "DIFFERS: manifest.json: files[0].role is missing"

    def period(m):
        m["request"]["period"]["timezone"] = "Mars/Olympus"

    line = one_line_differs(forged(packet, tmp_path / "p.zip", period, unsigned=True), "--allow-unsigned")
    assert line.startswith("DIFFERS: manifest.json: the period is malformed")


def _big_member(zf: zipfile.ZipFile, name: str, size: int, byte: bytes) -> None:
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    chunk = byte * (1 << 22)
    with zf.open(info, "w", force_zip64=True) as fp:
        for _ in range(size // len(chunk)):
            fp.write(chunk)


def test_a_bomb_and_a_huge_manifest_are_refused_without_being_read(packet, tmp_path):
    """Each refused in one line, from the zip's directory or the manifest's size.

    What they cost in seconds and memory (bounded: < 100 MB of peak RSS) is measured by
    ``bench/bounds.py``, not asserted on a shared machine's clock.
    """
    bomb = tmp_path / "bomb.zip"
    files = items(packet)
    csv_name = next(i.filename for i, _ in files if i.filename.endswith(".csv"))
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in files:
            if info.filename != csv_name:
                zf.writestr(info, data)
        _big_member(zf, csv_name, 1 << 30, b"\0")  # 1 GiB of zeros in about 1 MB
    assert bomb.stat().st_size < 5 << 20
    line = one_line_differs(bomb)
    assert line.startswith("DIFFERS: " + csv_name + ": the zip declares 1,073,741,824 bytes"), line

    huge = tmp_path / "huge.zip"
    with zipfile.ZipFile(huge, "w", zipfile.ZIP_DEFLATED) as zf:
        _big_member(zf, "manifest.json", 600 << 20, b" ")
    assert huge.stat().st_size < 5 << 20
    line = one_line_differs(huge)
    assert line.startswith("DIFFERS: manifest.json: 629,145,600 bytes, over the"), line

    # a forger who lists the bomb in the manifest: streamed, hashed, never held
    def list_bomb(m):
        entry = next(f for f in m["files"] if f["name"] == csv_name)
        entry["bytes"] = 1 << 30

    listed = tmp_path / "listed.zip"
    forged(packet, tmp_path / "base.zip", list_bomb, unsigned=True)
    with (
        zipfile.ZipFile(tmp_path / "base.zip") as src,
        zipfile.ZipFile(listed, "w", zipfile.ZIP_DEFLATED) as zf,
    ):
        for info in src.infolist():
            if info.filename != csv_name:
                zf.writestr(info, src.read(info))
        _big_member(zf, csv_name, 1 << 30, b"\0")
    result = verify_packet(listed, None, allow_unsigned=True)
    assert [d.split(":")[0] for d in result.differences] == [csv_name]


def test_a_listed_and_hashed_zero_filled_csv_is_one_line_read_within_the_line_bound(packet, tmp_path):
    """The bomb with its true size and hash: the CSV check reads it, and refuses it after one
    line's worth of bytes (``Limits.line``, lowered here so the test is fast), never a line
    of the whole member's length (the 1 GiB case is ``bench/bounds.py``'s verify-hashed-bomb).
    """
    files = items(packet)
    csv_name = next(i.filename for i, _ in files if i.filename.endswith(".csv"))
    size, limits = 16 << 20, Limits(line=1 << 16)
    zeros = hashlib.sha256()
    for _ in range(size >> 22):
        zeros.update(b"\0" * (1 << 22))

    def list_bomb(m):
        entry = next(f for f in m["files"] if f["name"] == csv_name)
        entry["bytes"], entry["sha256"] = size, zeros.hexdigest()

    forged(packet, tmp_path / "base.zip", list_bomb, unsigned=True)
    hashed = tmp_path / "hashed.zip"
    with (
        zipfile.ZipFile(tmp_path / "base.zip") as src,
        zipfile.ZipFile(hashed, "w", zipfile.ZIP_DEFLATED) as zf,
    ):
        for info in src.infolist():
            if info.filename != csv_name:
                zf.writestr(info, src.read(info))
        _big_member(zf, csv_name, size, b"\0")
    result = verify_packet(hashed, None, allow_unsigned=True, limits=limits)
    assert result.differences == [f"{csv_name}: a line longer than 65,536 bytes: not the CSV detail"]
    assert f"{csv_name}: SHA-256 matches" in result.checked

    # a record may not grow past the bound across lines either (a quoted field left open)
    def open_quote(data: bytes) -> bytes:
        return data + b'"' + b"x" * 1000 + (b"\n" + b"y" * 1000) * 100

    grown = forged(
        packet, tmp_path / "grown.zip", lambda m: None, edit_files={csv_name: open_quote}, unsigned=True
    )
    result = verify_packet(grown, None, allow_unsigned=True, limits=Limits(line=1 << 16))
    assert result.differences == [f"{csv_name}: a record longer than 65,536 bytes: not the CSV detail"]


# -- content-bound fingerprint -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "change"),
    [
        ("quota", "quota + 500000"),
        ("model_name", "model_name || '-x'"),
        ("prompt_tokens", "prompt_tokens + 1"),
        ("username", "'mallory'"),
        ("billing_source", "'subscription'"),
        ("created_at", "created_at + 1"),
    ],
)
def test_editing_one_stored_row_changes_the_fingerprint_and_verify_names_it(config, packet, column, change):
    period = april(config)
    keys = tuple(manifest_of(packet)["request"]["keys"])
    with Store.open(config.store_dir) as store:
        before = store.fingerprint(period.start_ts, period.end_ts, keys)
    _edit_one_row(config.store_dir / DB_NAME, keys[0], column, change)
    with Store.open(config.store_dir) as store:
        assert store.fingerprint(period.start_ts, period.end_ts, keys) != before
    result = verify_packet(packet, config.store_dir)
    assert not result.ok
    (line,) = result.differences
    assert line.startswith("rows: the store's rows no longer match the fingerprint")
    assert "row changed: " in line and f"{column} " in line
    out = cli_verify_with_store(config, packet)
    assert out.exit_code == 1 and "row changed" in out.stdout
    assert (
        manifest_of(write_packet(config, period, config.path.parent / "again", member="张三"))["rows"][
            "fingerprint"
        ]
        != manifest_of(packet)["rows"]["fingerprint"]
    )


def _edit_one_row(db: Path, key: str, column: str, change: str) -> None:
    with sqlite3.connect(db) as conn:
        (rowid,) = conn.execute(
            "SELECT id FROM logs WHERE token_name = ? AND type = 2 ORDER BY created_at LIMIT 1 OFFSET 3",
            (key,),
        ).fetchone()
        assert conn.execute(f"UPDATE logs SET {column} = {change} WHERE id = ?", (rowid,)).rowcount == 1


def cli_verify_with_store(config, packet):
    return CliRunner().invoke(cli, ["--config", str(config.path), "verify", str(packet)])


def test_editing_a_frozen_row_changes_the_fingerprint_and_verify_names_it(config, tmp_path):
    period = april(config)
    closed = close_period(config, period).closure
    packet = write_packet(config, period, tmp_path / "p", member="张三", lang="en")
    assert cli_verify_with_store(config, packet).exit_code == 0
    snapshot = config.store_dir / "closed" / closed.snapshot / DB_NAME
    with closed_rows(snapshot) as rows:
        _edit_one_row(rows, "key-zhangsan", "quota", "quota + 500000")
    result = verify_packet(packet, config.store_dir)
    (line,) = result.differences
    assert line.startswith("rows: the store's closed revision 1 rows no longer match")
    assert "row changed:" in line and "quota " in line and "then," in line
    # and the closed period's documents refuse to come out of a tampered snapshot: those that read
    # rows check them against their seal (summary reads the rollups, sealed with the store file)
    for args in (["report", "--format", "csv", "--out", str(tmp_path / "csv")], ["summary", "--json"]):
        out = CliRunner().invoke(cli, ["--config", str(config.path), *args, "--period", "2026-04"])
        assert out.exit_code == 4 and "no longer matches its recorded fingerprint" in out.output


# -- kept revisions --------------------------------------------------------------------------


def test_a_revision_1_packet_still_verifies_after_two_reopens(config, team, gateway, tmp_path):
    from tests.test_packet import late_row

    period = april(config)
    close_period(config, period)
    first = write_packet(config, period, tmp_path / "r1", member="Alice Smith", lang="en")
    for n in (1, 2):
        gateway.insert_rows([late_row(team, created_at=team.start_ts + (10 + n) * 86400)])
        run_sync(config, period, refetch=True, client_factory=fast_client)
        assert close_period(config, period, reopen=True).closure.revision == n + 1
    unchanged = close_period(config, period, reopen=True)
    assert unchanged.unchanged and "nothing to re-close" in unchanged.summary()
    with Store.open(config.store_dir) as store:
        assert [find_closure(store, "2026-04", r) is not None for r in (1, 2, 3)] == [True, True, True]
    result = verify_packet(first, config.store_dir)
    assert result.ok, result.differences
    assert "revision 1 then, 3 now" in result.notes[0]
    latest = write_packet(config, period, tmp_path / "r3", member="Alice Smith", lang="en")
    assert manifest_of(latest)["closed"]["revision"] == 3
    assert manifest_of(latest)["statement"]["number"] != manifest_of(first)["statement"]["number"]
    assert verify_packet(latest, config.store_dir).ok


# -- register and audit log ------------------------------------------------------------------


def test_statement_numbers_are_sequential_and_never_reissued_for_other_content(config, tmp_path):
    period = april(config)
    a = manifest_of(write_packet(config, period, tmp_path / "a", member="张三"))["statement"]["number"]
    b = manifest_of(write_packet(config, period, tmp_path / "b", member="李四"))["statement"]["number"]
    again = manifest_of(write_packet(config, period, tmp_path / "c", member="张三", lang="en"))
    assert (a, b, again["statement"]["number"]) == ("RG-000001", "RG-000002", "RG-000001")
    with sqlite3.connect(config.store_dir / DB_NAME) as conn, pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE statements SET content = 'x' WHERE seq = 1")


def test_the_audit_log_records_who_did_what_and_detects_edits_and_deletions(config, tmp_path):
    close_period(config, april(config))
    write_packet(config, april(config), tmp_path / "p", member="张三")
    runner = CliRunner()
    base = ["--config", str(config.path)]
    shown = runner.invoke(cli, [*base, "log", "--verify"])
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert [line.split()[4] for line in lines[:3]] == ["sync", "close", "packet"]
    assert "@" in lines[0] and "RG-000001 2026-04 member 张三" in lines[2]
    assert lines[-1] == "OK: the audit log's 3 entries are intact"

    db = config.store_dir / DB_NAME
    with sqlite3.connect(db) as conn:
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("DELETE FROM audit_log WHERE seq = 2")
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET user = 'someone-else' WHERE seq = 2")
    edited = runner.invoke(cli, [*base, "log", "--verify"])
    assert (
        edited.exit_code == 1 and "DIFFERS: audit log entry 2: edited after it was written" in edited.stdout
    )
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE audit_log SET user = (SELECT user FROM audit_log WHERE seq = 1) WHERE seq = 2")
        conn.execute("DROP TRIGGER audit_log_no_delete")
        conn.execute("DELETE FROM audit_log WHERE seq = 2")
    deleted = runner.invoke(cli, [*base, "log", "--verify"])
    assert deleted.exit_code == 1 and "entry 2 deleted" in deleted.stdout
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM audit_log WHERE seq = 3")
    cut = runner.invoke(cli, [*base, "log", "--verify"])
    assert cut.exit_code == 1 and "entries at the end were deleted" in cut.stdout


def test_keys_and_unsigned_packets(config, tmp_path):
    runner = CliRunner()
    key = tmp_path / "keys" / "k.pem"
    env = {"REPORTGEN_SIGNING_KEY": str(key), "REPORTGEN_ACCESS_TOKEN": TOKEN}
    base = ["--config", str(config.path)]
    refused = runner.invoke(
        cli, [*base, "packet", "--period", "2026-04", "--out", str(tmp_path / "o")], env=env
    )
    assert refused.exit_code == 2 and "no signing key at" in refused.stderr and "keys init" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    made = runner.invoke(cli, [*base, "keys", "init", "--owner", "Zhang San, Finance"], env=env)
    assert made.exit_code == 0, made.output
    assert oct(key.stat().st_mode & 0o777) == "0o600" and key.with_suffix(".pub").is_file()
    again = runner.invoke(cli, [*base, "keys", "init"], env=env)
    assert again.exit_code == 2 and "already exists" in again.stderr
    packed = runner.invoke(
        cli, [*base, "packet", "--period", "2026-04", "--out", str(tmp_path / "o")], env=env
    )
    assert packed.exit_code == 0, packed.output
    ok = cli_verify(Path(packed.stdout.strip()), "--key", str(key.with_suffix(".pub")))
    assert ok.exit_code == 0 and "Zhang San, Finance" in ok.stdout
    log = runner.invoke(cli, [*base, "log"], env=env).stdout
    assert " key " in log and "Zhang San, Finance" in log

    unsigned = runner.invoke(
        cli, [*base, "packet", "--period", "2026-04", "--unsigned", "--out", str(tmp_path / "u")], env=env
    )
    path = Path(unsigned.stdout.strip())
    assert "not signed: anyone could have written it" in one_line_differs(path)
    allowed = cli_verify(path, "--allow-unsigned")
    assert allowed.exit_code == 0 and "nobody: the packet is unsigned" in allowed.stdout
    key.chmod(0o644)
    loose = runner.invoke(
        cli, [*base, "packet", "--period", "2026-04", "--out", str(tmp_path / "o")], env=env
    )
    assert loose.exit_code == 2 and "readable by others" in loose.stderr
