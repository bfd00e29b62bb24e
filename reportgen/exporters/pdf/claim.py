"""PDF part of a claim form (报销单): the header fields, the amount in figures and in Chinese
capitals, 附件 N 张 and the signature boxes, as one block on the first page.  Drawn when the
template's ``show_claim`` is on.

The amount is the statement's CNY total (:func:`~reportgen.render.claim_cny`),
the same figure as everywhere else; the capitals come from
:func:`reportgen.core.capitals.rmb_capitals`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle

from ...core.capitals import rmb_capitals
from ...core.money import money_text
from ...render import claim_cny
from .builder import WIDTH, Builder

_GRID = colors.HexColor("#4B5563")
_LABEL_BG = colors.HexColor("#F3F5F8")
_LABEL_W = 30 * mm


def _filled(b: Builder) -> dict[str, str]:
    """What a claim field's ``{placeholders}`` say for this document."""
    r = b.report
    p = r.period
    if r.grant is not None:
        last = p.end - timedelta(days=1)
        period = f"{p.start:%Y-%m-%d} – {last:%Y-%m-%d}"
        project, code = r.grant.project.name, r.grant.project.code
    else:
        period, project, code = p.label, "", ""
    return {"member": r.member_filter or "", "period": period, "project": project, "project_code": code}


def claim_form(b: Builder) -> list[Flowable]:
    """The header fields, the amount in figures and capitals, and 附件 N 张, in one ruled form."""
    claim, lang = b.t.claim, b.ctx.lang
    filled = _filled(b)
    label_style, value_style = b.s.claim_label, b.s.claim_value
    rows: list[list[Any]] = []
    spans: list[int] = []  # rows whose value spans the three cells to the right
    pair: list[Any] = []

    def cell(name: str) -> list[Paragraph]:
        value = claim.value(name, lang, **filled)
        return [b.para(b.lab(f"claim_{name}"), label_style), b.para(value, value_style)]

    for name in claim.fields:
        if name == "purpose":  # free text: a whole row
            rows.append([*cell(name), "", ""])
            spans.append(len(rows) - 1)
            continue
        pair += cell(name)
        if len(pair) == 4:
            rows.append(pair)
            pair = []
    if pair:
        rows.append([*pair, "", ""])
        spans.append(len(rows) - 1)

    amount = claim_cny(b.report)
    attachments = b.ctx.attachments
    count = (
        b.lab("claim_attachments_blank")
        if attachments is None
        else b.lab("claim_attachments_count", count=attachments)
    )
    figures = "" if amount is None else f"¥{money_text(amount)}"
    rows.append(
        [
            b.para(b.lab("claim_amount_figures"), label_style),
            b.para(figures, b.s.claim_amount),
            b.para(b.lab("claim_attachments"), label_style),
            b.para(count, value_style),
        ]
    )
    if amount is None:
        words = b.lab("claim_no_rate")
    elif amount < 0:
        words = b.lab("claim_negative")
    else:
        words = rmb_capitals(amount)
    rows.append([b.para(b.lab("claim_amount_words"), label_style), b.para(words, b.s.claim_amount), "", ""])
    spans.append(len(rows) - 1)

    value_w = (WIDTH - 2 * _LABEL_W) / 2
    table = Table(rows, colWidths=[_LABEL_W, value_w, _LABEL_W, value_w])
    style: list[tuple[Any, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.6, _GRID),
        ("BOX", (0, 0), (-1, -1), 1.1, _GRID),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
        ("BACKGROUND", (0, 0), (0, -1), _LABEL_BG),
        ("BACKGROUND", (2, 0), (2, -1), _LABEL_BG),
    ]
    for row in spans:
        style += [("SPAN", (1, row), (3, row)), ("BACKGROUND", (2, row), (2, row), colors.white)]
    table.setStyle(TableStyle(style))
    parts: list[Flowable] = [table]
    if b.t.section("show_signature"):
        parts += [Spacer(1, 3 * mm), *signature_boxes(b)]
    # The form is one piece on the first page: fields, amount and signatures together.
    return [KeepTogether(parts), Spacer(1, 4 * mm)]


def signature_boxes(b: Builder) -> list[Flowable]:
    """One box per signature row of the template: its title, room to sign, and a date line."""
    names = b.t.claim.signatures
    if not names:
        return []
    width = WIDTH / len(names)
    date = b.lab("label_colon", label=b.lab("signature_date"))
    heads = [b.para(b.lab(f"sign_{name}"), b.s.claim_label) for name in names]
    dates = [b.para(date, b.s.small) for _ in names]
    table = Table(
        [heads, [""] * len(names), dates], colWidths=[width] * len(names), rowHeights=[None, 13 * mm, None]
    )
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.1, _GRID),
                ("LINEAFTER", (0, 0), (-2, -1), 0.6, _GRID),
                ("LINEBELOW", (0, 0), (-1, 0), 0.6, _GRID),
                ("BACKGROUND", (0, 0), (-1, 0), _LABEL_BG),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return [table]
