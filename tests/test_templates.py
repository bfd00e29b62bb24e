"""Templates: shipped ones load by name, custom ones by path, and mistakes name file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from reportgen.config import load_config
from reportgen.errors import ConfigError
from reportgen.templating import available_templates, load_template

from .report_factory import export, make_report


def test_shipped_templates() -> None:
    assert {"invoice", "grant"} <= set(available_templates())
    invoice = load_template(None, "zh")
    assert invoice.name == "invoice" and invoice.title_for("zh") == "API 使用费用结算单"
    assert invoice.label("total", "zh") == "合计" and invoice.label("total", "en") == "Total"
    assert load_template("grant", "en").label("prepared_by", "en") == "Principal investigator"


def test_zh_and_en_labels_cover_the_same_keys() -> None:
    t = load_template("invoice", "zh")
    assert set(t.labels["zh"]) == set(t.labels["en"])


def test_custom_template_overrides_and_falls_back(tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    # only its header is read at load time: a PNG of 1 x 1 pixels
    logo.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01")
    path = tmp_path / "mine.toml"
    path.write_text(
        """
[title]
en = "Lab statement"
[letterhead]
organisation = { zh = "示例大学", en = "Example University" }
tax_id = "91110000XXXX"
logo = "logo.png"
[sections]
show_signature = false
[labels.en]
total = "Grand sum"
[labels.zh]
only_in_zh = "中文"
""",
        encoding="utf-8",
    )
    t = load_template(str(path), "en")
    assert t.title_for("en") == "Lab statement"
    assert t.title_for("zh") == "Lab statement"  # falls back to English
    assert t.label("total", "en") == "Grand sum" and t.label("total", "zh") == "合计"
    assert t.letterhead_field("organisation", "zh") == "示例大学"
    assert t.logo == logo and not t.section("show_signature") and t.section("show_notes")


def test_custom_template_in_a_document(tmp_path: Path) -> None:
    path = tmp_path / "plain.toml"
    path.write_text(
        '[letterhead]\norganisation = "Example University"\n[sections]\nshow_signature = false\n'
        '[labels.en]\nsubtotal = "Member subtotal"\n',
        encoding="utf-8",
    )
    import io

    import pypdf

    text = "\n".join(
        p.extract_text()
        for p in pypdf.PdfReader(io.BytesIO(export("pdf", make_report(), "en", str(path)))).pages
    )
    assert "Example University" in text and "Member subtotal" in text and "Prepared by" not in text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[title\nen='x'", "not valid TOML"),
        ("[colours]\nred = 1", "unknown setting colours"),
        ("[sections]\nshow_notes = 'yes'", "sections.show_notes must be true or false"),
        ("[sections]\nshow_everything = true", "unknown setting sections.show_everything"),
        ("[labels.en]\ntotal = 3", "labels.en.total must be a string"),
        ("[labels.en]\nrate_line = '{rat}'", "labels.en.rate_line uses {rat}"),
        ("[labels.en]\npage_of = 'Page {page'", "labels.en.page_of has a stray brace"),
        ("[labels.fr]\ntotal = 'Total'", "unknown setting labels.fr"),
        ("[letterhead]\nlogo = 'nope.png'", "letterhead.logo 'nope.png': no such file"),
        ("[template]\nkind = 'receipt'", "template.kind must be one of"),
        ("[title]\nen = 5", "title.zh and title.en must be strings"),
    ],
)
def test_bad_template_names_file_and_key(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_template(str(path), "zh")
    text = str(info.value)
    assert str(path) in text and message in text and "\n" not in text


def test_unknown_name_and_missing_file() -> None:
    with pytest.raises(ConfigError, match="template 'fancy' not found"):
        load_template("fancy", "zh")
    with pytest.raises(ConfigError, match="no such template file"):
        load_template("/nowhere/x.toml", "zh")
    with pytest.raises(ConfigError, match="language 'fr'"):
        load_template(None, "fr")


def test_a_template_file_without_a_title_keeps_its_kinds_title(tmp_path) -> None:
    path = tmp_path / "letterhead.toml"
    path.write_text('[letterhead]\norganisation = "Example Ltd"\n', encoding="utf-8")
    template = load_template(str(path), "en")
    assert template.title_for("en") == load_template("invoice", "en").title_for("en")
    assert template.title_for("zh") == "API 使用费用结算单"


@pytest.mark.parametrize(
    "label",
    ['"{start:>99999999}"', '"{start!r}"', '"{start.__class__}"', '"{name[0]}"'],
)
def test_labels_allow_only_plain_placeholders(tmp_path, label):
    path = tmp_path / "t.toml"
    path.write_text(f"[labels.en]\ndates_in_zone = {label}\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_template(str(path), "en")


def test_a_deeply_nested_template_or_config_is_one_line(tmp_path):
    deep = "a = " + "[" * 50_000 + "]" * 50_000 + "\n"
    path = tmp_path / "t.toml"
    path.write_text(deep, encoding="utf-8")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_template(str(path), "en")
    (tmp_path / "reportgen.toml").write_text(deep, encoding="utf-8")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_config(tmp_path / "reportgen.toml", env={})
