"""The HTML statement's sections as plain values for the template: the PDF statement's parts,
laid out from the same lines (:mod:`reportgen.render.statement`, the report's price, project
and bridge objects), every amount printed by :mod:`reportgen.core.money`, never recomputed.

Each table cell is a :class:`Cell`: the printed text and, for sorting, its exact value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ...core.money import cents_text, money_text, percent_text, plain_decimal, printed_lines
from ...core.report import Report
from ...core.stats import Line
from ...core.unitprice import price_text
from ...core.wallet import cny_note, printed_bridge, unexplained_text
from ...hookspecs import ExportContext
from ...render import (
    banner_lines,
    clean_text,
    date_range_text,
    day_ranges,
    day_text,
    member_models,
    period_in_zone_text,
    reconciliation_text,
    status_key,
    totals,
)
from ...render.statement import (
    SplitLines,
    StatementAmounts,
    TotalLines,
    notes_texts,
    split_lines,
    statement_amounts,
    total_lines,
)

__all__ = ["Cell", "Row", "Statement", "Table", "statement"]

Label = Callable[..., str]


@dataclass(frozen=True)
class Cell:
    """A cell's printed text; ``sort`` is its exact value for sorting ("" sorts as text)."""

    text: str
    sort: str = ""


@dataclass(frozen=True)
class Row:
    cells: tuple[Cell, ...]
    #: An in-page link (``#member-3``) on the first cell: the row's drill-down.
    href: str = ""
    #: ``over`` (over budget, a residual: red) or ``sub`` (a group's heading row).
    cls: str = ""


@dataclass(frozen=True)
class Table:
    """A sortable table: ``rows`` sort, ``foot`` (rounding, subtotal, total) stays below them."""

    head: tuple[str, ...]
    rows: tuple[Row, ...]
    foot: tuple[Row, ...] = ()
    numeric_from: int = 1
    caption: str = ""


@dataclass(frozen=True)
class Block:
    """A titled part: a member's models, a model's members, a project table, the bridge."""

    id: str
    title: str
    table: Table
    notes: tuple[str, ...] = ()
    subtitle: str = ""


@dataclass(frozen=True)
class Statement:
    lang: str
    title: str
    letterhead: tuple[str, ...]
    banner: tuple[str, ...]
    incomplete: bool
    facts: tuple[tuple[str, str], ...]
    members_table: Table | None
    member_blocks: tuple[Block, ...]
    idle: str
    model_blocks: tuple[Block, ...]
    models_table: Table | None
    totals: TotalLines
    split: Table | None
    prices: tuple[Block, ...]
    projects: tuple[Block, ...]
    reconciliation: str
    bridge: Block | None
    notes: tuple[str, ...]
    signature: tuple[str, ...]
    footer: str
    labels: dict[str, str] = field(default_factory=dict)


def _figures(line: Line, cents: int) -> tuple[Cell, ...]:
    s = line.stats
    return (
        Cell(f"{s.requests:,}", str(s.requests)),
        Cell(f"{s.prompt_tokens:,}", str(s.prompt_tokens)),
        Cell(f"{s.completion_tokens:,}", str(s.completion_tokens)),
        Cell(cents_text(cents), str(s.cost_usd)),
    )


def _rounding(lab: Label, cents: int) -> tuple[Row, ...]:
    if not cents:
        return ()
    return (Row((Cell(lab("rounding")), Cell(""), Cell(""), Cell(""), Cell(cents_text(cents)))),)


def _head(lab: Label, first: str) -> tuple[str, ...]:
    return (first, lab("requests"), lab("prompt_tokens"), lab("completion_tokens"), lab("amount_usd"))


def member_parts(report: Report, amounts: StatementAmounts, lab: Label) -> tuple[Table, tuple[Block, ...]]:
    """The members table (one line each, linked to its block) and each member's models block."""
    rows, blocks = [], []
    for i, a in enumerate(amounts.members, 1):
        rows.append(Row((Cell(a.line.name), *_figures(a.line, a.cents)), href=f"#member-{i}"))
        body = tuple(Row((Cell(line.model or ""), *_figures(line, c))) for line, c in a.lines)
        foot = (*_rounding(lab, a.rounding_cents), Row((Cell(lab("subtotal")), *_figures(a.line, a.cents))))
        keys = ""
        if a.line.keys and a.line.keys != (a.line.name,):
            keys = lab("member_keys", keys=", ".join(a.line.keys))
        blocks.append(
            Block(f"member-{i}", a.line.name, Table(_head(lab, lab("model")), body, foot), (), keys)
        )
    t = totals(report)
    total = Row((Cell(lab("total")), *_figures(Line("", t), amounts.grand_cents)))
    table = Table(_head(lab, lab("member")), tuple(rows), (*_rounding(lab, amounts.rounding_cents), total))
    return table, tuple(blocks)


def model_parts(report: Report, lab: Label) -> tuple[Table | None, tuple[Block, ...]]:
    """The drill-down by model: each model's net spend (printed to the statement total, with its
    rounding row), and per model the members who used it (printed to the model's amount)."""
    lines = member_models(report)
    if not lines:
        return None, ()
    by_model: dict[str, list[Line]] = {}
    for line in lines:
        by_model.setdefault(line.model or "", []).append(line)
    if report.member_filter is None:
        models = [m for m in report.models if m.name in by_model]
    else:
        models = [Line(name, _only(parts).stats) for name, parts in by_model.items()]
    t = totals(report)
    printed = printed_lines([m.stats.cost_usd for m in models], t.cost_usd)
    rows, blocks = [], []
    for i, (model, usd) in enumerate(zip(models, printed.lines, strict=True), 1):
        cents = int(usd * 100)
        rows.append(Row((Cell(model.name), *_figures(model, cents)), href=f"#model-{i}"))
        parts = by_model[model.name]
        inner = printed_lines([p.stats.cost_usd for p in parts], model.stats.cost_usd)
        body = tuple(
            Row((Cell(p.name), *_figures(p, int(c * 100)))) for p, c in zip(parts, inner.lines, strict=True)
        )
        foot = (
            *_rounding(lab, int(inner.rounding * 100)),
            Row((Cell(lab("subtotal")), *_figures(model, cents))),
        )
        blocks.append(Block(f"model-{i}", model.name, Table(_head(lab, lab("member")), body, foot)))
    total = Row((Cell(lab("total")), *_figures(Line("", t), int(printed.total * 100))))
    foot = (*_rounding(lab, int(printed.rounding * 100)), total)
    return Table(_head(lab, lab("model")), tuple(rows), foot), tuple(blocks)


def _only(parts: list[Line]) -> Line:
    assert len(parts) == 1, "a member's report has one line per model"
    return parts[0]


def split_table(split: SplitLines | None, lab: Label) -> Table | None:
    if split is None:
        return None
    rows = tuple(Row((Cell(name), *(Cell(v, v) for v in values))) for name, values in split.members)
    foot = []
    if split.rounding is not None:
        foot.append(Row((Cell(lab("rounding")), *(Cell(v) for v in split.rounding))))
    foot.append(Row((Cell(lab("total")), *(Cell(v) for v in split.total))))
    return Table(split.header, rows, tuple(foot))


def price_blocks(report: Report, lab: Label, show: bool) -> tuple[Block, ...]:
    """Each model's quantity × unit price = amount lines, and the price list (when each price held)."""
    if not report.price_groups or not show:
        return ()
    statement = report.prices(report.member_filter)
    if not statement.models:
        return ()
    head = (lab("price_kind"), lab("price_quantity"), lab("price_unit"), lab("price_amount"))
    rows: list[Row] = []
    for m in statement.models:
        rows.append(Row((Cell(m.model), Cell(""), Cell(""), Cell("")), cls="sub"))
        for line in m.lines:
            kind = lab(f"tt_{line.kind}") if line.kind else lab(f"pn_{line.note}")
            priced = line.quantity is not None and line.unit_price is not None
            rows.append(
                Row(
                    (
                        Cell("\u2003" + kind),
                        Cell(f"{line.quantity:,}" if priced else ""),
                        Cell("" if line.unit_price is None else price_text(line.unit_price)),
                        Cell(money_text(line.amount)),
                    )
                )
            )
        name = lab("price_model_total", name=m.model)
        rows.append(Row((Cell(name), Cell(""), Cell(""), Cell(money_text(m.total))), cls="sub"))
    total = sum((m.total for m in statement.models), Decimal(0))
    foot = (Row((Cell(lab("total")), Cell(""), Cell(""), Cell(money_text(total)))),)
    out = [Block("prices", lab("prices_title"), Table(head, tuple(rows), foot), (lab("prices_intro"),))]
    if statement.prices:
        tz = report.period.tz
        listed = []
        for e in statement.prices:
            first = datetime.fromtimestamp(e.first_ts, tz).strftime("%m-%d")
            last = datetime.fromtimestamp(e.last_ts, tz).strftime("%m-%d")
            name = f"{e.model} · {lab('tt_' + e.kind)}" + (f" ({lab('price_changed')})" if e.changed else "")
            ratio = "" if e.group_ratio is None else plain_decimal(e.group_ratio)
            when = first if first == last else f"{first} – {last}"
            listed.append(
                Row((Cell(name), Cell(price_text(e.unit_price), str(e.unit_price)), Cell(ratio), Cell(when)))
            )
        head = (lab("model"), lab("price_unit"), lab("price_group_ratio"), lab("price_period"))
        out.append(Block("price-list", lab("price_list_title"), Table(head, tuple(listed))))
    return tuple(out)


def project_blocks(report: Report, lab: Label, lang: str) -> tuple[Block, ...]:
    """The projects' budget positions, one table per budget currency, and what each leaves out."""
    lines = report.projects
    if not lines:
        return ()
    as_of = max((p.as_of for p in lines if p.as_of is not None), default=None)
    heading = lab("projects") + (lab("as_of_day", date=day_text(as_of, lang)) if as_of else "")
    out = []
    for n, currency in enumerate(dict.fromkeys(p.currency for p in lines)):
        group = [p for p in lines if p.currency == currency]
        head = (
            lab("project"),
            *(lab("amount_of", name=lab(k), currency=currency) for k in ("budget", "spent", "remaining")),
        )
        head += tuple(lab(k) for k in ("share_used", "run_out", "status"))
        rows = []
        notes: list[str] = []
        for p in group:
            status = lab(status_key(p))
            run_out = "" if p.run_out is None else p.run_out.isoformat()
            if p.run_out_after_end:
                run_out = lab("run_out_after_end_cell", date=run_out)
            name = f"{p.name}: {p.title}" + (f" ({p.code})" if p.code else "")
            cells = (
                Cell(name),
                Cell(money_text(p.budget), str(p.budget)),
                Cell(money_text(p.spent), str(p.spent)),
                Cell(money_text(p.remaining), str(p.remaining)),
                Cell("" if p.share_used is None else percent_text(p.share_used), str(p.share_used or "")),
                Cell(run_out),
                Cell(status.upper() if p.over_budget else status),
            )
            rows.append(Row(cells, cls="over" if p.over_budget else ""))
            if p.unsynced:
                ranges = lab("list_separator").join(date_range_text(a, z, lang) for a, z in p.unsynced)
                notes.append(lab("unsynced_spans", name=p.name, ranges=ranges))
            if p.outside_days:
                text = f"{p.currency} {money_text(p.outside)} ({day_ranges(p.outside_days)})"
                notes.append(
                    lab("name_text", name=p.name, text=lab("name_text", name=lab("outside_dates"), text=text))
                )
        out.append(
            Block(f"projects-{currency}", heading if n == 0 else "", Table(head, tuple(rows)), tuple(notes))
        )
    return tuple(out)


def bridge_block(report: Report, ctx: ExportContext) -> Block | None:
    """The wallet bridge: quota, USD and CNY per line, the rounding lines, the residual and its causes."""
    bridge = report.bridge
    if bridge is None or not bridge.sources:
        return None
    text = ctx.template.wording(ctx.lang).group("bridge_")
    rates = report.bridge_rates()
    many = len(bridge.sources) > 1
    head = (text["source"] if many else "", text["quota"], text["usd"], text["cny"])
    rows: list[Row] = []
    notes: list[str] = []
    for s in bridge.sources:
        if many:
            rows.append(Row((Cell(f"{s.source} ({s.account})"), Cell(""), Cell(""), Cell("")), cls="sub"))
        for line in printed_bridge(bridge, s, rates.get(s.source)):
            key, quota = line.key, line.quota
            if key in ("topup", "redemption", "admin", "system") and not quota:
                continue
            q = "" if key == "rounding" else text["unknown"] if quota is None else f"{quota:,}"
            usd = "" if line.usd is None else money_text(line.usd)
            cny = "" if line.cny is None else money_text(line.cny)
            rows.append(
                Row(
                    (Cell(text[key]), Cell(q), Cell(usd), Cell(cny)),
                    cls="over" if key == "residual" and quota else "",
                )
            )
        notes.append(f"{s.source}: {cny_note(s.source, rates.get(s.source), text)}")
        if s.closes:
            notes.append(f"{s.source}: {text['closes']}")
        notes += [f"{s.source}: {note.text(text)}" for note in s.explanations]
        if s.unexplained:
            notes.append(f"{s.source}: {unexplained_text(s, text)}")
    return Block("bridge", text["title"], Table(head, tuple(rows)), tuple(notes))


def statement(report: Report, ctx: ExportContext, number: str) -> Statement:
    """Everything the page shows, in the document's language."""
    t = ctx.template
    lang = ctx.lang

    def lab(key: str, **values: object) -> str:
        return t.text(key, lang, **values) if values else ctx.label(key)

    amounts = statement_amounts(report)
    letterhead: list[str] = []
    if t.section("show_letterhead"):
        letterhead = [t.letterhead_field(n, lang) for n in ("organisation", "address", "contact")]
        if t.letterhead_field("tax_id", lang):
            letterhead.append(f"{lab('tax_id')}: {t.letterhead_field('tax_id', lang)}")
    p = report.period
    facts = [
        (lab("document_number"), number),
        (lab("issue_date"), day_text(report.generated_at.astimezone(p.tz).date(), lang)),
        (lab("period"), period_in_zone_text(p, lang)),
    ]
    if report.member_filter is not None:
        facts.append((lab("member"), report.member_filter))
    facts.append((lab("quota_per_unit"), f"{int(report.quota_per_unit):,}"))
    st = report.statement
    if st is not None and st.signer_key is not None:
        facts.append((lab("signing_key"), " ".join(st.signer_key[i : i + 8] for i in range(0, 64, 8))))
    members_table, member_blocks = member_parts(report, amounts, lab) if amounts.members else (None, ())
    models_table, model_blocks = model_parts(report, lab)
    idle = ""
    if amounts.idle and t.section("show_zero_members"):
        idle = lab("members_without_usage", names=", ".join(m.name for m in amounts.idle))
    fingerprint = report.provenance.fingerprint or lab("not_available")
    return Statement(
        lang=lang,
        title=t.title_for(lang),
        letterhead=tuple(clean_text(x) for x in letterhead if x),
        banner=tuple(banner_lines(report, lab)),
        incomplete=not report.coverage.complete,
        facts=tuple(facts),
        members_table=members_table,
        member_blocks=member_blocks if t.section("show_models_table") else (),
        idle=idle,
        model_blocks=model_blocks,
        models_table=models_table,
        totals=total_lines(report, amounts, lab, t.section("show_models_table")),
        split=split_table(split_lines(report, lab), lab),
        prices=price_blocks(report, lab, t.section("show_prices")),
        projects=project_blocks(report, lab, lang),
        reconciliation=reconciliation_text(report, ctx.label) if report.reconciliation is not None else "",
        bridge=bridge_block(report, ctx),
        notes=tuple(notes_texts(report, lab)) if t.section("show_notes") else (),
        signature=tuple(lab(k) for k in ("prepared_by", "approved_by", "signature_date"))
        if t.section("show_signature")
        else (),
        footer=lab("footer", number=number, fingerprint=fingerprint),
        labels={
            **t.wording(lang).group("web_"),
            **{k: lab(k) for k in ("no_usage", "split_heading", "notes", "projects")},
        },
    )
