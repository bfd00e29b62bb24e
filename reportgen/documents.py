"""What ``report`` and ``packet`` do, as library calls: open the period (closed or live),
check data quality, then write.

``notify`` receives the lines the user should see on stderr (a closed period's pending
amendments, data-quality findings); nothing is written when ``strict`` and a finding.
"""

from __future__ import annotations

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


def write_report(
    config: Config,
    period: Period,
    exporters: Sequence[Exporter],
    out_dir: Path,
    *,
    member: str | None = None,
    lang: str | None = None,
    template: str | None = None,
    options: Mapping[str, str] | None = None,
    strict: bool = False,
    notify: Notify = lambda line: None,
) -> list[Path]:
    """``reportgen report``: the period's documents, after the quality check."""
    with open_view(config, period, member) as view:
        check_view(view, strict, notify)
        return export_report(
            view.report,
            exporters,
            out_dir,
            lang=lang or config.lang,
            template=template or config.template,
            options=options,
        )


def write_packet(
    config: Config,
    period: Period,
    out_dir: Path,
    *,
    member: str | None = None,
    lang: str | None = None,
    template: str | None = None,
    options: Mapping[str, str] | None = None,
    strict: bool = False,
    notify: Notify = lambda line: None,
    project: str | None = None,
) -> Path:
    """``reportgen packet``: one zip with the statement, workbook, detail, notes and manifest.

    With ``project``, the packet covers the project's charged spend within ``period``
    and its statement uses the ``grant`` template unless another is given.
    """
    from .plugins import load_plugins, select_exporters
    from .project_reports import open_project_view

    if project is not None and member is not None:
        raise UsageError("give either --member or --project, not both")
    exporters = select_exporters(",".join(name for _, name in PACKET_FORMATS))
    lang = lang or config.lang
    default_template = "grant" if project is not None else config.template
    context = ExportContext(
        lang=lang, template=load_template(template or default_template, lang), options=dict(options or {})
    )
    if project is not None:
        opened = open_project_view(config, project, within=period)
        filters = {"project": project}
    else:
        opened = open_view(config, period, member)
        filters = {} if member is None else {"member": member}
    with opened as view:
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
    quality = check_quality(view.store, view.config, view.report.period, view.token_names)
    enforce(quality, strict, notify)
    return quality
