"""The serve pages: periods → a period (members, models, days, totals, charts, projects) → a
member → a model's days → the request rows of that day, a page at a time; the wallet bridge; the
register with downloads; verify by upload.  Every figure comes from the period's view (the one
read path) laid out by the HTML statement's sections, so the pages print what the documents print.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, render_template, request, send_file, url_for

from ..config import Config
from ..core.money import money_text
from ..exporters.html import (
    Cell,
    Row,
    Table,
    bridge_block,
    daily_chart,
    member_chart,
    member_parts,
    model_parts,
    statement,
)
from ..hookspecs import ExportContext
from ..read import Scope, open_period
from ..render import member_models, row_type_label
from ..render.statement import document_number, statement_amounts
from ..templating import load_template, wording
from . import queries

__all__ = ["chrome", "register_pages"]


def chrome(config: Config) -> dict[str, Any]:
    """What every page's frame needs: the language's wording."""
    return {"w": wording(config.lang), "lang": config.lang}


def register_pages(app: Flask, config: Config, documents: Path) -> None:
    """The routes, each one read of the store through the CLI's paths."""
    lang = config.lang
    context = ExportContext(lang=lang, template=load_template(config.template, lang))
    w = wording(lang)
    lab = context.template.wording(lang)  # the template's labels, placeholders filled

    def page(template_name: str, /, **values: Any) -> str:
        return render_template(template_name, **chrome(config), **values)

    @app.get("/")
    def periods() -> str:
        return page("periods.html", periods=queries.periods(config))

    @app.get("/period/<label>")
    def period(label: str) -> str:
        p = queries.period_of(config, label)
        with open_period(config, p, Scope.of(None), with_bridge=False) as view:
            report = view.report
            number = document_number(report) or context.label("draft_unnumbered")
            s = statement(report, context, number)
            amounts = statement_amounts(report)
            members, _ = member_parts(report, amounts, lab)
            models, _ = model_parts(report, lab)
            if models is not None:  # the statement's in-page drill-down anchors mean nothing here
                models = replace(models, rows=tuple(replace(r, href="") for r in models.rows))
            members = _linked(members, lambda name: url_for("member", label=label, name=name))
            days = _days_table(report, w)
            charts = [daily_chart(report, lang)] if any(m.stats.active for m in report.members) else []
            if sum(1 for m in report.members if m.stats.active) > 1:
                charts.append(member_chart(report, lang))
            notices = view.notices
        return page(
            "period.html", label=label, s=s, members=members, models=models, days=days, charts=charts,
            notices=notices,
        )  # fmt: skip

    @app.get("/period/<label>/member")
    def member(label: str) -> str:
        name = _arg("name")
        p = queries.period_of(config, label)
        with open_period(config, p, Scope.of(name), with_bridge=False) as view:
            report = view.report
            lines = [x for x in member_models(report) if x.name == name]
            if not lines:
                abort(404)
            amounts = statement_amounts(report)
            _, blocks = member_parts(report, amounts, lab)
            block = blocks[0]
            table = _linked(
                block.table, lambda model: url_for("model", label=label, member=name, model=model)
            )
        return page("member.html", label=label, name=name, keys=block.subtitle, table=table)

    @app.get("/period/<label>/model")
    def model(label: str) -> str:
        name, model_name = _arg("member"), _arg("model")
        p = queries.period_of(config, label)
        with open_period(config, p, Scope.of(name), with_bridge=False) as view:
            lines = queries.day_lines(view.report, name, model_name)
        rows = tuple(
            Row(
                (
                    Cell(d.day.isoformat()),
                    Cell(f"{d.requests:,}", str(d.requests)),
                    Cell(money_text(d.usd), str(d.usd)),
                ),
                href=url_for("rows", label=label, member=name, model=model_name, day=d.day.isoformat()),
            )
            for d in lines
        )
        table = Table((w("day"), w("requests"), w("amount_usd")), rows)
        return page("model.html", label=label, name=name, model=model_name, table=table)

    @app.get("/period/<label>/rows")
    def rows(label: str) -> str:
        name, model_name = _arg("member"), _arg("model")
        try:
            day = date.fromisoformat(_arg("day"))
            number = max(0, int(request.args.get("page", "0")))
        except ValueError:
            abort(400)
        got = queries.rows_page(config, name, model_name, day, number)
        head = (
            "time",
            "key",
            "type",
            "prompt_tokens",
            "completion_tokens",
            "quota",
            "amount_usd",
            "web_request_id",
        )
        body = []
        for r in got.rows:
            rec = r.record
            body.append(
                Row(
                    (
                        Cell(f"{r.local_time:%Y-%m-%d %H:%M:%S}"),
                        Cell(rec.token_name),
                        Cell(context.label(row_type_label(rec.type))),
                        Cell(f"{rec.prompt_tokens:,}"),
                        Cell(f"{rec.completion_tokens:,}"),
                        Cell(f"{r.signed_quota:,}"),
                        Cell(queries.row_amount(got, r)),
                        Cell(rec.request_id or ""),
                    )
                )
            )
        table = Table(tuple(w(h) for h in head), tuple(body), numeric_from=3)
        here: dict[str, Any] = {"label": label, "member": name, "model": model_name, "day": day.isoformat()}
        prev = url_for("rows", **here, page=number - 1) if number > 0 else ""
        nxt = url_for("rows", **here, page=number + 1) if got.more else ""
        return page("rows.html", label=label, name=name, model=model_name, day=day, table=table,
                    page_number=number + 1, prev=prev, next=nxt)  # fmt: skip

    @app.get("/period/<label>/bridge")
    def bridge(label: str) -> str:
        p = queries.period_of(config, label)
        with open_period(config, p, Scope.of(None)) as view:
            block = bridge_block(view.report, context)
        return page("bridge.html", label=label, block=block)

    @app.get("/register")
    def register() -> str:
        return page("register.html", issued=queries.issued(config), documents=str(documents))

    @app.get("/download/<int:seq>")
    def download(seq: int) -> Response:
        found = queries.find_download(config, documents, seq)
        if found is None:
            abort(404)
        entry, path = found
        return send_file(path, mimetype="application/zip", as_attachment=True, download_name=entry.file)

    @app.route("/verify", methods=["GET", "POST"])
    def verify() -> str:
        if request.method == "GET":
            return page("verify.html", verdict=None)
        upload = request.files.get("packet")
        if upload is None or not upload.filename:
            return page("verify.html", verdict=queries.Verdict("DIFFERS", (w("web_no_upload"),), ()))
        chunks = iter(lambda: upload.stream.read(1 << 20), b"")
        return page("verify.html", verdict=queries.verify_upload(config, upload.filename, chunks))


def _arg(name: str) -> str:
    value = request.args.get(name)
    if value is None:
        abort(400)
    return value


def _linked(table: Table, href: Any) -> Table:
    """``table`` with each row's first cell linked to ``href(name)`` (a serve page, not an anchor)."""
    return replace(table, rows=tuple(replace(r, href=href(r.cells[0].text)) for r in table.rows))


def _days_table(report: Any, w: Any) -> Table:
    """The period's days: requests and net spend per local day (the report's day lines)."""
    rows = tuple(
        Row(
            (
                Cell(line.name),
                Cell(f"{line.stats.requests:,}", str(line.stats.requests)),
                Cell(money_text(line.stats.cost_usd), str(line.stats.cost_usd)),
            )
        )
        for line in report.days
    )
    return Table((w("day"), w("requests"), w("amount_usd")), rows)
