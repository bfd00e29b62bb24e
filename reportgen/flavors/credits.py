"""How new-api and one-api word a credit row (log types 1 top-up, 3 admin, 4 system).

Credits carry their amount only in the row's text (quota 0 on the row), so the wallet
bridge reads it from there: :data:`NEW_API` and :data:`ONE_API` are the built-in flavours'
``Flavor.parse_credit``.  Each knows its gateway's forms, as their code writes them:

- ``logger.LogQuota`` (most texts): ``＄%.6f 额度`` with USD display, ``¥%.6f 额度`` with CNY
  display (USD × the gateway's ``usd_exchange_rate``: read back at the display rate of the
  row's time, which the bridge states), ``%d 点额度`` with points (quota) display; a custom
  currency symbol cannot be read back (its rate is not published);
- ``logger.FormatQuota`` (Stripe, Waffo, Paddle, 补单): the same without `` 额度``, a bare
  integer for points;
- a raw quota integer: Creem's ``充值额度: %v`` and a subscription bought with the balance
  (``扣除额度: %d``, taken from the wallet).

A subscription bought by card (``订阅购买成功``) or through a code, and a system notice with
no amount, move no wallet quota (:data:`~reportgen.core.wallet.NO_WALLET`).  A row whose
amount cannot be read is None, never guessed and never zero: the bridge lists it.  Amounts
are bounded in digits and magnitude and the text is scanned once (linear time).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ..core.records import LogType
from ..core.wallet import NO_WALLET, Credit, CreditRow

#: A credit text longer than this is not one a gateway wrote: unreadable.
MAX_TEXT = 2000
#: Digits an amount may have before and after its decimal point.
MAX_INT_DIGITS = 18
MAX_FRACTION_DIGITS = 9
#: The largest quota one credit row may move (the sync's bound on any amount, 2^48).
MAX_QUOTA = 2**48

# One pass over the text: each match starts at a digit and ends where the digits do, and the
# scan resumes after it, so no position is tried twice.
_NUMBER = re.compile(r"[0-9][0-9,]*(?:\.[0-9]+)?")
_USD = frozenset("＄$")
_CNY = frozenset("¥￥")
_SYMBOLS = _USD | _CNY
_NEGATIVE = ("减少", "扣除", "扣减", "deduct", "decrease", "subtract", "reduce")


@dataclass(frozen=True, slots=True)
class Amount:
    """One number in a credit text, with what surrounds it: ``unit`` is ``usd``, ``cny``,
    ``points`` (``N 点额度``), ``custom`` (another symbol before ``额度``: unreadable) or
    ``bare``; ``value`` is None when it has too many digits."""

    start: int
    end: int
    value: Decimal | None
    unit: str


def amounts(text: str) -> list[Amount]:
    """Every number of ``text`` with its unit, in order."""
    found = []
    for match in _NUMBER.finditer(text):
        start, end = match.span()
        digits = match.group().replace(",", "")
        whole, _, fraction = digits.partition(".")
        value = None
        if len(whole) <= MAX_INT_DIGITS and len(fraction) <= MAX_FRACTION_DIGITS:
            value = Decimal(digits)
        if (
            start >= 2 and text[start - 1] == "-" and text[start - 2] in _SYMBOLS
        ):  # ＄-0.5: a negative balance
            start -= 1
            value = None if value is None else -value
        before = text[start - 1] if start else ""
        after = text[end : end + 4].lstrip(" ")
        if before in _USD:
            unit = "usd"
        elif before in _CNY:
            unit = "cny"
        elif after.startswith("点"):
            unit = "points"
        elif after.startswith("额度") and before not in ("", " ", ":", "：") and not before.isalnum():
            unit = "custom"
        else:
            unit = "bare"
        found.append(Amount(start, end, value, unit))
    return found


def _quota(amount: Amount | None, row: CreditRow, qpu: Decimal, *, bare: bool) -> Credit | None:
    """``amount`` in quota (a ``Credit`` of kind ``""`` carrying the unit and rate), or None.

    ``bare``: a number without a unit is quota (FormatQuota's points display, Creem's raw quota)."""
    if amount is None or amount.value is None:
        return None
    rate = None
    if amount.unit == "usd":
        value = amount.value * qpu
    elif amount.unit == "cny":
        rate = row.cny_per_usd
        if rate is None or rate <= 0:
            return None
        value = amount.value / rate * qpu
    elif amount.unit == "points" or (bare and amount.unit == "bare"):
        value = amount.value
    else:
        return None
    if abs(value) > MAX_QUOTA:
        return None
    quota = int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return Credit("", quota, "quota" if amount.unit == "bare" else amount.unit, rate)


def _after(text: str, label: str, found: Sequence[Amount]) -> Amount | None:
    """The number right after ``label`` (a colon and spaces between allowed), or None."""
    at = text.find(label)
    if at < 0:
        return None
    at += len(label)
    while at < len(text) and text[at] in " :：":
        at += 1
    for amount in found:
        if amount.start >= at:
            return amount if amount.start - at <= 1 else None  # a symbol may come first
    return None


def _paid(text: str, found: Sequence[Amount]) -> str | None:
    amount = _after(text, "支付金额", found)
    return None if amount is None else text[amount.start : amount.end]


def _kind(row: CreditRow, text: str) -> str:
    if row.type == LogType.TOPUP:
        return "redemption" if "兑换码" in text or "Redemption" in text else "topup"
    return "admin" if row.type == LogType.MANAGE else "system"


def _signed(credit: Credit | None, kind: str, sign: int = 1, paid: str | None = None) -> Credit | None:
    if credit is None:
        return None
    return Credit(kind, sign * credit.quota, credit.unit, credit.cny_per_usd, paid)


#: A form: (its marker in the text, how it reads); the first form whose marker the text holds reads it.
Form = tuple[str, Callable[[CreditRow, str, list[Amount], Decimal], Credit | None]]


def _change(row: CreditRow, text: str, found: list[Amount], qpu: Decimal) -> Credit | None:
    """``从 A …为 B``: the balance set from A to B, the difference counts."""
    units = [a for a in found if a.unit != "bare"]
    if len(units) != 2:
        return None
    old, new = _quota(units[0], row, qpu, bare=False), _quota(units[1], row, qpu, bare=False)
    if old is None or new is None:
        return None
    rate = new.cny_per_usd or old.cny_per_usd
    return Credit(
        "admin" if row.type == LogType.MANAGE else _kind(row, text), new.quota - old.quota, new.unit, rate
    )


def _one(label: str, sign: int = 1) -> Callable[[CreditRow, str, list[Amount], Decimal], Credit | None]:
    """The amount right after ``label`` (LogQuota or FormatQuota: a bare number is points)."""

    def read(row: CreditRow, text: str, found: list[Amount], qpu: Decimal) -> Credit | None:
        amount = _after(text, label, found)
        if any(a.unit != "bare" and a is not amount for a in found):
            return None  # a second amount with a unit: not the form as the gateway writes it
        credit = _quota(amount, row, qpu, bare=True)
        return _signed(credit, _kind(row, text), sign, _paid(text, found))

    return read


def _no_wallet(row: CreditRow, text: str, found: list[Amount], qpu: Decimal) -> Credit | None:
    return Credit(NO_WALLET, 0, "quota", None, _paid(text, found))


def _balance_purchase(row: CreditRow, text: str, found: list[Amount], qpu: Decimal) -> Credit | None:
    """``使用余额购买订阅成功，套餐: P，支付金额: M，扣除额度: N``: N quota taken from the wallet."""
    return _signed(_quota(_after(text, "扣除额度", found), row, qpu, bare=True), "subscription", -1)


def _generic(row: CreditRow, text: str, found: list[Amount], qpu: Decimal) -> Credit | None:
    """A text no form names: its one amount with a unit (``新用户注册赠送 ＄1 额度``, a check-in's
    ``用户签到，获得额度 ＄0.5 额度``), negative when it says so; a system row with none moves nothing."""
    units = [a for a in found if a.unit != "bare"]
    if not units:  # a notice (2FA, a binding cleared) unless it speaks of quota or is a top-up
        quota_words = row.type == LogType.TOPUP or "额度" in text or "quota" in text.lower()
        return None if quota_words else Credit(NO_WALLET, 0, "quota")
    if len(units) != 1:
        return None
    sign = -1 if any(word in text for word in _NEGATIVE) else 1
    return _signed(_quota(units[0], row, qpu, bare=False), _kind(row, text), sign)


#: new-api's forms (2026-04-09 and later, and before: the legacy change and the old top-up texts).
NEW_API_FORMS: tuple[Form, ...] = (
    ("管理员增加用户额度", _one("管理员增加用户额度")),
    ("管理员减少用户额度", _one("管理员减少用户额度", -1)),
    ("管理员覆盖用户额度从", _change),
    ("修改为", _change),  # 管理员将用户额度从 A修改为 B (one-api, new-api before 2026-04-09)
    ("使用余额购买订阅成功", _balance_purchase),
    ("订阅购买成功", _no_wallet),  # bought by card: a payment, no wallet credit
    ("开通订阅", _no_wallet),  # a subscription through a redemption code
    ("订阅套餐", _no_wallet),
    ("通过兑换码充值", _one("通过兑换码充值")),
    ("Redemption code top-up", _one("Redemption code top-up")),
    ("使用Creem充值成功", _one("充值额度")),  # Creem: the raw quota
    ("充值金额", _one("充值金额")),  # epay (LogQuota), Stripe and 补单 (FormatQuota)
    ("充值额度", _one("充值额度")),  # Waffo, Paddle (FormatQuota)
)
#: one-api's forms: the change of a balance and the redemption code (without its id).
ONE_API_FORMS: tuple[Form, ...] = (
    ("修改为", _change),
    ("通过兑换码充值", _one("通过兑换码充值")),
)


def credit_parser(forms: Sequence[Form]) -> Callable[[CreditRow, Decimal], Credit | None]:
    """A flavour's ``parse_credit`` reading ``forms``, then a lone amount with a unit."""

    def parse(row: CreditRow, quota_per_unit: Decimal) -> Credit | None:
        if row.quota:  # a gateway that puts the amount on the row
            sign = -1 if any(word in row.content[:MAX_TEXT] for word in _NEGATIVE) else 1
            return Credit(_kind(row, row.content[:MAX_TEXT]), sign * row.quota, "quota")
        text = row.content
        if len(text) > MAX_TEXT:
            return None
        found = amounts(text)
        for marker, read in forms:
            if marker in text:
                return read(row, text, found, quota_per_unit)
        return _generic(row, text, found, quota_per_unit)

    return parse


NEW_API = credit_parser(NEW_API_FORMS)
ONE_API = credit_parser(ONE_API_FORMS)


def credit_amount(row: CreditRow, quota_per_unit: Decimal) -> int | None:
    """The quota a credit row added to the wallet under new-api's forms (None: unreadable, 0: none)."""
    credit = NEW_API(row, quota_per_unit)
    return None if credit is None else credit.quota
