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
        _check(view, strict, notify, lang or config.lang)
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
) -> Path:
    """``reportgen packet``: one zip with the statement, workbook, detail, notes and manifest."""
    from .plugins import load_plugins, select_exporters

    exporters = select_exporters(",".join(name for _, name in PACKET_FORMATS))
    lang = lang or config.lang
    context = ExportContext(
        lang=lang, template=load_template(template or config.template, lang), options=dict(options or {})
    )
    with open_view(config, period, member) as view:
        quality = _check(view, strict, notify, lang)
        load_plugins().hook.report_prepared(report=view.report, context=context)
        filters = {} if member is None else {"member": member}
        return build_packet(
            view.report, scope_of(view, filters), quality, exporters, context, out_dir, closure=view.closure
        )


def scope_of(view: PeriodView, filters: Mapping[str, str]) -> Scope:
    """The packet scope of a view: its filters, keys, fingerprint and row count.

    A project-filtered report passes ``{"project": NAME}`` and the project's keys here.
    """
    return Scope(dict(filters), view.token_names, view.report.provenance.fingerprint, view.row_count)


def _check(view: PeriodView, strict: bool, notify: Notify, lang: str) -> QualityReport:
    for notice in view.notices:
        notify(notice)
    quality = check_quality(view.store, view.config, view.report.period, view.token_names)
    enforce(quality, strict, notify)
    return quality
