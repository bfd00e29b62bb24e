"""A claim's details for one document: ``[claim]`` for its scope, the project code when the charging
is unambiguous, and the invoices (``[[attachments.invoices]]`` and ``--attach``) it holds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..config import Config
from ..config.claims import ATTACHMENT_SUFFIXES
from ..core.budget import HUNDRED
from ..core.claim import CLAIM_DETAILS, ClaimInfo, Invoice
from ..core.periods import Period
from ..errors import UsageError
from ..read import Scope

__all__ = ["INVOICE_FOLDER", "claim_info", "project_code_of"]

#: Where a packet holds the invoices attached to its claim.
INVOICE_FOLDER = "invoices/"


def project_code_of(config: Config, member: str, period: Period) -> str:
    """The code of the one project ``member``'s keys are charged to in full on every day of
    ``period`` ("" when none, several, or only a share: then finance fills it in)."""
    keys = config.members.get(member, (member,))
    first, last = period.start.date(), (period.end - timedelta(seconds=1)).date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    charged = []
    for project in config.projects:
        shares = [project.share(key, member, day) for key in keys for day in days]
        if any(shares):
            charged.append((project, all(share == HUNDRED for share in shares)))
    if len(charged) == 1 and charged[0][1]:
        return charged[0][0].code
    return ""


def claim_info(
    config: Config, scope: Scope, period: Period, attach: Sequence[Path] = ()
) -> tuple[ClaimInfo, tuple[tuple[str, Path], ...]]:
    """The claim's details for ``scope`` and the invoice files to put into its packet
    (``(name in the packet, file)``): the configured invoices of the period and scope, then
    ``attach`` (listed by file name, no amount)."""
    details: dict[str, Any] = dict(config.claim.team)
    if scope.kind == "member" and scope.name is not None:
        details.pop("claimant", None)  # a member's claim is the member's
        details.pop("payee", None)
        details.update(config.claim.members.get(scope.name, {}))
        details.setdefault("claimant", scope.name)
    elif scope.kind == "project" and scope.name is not None:
        details.update(config.claim.projects.get(scope.name, {}))
    texts = {name: details.get(name, "") for name in CLAIM_DETAILS}
    code = ""
    if scope.kind == "member" and scope.name is not None:
        code = project_code_of(config, scope.name, period)
    wanted = "team" if scope.name is None else f"{scope.kind}:{scope.name}"
    chosen: list[tuple[str, Any, Path]] = [
        (i.number, i.amount, i.path)
        for i in config.invoices
        if i.period == period.label and i.claim == wanted
    ]
    chosen += [("", None, Path(p)) for p in attach]
    invoices, files = [], []
    for n, (number, amount, path) in enumerate(chosen, 1):
        if not path.is_file():
            raise UsageError(f"{path}: no such invoice file to attach")
        if path.suffix.lower() not in ATTACHMENT_SUFFIXES:
            raise UsageError(f"{path}: an attached invoice must be one of {', '.join(ATTACHMENT_SUFFIXES)}")
        name = f"{INVOICE_FOLDER}{n:02d}-{path.name}"
        invoices.append(Invoice(number or path.name, amount, name))
        files.append((name, path))
    info = ClaimInfo(**texts, project_code=code, advance=details.get("advance"), invoices=tuple(invoices))
    return info, tuple(files)
