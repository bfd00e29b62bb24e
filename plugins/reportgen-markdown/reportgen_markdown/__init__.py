"""A reportgen exporter plugin: the period summary as a Markdown page."""

from __future__ import annotations

from decimal import Decimal
from typing import IO

from reportgen import Line, Report
from reportgen.hookspecs import ExportContext, Exporter, hookimpl


def _cell(text: str) -> str:
    # Names come from the gateway: keep them from breaking the table or injecting HTML.
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def _usd(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):,}"


def _table(first: str, lines: tuple[Line, ...], model_column: bool = False) -> list[str]:
    head = [first, *(["model"] if model_column else []), "requests", "prompt tokens",
            "completion tokens", "net quota", "USD"]  # fmt: skip
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for line in lines:
        s = line.stats
        cells = [_cell(line.name), *([_cell(line.model or "")] if model_column else []), f"{s.requests:,}",
                 f"{s.prompt_tokens:,}", f"{s.completion_tokens:,}", f"{s.quota:,}", _usd(s.cost_usd)]  # fmt: skip
        out.append("| " + " | ".join(cells) + " |")
    return out


def write_markdown(report: Report, fp: IO[bytes], ctx: ExportContext) -> None:
    p, t = report.period, report.totals
    lines = [
        f"# LLM usage {p.label}",
        "",
        f"{p.start:%Y-%m-%d} – {p.end:%Y-%m-%d} ({p.timezone}, end exclusive). "
        f"Net spend **USD {_usd(t.cost_usd)}** over {t.requests:,} requests "
        f"(1 USD = {report.quota_per_unit:,} quota; refunds subtracted).",
        "",
        "## Members",
        *_table("member", report.members),
        "",
        "## Models",
        *_table("model", report.models),
        "",
        "## Member × model",
        *_table("member", report.member_models, model_column=True),
        "",
    ]
    fp.write("\n".join(lines).encode("utf-8"))


@hookimpl
def register_exporters(register):
    register(Exporter(name="markdown", extension="md", description="Summary as a Markdown page",
                      write=write_markdown, media_type="text/markdown"))  # fmt: skip
