"""``[claim]`` (who claims, how it is paid) and ``[attachments]`` (the invoices, 发票, a claim holds).

```toml
[claim]                       # the team claim's details, the default of every claim
department = "计算中心"
claimant = "王五"             # a team claim needs a named claimant; a member's is the member
budget_subject = "业务费"     # 预算科目 / 经济分类科目
payment_method = "公务卡"
payee = "王五"
account = "6222 0000 0000 0000"
advance = "0.00"              # 原借款 (optional): the claim prints 应退 / 应补 against it
[claim.members."张三"]        # per member or [claim.projects.NAME]: the same keys
payee = "张三"

[[attachments.invoices]]
file = "invoices/2026-04.pdf" # relative to reportgen.toml; PDF, OFD, XML or an image
number = "26112000000000012345"   # 发票号码
amount = "365.00"             # CNY (optional)
period = "2026-04"            # the claim's period
claim = "team"                # team (default), "member:NAME" or "project:NAME"
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..core.claim import CLAIM_DETAILS
from ..errors import ConfigError
from .values import reject_unknown, table_at

__all__ = ["ATTACHMENT_SUFFIXES", "ClaimConfig", "ConfiguredInvoice", "parse_attachments", "parse_claim"]

#: What an attached original voucher may be: PDF, OFD (China's e-invoice format), XML, images.
ATTACHMENT_SUFFIXES = (".pdf", ".ofd", ".xml", ".png", ".jpg", ".jpeg")
_KEYS = {*CLAIM_DETAILS, "advance"}


@dataclass(frozen=True)
class ClaimConfig:
    """``[claim]``: the team's details, and each member's and project's own (keys they set)."""

    team: dict[str, Any] = field(default_factory=dict)
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class ConfiguredInvoice:
    """One ``[[attachments.invoices]]`` entry."""

    path: Path
    number: str
    amount: Decimal | None
    period: str
    claim: str  # "team", "member:NAME" or "project:NAME"


def amount_text(value: Any, where: str, key: str) -> Decimal:
    """A CNY amount given as a string ("365.00"): whole cents, not negative."""
    try:
        amount = Decimal(value.strip()) if isinstance(value, str) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise ConfigError(
            f'{where}: {key} must be an amount in CNY as a string of whole cents, e.g. "365.00"'
        )
    return amount


def _details(table: Any, where: str, prefix: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [{prefix.rstrip('.')}] must be a table")
    reject_unknown(table, _KEYS, where, prefix)
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key == "advance":
            out[key] = amount_text(value, where, prefix + key)
        elif not isinstance(value, str):
            raise ConfigError(f"{where}: {prefix}{key} must be a string")
        else:
            out[key] = value
    return out


def parse_claim(data: dict[str, Any], where: str) -> ClaimConfig:
    table = table_at(data, "claim", where)
    own = {k: v for k, v in table.items() if k not in ("members", "projects")}
    groups = {}
    for group in ("members", "projects"):
        value = table.get(group, {})
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: [claim.{group}] must be a table of names")
        groups[group] = {name: _details(v, where, f'claim.{group}."{name}".') for name, v in value.items()}
    return ClaimConfig(_details(own, where, "claim."), groups["members"], groups["projects"])


def parse_attachments(data: dict[str, Any], where: str, base: Path) -> tuple[ConfiguredInvoice, ...]:
    table = table_at(data, "attachments", where)
    reject_unknown(table, {"invoices"}, where, "attachments.")
    entries = table.get("invoices", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: attachments.invoices must be a list of [[attachments.invoices]] tables")
    out = []
    for i, entry in enumerate(entries, 1):
        key = f"attachments.invoices[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: {key} must be a table")
        reject_unknown(entry, {"file", "number", "amount", "period", "claim"}, where, f"{key}.")
        for name in ("file", "number", "period"):
            if not isinstance(entry.get(name), str) or not entry[name].strip():
                raise ConfigError(f"{where}: {key}.{name} is required (a string)")
        path = Path(entry["file"]).expanduser()
        path = path if path.is_absolute() else base / path
        if path.suffix.lower() not in ATTACHMENT_SUFFIXES:
            raise ConfigError(f"{where}: {key}.file must be one of {', '.join(ATTACHMENT_SUFFIXES)}")
        claim = entry.get("claim", "team")
        kind, _, name = claim.partition(":") if isinstance(claim, str) else ("", "", "")
        if not (claim == "team" or (kind in ("member", "project") and name)):
            raise ConfigError(f'{where}: {key}.claim must be "team", "member:NAME" or "project:NAME"')
        amount = None if "amount" not in entry else amount_text(entry["amount"], where, f"{key}.amount")
        out.append(ConfiguredInvoice(path, entry["number"].strip(), amount, entry["period"].strip(), claim))
    return tuple(out)
