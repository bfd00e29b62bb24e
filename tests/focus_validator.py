"""Run the FinOps Foundation's ``focus-validator`` (PyPI 1.0.0) on a FOCUS CSV, in its own venv.

It pins pandas, numpy, pyarrow, pandera and sqlalchemy versions of its own, too heavy and
too tight to share the test environment, so it lives in a venv of its own, created once
under ``$REPORTGEN_TEST_CACHE`` (default ``~/.cache/reportgen-tests``) and reused by later
sessions; ``REPORTGEN_FOCUS_VALIDATOR`` may name an existing ``focus-validator`` instead.

Its newest rule set is FOCUS 1.0.  It exits 0 even when rules fail, so we read its
unittest XML report: every rule is a test case, failures and errors are counted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

VERSION = "1.0.0"
RULE_SET = "1.0"
#: Rules of the validator's "1.0" set that still name FOCUS 1.0-preview columns (renamed in
#: 1.0 final: InvoiceIssuerName, ProviderName, PublisherName, ResourceId; ChargeType became
#: ChargeCategory), so they cannot pass on a conforming file; our own checks cover them.
OVERRIDES = (
    "InvoiceIssuer_Required",
    "Provider_Required",
    "Publisher_Required",
    "ResourceID_Required",
    "SkuPriceId_Nullable",
)


@dataclass(frozen=True)
class Validation:
    tests: int
    failures: int
    errors: int
    skipped: int
    failed: tuple[str, ...]
    output: str

    @property
    def ok(self) -> bool:
        return self.tests > 0 and not self.failures and not self.errors and not self.failed


def validator() -> tuple[Path, Path] | None:
    """The ``focus-validator`` executable and its site-packages folder, installing it once."""
    named = os.environ.get("REPORTGEN_FOCUS_VALIDATOR")
    if named:
        exe = Path(named)
        python = exe.parent / "python"
    else:
        cache = Path(os.environ.get("REPORTGEN_TEST_CACHE", Path.home() / ".cache" / "reportgen-tests"))
        home = cache / f"focus-validator-{VERSION}"
        python, exe = home / "bin" / "python", home / "bin" / "focus-validator"
        if not exe.exists():
            venv.EnvBuilder(with_pip=True, clear=True).create(home)
            done = subprocess.run(
                [str(python), "-m", "pip", "install", "-q", f"focus-validator=={VERSION}", "multimethod<2"],
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                print(done.stdout + done.stderr, file=sys.stderr)
                return None
    site = subprocess.run(
        [
            str(python),
            "-c",
            "import focus_validator, pathlib; print(pathlib.Path(focus_validator.__file__).parent.parent)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return exe, Path(site)


def validate(exe: Path, site: Path, data: Path, work: Path) -> Validation:
    """Validate ``data`` against the FOCUS 1.0 rule set with :data:`OVERRIDES` skipped."""
    overrides = work / "overrides.yaml"
    overrides.write_text("overrides:\n" + "".join(f"  - {o}\n" for o in OVERRIDES), encoding="utf-8")
    report = work / "focus-validator.xml"
    # cwd: the validator reads its currency-code list from a path relative to site-packages
    done = subprocess.run(
        [
            str(exe),
            "--data-file",
            str(data.resolve()),
            "--validate-version",
            RULE_SET,
            "--override-file",
            str(overrides),
            "--output-type",
            "unittest",
            "--output-destination",
            str(report),
        ],
        cwd=site,
        capture_output=True,
        text=True,
    )
    output = done.stdout + done.stderr
    failed = tuple(line.split(" failed:")[0] for line in output.splitlines() if line.endswith(" failed:"))
    root = ET.parse(report).getroot()
    return Validation(
        tests=int(root.get("tests", 0)),
        failures=int(root.get("failures", 0)),
        errors=int(root.get("errors", 0)),
        skipped=int(root.get("skipped", 0)),
        failed=failed,
        output=output,
    )
