"""Write a report through chosen exporters into files, each one atomically."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from ..core.claim import ClaimInfo
from ..core.report import Report
from ..errors import ExportError, PluginError, ReportgenError
from ..hookspecs import ExportContext, Exporter
from ..plugins import BUILTIN, check_options, load_plugins, strict_plugins
from ..templating import load_template

_UNSAFE_FILENAME = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')


def output_stem(report: Report, prefix: str = "reportgen") -> str:
    """``reportgen-2026-04`` or, for one member, ``reportgen-2026-04-张三`` (filesystem-safe)."""
    stem = f"{prefix}-{report.period.label}"
    if report.member_filter:
        safe = _UNSAFE_FILENAME.sub("_", report.member_filter).strip(" .") or "member"
        stem += f"-{safe[:80]}"
    return stem


def export_report(
    report: Report,
    exporters: Sequence[Exporter],
    out_dir: Path,
    *,
    lang: str = "zh",
    template: str | None = None,
    options: Mapping[str, str] | None = None,
    claim: ClaimInfo | None = None,
) -> list[Path]:
    """Write ``report`` once per exporter into ``out_dir`` and return the paths written.

    Each file is written to a temporary name and renamed into place, so a crash never
    leaves half a file under the final name.
    """
    check_options(list(exporters), dict(options or {}))
    context = ExportContext(
        lang=lang, template=load_template(template, lang), options=dict(options or {}), claim=claim
    )
    load_plugins().hook.report_prepared(report=report, context=context)
    make_out_dir(out_dir)
    stem = output_stem(report)
    paths = []
    for exporter in exporters:
        path = out_dir / f"{stem}{exporter.suffix}.{exporter.extension}"
        write_atomically(path, _rendering(exporter, report, context), exporter.name)
        paths.append(path)
    return paths


def check_out_dir(out_dir: Path) -> None:
    """Fail early, in one line, when ``out_dir`` cannot be made or written (creates nothing)."""
    probe = out_dir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise ExportError(
            f"{out_dir}: cannot create the output folder ({probe} is not a folder); choose another --out"
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ExportError(f"{out_dir}: {probe} is not writable; choose another --out")


def make_out_dir(out_dir: Path) -> None:
    """Create the output folder, or say in one line why it cannot be."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(
            f"{out_dir}: cannot create the output folder ({exc.strerror or exc}); choose another --out"
        ) from None
    if not os.access(out_dir, os.W_OK):
        raise ExportError(f"{out_dir}: the output folder is not writable; choose another --out")


def _rendering(exporter: Exporter, report: Report, context: ExportContext) -> Callable[[IO[bytes]], None]:
    def render(fp: IO[bytes]) -> None:
        if exporter.plugin == BUILTIN:  # a failure of ours is a bug: it keeps its traceback
            exporter.write(report, fp, context)  # positional: plugins name the parameters as they like
            return
        try:
            exporter.write(report, fp, context)
        except ReportgenError:
            raise
        except Exception as exc:
            if strict_plugins():
                raise
            version = f" {exporter.version}" if exporter.version else ""
            raise PluginError(
                f"the {exporter.name!r} exporter of plugin {exporter.plugin}{version} failed: "
                f"{type(exc).__name__}: {exc}; nothing was written for it (REPORTGEN_PLUGINS_STRICT=1 "
                "shows the traceback)"
            ) from None

    return render


def write_atomically(path: Path, write: Callable[[IO[bytes]], None], what: str) -> None:
    """Call ``write(fp)`` on a temporary file beside ``path``, then rename it into place.

    The file gets the permissions any new file gets here (mkstemp's are owner-only), so a
    finance colleague on a shared folder can open it.
    """
    try:  # a folder that takes no new file (/proc, a read-only mount) fails here
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise ExportError(
            f"{path}: could not write the {what} file ({exc.strerror or exc}); choose another --out"
        ) from None
    try:
        with os.fdopen(fd, "wb") as fp:
            write(fp)
            fp.flush()
            if hasattr(os, "fchmod"):  # not on Windows, where mkstemp's mode is not owner-only
                os.fchmod(fp.fileno(), 0o666 & ~_umask())
            os.fsync(fp.fileno())
        os.replace(tmp, path)
    except ReportgenError:
        _discard(tmp)
        raise
    except OSError as exc:
        _discard(tmp)
        raise ExportError(f"{path}: could not write the {what} file ({exc.strerror or exc})") from None
    except BaseException:
        _discard(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _discard(tmp: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB chunks (packets, month-end indexes)."""
    digest = hashlib.sha256()
    with path.open("rb") as fp:
        while chunk := fp.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
