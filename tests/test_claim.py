"""The claim form (报销单): fields, amount in figures and capitals, 附件 N 张, signature rows."""

from __future__ import annotations

import io
import os
import zipfile
from decimal import Decimal
from pathlib import Path

import pypdf
import pytest

from reportgen.app.documents import write_packet
from reportgen.app.packet import manifest_of
from reportgen.app.signing import init_key
from reportgen.app.sync import run_sync
from reportgen.app.verify import verify_packet
from reportgen.config import load_config
from reportgen.core.capitals import rmb_capitals
from reportgen.core.money import cents
from reportgen.core.periods import parse_period
from reportgen.core.records import LogType, UsageRecord
from reportgen.demo import DEMO_PROJECTS, run_demo
from reportgen.errors import ConfigError
from reportgen.exporters.pdf import write_pdf
from reportgen.hookspecs import ExportContext
from reportgen.read import Scope, open_period
from reportgen.render import claim_cny, convert_for_print
from reportgen.templating import load_template

from .conftest import fast_client, make_config
from .report_factory import TZ, make_report


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def render(report, lang="zh", template="reimbursement", attachments=None) -> str:
    buf = io.BytesIO()
    ctx = ExportContext(lang=lang, template=load_template(template, lang), attachments=attachments)
    write_pdf(report, buf, ctx)
    return pdf_text(buf.getvalue())


def test_zh_claim_form_shows_figure_capitals_fields_and_signatures():
    report = make_report()
    amount = claim_cny(report)
    claimed = report.claim_amount()  # on the claim base: wallet-paid net spend
    assert amount == cents(claimed.usd * report.exchange.rate) and claimed.left_out > 0
    text = render(report)
    first = text.split("附件1", 1)[0] if "附件1" in text else text
    assert f"¥{amount:,.2f}" in text
    assert rmb_capitals(amount) in text.replace("\n", "")
    for label in (
        *("报销部门", "报销人", "报销日期", "事由", "项目编号/经费号", "预算科目", "项目负责人"),
        *("支付方式", "收款人", "账号", "报销口径", "原币金额（美元）", "汇率", "折合人民币", "折算差额"),
        *("金额（小写）", "金额（大写）", "附件", "电子附件", "发票号码", "发票合计"),
    ):
        assert label in first, label
    for label in ("报销人（领款人）", "经办人", "部门负责人", "财务审核", "会计", "出纳", "审批人"):
        assert label in first, label
    assert "API 调用费用（2026年4月1日至4月30日）" in text  # the purpose, {period} as finance writes it
    assert "0 张" in text and "未附发票" in text  # no invoice attached
    assert "订阅计费的 2.59 美元不在报销之列" in text  # the base says what it leaves out
    # 原币 × 汇率 = 折合 as printed, or with its 折算差额
    printed = convert_for_print(claimed.usd, report.exchange.rate)
    assert f"{printed.usd:,.2f}" in text and f"{printed.rate}" in text
    assert cents(printed.usd * printed.rate) + printed.difference == amount
    # the statement follows the one-page form
    assert "API 使用费用结算单" not in text.split("费用报销单", 1)[0]
    # the statement's CNY grand total is all net spend; the claim is its wallet-paid part
    total = cents(report.totals.cost_usd * report.exchange.rate)
    assert f"{total:,.2f}" in text.split("总计（人民币）", 1)[1] and total > amount


def test_attachments_and_member_as_claimant():
    report = make_report(member="张三")
    text = render(report, attachments=4)
    assert "4 份" in text and "0 张" in text
    assert "报销人" in text and "张三" in text
    assert rmb_capitals(claim_cny(report)) in text.replace("\n", "")


def test_en_equivalent_keeps_the_capitals():
    report = make_report()
    text = " ".join(render(report, lang="en", attachments=2).split())  # labels may wrap in their cells
    for label in ("Department", "Claimant", "Purpose", "In words (大写)", "Vouchers attached"):
        assert label in text, label
    for label in ("Original amount (USD)", "Exchange rate", "In CNY", "Electronic attachments", "Claim base"):
        assert label in text, label
    assert "Head of department" in text and "Finance review" in text and "Approved by" in text
    assert "Accountant" in text and "Cashier" in text and "Claimant (payee)" in text
    assert rmb_capitals(claim_cny(report)) in text.replace(" ", "")
    assert "API usage, 2026-04-01 – 2026-04-30" in text


def test_no_rate_and_negative_amounts_print_no_capitals():
    text = render(make_report(rate=None))
    assert "无人民币汇率" in text and "人民币壹" not in text
    start = int(parse_period("2026-04", TZ).start.timestamp())
    refund_only = [UsageRecord(start + 60, int(LogType.REFUND), "key-alice", "gpt-5-mini", 50_000)]
    report = make_report(refund_only)
    assert claim_cny(report) < 0
    text = render(report)
    assert "净额为负" in text and "人民币" not in text.split("金额（大写）", 1)[1].split("经办人")[0]


def test_invoice_template_has_no_claim_form():
    text = render(make_report(), template="invoice")
    assert "金额（大写）" not in text and "制表人" in text


def test_custom_claim_template(tmp_path: Path):
    path = tmp_path / "claim.toml"
    path.write_text(
        """
[sections]
show_claim = true
[claim]
fields = ["purpose", "department"]
signatures = ["handler", "dean"]
[claim.values]
department = "计算中心"
purpose = "{member} {period}"
[labels.zh]
sign_dean = "院长"
[labels.en]
sign_dean = "Dean"
""",
        encoding="utf-8",
    )
    template = load_template(str(path), "zh")
    assert template.claim.signatures == ("handler", "dean")
    text = render(make_report(member="Alice Smith"), template=str(path))
    assert "院长" in text and "计算中心" in text and "Alice Smith 2026年4月1日至4月30日" in text
    assert "审批人" not in text and "报销人" not in text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[claim]\nfields = ["colour"]', "claim.fields: unknown field 'colour'"),
        ('[claim]\nsignatures = ["dean"]', "'dean' has no label; add sign_dean"),
        ('[claim.values]\npurpose = "{amount}"', "claim.values.purpose.zh uses {amount}"),
        ("[claim]\ncolour = 1", "unknown setting claim.colour"),
    ],
)
def test_claim_mistakes_name_the_key(tmp_path: Path, body: str, message: str):
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("{", r"\{")):
        load_template(str(path), "zh")


def test_grant_template_adds_the_project_lead():
    assert load_template("grant", "zh").claim.signatures == (
        *("claimant", "handler", "project_lead", "department_head"),
        *("finance_review", "accountant", "cashier", "approver"),
    )
    assert load_template("reimbursement", "zh").claim.signatures[-1] == "approver"


# -- in a packet, over loopback -----------------------------------------------------------------


@pytest.fixture
def synced(tmp_path, team, gateway):
    config = make_config(tmp_path, gateway.url, team, extra=DEMO_PROJECTS)
    run_sync(config, parse_period("2026-04", config.tz), client_factory=fast_client)
    return config


def test_packet_claim_counts_its_electronic_attachments(synced, tmp_path):
    april = parse_period("2026-04", synced.tz)
    path = write_packet(synced, april, tmp_path / "out", member="张三", template="reimbursement")
    manifest = manifest_of(path)
    attachments = len([f for f in manifest["files"] if f["role"] not in ("claim", "rows")])
    assert attachments == 5  # the statement, workbook, CSV detail, methodology and quality page
    for role in ("claim", "statement"):
        document = next(f for f in manifest["files"] if f["role"] == role)
        text = pdf_text(read_entry(path, document["name"]))
        assert f"电子附件\n{attachments} 份" in text or f"{attachments} 份" in text
        assert "0 张" in text
    assert verify_packet(path, synced.store_dir).ok


def test_grant_packet_has_capitals_of_the_charged_total(synced, tmp_path):
    april = parse_period("2026-04", synced.tz)
    path = write_packet(synced, april, tmp_path / "out", project="nlp-grant")
    statement = next(f for f in manifest_of(path)["files"] if f["role"] == "statement")
    text = pdf_text(read_entry(path, statement["name"])).replace("\n", "")
    assert "项目负责人" in text and "NSFC-2026-001" in text
    # the charged USD total at the report's rate, rounded once
    assert "人民币" in text and "元" in text
    with open_period(synced, april, Scope.of(project="nlp-grant")) as view:
        report = view.report
        usd = sum((line.cost_usd for line in report.grant.lines), Decimal(0))
        amount = cents(usd * report.exchange.rate)
    assert claim_cny(report) == amount
    figure = text.split("金额（小写）", 1)[1].split("附件")[0].strip()
    assert figure == f"¥{amount:,.2f}"
    assert rmb_capitals(amount) in text


def test_demo_month_member_packet_is_a_claim_form(tmp_path):
    result = run_demo(tmp_path / "demo", lang="zh")
    config = load_config(result.config_path, env={**os.environ, "REPORTGEN_ACCESS_TOKEN": "unused"})
    init_key(config.signing_key, "Test Preparer")
    april = parse_period("2026-04", config.tz)
    path = write_packet(config, april, tmp_path / "out", member="张三")
    statement = next(f for f in manifest_of(path)["files"] if f["role"] == "statement")
    text = pdf_text(read_entry(path, statement["name"]))
    flat = text.replace("\n", "")
    with open_period(config, april, Scope.of(member="张三")) as view:
        amount = claim_cny(view.report)
    assert amount is not None and amount > 0
    assert f"¥{amount:,.2f}" in text and rmb_capitals(amount) in flat
    assert "研发中心" in text and "0 张" in text and "5 份" in text
    assert all(label in text for label in ("经办人", "部门负责人", "财务审核", "会计", "出纳", "审批人"))
    assert verify_packet(path, config.store_dir).ok


def read_entry(path, name: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(name)
