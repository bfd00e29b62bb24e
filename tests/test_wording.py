"""Every wording string lives in templates/labels.toml, in Chinese and English; no Python dict of it."""

from __future__ import annotations

import ast
import string
import tomllib
from pathlib import Path

from reportgen.templating import LANGS, PLACEHOLDERS, load_template, wording

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "reportgen"
LABELS = ROOT / "templates" / "labels.toml"


def _labels() -> dict[str, dict[str, str]]:
    with LABELS.open("rb") as fp:
        return tomllib.load(fp)["labels"]


def test_no_module_keeps_wording_per_language() -> None:
    """No dict keyed by language, no ``lang == "zh"`` branch: the wording comes from labels.toml."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
                if set(LANGS) <= keys:
                    found.append(f"{where}:{node.lineno}: a dict of wording per language")
            elif isinstance(node, ast.Compare):
                sides = [node.left, *node.comparators]
                if any(isinstance(s, ast.Constant) and s.value in LANGS for s in sides) and any(
                    isinstance(s, ast.Name | ast.Attribute) and "lang" in ast.unparse(s) for s in sides
                ):
                    found.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
    assert not found, "\n".join(found)


def test_every_label_is_in_both_languages_with_the_same_placeholders() -> None:
    labels = _labels()
    assert set(labels) == set(LANGS)
    assert set(labels["zh"]) == set(labels["en"])

    def names(text: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    for key, en in labels["en"].items():
        assert names(en) == names(labels["zh"][key]), key
        assert names(en) <= set(PLACEHOLDERS), key


def test_wording_groups_fall_back_to_english_and_follow_a_template() -> None:
    zh = wording("zh")
    assert zh("quality_title") == "数据质量检查" and wording("en")("quality_title") == "Data-quality check"
    assert (
        zh("bridge_snapshot", when="2026-05-01 00:00", rolled="+5")
        == "余额读取于 2026-05-01 00:00，推算至期间边界 +5 额度"
    )
    assert zh("no_such_label") == "no_such_label"
    bridge = zh.group("bridge_")
    assert bridge["title"] == "钱包余额勾稽" and "note_records" in bridge
    template = load_template("invoice", "en")
    assert template.wording("en")("chart_by_member") == wording("en")("chart_by_member")
