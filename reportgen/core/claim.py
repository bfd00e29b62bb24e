"""Who claims and how a claim is paid (报销单 details), and the invoices (发票) that back it.

Pure data, filled in by the application from ``[claim]`` and ``[attachments]`` in
``reportgen.toml`` (and ``--attach``) for one document's scope; the claim form prints it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["CLAIM_DETAILS", "ClaimInfo", "Invoice", "Settlement", "settle"]

#: The text details of a claim ``[claim]`` may set (team-wide, per member or per project).
CLAIM_DETAILS = ("department", "claimant", "budget_subject", "payment_method", "payee", "account")


@dataclass(frozen=True, slots=True)
class Invoice:
    """An original voucher (原始凭证) attached to a claim: its 发票号码, its amount in CNY when
    known, and the file's name in the packet."""

    number: str
    amount: Decimal | None
    file: str


@dataclass(frozen=True, slots=True)
class ClaimInfo:
    """The details of one claim: the texts of :data:`CLAIM_DETAILS`, the project code when the
    charging is unambiguous, an advance (原借款) to settle, and the invoices attached."""

    department: str = ""
    claimant: str = ""
    budget_subject: str = ""
    payment_method: str = ""
    payee: str = ""
    account: str = ""
    project_code: str = ""
    advance: Decimal | None = None
    invoices: tuple[Invoice, ...] = ()

    def text(self, name: str) -> str:
        """One of :data:`CLAIM_DETAILS` (or ``project_code``) by name."""
        value = getattr(self, name)
        return value if isinstance(value, str) else ""

    @property
    def invoiced(self) -> Decimal | None:
        """The invoices' total in CNY; None when there are none or one has no amount."""
        amounts = [i.amount for i in self.invoices]
        if not amounts or any(a is None for a in amounts):
            return None
        return sum((a for a in amounts if a is not None), Decimal(0))


@dataclass(frozen=True, slots=True)
class Settlement:
    """An advance settled by a claim: 原借款, 应退 (the claimant returns) and 应补 (finance pays)."""

    advance: Decimal
    refund: Decimal
    pay: Decimal


def settle(advance: Decimal, claimed: Decimal) -> Settlement:
    """The advance against the claimed amount (both in CNY, printed cents)."""
    return Settlement(advance, max(advance - claimed, Decimal(0)), max(claimed - advance, Decimal(0)))
