"""What ``report`` and ``packet`` do, as library calls: open the period's view, check it, then write.

``notify`` receives the lines the user should see on stderr (a closed period's notices,
data-quality findings); nothing is written when ``strict`` and a finding, or when parts
of the period were never synced and ``allow_partial`` is not given.  Issuing a packet
writes to the store (under the sync lock): its statement number in the register and an
entry in the audit log, committed only once the packet is written.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Config
from ..core.periods import Period, period_args
from ..core.report import Statement
from ..errors import CoverageError, ExportError
from ..hookspecs import DocumentRole, ExportContext, Exporter
from ..plugins import check_options, load_plugins, packet_documents, select_exporters
from ..read import PeriodView, Scope, open_period
from ..store import Store, sync_lock
from ..store import evidence as register
from ..templating import load_template
from .claims import claim_info
from .export import check_out_dir, export_report, file_sha256
from .quality import QualityReport, check_quality, enforce

if TYPE_CHECKING:
    from .signing import SigningKey

Notify = Callable[[str], None]


def _template(config: Config, template: str | None, scope: Scope) -> str | None:
    """A project's documents are grant reports unless a template is named."""
    return template or ("grant" if scope.kind == "project" else config.template)


def write_report(
    config: Config,
    period: Period | None,
    exporters: Sequence[Exporter],
    out_dir: Path,
    *,
    member: str | None = None,
    project: str | None = None,
    lang: str | None = None,
    template: str | None = None,
    options: Mapping[str, str] | None = None,
    strict: bool = False,
    allow_partial: bool = False,
    notify: Notify = lambda line: None,
    sign: bool = False,
) -> list[Path]:
    """``reportgen report``: the documents of a period, member or project, after the checks.

    With ``sign`` its PDFs are PDF/A-3b carrying the CSV detail and methodology, PAdES-signed
    (see :mod:`.signreport`)."""
    scope = Scope.of(member, project)
    signing = None
    if sign:  # PAdES and its keys load only to sign: a CSV run does not import them
        from .signreport import require_pdf_signing

        signing = require_pdf_signing(config)
    check_options(list(exporters), dict(options or {}))  # a bad option or template fails first
    load_template(_template(config, template, scope), lang or config.lang)
    check_out_dir(out_dir)
    fingerprint = any(e.prints_fingerprint for e in exporters)  # CSV alone does not hash every row
    figures = any(e.prints_figures for e in exporters)  # nor read latencies and prices
    with open_period(config, period, scope, fingerprint=fingerprint, latency=figures, prices=figures) as view:
        check_view(view, strict, allow_partial, notify)
        claim = claim_info(config, scope, view.report.period)[0]
        paths = export_report(
            view.report,
            exporters,
            out_dir,
            lang=lang or config.lang,
            template=_template(config, template, scope),
            options=options,
            claim=claim,
        )
        if signing is not None:
            from .signreport import sign_written

            language = lang or config.lang
            context = ExportContext(
                lang=language,
                template=load_template(_template(config, template, scope), language),
                options=dict(options or {}),
                claim=claim,
            )
            sign_written(paths, exporters, view, signing, context)
        return paths


def write_packet(
    config: Config,
    period: Period,
    out_dir: Path,
    *,
    member: str | None = None,
    project: str | None = None,
    lang: str | None = None,
    template: str | None = None,
    options: Mapping[str, str] | None = None,
    strict: bool = False,
    allow_partial: bool = False,
    notify: Notify = lambda line: None,
    unsigned: bool = False,
    now: Callable[[], float] = time.time,
    attach: Sequence[Path] = (),
) -> Path:
    """``reportgen packet``: one signed zip with the registered documents, the rows and a manifest.

    The statement number comes from the store's register (the same content keeps its
    number); the issue is logged with the roles of the documents the packet holds, and a
    packet re-issued under that number holds those again (see :func:`issued_with`), so
    the same content gives the same bytes even after a document was registered since.
    The claim form lists the invoices (``[[attachments.invoices]]`` of the period and
    scope, then ``attach``), which the packet holds.  Without ``unsigned`` a missing key
    is an error.
    """
    # A packet's own modules (signing, PAdES, the manifest) load here: `report` never needs them.
    from .packet import build_packet, statement_content
    from .pades import pdf_signing
    from .signing import require_key, who

    signer: SigningKey | None = None if unsigned else require_key(config)
    pades = None if unsigned else pdf_signing(config)
    scope = Scope.of(member, project)
    documents = packet_documents()
    names = [d.exporter for d in documents.values() if d.exporter is not None]
    check_options(select_exporters(",".join(names)), dict(options or {}))
    lang = lang or config.lang
    claim, invoices = claim_info(config, scope, period, attach)
    context = ExportContext(
        lang=lang,
        template=load_template(_template(config, template, scope), lang),
        options=dict(options or {}),
        claim=claim,
    )
    check_out_dir(out_dir)
    with (
        sync_lock(config.store, f"packet {period.label}"),
        Store.open(config.store, create=False) as store,
        open_period(config, period, scope) as view,
    ):
        quality = check_view(view, strict, allow_partial, notify)
        load_plugins().hook.report_prepared(report=view.report, context=context)
        fingerprint = view.report.provenance.fingerprint
        label = view.report.period.label
        with register.writing(store):
            seq, new = register.issue(
                store, statement_content(view, invoices), int(now()), label, _scope_text(scope), fingerprint
            )
            number = f"{context.template.number_prefix}-{seq:06d}"
            # the log's head as the number was first issued: its documents print it, re-issued too
            head = register.head(store) if new else register.issued_head(store, number)
            statement = Statement(number, None if signer is None else signer.fingerprint, head)
            view = replace(view, report=replace(view.report, statement=statement))
            chosen = (
                list(documents.values())
                if new
                else issued_with(documents, register.issued_documents(store, number))
            )
            path = build_packet(
                view, quality, chosen, context, out_dir, signer=signer, invoices=invoices, pades=pades
            )
            register.append(
                store,
                int(now()),
                who(),
                "packet",
                f"{number} {label} {_scope_text(scope)}",
                fingerprint,
                {
                    "statement": number,
                    "new_number": new,
                    "rows": view.row_count,
                    "net_quota": view.report.totals.quota,
                    "closed_revision": None if view.closure is None else view.closure.revision,
                    "signing_key": None if signer is None else signer.fingerprint,
                    "packet_sha256": file_sha256(path),
                    "file": path.name,
                    # log --verify re-hashes the packet while it is there (the same entry wherever the
                    # project folder lies: a path inside it is recorded relative to it)
                    "path": recorded_path(path, config.store_dir.parent),
                    "documents": [d.role for d in chosen],
                    "audit_head": head,
                    **_claimed(view),
                },
            )
        return path


def recorded_path(path: Path, folder: Path) -> str:
    """``path`` as a packet's audit entry records it: relative to ``folder`` (the store's) when inside it."""
    full = path.resolve()
    try:
        return str(full.relative_to(folder.resolve()))
    except ValueError:
        return str(full)


def issued_with(documents: Mapping[str, DocumentRole], roles: Sequence[str] | None) -> list[DocumentRole]:
    """The documents of a packet issued again under its number: the roles it was first issued with.

    ``roles`` is what the first packet of the number recorded in the audit log (None:
    issued before packets recorded theirs, so with :data:`FIRST_DOCUMENTS`).  A role no
    installed plugin registers any more is an error: the packet cannot be issued again
    as it was.
    """
    if roles is None:
        from .packetdocs import FIRST_DOCUMENTS

        roles = FIRST_DOCUMENTS
    missing = [role for role in roles if role not in documents]
    if missing:
        raise ExportError(
            f"this statement was first issued with the {', '.join(map(repr, missing))} document(s), which no "
            "installed plugin registers now; install the plugin to issue it again as it was"
        )
    return [documents[role] for role in roles]


def _claimed(view: PeriodView) -> dict[str, object]:
    """What a packet claims, for the register's list of a project's claims (the grant report lists them)."""
    report = view.report
    first, last = report.period.start.date(), (report.period.end - timedelta(days=1)).date()
    out: dict[str, object] = {
        "scope": _scope_text(view.scope),
        "period": [first.isoformat(), last.isoformat()],
    }
    if report.grant is not None:
        out |= {"charged": str(report.grant.spent), "currency": report.grant.project.currency}
    return out


def _scope_text(scope: Scope) -> str:
    return "team" if scope.name is None else f"{scope.kind} {scope.name}"


def check_view(view: PeriodView, strict: bool, allow_partial: bool, notify: Notify) -> QualityReport:
    """Tell the view's notices and findings; refuse a period with unsynced parts unless allowed."""
    for notice in view.notices:
        notify(notice)
    refuse_incomplete(view, allow_partial)
    quality = check_quality(view)
    enforce(quality, strict, notify)
    return quality


def refuse_incomplete(view: PeriodView, allow_partial: bool) -> None:
    """A period never synced is always refused; one with unsynced parts unless ``allow_partial``."""
    coverage, period = view.coverage, view.report.period
    if coverage.complete:
        return
    sync = _sync_hint(coverage.missing, period, time.time())
    if not coverage.synced_any:
        raise CoverageError(f"{period.label} has never been synced; {sync} first")
    if not allow_partial:
        missing = ", ".join(coverage.ranges(period.tz))
        raise CoverageError(
            f"{period.label} is not fully synced (missing {missing}); {sync}, or give --allow-partial "
            "to write documents marked INCOMPLETE"
        )


def _sync_hint(missing: Sequence[tuple[int, int]], period: Period, now: float) -> str:
    """``run `reportgen sync --from … --to …``` for the days missing that have passed (not the whole
    period: a year's grant report asked for a year's sync), and what of them lies ahead."""
    lo, hi = min(a for a, _ in missing), max(b for _, b in missing)
    ahead = f"the period runs until {period.end - timedelta(days=1):%Y-%m-%d}: what lies ahead cannot be synced yet"
    if lo >= now:
        return ahead
    first = datetime.fromtimestamp(lo, period.tz).date()
    last = datetime.fromtimestamp(min(hi, now) - 1, period.tz).date()
    whole = lo <= period.start_ts and hi >= period.end_ts
    span = period_args(period) if whole and hi <= now else f"--from {first} --to {last}"
    return f"run `reportgen sync {span}`" + (f" ({ahead})" if hi > now else "")
