"""The one-page claim form (费用报销单) of every packet: month-end's claims per member, per project and
for the team, invoices attached and counted, 原币 × 汇率 = 折合 as printed, and a two-source month."""

from __future__ import annotations

import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pypdf
import pytest

from reportgen.app.monthend import INDEX, run_month_end
from reportgen.app.packet import manifest_of
from reportgen.app.verify import verify_packet
from reportgen.config import load_config
from reportgen.core.money import cents
from reportgen.core.periods import parse_period
from reportgen.demo import DEMO_PROJECTS
from reportgen.errors import ConfigError

from .conftest import TOKEN, fast_client, make_config
from .test_monthend import assert_one_number
from .test_sources import _served

CLAIM = """
[claim]
department = "计算中心"
claimant = "王五"
budget_subject = "业务费"
payment_method = "公务卡"
account = "6222 0000 1111 2222"
advance = "100.00"

[claim.members."张三"]
payee = "张三"

[[attachments.invoices]]
file = "inv/topup.pdf"
number = "26112000000000012345"
amount = "365.00"
period = "2026-04"

[[attachments.invoices]]
file = "inv/zhang.ofd"
number = "26112000000000099999"
amount = "1.00"
period = "2026-04"
claim = "member:张三"
"""


def pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def claim_pages(path: Path) -> tuple[list[str], dict]:
    manifest = manifest_of(path)
    name = next(f["name"] for f in manifest["files"] if f["role"] == "claim")
    with zipfile.ZipFile(path) as zf:
        return pages(zf.read(name)), manifest


def _money(text: str) -> Decimal:
    return Decimal(text.replace(",", "").replace("¥", ""))


def assert_conversions_as_printed(form: str) -> Decimal:
    """Every 原币 × 汇率 = 折合 row of the form multiplies out as printed, or with its 折算差额;
    the rows (and a rounding line) add up to the amount in figures. Returns that amount."""
    flat = " ".join(form.split())
    usds = re.findall(r"原币金额（美元） ([\d,]+\.\d\d)", flat)
    rates = re.findall(r"汇率 ([\d.]+) 元人民币/美元", flat)
    amounts = re.findall(r"折合人民币 ¥([\d,]+\.\d\d)", flat)
    differences = re.findall(r"折算差额 (无|¥-?[\d,]+\.\d\d)", flat)
    assert usds and len(usds) == len(rates) == len(amounts) == len(differences), flat
    for usd, rate, amount, difference in zip(usds, rates, amounts, differences, strict=True):
        diff = Decimal(0) if difference == "无" else _money(difference)
        assert cents(_money(usd) * Decimal(rate)) + diff == _money(amount), (usd, rate, amount, diff)
    total = _money(re.search(r"金额（小写） ¥([\d,]+\.\d\d)", flat).group(1))
    rounding = re.search(r"舍入差额 ¥(-?[\d,]+\.\d\d)", flat)
    footed = sum((_money(a) for a in amounts), Decimal(0)) + (_money(rounding.group(1)) if rounding else 0)
    assert footed == total
    return total


def test_month_end_issues_a_one_page_claim_per_member_project_and_the_team(tmp_path, team, gateway):
    (tmp_path / "inv").mkdir()
    (tmp_path / "inv" / "topup.pdf").write_bytes(b"%PDF-1.4 an invoice\n")
    (tmp_path / "inv" / "zhang.ofd").write_bytes(b"PK an OFD invoice")
    extra = tmp_path / "extra-invoice.xml"
    extra.write_text("<Invoice><InvoiceNumber>1</InvoiceNumber></Invoice>", encoding="utf-8")
    config = make_config(tmp_path, gateway.url, team, extra=DEMO_PROJECTS + CLAIM)
    april = parse_period("2026-04", config.tz)
    result = run_month_end(config, april, tmp_path / "me", client_factory=fast_client, attach=[extra])
    folder = tmp_path / "me" / "2026-04"
    assert_one_number(folder, (folder / INDEX).read_text(encoding="utf-8"))
    invoices_of = {"team": 2, "member 张三": 1}
    kinds = set()
    for issue in result.issues:
        kinds.add(issue.scope.kind)
        text, manifest = claim_pages(issue.path)
        form = text[0]
        assert form.startswith("费用报销单") and "附件1" not in form and text[1].startswith("附件1")
        for label in ("金额（大写）", "报销人（领款人）", "会计", "出纳", "审批人", "2026年4月1日至4月"):
            assert label in form, (issue.who, label)
        assert "Claim" not in form and "USD" not in form  # no English in the zh form
        amount = assert_conversions_as_printed(form)
        assert f"¥{amount:,.2f}" in form
        # 附件 N 张: the invoices the packet holds, listed by number
        attached = [f for f in manifest["files"] if f["role"] == "invoice"]
        assert len(attached) == invoices_of.get(issue.who, 0)
        assert f"附件 {len(attached)} 张" in " ".join(form.split())
        electronic = len([f for f in manifest["files"] if f["role"] not in ("claim", "rows", "invoice")])
        assert f"{electronic} 份" in form
        check = verify_packet(issue.path, config.store_dir)
        assert check.ok, check.differences
        if issue.scope.kind == "project":
            assert "按分摊规则计入本项目的费用" in form
    assert kinds == {"team", "member", "project"}
    team_form = " ".join(claim_pages(result.issues[0].path)[0][0].split())
    assert "26112000000000012345（¥365.00）" in team_form and "extra-invoice.xml" in team_form
    assert "请核对：有发票未填金额" in team_form  # the --attach invoice has no amount to compare
    assert "王五" in team_form and "计算中心" in team_form and "原借款" in team_form
    team_detail = claim_pages(result.issues[0].path)[0][1]
    assert "未分配" in team_detail and "ci-pipeline" not in team_detail  # unmapped keys as one line
    assert "充值付款记录" in team_detail
    zhang = next(i for i in result.issues if i.who == "member 张三")
    zhang_form = " ".join(claim_pages(zhang.path)[0][0].split())
    assert "NSFC-2026-001" in zhang_form  # charged in full to one project: its code
    assert "26112000000000099999（¥1.00）" in zhang_form and "收款人 张三" in zhang_form
    assert (
        "请核对：发票合计 ¥1.00" in zhang_form and "报销口径：本期钱包扣费净额" in zhang_form
    )  # ≠ the claim
    lisi = next(i for i in result.issues if i.who == "member 李四")
    assert "CC-OPS-7" not in " ".join(claim_pages(lisi.path)[0][0].split())  # only until Apr 20: blank


def test_a_two_source_month_converts_each_source_at_its_rate_on_the_form(tmp_path):
    legacy_rate = 'exchange_rate = 7.10\nexchange_rate_source = "Legacy contract rate"'
    with _served(tmp_path, legacy_rate) as (run, _):
        path = tmp_path / "reportgen.toml"
        path.write_text(
            path.read_text(encoding="utf-8")
            + '\n[projects.p1]\ntitle = "P"\ncode = "P-1"\nbudget = 100\nbudget_currency = "USD"\n'
            + 'start = 2026-04-01\nend = 2026-12-31\ncharges = [{ member = "张三" }]\n',
            encoding="utf-8",
        )
        for args in ((), ("--member", "张三"), ("--project", "p1")):
            done = run("packet", "--period", "2026-04", "--out", str(tmp_path / "p"), *args)
            assert done.exit_code == 0, done.output
            text, _ = claim_pages(Path(done.stdout.strip()))
            form = text[0]
            assert_conversions_as_printed(form)
            if args and args[0] == "--project":  # the charged spend, each source's part at its rate
                assert "P-1" in form and "按分摊规则计入本项目的费用" in form
            if args != ("--member", "张三"):  # each source's part at its own rate, footed
                assert "（legacy）" in form and "（main）" in form
                assert "7.1000" in form and "7.3000" in form
            if args and args[0] == "--member":
                assert "P-1" in form


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[claim]\ncolour = 1", "unknown setting claim.colour"),
        ('[claim]\nadvance = "1.005"', "claim.advance must be an amount"),
        ('[[attachments.invoices]]\nfile = "a.pdf"\nperiod = "2026-04"', r"attachments.invoices\[1\].number"),
        (
            '[[attachments.invoices]]\nfile = "a.doc"\nnumber = "1"\nperiod = "2026-04"',
            r"attachments.invoices\[1\].file must be one of",
        ),
        (
            '[[attachments.invoices]]\nfile = "a.pdf"\nnumber = "1"\nperiod = "2026-04"\nclaim = "bob"',
            "claim must be",
        ),
    ],
)
def test_claim_config_mistakes_name_the_key(tmp_path, body, message):
    path = tmp_path / "reportgen.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path, env={"REPORTGEN_ACCESS_TOKEN": TOKEN})
