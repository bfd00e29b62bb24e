"""Statement templates: letterhead, title, zh/en wording and which sections appear.

A template is a TOML file a finance administrator edits.  Shipped templates live in the
``reportgen.templates`` package (the top-level ``templates/`` folder); ``labels.toml``
there holds every label in both languages (the documents', the terminal's, the packet's
notes), and a template only overrides what it wants.  No wording lives in Python:
:func:`wording` gives one language's labels to code that has no template at hand.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from .errors import ConfigError

DEFAULT_TEMPLATE = "invoice"
LANGS = ("zh", "en")
BASE_LABELS = "labels"
KINDS = ("invoice", "grant")
LETTERHEAD_FIELDS = ("organisation", "address", "contact", "tax_id")
SECTIONS: dict[str, bool] = {
    "show_letterhead": True,
    "show_models_table": True,
    "show_zero_members": True,
    "show_notes": True,
    "show_signature": True,
    "show_charts": True,
    "show_prices": True,
    "show_claim": False,
    "show_seal": True,
}
#: The stamp and signature boxes under a grant report by default (each a ``seal_NAME`` label):
#: the organisation's seal (单位公章) and its head of finance (财务负责人).
SEAL_BOXES = ("unit_seal", "finance_head")
#: The header fields a claim form (报销单) may show, in their default order.
CLAIM_FIELDS = (
    *("department", "claimant", "claim_date", "project_code", "purpose", "budget_subject", "project_lead"),
    *("payment_method", "payee", "account"),
)
#: The fields a claim form prints across the whole row (free text, long numbers).
CLAIM_WIDE = ("purpose", "account")
#: The signature rows of a claim form by default (each a ``sign_NAME`` label).
CLAIM_SIGNATURES = (
    *("claimant", "handler", "department_head", "finance_review", "accountant", "cashier", "approver"),
)
#: What a claim field's value may say, filled in from the document and ``[claim]``.
CLAIM_PLACEHOLDERS = (
    *("member", "period", "project", "project_code", "department", "claimant", "claim_date"),
    *("budget_subject", "payment_method", "payee", "account"),
)
# Every {placeholder} a label may use; anything else is a typo we report at load time.
PLACEHOLDERS = (
    *("start", "end", "timezone", "rate", "source", "date", "keys", "names", "name"),
    *(
        "quota_per_unit",
        "quota",
        "usd",
        "page",
        "pages",
        "number",
        "fingerprint",
        "code",
        "ranges",
        "parts",
        "label",
        "revision",
        "count",
        *CLAIM_PLACEHOLDERS,
    ),
    # the wallet bridge, data-quality findings, the methodology note, the month-end index
    *("amount", "args", "cents", "charged", "close", "closed", "cny", "consumed", "credit", "currency"),
    *("difference", "fields", "items", "logged", "missing", "net", "qpu", "range", "rates", "refunded"),
    *("rev", "rolled", "rows", "sub", "synced", "targets", "text", "total", "tz", "url", "user", "when"),
    # dates as finance writes them, and the grant report
    *("first", "last", "kind", "budget", "spent", "over"),
    # the money policy: the claim base, printed USD × rate
    *("base", "left_out", "product"),
    # alerts and deliveries (reportgen watch, month-end --deliver)
    *("rule", "threshold", "share", "as_of", "run_out", "remaining", "burn", "by", "day", "median"),
    *("factor", "window", "days", "balance", "read_at", "limit", "per_day", "days_left", "state"),
    *("last_ok", "hours", "digest", "size", "link", "key"),
)


@dataclass(frozen=True)
class Claim:
    """The claim form (报销单) of a template: header fields, their values, signature rows.

    ``values`` maps a field to its text per language; ``""`` leaves a line to fill in by
    hand, and the :data:`CLAIM_PLACEHOLDERS` are filled in from the document and the
    config's ``[claim]`` (:meth:`value` is None for a field the template sets nothing
    for: the form then prints its default).  ``signatures`` names ``sign_NAME`` labels.
    """

    fields: tuple[str, ...] = CLAIM_FIELDS
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    signatures: tuple[str, ...] = CLAIM_SIGNATURES

    def value(self, name: str, lang: str, **filled: str) -> str | None:
        if name not in self.values:
            return None
        texts = self.values[name]
        text = texts.get(lang) or texts.get("en") or ""
        return text.format(**{p: filled.get(p, "") for p in CLAIM_PLACEHOLDERS})


@dataclass(frozen=True)
class Template:
    """A loaded template; ``label(key, lang)`` falls back to English, then to the key."""

    name: str
    source: str
    kind: str = "invoice"
    number_prefix: str = "RG"
    title: Mapping[str, str] = field(default_factory=dict)
    letterhead: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    logo: Path | None = None
    sections: Mapping[str, bool] = field(default_factory=lambda: dict(SECTIONS))
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    claim: Claim = field(default_factory=Claim)
    #: ``[seal] boxes``: the stamp/signature boxes a grant report ends with (``seal_NAME`` labels).
    seal: tuple[str, ...] = ()

    def label(self, key: str, lang: str) -> str:
        for lng in (lang, "en"):
            text = self.labels.get(lng, {}).get(key)
            if text is not None:
                return text
        return key

    def text(self, key: str, lang: str, **values: object) -> str:
        """A label with its ``{placeholders}`` filled in."""
        return self.label(key, lang).format(**values)

    def title_for(self, lang: str, kind: str = "") -> str:
        """The title in ``lang``; ``{kind}`` in it becomes ``kind`` (a grant report's 月度报告, 结题报告 …)."""
        title = self.title.get(lang) or self.title.get("en") or self.label("title", lang)
        return title.replace("{kind}", kind)

    def letterhead_field(self, name: str, lang: str) -> str:
        values = self.letterhead.get(name, {})
        return values.get(lang) or values.get("en") or ""

    def section(self, name: str) -> bool:
        return self.sections.get(name, SECTIONS.get(name, True))

    def wording(self, lang: str) -> Wording:
        """This template's labels in ``lang`` (English where a label has no ``lang`` text)."""
        return Wording(self.labels, lang)


class Wording:
    """One language's labels: ``wording(key, **values)`` is the label with its placeholders filled.

    A label missing in the language falls back to English, then to the key itself.
    ``group(prefix)`` is the labels whose keys start with ``prefix``, the prefix cut off
    (``group("bridge_")["title"]`` is ``bridge_title``).
    """

    def __init__(self, labels: Mapping[str, Mapping[str, str]], lang: str) -> None:
        self.lang = lang
        self._labels: dict[str, str] = {**labels.get("en", {}), **labels.get(lang, {})}

    def __call__(self, key: str, **values: object) -> str:
        text = self._labels.get(key, key)
        return text.format(**values) if values else text

    def group(self, prefix: str) -> dict[str, str]:
        return {k[len(prefix) :]: v for k, v in self._labels.items() if k.startswith(prefix)}


def wording(lang: str = "en") -> Wording:
    """The shipped labels (``labels.toml``) in ``lang``: the wording of the terminal and the notes."""
    return Wording(_base().labels, lang)


@lru_cache(maxsize=1)
def _base() -> Template:
    return _parse(_read_shipped(BASE_LABELS), f"reportgen.templates/{BASE_LABELS}.toml", None)


def available_templates() -> list[str]:
    """Names of the shipped templates."""
    root = files("reportgen.templates")
    return sorted(
        p.name[: -len(".toml")]
        for p in root.iterdir()
        if p.name.endswith(".toml") and p.name != f"{BASE_LABELS}.toml"
    )


#: The largest config or template file read (a real one is a few KB).
MAX_FILE_BYTES = 4 * 2**20
#: The largest logo printed: bytes, and pixels of a PNG (a small file may inflate to a huge image).
MAX_LOGO_BYTES = 4 * 2**20
MAX_LOGO_PIXELS = 16_000_000


def load_template(name_or_path: str | None = None, lang: str = "zh") -> Template:
    """A shipped template by name (``invoice`` by default) or a ``.toml`` file by path."""
    if lang not in LANGS:
        raise ConfigError(f"language {lang!r} is not supported (use one of: {', '.join(LANGS)})")
    base = _base()
    name_or_path = name_or_path or DEFAULT_TEMPLATE
    looks_like_path = name_or_path.endswith(".toml") or "/" in name_or_path or "\\" in name_or_path
    if looks_like_path:
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise ConfigError(f"{path}: no such template file")
        data = _parse(read_toml_text(path), str(path), path.parent)
        name, source = path.stem, str(path)
        if not data.title:  # a template that sets no title keeps its kind's shipped one
            shipped = _parse(_read_shipped(data.kind), f"reportgen.templates/{data.kind}.toml", None)
            data = replace(data, title=shipped.title)
    else:
        if name_or_path not in available_templates():
            raise ConfigError(
                f"template {name_or_path!r} not found: give a path to a .toml file or one of "
                f"{', '.join(available_templates())}"
            )
        name, source = name_or_path, f"reportgen.templates/{name_or_path}.toml"
        data = _parse(_read_shipped(name), source, None)
    labels: dict[str, dict[str, str]] = {lng: dict(base.labels.get(lng, {})) for lng in LANGS}
    for lng, table in data.labels.items():
        labels[lng].update(table)
    return Template(
        name=name,
        source=source,
        kind=data.kind,
        number_prefix=data.number_prefix,
        title=data.title,
        letterhead=data.letterhead,
        logo=data.logo,
        sections={**SECTIONS, **data.sections},
        labels=labels,
        claim=_check_signatures(data.claim, labels, source),
        seal=_check_seal(data.seal, labels, source),
    )


def read_toml_text(path: Path) -> str:
    """A user's TOML file (config, template) as text; a byte-order mark (Notepad starts UTF-8 files
    with one, TOML allows none) is dropped, as every file reportgen reads from a user is read."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(
                f"{path}: {path.stat().st_size:,} bytes, more than a config or template holds "
                f"({MAX_FILE_BYTES // 2**20} MiB at most)"
            )
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None


def _check_logo(logo: Path, where: str) -> None:
    """Refuse a logo that is no PNG or JPEG, or too large to print (a letterhead of 50 MB took 200 s)."""
    try:
        size = logo.stat().st_size
        with logo.open("rb") as fp:
            head = fp.read(24)
    except OSError as exc:
        raise ConfigError(
            f"{where}: letterhead.logo {logo}: cannot be read ({exc.strerror or exc})"
        ) from None
    if not head.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
        raise ConfigError(f"{where}: letterhead.logo {logo}: not a PNG or JPEG image")
    if size > MAX_LOGO_BYTES:
        raise ConfigError(
            f"{where}: letterhead.logo {logo}: {size:,} bytes; a logo of at most {MAX_LOGO_BYTES // 2**20} MiB "
            "prints (scale it down)"
        )
    if head.startswith(b"\x89PNG"):
        width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        if width * height > MAX_LOGO_PIXELS:
            raise ConfigError(
                f"{where}: letterhead.logo {logo}: {width:,} × {height:,} pixels; a logo of at most "
                f"{MAX_LOGO_PIXELS:,} pixels prints (scale it down)"
            )


def _read_shipped(name: str) -> str:
    return files("reportgen.templates").joinpath(f"{name}.toml").read_text(encoding="utf-8")


def _parse(text: str, where: str, base_dir: Path | None) -> Template:
    """Validate one template file; every problem names the file and the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML ({exc})") from None
    except RecursionError:
        raise ConfigError(f"{where}: nested too deeply to be a template") from None
    _known(data, {"template", "title", "letterhead", "sections", "labels", "claim", "seal"}, where, "")
    meta = _table(data, "template", where, "")
    _known(meta, {"kind", "number_prefix", "name"}, where, "template.")
    kind = meta.get("kind", "invoice")
    if kind not in KINDS:
        raise ConfigError(f"{where}: template.kind must be one of {', '.join(KINDS)}, not {kind!r}")
    prefix = meta.get("number_prefix", "RG")
    if not isinstance(prefix, str) or not prefix.replace("-", "").isalnum():
        raise ConfigError(f'{where}: template.number_prefix must be letters and digits, e.g. "RG"')

    title = _localized(data.get("title", {}), where, "title")
    head = _table(data, "letterhead", where, "")
    _known(head, {*LETTERHEAD_FIELDS, "logo"}, where, "letterhead.")
    letterhead = {f: _localized(head.get(f, ""), where, f"letterhead.{f}") for f in LETTERHEAD_FIELDS}
    logo = None
    logo_text = head.get("logo", "")
    if not isinstance(logo_text, str):
        raise ConfigError(f"{where}: letterhead.logo must be a path to a PNG or JPEG file")
    if logo_text:
        logo = Path(logo_text).expanduser()
        if not logo.is_absolute() and base_dir is not None:
            logo = base_dir / logo
        if not logo.is_file():
            raise ConfigError(f"{where}: letterhead.logo {logo_text!r}: no such file ({logo})")
        _check_logo(logo, where)

    sections_in = _table(data, "sections", where, "")
    _known(sections_in, set(SECTIONS), where, "sections.")
    for key, value in sections_in.items():
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: sections.{key} must be true or false")

    labels_in = _table(data, "labels", where, "")
    _known(labels_in, set(LANGS), where, "labels.")
    labels: dict[str, dict[str, str]] = {}
    for lng, table in labels_in.items():
        if not isinstance(table, dict):
            raise ConfigError(f'{where}: [labels.{lng}] must be a table of label = "text"')
        for key, value in table.items():
            if not isinstance(value, str):
                raise ConfigError(f"{where}: labels.{lng}.{key} must be a string")
            _check_placeholders(value, where, f"labels.{lng}.{key}")
        labels[lng] = dict(table)
    claim = _claim(_table(data, "claim", where, ""), where, kind)
    seal_in = _table(data, "seal", where, "")
    _known(seal_in, {"boxes"}, where, "seal.")
    seal = seal_in.get("boxes", list(SEAL_BOXES) if kind == "grant" else [])
    if not isinstance(seal, list) or not all(isinstance(n, str) and n for n in seal):
        raise ConfigError(f'{where}: seal.boxes must be a list of names, e.g. ["unit_seal", "finance_head"]')
    return Template(
        name="",
        source=where,
        kind=kind,
        number_prefix=prefix,
        title=title,
        letterhead=letterhead,
        logo=logo,
        sections=sections_in,
        labels=labels,
        claim=claim,
        seal=tuple(seal),
    )


def _claim(table: dict[str, Any], where: str, kind: str) -> Claim:
    """``[claim]``: which header fields, their values, which signature rows (a grant's add 项目负责人)."""
    _known(table, {"fields", "signatures", "values"}, where, "claim.")
    names = table.get("fields", list(CLAIM_FIELDS))
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"{where}: claim.fields must be a list of field names ({', '.join(CLAIM_FIELDS)})")
    for name in names:
        if name not in CLAIM_FIELDS:
            raise ConfigError(
                f"{where}: claim.fields: unknown field {name!r} (known: {', '.join(CLAIM_FIELDS)})"
            )
    default = [*CLAIM_SIGNATURES, "project_lead"] if kind == "grant" else list(CLAIM_SIGNATURES)
    signatures = table.get("signatures", default)
    if not isinstance(signatures, list) or not all(isinstance(n, str) and n for n in signatures):
        raise ConfigError(f'{where}: claim.signatures must be a list of names, e.g. ["handler", "approver"]')
    values_in = _table(table, "values", where, "claim.")
    _known(values_in, set(CLAIM_FIELDS), where, "claim.values.")
    values = {}
    for name, value in values_in.items():
        values[name] = _localized(value, where, f"claim.values.{name}")
        for lng, text in values[name].items():
            _check_placeholders(text, where, f"claim.values.{name}.{lng}", CLAIM_PLACEHOLDERS)
    return Claim(tuple(names), values, tuple(signatures))


def _check_signatures(claim: Claim, labels: Mapping[str, Mapping[str, str]], where: str) -> Claim:
    """Every signature row needs its ``sign_NAME`` label (shipped, or added under [labels])."""
    for name in claim.signatures:
        if not any(f"sign_{name}" in table for table in labels.values()):
            raise ConfigError(
                f'{where}: claim.signatures: {name!r} has no label; add sign_{name} = "..." under '
                "[labels.zh] and [labels.en]"
            )
    return claim


def _check_seal(
    boxes: tuple[str, ...], labels: Mapping[str, Mapping[str, str]], where: str
) -> tuple[str, ...]:
    """Every seal box needs its ``seal_NAME`` label (shipped, or added under [labels])."""
    for name in boxes:
        if not any(f"seal_{name}" in table for table in labels.values()):
            raise ConfigError(
                f'{where}: seal.boxes: {name!r} has no label; add seal_{name} = "..." under [labels.zh] and [labels.en]'
            )
    return boxes


def _check_placeholders(text: str, where: str, key: str, known: tuple[str, ...] = PLACEHOLDERS) -> None:
    try:
        parsed = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        raise ConfigError(
            f"{where}: {key} has a stray brace ({exc}); write {{{{ or }}}} for a literal one"
        ) from None
    for name, spec, conversion in parsed:
        if spec or conversion:  # {name:>999999} or {name!r}: only plain {name} is filled in
            raise ConfigError(f"{where}: {key}: write {{{name}}} without a format or conversion")
    for name, _, _ in parsed:
        if name not in known:
            raise ConfigError(
                f"{where}: {key} uses {{{name}}}, which reportgen does not fill in "
                f"(known: {', '.join('{' + p + '}' for p in known)})"
            )


def _localized(value: Any, where: str, key: str) -> dict[str, str]:
    if isinstance(value, str):
        return {lng: value for lng in LANGS} if value else {}
    if isinstance(value, dict):
        _known(value, set(LANGS), where, f"{key}.")
        if not all(isinstance(v, str) for v in value.values()):
            raise ConfigError(f"{where}: {key}.zh and {key}.en must be strings")
        return {k: v for k, v in value.items() if v}
    raise ConfigError(f'{where}: {key} must be a string or {{ zh = "...", en = "..." }}')


def _table(data: dict[str, Any], name: str, where: str, prefix: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{prefix}{name}] must be a table")
    return value


def _known(table: dict[str, Any], known: set[str], where: str, prefix: str) -> None:
    for key in table:
        if key not in known:
            raise ConfigError(f"{where}: unknown setting {prefix}{key} (known: {', '.join(sorted(known))})")
