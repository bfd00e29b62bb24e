"""An amount in Chinese capitals (大写金额), as a Chinese finance office requires it on a claim.

The rules are those of 《会计基础工作规范》 art. 52 and the People's Bank of China's rules
for filling in bills and settlement vouchers (《支付结算办法》 annex):

- only 零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整; "人民币" directly before the first digit;
- 拾 always has a digit before it (10 is 壹拾, 100,000 is 壹拾万);
- a zero, or a run of zeros, between digits is written as one 零 (1409.50: 壹仟肆佰零玖元伍角;
  6007.14: 陆仟零柒元壹角肆分); zeros that end a 万 or 亿 group are silent (1,010,000,000:
  壹拾亿壹仟万);
- when 角 is 0 and 分 is not, 零 follows 元 (325.04: 叁佰贰拾伍元零肆分); when the 元 digit is
  0 and 角 is not, the rules allow 零 or nothing, and we always write it (206000.75:
  贰拾万陆仟元零柒角伍分, the form in the PBoC's own example);
- 整 follows 元 or 角 when the amount ends there (100.00: 壹佰元整; 1409.50: 壹仟肆佰零玖元伍角整;
  art. 52 (三): "大写金额数字到元或者角为止的，在'元'或者'角'字之后应当写'整'（或'正'）字");
  it never follows 分;
- an amount under one yuan has no 元 and no leading 零 (0.05: 伍分; 0.50: 伍角整); nothing at
  all is 零元整.

Negative amounts have no capital form on a bill and are refused, as are amounts that
are not whole cents (round with :func:`reportgen.core.money.cents` first).
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["MAX_AMOUNT", "rmb_capitals"]

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")  # within a group of four digits
_YI = 10**8
#: The largest amount written (just under 10,000 万亿 = 10^16 yuan).
MAX_AMOUNT = Decimal("9999999999999999.99")


def rmb_capitals(amount: Decimal, *, prefix: str = "人民币") -> str:
    """``amount`` yuan in capitals, e.g. ``Decimal("1409.50")`` → ``人民币壹仟肆佰零玖元伍角整``.

    Raises ``ValueError`` for a negative amount, one that is not whole cents, or one
    above :data:`MAX_AMOUNT`.
    """
    if not amount.is_finite():
        raise ValueError(f"{amount} is not an amount")
    if amount < 0:
        raise ValueError(f"{amount} is negative: a negative amount has no capital form")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"{amount} is not whole cents: round it half-up to the cent first")
    if amount > MAX_AMOUNT:
        raise ValueError(f"{amount} is too large to write in capitals (at most {MAX_AMOUNT})")
    cents = int(amount * 100)
    yuan, rest = divmod(cents, 100)
    jiao, fen = divmod(rest, 10)
    if cents == 0:
        return f"{prefix}零元整"
    out = []
    if yuan:
        out.append(_integer(yuan) + "元")
        if (jiao == 0 and fen) or (yuan % 10 == 0 and jiao):
            out.append("零")
    if jiao:
        out.append(_DIGITS[jiao] + "角")
    if fen:
        out.append(_DIGITS[fen] + "分")
    else:  # the amount ends at 元 or 角: 整 after it (art. 52 (三))
        out.append("整")
    return prefix + "".join(out)


def _integer(value: int) -> str:
    """A positive whole number in capitals with its units (壹拾万零壹佰), without 元.

    Above 亿 the count of 亿 is itself a number read with 万 (壹万零壹亿 = 10,001 × 10^8).
    """
    if value >= _YI:
        high, low = divmod(value, _YI)
        text = _integer(high) + "亿"
        if low:
            text += ("零" if low < _YI // 10 else "") + _below_yi(low)
        return text
    return _below_yi(value)


def _below_yi(value: int) -> str:
    """1 ≤ value < 10^8 in capitals: up to two groups of four digits, 万 between them."""
    digits = str(value)
    out: list[str] = []
    zero = False  # a run of zeros waits for the next non-zero digit to become one 零
    for i, ch in enumerate(digits):
        position = len(digits) - 1 - i  # power of ten
        d = int(ch)
        if d:
            if zero:
                out.append("零")
                zero = False
            out.append(_DIGITS[d] + _SMALL_UNITS[position % 4])
        elif out:
            zero = True
        if position == 4:
            out.append("万")  # value ≥ 10^4 here, so the 万 group has a digit
            zero = False  # zeros ending the 万 group are read in it (壹拾万壹仟)
    return "".join(out)
