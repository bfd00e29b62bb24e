"""What ``report`` and ``packet`` do, as library calls: open the period (closed or live),
check data quality, then write.

``notify`` receives the lines the user should see on stderr (a closed period's pending
amendments, data-quality findings); nothing is written when ``strict`` and a finding.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .closing import PeriodView, open_view
from .config import Config
from .errors import UsageError
from .export import export_report
from .hookspecs import ExportContext, Exporter
from .models import Period
from .packet import PACKET_FORMATS, Scope, build_packet
from .quality import QualityReport, check_quality, enforce
from .templating import load_template

Notify = Callable[[str], None]


def open_scope(
    config: Config, period: Period | None, member: str | None = None, project: str | None = None
) -> contextlib.AbstractContextManager[PeriodView]:
    """The view a document is written from: the team, one member, or one project's charged spend.

    A project without a period spans the project's whole period; with one, the part of
    it inside the period.
    """
    from .project_reports import open_project_view

    if project is not None:
        if member is not None:
            raise UsageError("give either --member or --project, not both")
        return open_project_view(config, project, within=period)
    if period is None:
        raise UsageError("give --period (e.g. 2026-04, 2026-Q2, 2026) or --from/--to")
    return open_view(config, period, member)


def _template(config: Config, template: str | None, project: str | None) -> str | None:
    """A project's documents are grant reports unless a template is named."""
    return template or ("grant" if project is not None else config.template)


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
    notify: Notify = lambda line: None,
) -> list[Path]:
    """``reportgen report``: the documents of a period, member or project, after the quality check."""
    with open_scope(config, period, member, project) as view:
        check_view(view, strict, notify)
        return export_report(
            view.report,
            exporters,
            out_dir,
            lang=lang or config.lang,
            template=_template(config, template, project),
            options=options,
        )


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
    notify: Notify = lambda line: None,
) -> Path:
    """``reportgen packet``: one zip with the statement, workbook, detail, notes and manifest."""
    from .plugins import load_plugins, select_exporters

    exporters = select_exporters(",".join(name for _, name in PACKET_FORMATS))
    lang = lang or config.lang
    context = ExportContext(
        lang=lang,
        template=load_template(_template(config, template, project), lang),
        options=dict(options or {}),
    )
    filters = (
        {"member": member} if member is not None else {"project": project} if project is not None else {}
    )
    with open_scope(config, period, member, project) as view:
        quality = check_view(view, strict, notify)
        load_plugins().hook.report_prepared(report=view.report, context=context)
        return build_packet(
            view.report, scope_of(view, filters), quality, exporters, context, out_dir, closure=view.closure
        )


def scope_of(view: PeriodView, filters: Mapping[str, str]) -> Scope:
    """The packet scope of a view: its filters, keys, fingerprint and row count.

    A project-filtered report passes ``{"project": NAME}`` and the project's keys here.
    """
    return Scope(dict(filters), view.token_names, view.report.provenance.fingerprint, view.row_count)


def check_view(view: PeriodView, strict: bool, notify: Notify) -> QualityReport:
    """Tell the view's notices and data-quality findings; with ``strict``, a finding is fatal."""
    for notice in view.notices:
        notify(notice)
    report = view.report
    quality = check_quality(view.store, view.config, report.period, view.token_names, report.partials)
    enforce(quality, strict, notify)
    return quality
