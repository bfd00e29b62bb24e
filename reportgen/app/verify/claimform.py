"""Does a packet's claim form (报销单) claim what its rows give: the box and 附件1, figure by figure.

From the text of every page, in the wording of the packet's template (or the shipped zh/en):
each page's footer names the manifest's statement number and rows fingerprint; the box's
原币金额 is the rows' USD on a claim base (all net spend, or the wallet-paid part), its rate the
manifest's, 折合人民币 that USD at that rate rounded once, the 折算差额 what the printed figures
leave, 金额（小写） the converted amount and 金额（大写） the same amount in capitals; 附件1's lines
(a team's members, a member's keys) are each the rows' amount on the same base in USD and CNY,
a team's keys of no member the 未分配 line, and they foot (with the rounding line) to the
totals, which are the box's.  A project's claim is charged by rules the rows do not carry
(shares, budget categories): its figures are checked against one another, not the rows.
A difference names the page and the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ...core.capitals import rmb_capitals
from ...core.money import cents, printed_rate
from .figures import Derived, wordings
from .reading import one_line
from .statement import Page, decimal_of, footers, labels_of, money_of

_LEADING = re.compile(r"^[¥￥$]?\s*(-?\d[\d,]*(?:\.\d+)?)")
_MONEY_WORD = re.compile(r"^-?\d{1,3}(?:,\d{3})*\.\d{2}$")


def check_claim(pages: list[str], manifest: dict[str, Any], derived: Derived) -> list[str]:
    """What the claim form in ``pages`` states that its packet's rows and manifest do not give."""
    doc = [Page(n, text) for n, text in enumerate(pages, 1)]
    found = footers(doc, manifest)
    if found:
        return found
    box = _Box.read(doc, manifest)
    if box.usd is None and box.amount is None:
        return ["no 原币金额 / 金额 line found: not a claim form this reportgen can read"]
    found, base = _check_box(box, manifest, derived)
    return found + _check_detail(doc, box, manifest, derived, base)


# -- the box ----------------------------------------------------------------------------------


@dataclass
class _Value:
    page: Page
    line: int
    text: str

    def where(self) -> str:
        return f"page {self.page.number}, line {self.line}"


def value_after(doc: list[Page], labels: Iterable[str]) -> _Value | None:
    """The first line after the first line worded as one of ``labels`` (a label wrapped over lines too)."""
    patterns = [
        re.compile(r"(?m)^" + r"\s+".join(map(re.escape, label.split())) + r"\n(.*)$")
        for label in labels
        if label.split()
    ]
    for page in doc:
        text = "\n".join(page.lines)
        matches = [m for m in (p.search(text) for p in patterns) if m is not None]
        if matches:
            first = min(matches, key=lambda m: m.start())
            return _Value(page, text.count("\n", 0, first.start(1)) + 1, first.group(1))
    return None


@dataclass
class _Box:
    usd: _Value | None
    rate: _Value | None
    converted: _Value | None
    difference: _Value | None
    amount: _Value | None
    words: _Value | None
    none: list[str] = field(default_factory=list)  # the wordings of "no difference"

    @classmethod
    def read(cls, doc: list[Page], manifest: dict[str, Any]) -> _Box:
        def find(key: str) -> _Value | None:
            return value_after(doc, labels_of(manifest, key))

        return cls(
            find("claim_original"),
            find("claim_rate"),
            find("claim_converted"),
            find("claim_difference"),
            find("claim_amount_figures"),
            find("claim_amount_words"),
            labels_of(manifest, "claim_no_difference"),
        )


def _leading(value: _Value | None) -> Decimal | None:
    match = None if value is None else _LEADING.match(value.text.strip())
    return None if match is None else decimal_of(match.group(1))


def _bases(manifest: dict[str, Any], derived: Derived) -> dict[str, Decimal]:
    """The USD a claim of the whole packet is for, on each base: all net spend, or the wallet-paid part."""
    qpu = Decimal(manifest["source"]["quota_per_unit"])
    total = Decimal(manifest["totals"]["cost_usd"])
    return {"all": total, "wallet": total - Decimal(sum(derived.subscription_by_key.values())) / qpu}


def _check_box(box: _Box, manifest: dict[str, Any], derived: Derived) -> tuple[list[str], str | None]:
    """The box's differences, and the claim base (``all`` or ``wallet``) when the rows give it."""
    rate_text = manifest["source"]["cny_per_usd"]
    amount = None if box.amount is None else money_of(box.amount.text)
    found: list[str] = []
    claim_base: str | None = None
    if rate_text is not None and not manifest["source"]["per_source"] and box.usd is not None:
        rate = Decimal(rate_text)
        usd = _leading(box.usd)
        printed = _leading(box.rate)
        if box.rate is not None and printed not in (rate, printed_rate(rate)):
            found.append(
                f"{box.rate.where()}: the rate {one_line(box.rate.text, 40)!r} is not the manifest's {rate}"
            )
        expected: Decimal | None = None
        if manifest["charged"] is None:
            bases = _bases(manifest, derived)
            base = next((name for name, value in bases.items() if cents(value) == usd), None)
            if base is None:
                found.append(
                    f"{box.usd.where()}: the original amount {one_line(box.usd.text, 40)!r} is not the rows' USD "
                    f"({cents(bases['all'])} in all, {cents(bases['wallet'])} paid from the wallet)"
                )
            else:
                expected = cents(bases[base] * rate)
                claim_base = base
        converted = None if box.converted is None else money_of(box.converted.text)
        if expected is None:  # a project's charged amount: the printed figures must agree with one another
            expected = converted
        elif box.converted is not None and converted != expected:
            found.append(
                f"{box.converted.where()}: converted {one_line(box.converted.text, 40)!r} is not the rows' CNY "
                f"{expected} (the USD at {rate}, rounded once)"
            )
        if box.difference is not None and usd is not None and expected is not None:
            text = box.difference.text.strip()
            difference = Decimal(0) if text in box.none else money_of(text)
            want = expected - cents(usd * printed_rate(rate))
            if difference != want:
                found.append(
                    f"{box.difference.where()}: the conversion difference {one_line(text, 40)!r} is not {want} "
                    "(the converted amount less the printed USD times the printed rate)"
                )
        if box.amount is not None and expected is not None and amount != expected:
            found.append(
                f"{box.amount.where()}: the amount {one_line(box.amount.text, 40)!r} is not the rows' CNY {expected}"
            )
    words = None if box.words is None else box.words.text.strip()
    if box.words is not None and amount is not None and amount >= 0 and words != rmb_capitals(amount):
        found.append(
            f"{box.words.where()}: the amount in words {one_line(box.words.text, 60)!r} is not "
            f"{rmb_capitals(amount)} (the amount in figures)"
        )
    return found, claim_base


# -- 附件1 --------------------------------------------------------------------------------------


@dataclass
class _Line:
    name: str
    page: Page
    figures: list[Decimal] = field(default_factory=list)

    def where(self) -> str:
        return f"page {self.page.number}: the line {one_line(self.name, 60)!r}"


def _squash(text: str) -> str:
    return "".join(text.split())


def _table(doc: list[Page], manifest: dict[str, Any]) -> tuple[list[_Line], _Line | None]:
    """附件1's lines (name, USD, CNY) and its total line, read across pages (header repeated)."""
    heads = {_squash(w(k)) for w in wordings(manifest) for k in ("claim_detail_name", "claim_detail_usd",
                                                                   "claim_detail_cny")}  # fmt: skip
    first = {_squash(w("claim_detail_name")) for w in wordings(manifest)}
    totals = {_squash(w("claim_detail_total")) for w in wordings(manifest)}
    fingerprint = manifest["rows"]["fingerprint"]
    lines: list[_Line] = []
    total: _Line | None = None
    started = False
    for page in doc:
        for text in page.lines:
            if fingerprint in text:
                break  # the footer: the page number follows it
            words = text.split(" ")
            money: list[Decimal] = []
            while words and _MONEY_WORD.match(words[-1]):
                money.insert(0, Decimal(words.pop().replace(",", "")))
            name = " ".join(words)
            if not started:
                started = _squash(name) in first
                continue
            if total is not None:
                if name:
                    return lines, total
                total.figures += money
                continue
            if _squash(name) in heads and not money:
                continue
            if name and _squash(name) in totals:
                total = _Line(name, page, money)
            elif name and (not lines or lines[-1].figures):
                lines.append(_Line(name, page, money))
            elif lines:
                if name:
                    lines[-1].name += name if not name.isascii() else " " + name
                lines[-1].figures += money
    return lines, total


def _check_detail(
    doc: list[Page],
    box: _Box,
    manifest: dict[str, Any],
    derived: Derived,
    base: str | None,
) -> list[str]:
    lines, total = _table(doc, manifest)
    if total is None:
        return ["no total line of 附件1 found: its lines cannot be checked"] if lines else []
    rounding = {_squash(w("rounding")) for w in wordings(manifest)}
    for line in [*lines, total]:
        if not 1 <= len(line.figures) <= 2:
            return [f"{line.where()} does not give a USD (and CNY) amount"]
    if base is not None:  # each line first: a changed line is named, not only the footing it breaks
        found = _check_lines([x for x in lines if _squash(x.name) not in rounding], manifest, derived, base)
        if found:
            return found
    for i, what in ((0, "USD"), (1, "CNY")):
        if any(len(line.figures) <= i for line in [*lines, total]):
            continue
        added = sum((line.figures[i] for line in lines), Decimal(0))
        if added != total.figures[i]:
            return [
                f"{total.where()}: its {what} {total.figures[i]} is not its lines' {added} (rounding line included)"
            ]
    usd = _leading(box.usd)
    amount = None if box.amount is None else money_of(box.amount.text)
    if not manifest["source"]["per_source"] and usd is not None and total.figures[0] != usd:
        return [f"{total.where()}: its USD {total.figures[0]} is not the box's original amount {usd}"]
    if len(total.figures) > 1 and amount is not None and total.figures[1] != amount:
        return [f"{total.where()}: its CNY {total.figures[1]} is not the box's amount {amount}"]
    return []


def _check_lines(
    lines: list[_Line],
    manifest: dict[str, Any],
    derived: Derived,
    base: str,
) -> list[str]:
    """Each line is the rows' amount of its member (or key) on ``base``; a team's keys of no member are 未分配."""
    qpu = Decimal(manifest["source"]["quota_per_unit"])
    quota: dict[str, int] = {}
    for (key, _), figures in derived.by_key_model.items():
        quota[key] = quota.get(key, 0) + figures[4]
    if base == "wallet":
        for key, sub in derived.subscription_by_key.items():
            quota[key] = quota.get(key, 0) - sub
    members = manifest["members"] or []
    if manifest["filters"].get("member") is not None:  # a member's claim: one line per key
        expected = {_squash(k): quota.get(k, 0) for m in members for k in m["keys"]}
    else:
        expected = {_squash(m["name"]): sum(quota.get(k, 0) for k in m["keys"]) for m in members}
    rate_text = manifest["source"]["cny_per_usd"]
    rate = None if rate_text is None else Decimal(rate_text)
    unassigned = {_squash(w("claim_unassigned")) for w in wordings(manifest)}
    printed: set[str] = set()
    rest: _Line | None = None
    for line in lines:
        name = _squash(line.name)
        if name in unassigned:
            rest = line
            continue
        if name not in expected:
            return [f"{line.where()} names no member or key of the packet"]
        printed.add(name)
        found = _amounts(line, Decimal(expected[name]) / qpu, rate)
        if found:
            return [found]
    # a key no member lists is a member named after itself: a team's claim adds those up as 未分配
    unmapped = (
        {_squash(m["name"]) for m in members if m["keys"] == [m["name"]]} if rest is not None else set()
    )
    left = {n: q for n, q in expected.items() if n not in printed}
    missing = [n for n, q in left.items() if n not in unmapped and cents(Decimal(q) / qpu)]
    if missing:
        return [
            f"附件1 has no line for {one_line(missing[0], 60)!r}, whose spend the rows give: a line was removed"
        ]
    if rest is not None:
        found = _amounts(rest, Decimal(sum(q for n, q in left.items() if n in unmapped)) / qpu, rate)
        return [] if found is None else [found]
    return []


def _amounts(line: _Line, usd: Decimal, rate: Decimal | None) -> str | None:
    if line.figures[0] != cents(usd):
        return f"{line.where()}: USD {line.figures[0]} is not the rows' {cents(usd)}"
    if rate is not None and len(line.figures) > 1 and line.figures[1] != cents(usd * rate):
        return f"{line.where()}: CNY {line.figures[1]} is not the rows' {cents(usd * rate)}"
    return None


__all__ = ["check_claim", "value_after"]
