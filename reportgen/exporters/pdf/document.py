"""The documents put together: the story of a statement, a grant closing report or a claim form,
written to a PDF."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import IO

from reportlab import rl_config
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, SimpleDocTemplate, Spacer

from ...core.report import Report
from ...hookspecs import ExportContext
from ...render.statement import statement_amounts
from .builder import (
    MARGIN,
    PAGE,
    Builder,
    canvas_class,
    pdf_date,
)
from .claimdoc import claim_page, claim_story
from .finance import charts_section, finance_sections
from .grant import grant_story
from .prices import price_section
from .totals import grand_total, split_table


def _story(self: Builder) -> list[Flowable]:
    if self.report.grant is not None:
        return grant_story(self)
    amounts = statement_amounts(self.report)
    story: list[Flowable] = []
    if self.t.section("show_letterhead"):
        story += self.letterhead()
    story.append(self.para(self.t.title_for(self.ctx.lang), self.s.title))
    story += self.banner()
    story += self.facts()
    claim = self.t.section("show_claim")
    if claim:  # the claim form on its own first page; the statement follows as its 附件1
        story = [*claim_page(self), *story]
    if not amounts.members:
        story += [Spacer(1, 6 * mm), self.para(self.lab("no_usage"), self.s.big), Spacer(1, 4 * mm)]
    story += self.member_blocks(amounts) if amounts.members else []
    if amounts.idle and self.t.section("show_zero_members"):
        names = ", ".join(m.name for m in amounts.idle)
        story += [
            Spacer(1, 3 * mm),
            self.para(self.lab("members_without_usage", names=names), self.s.body),
        ]
    story += grand_total(self, amounts)
    story += split_table(self)
    story += price_section(self)
    if self.t.section("show_charts"):
        story += charts_section(self)
    story += finance_sections(self)
    if self.t.section("show_notes"):
        story += self.notes()
    if self.t.section("show_signature") and not claim:  # a claim form holds its own signature boxes
        story += self.signature()
    return story


def write_pdf(report: Report, fp: IO[bytes], ctx: ExportContext) -> None:
    _write(report, fp, ctx, _story, ctx.template.title_for(ctx.lang))


def write_claim(report: Report, fp: IO[bytes], ctx: ExportContext) -> None:
    """The claim form (报销单) on one page, the spend it claims as 附件1."""
    _write(report, fp, ctx, claim_story, ctx.template.label("claim_title", ctx.lang))


def _write(
    report: Report, fp: IO[bytes], ctx: ExportContext, story: Callable[[Builder], list[Flowable]], title: str
) -> None:
    builder = Builder(report, ctx)
    org = ctx.template.letterhead_field("organisation", ctx.lang)
    doc = SimpleDocTemplate(
        fp,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=20 * mm,
        title=f"{title} {builder.number}",
        author=org or "reportgen",
        subject=f"{report.period.label} ({report.period.timezone})",
        creator="reportgen",
        invariant=1,
    )
    with _binary_streams():
        doc.build(story(builder), canvasmaker=canvas_class(builder.footer, pdf_date(report)))


@contextlib.contextmanager
def _binary_streams() -> Iterator[None]:
    """Page streams deflated only, not also ASCII85-encoded (reportlab's default).

    ASCII85 makes streams a quarter bigger and its pure-Python encoder was a tenth of a
    20,000-line statement's time; every PDF reader reads binary streams.
    """
    old = rl_config.useA85
    rl_config.useA85 = 0
    try:
        yield
    finally:
        rl_config.useA85 = old
