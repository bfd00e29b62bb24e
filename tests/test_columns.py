"""The column registry: built-ins through the hook, a plugin's column in every document and reader."""

from __future__ import annotations

import csv
import io
import zipfile
from operator import attrgetter

import openpyxl
import pytest

from reportgen import plugins
from reportgen.app.documents import write_packet, write_report
from reportgen.app.sync import run_sync
from reportgen.app.verify import verify_packet
from reportgen.app.verify.figures import read_detail, summary_totals
from reportgen.app.verify.reading import parse_manifest
from reportgen.core.columns import (
    BUILTIN_COLUMNS,
    DETAIL_CSV,
    DETAIL_XLSX,
    SUMMARY_CSV,
    Columns,
    DetailColumn,
    Field,
    header_keys,
    stored,
)
from reportgen.core.periods import parse_period
from reportgen.errors import PluginError
from reportgen.plugins import select_exporters
from tests.conftest import fast_client, make_config

#: A plugin adding a detail column (the gateway's group, stored as ``grp``) and a figure.
GROUP_PLUGIN = """
from operator import attrgetter

from reportgen.hookspecs import DetailColumn, Field, StatsColumn, hookimpl

@hookimpl
def register_columns(register):
    register(DetailColumn(key="group", kind="text", field=Field("group", "grp", attrgetter("group")),
                          width=18, focus="x_Group"))
    register(StatsColumn(key="tokens", kind="count",
                         figure=lambda stats, report: stats.prompt_tokens + stats.completion_tokens))
"""


def test_the_builtin_columns_register_through_the_hook(fresh_plugins):
    registered = plugins.columns()
    assert registered.all == BUILTIN_COLUMNS
    assert [c.key for c in registered.detail(DETAIL_CSV)] == [
        "time", "member", "key", "model", "type", "prompt_tokens", "completion_tokens", "input_tokens",
        "cache_read_tokens", "cache_write_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "quota",
        "cost_usd", "latency_s", "client", "request_id", "http_status",
    ]  # fmt: skip
    assert [c.key for c in registered.detail(DETAIL_XLSX)][:2] == ["time", "key"]  # the sheet is the member
    impls = plugins.pm.hook.register_columns.get_hookimpls()
    assert [plugins.pm.get_name(i.plugin) for i in impls] == ["reportgen.exporters.columns"]


def test_a_column_and_its_label_are_all_a_new_column_takes(fresh_plugins, tmp_path, team, gateway):
    fresh_plugins("rg_group", GROUP_PLUGIN)
    config = make_config(tmp_path, gateway.url, team)
    april = parse_period("2026-04", config.tz)
    run_sync(config, april, client_factory=fast_client)
    out = tmp_path / "out"
    paths = write_report(config, april, select_exporters("csv,csv-summary,xlsx,focus"), out, lang="en")
    by_name = {p.name: p for p in paths}
    groups = {r.get("group", "") for r in team.rows}

    # CSV detail: the last column, headed by its key (no template has a label for it).
    with open(by_name["reportgen-2026-04.csv"], encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][-1] == "group" and rows[0][-2] == "HTTP status"
    assert {r[-1] for r in rows[1:]} <= groups and any(r[-1] for r in rows[1:])

    # CSV summary: the figure after the built-in ones, on every line and the totals line.
    with open(by_name["reportgen-2026-04-summary.csv"], encoding="utf-8-sig", newline="") as f:
        summary = list(csv.reader(f))
    header = next(r for r in summary if r[:2] == ["Member", "Model"])
    at = {k: header.index(k) for k in ("Input tokens", "Output tokens", "tokens")}
    body = summary[summary.index(header) + 1 :]
    assert body and all(
        int(r[at["tokens"]]) == int(r[at["Input tokens"]]) + int(r[at["Output tokens"]]) for r in body
    )

    # XLSX: a member sheet's last column (header, width, values), and the figure on the summary tables.
    wb = openpyxl.load_workbook(by_name["reportgen-2026-04.xlsx"])
    member = wb[wb.sheetnames[-1]]
    head = [c.value for c in member[1]]
    assert head[-1] == "group" and head[-2] == "HTTP status"
    letter = openpyxl.utils.get_column_letter(len(head))
    # 18 characters: XlsxWriter (the default engine) stores Excel's padded width, 18.7109375
    assert member.column_dimensions[letter].width in (18, 18.7109375)
    values = [r[-1] for r in member.iter_rows(min_row=2, values_only=True) if r[0] != "Total"]
    assert values and set(values) <= groups
    by_model = wb["By model"]
    assert [c.value for c in by_model[1]][-1] == "tokens"

    # verify: the packet's documents read by their headers' keys, the new column's among them.
    packet = write_packet(config, april, tmp_path / "packet", lang="en")
    result = verify_packet(packet, config.store_dir)
    assert result.ok, result.differences
    assert any("exactly the packet's consumption and refund rows" in c for c in result.checked)
    with zipfile.ZipFile(packet) as zf:
        manifest = parse_manifest(zf.read("manifest.json"))
        text = zf.read("reportgen-2026-04.csv").decode("utf-8-sig")
        lines = list(read_detail(csv.reader(io.StringIO(text)), manifest))
        totals = summary_totals(io.BytesIO(zf.read("reportgen-2026-04.xlsx")), manifest)
    assert lines and {line["group"] for line in lines} <= groups and lines[0]["key"]
    assert totals is not None and totals["tokens"] == totals["prompt_tokens"] + totals["completion_tokens"]

    # FOCUS: the column it names, after FOCUS's own.
    with open(by_name["reportgen-2026-04-focus.csv"], encoding="utf-8", newline="") as f:
        focus = list(csv.reader(f))
    assert focus[0][-1] == "x_Group" and focus[0][-2] == "x_Correction"
    assert {r[-1] for r in focus[1:]} <= groups


def test_two_plugins_registering_one_key_are_both_named(fresh_plugins):
    fresh_plugins("rg_one", GROUP_PLUGIN)
    fresh_plugins("rg_two", GROUP_PLUGIN)
    with pytest.raises(PluginError, match="rg_one.*rg_two|rg_two.*rg_one"):
        plugins.columns()


def test_a_column_of_an_unknown_kind_costs_its_plugin_one_line(fresh_plugins, capsys):
    fresh_plugins(
        "rg_odd",
        """
        from reportgen.hookspecs import DetailColumn, hookimpl, stored

        @hookimpl
        def register_columns(register):
            register(DetailColumn(key="odd", kind="colour", field=stored("channel")))
        """,
    )
    assert plugins.columns().all == BUILTIN_COLUMNS
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "rg_odd" in err[0] and "colour" in err[0]


def test_a_column_must_read_one_field_under_one_name():
    clash = DetailColumn(
        key="raw_quota", kind="int", field=Field("signed_quota", "quota", attrgetter("quota"))
    )
    with pytest.raises(PluginError, match="signed_quota"):
        Columns((*BUILTIN_COLUMNS, clash))
    with pytest.raises(PluginError, match="totals a stats column nobody registered"):
        Columns((*BUILTIN_COLUMNS, DetailColumn(key="n", kind="int", field=stored("channel"), total="nope")))


def test_readers_find_columns_by_their_header_not_their_place():
    columns = Columns(BUILTIN_COLUMNS).stats(SUMMARY_CSV)
    wording = {"requests": "Requests", "errors": "Errors"}.get
    assert header_keys(["Errors", "Member", "Requests"], columns, lambda k: wording(k) or k) == [
        "errors",
        None,
        "requests",
    ]
    with pytest.raises(ValueError, match="both headed"):
        header_keys(["x"], columns, lambda k: "same")


def test_verify_reads_the_detail_by_header_whatever_the_order():
    from tests.report_factory import export, make_report

    rows = list(csv.reader(io.StringIO(export("csv", make_report(), lang="en").decode("utf-8-sig"))))
    manifest = {"lang": "en", "template": None}
    order = list(range(len(rows[0])))[::-1]
    shuffled = [[row[i] for i in order] for row in rows]
    as_written = list(read_detail(iter(rows), manifest))
    assert as_written and as_written == list(read_detail(iter(shuffled), manifest))
    assert as_written[0]["quota"] == rows[1][rows[0].index("Quota")]
    with pytest.raises(ValueError, match="no quota column"):
        list(read_detail(iter([[c for c in row if c != "Quota"] for row in rows[:1]]), manifest))
