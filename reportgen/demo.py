"""``reportgen demo``: a synthetic team month, served locally, synced and exported for real."""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from .app.export import export_report
from .app.sync import SyncProgress, SyncResult, run_sync
from .config import CONFIG_NAME, load_config
from .core.periods import parse_period, previous_month
from .core.report import Report
from .plugins import select_exporters
from .read import open_period
from .testing.fakegateway import FakeGateway
from .testing.fakegateway.synthetic import team_month

DEMO_YEAR, DEMO_MONTH = 2026, 4
DEMO_TZ = "Asia/Shanghai"
DEMO_USER_ID = 42


@dataclass(frozen=True)
class DemoResult:
    config_path: Path
    sync: SyncResult
    report_summary: Report
    paths: list[Path]


def _toml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


DEMO_TEMPLATE = """\
# The demo's statement template: the shipped "invoice" wording with a letterhead filled in
# and a claim form (报销单) on top: fields, amount in figures and in capitals, signatures.
# Edit it and run `reportgen --config reportgen.toml report --period 2026-04` to see the change.
[template]
kind = "invoice"

[sections]
show_claim = true

[claim.values]
department = { zh = "研发中心", en = "R&D Centre" }
claimant = "{member}"
purpose = { zh = "API 调用费用（{period}）", en = "API usage, {period}" }
project_code = ""
project_lead = ""

[letterhead]
organisation = { zh = "示例科技有限公司 · 研发中心", en = "Example Tech Co., Ltd. · R&D Centre" }
address = { zh = "北京市海淀区示例路 1 号", en = "1 Example Road, Haidian, Beijing" }
contact = "finance@example.com · +86 10 0000 0000"
"""


def demo_config_text(base_url: str, members: dict[str, list[str]], lang: str, template: Path) -> str:
    lines = [
        "# Written by `reportgen demo`: a local fake gateway serving a synthetic team month.",
        "[gateway]",
        f"base_url = {_toml_str(base_url)}",
        f"user_id = {DEMO_USER_ID}",
        "",
        "[report]",
        f'timezone = "{DEMO_TZ}"',
        f'lang = "{lang}"',
        f"template = {_toml_str(str(template))}",
        "",
    ]
    for name, keys in members.items():
        lines.append(f"[members.{_toml_str(name)}]")
        lines.append("keys = [" + ", ".join(_toml_str(k) for k in keys) + "]")
        lines.append("")
    return "\n".join(lines) + DEMO_PROJECTS


# Two projects, so that summaries and documents show a project view: a grant that gains a
# key mid-month and shares the CI key 60/40 with a cost centre that ends on the 20th and
# runs over its CNY budget (its share of later spend is flagged, not counted).
DEMO_PROJECTS = """
[projects.nlp-grant]
title = "NLP research grant"
code = "NSFC-2026-001"
budget = 60.00
budget_currency = "USD"
start = 2026-04-01
end = 2026-08-31
justification = "Model evaluation and annotation for work package 2."
charges = [
  { member = "张三" },
  { key = "key-bob", from = 2026-04-16 },
  { key = "ci-pipeline", share = 60 },
]

[projects.platform]
title = "Platform operations"
code = "CC-OPS-7"
budget = 120.00
budget_currency = "CNY"
start = 2026-04-01
end = 2026-04-20
charges = [{ member = "李四" }, { key = "ci-pipeline", share = 40 }]
"""


@dataclass(frozen=True)
class _Clock:
    """A stopped clock: the demo syncs "as of" chosen moments around its month."""

    at: int

    def __call__(self) -> float:
        return float(self.at)


def run_demo(out_dir: Path, *, lang: str = "zh", progress: SyncProgress | None = None) -> DemoResult:
    """Serve a deterministic team month on 127.0.0.1, sync it into a fresh store, write every format."""
    team = team_month(DEMO_YEAR, DEMO_MONTH, tz=DEMO_TZ)
    token = secrets.token_hex(16)  # a throwaway: the fake gateway lives only as long as this call
    out_dir.mkdir(parents=True, exist_ok=True)
    store_dir = out_dir / ".reportgen"
    if store_dir.exists():
        shutil.rmtree(store_dir)
    config_path = out_dir / CONFIG_NAME
    template_path = (out_dir / "letterhead.toml").resolve()
    template_path.write_text(DEMO_TEMPLATE, encoding="utf-8")
    with FakeGateway(
        rows=team.rows,
        tokens=team.tokens,
        access_token=token,
        user_id=DEMO_USER_ID,
        status=team.status,
        rate_limit=None,
        wallet=team.wallet,
        topups=team.topups,
    ) as gateway:
        config_path.write_text(
            demo_config_text(gateway.url, team.members, lang, template_path), encoding="utf-8"
        )
        config = load_config(config_path, env={"REPORTGEN_ACCESS_TOKEN": token})
        period = parse_period(f"{DEMO_YEAR:04d}-{DEMO_MONTH:02d}", config.tz)
        # Three syncs at the times a team would run them, so the wallet bridge has a balance read
        # as the month began and one after it ended, with every log row in between.
        syncs = []
        for at, span in (
            (period.start_ts, previous_month(period.start, config.tz)),
            (period.end_ts + 2 * 3600, period),
            (period.end_ts + 86400, None),
        ):
            clock = _Clock(at)
            gateway.clock = clock
            mine = progress if span is period else None
            syncs.append(run_sync(config, span, progress=mine, now=clock))
        result = syncs[1]
    with open_period(config, period) as view:
        report = view.report
        paths = export_report(
            report, select_exporters("all"), out_dir / "reports", lang=lang, template=config.template
        )
    return DemoResult(config_path, result, report, paths)
