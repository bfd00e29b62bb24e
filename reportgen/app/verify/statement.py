"""Does a packet's PDF print what its rows give: the page people read, checked figure by figure.

From the text of every page (:mod:`.pdftext`), in the wording of the packet's template (or
the shipped zh/en): each page's footer names the manifest's statement number and rows
fingerprint and no other; each line of a member or model table (requests, input and
output tokens, USD) is a line the rows give, and every line the rows give is printed; the
grand totals in USD and CNY are the manifest's; every exchange rate printed is the
manifest's; the 小写 amount is the CNY the rows give and the 大写 says the same amount.
A difference names the page and the line.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from ...core.capitals import rmb_capitals
from ...core.money import cents, printed_rate
from .figures import Derived, wordings
from .reading import Malformed, one_line

_INT = r"-?\d{1,3}(?:,\d{3})*"
_MONEY = _INT + r"\.\d{2}"
#: A line of a member or model table: a name, then requests, input tokens, output tokens, USD.
_TABLE_LINE = re.compile(rf"^(?:(.*\S)\s+)?({_INT})\s+({_INT})\s+({_INT})\s+({_MONEY})$")
_FINGERPRINT = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")
_AMOUNT = re.compile(rf"^[¥￥$]?\s*({_MONEY})$")
_RATE = r"\s*(\d[\d,]*(?:\.\d+)?)\s*"

#: (requests, input tokens, output tokens, USD as printed)
Figures = tuple[int, int, int, Decimal]


class Page:
    """One page's lines, for messages that name where a figure is."""

    def __init__(self, number: int, text: str) -> None:
        self.number = number
        self.lines = [" ".join(line.split()) for line in text.splitlines()]


def check_statement(name: str, pages: list[str], manifest: dict[str, Any], derived: Derived) -> list[str]:
    """What the PDF ``name`` prints that its packet's rows and manifest do not give (empty: all agree)."""
    doc = [Page(n, text) for n, text in enumerate(pages, 1)]
    found: list[str] = []
    found += footers(doc, manifest)
    found += _rates(doc, manifest)
    found += _amounts(doc, manifest)
    found += _tables(doc, manifest, derived)
    return found


# -- footers ----------------------------------------------------------------------------------


def footers(doc: list[Page], manifest: dict[str, Any]) -> list[str]:
    fingerprint = manifest["rows"]["fingerprint"]
    number = None if manifest["statement"] is None else manifest["statement"]["number"]
    for page in doc:
        text = "\n".join(page.lines)
        others = [f for f in _FINGERPRINT.findall(text) if f != fingerprint]
        if others:
            return [
                f"page {page.number} states the rows fingerprint {others[0][:16]}…, the manifest "
                f"{fingerprint[:16]}…: the PDF is not this packet's statement"
            ]
        if fingerprint not in text:
            return [f"page {page.number} does not state the rows fingerprint {fingerprint[:16]}…"]
        if number is not None and number not in text:
            return [f"page {page.number} does not state the statement number {one_line(number, 40)}"]
    head = None if manifest["statement"] is None else manifest["statement"].get("audit_head")
    if head is not None and doc:
        seq, _, digest = head.partition(":")
        shown = f"#{seq} {digest[:16]}"
        if shown not in " ".join(doc[0].lines):
            return [f"page 1 does not state the audit log head {shown} the packet was issued at"]
    return []


# -- rates, totals, the claim amount ------------------------------------------------------------


def after(doc: list[Page], labels: Iterable[str]) -> Iterable[tuple[Page, int, str]]:
    """Each line that follows a line worded as one of ``labels`` (a table's label cell and its value)."""
    wanted = {" ".join(label.split()) for label in labels}
    for page in doc:
        for i, line in enumerate(page.lines[:-1]):
            if line in wanted:
                yield page, i + 2, page.lines[i + 1]


def labels_of(manifest: dict[str, Any], key: str) -> list[str]:
    return list(dict.fromkeys(wording(key) for wording in wordings(manifest)))


def _rate_patterns(manifest: dict[str, Any]) -> list[re.Pattern[str]]:
    """The rate lines' wording up to the rate, the rate, and the currency word after it."""
    out = []
    for key in ("rate_equation", "rate_line", "rate_line_dated"):
        for text in labels_of(manifest, key):
            before, sep, after = text.partition("{rate}")
            if not sep:
                continue
            prefix = " ".join(before.rpartition("}")[2].split())
            unit = re.split(r"[。.,，;；{]", after.strip(), maxsplit=1)[0].strip()
            if prefix and unit:
                out.append(re.compile(re.escape(prefix) + _RATE + re.escape(unit)))
    return out


def _rates(doc: list[Page], manifest: dict[str, Any]) -> list[str]:
    rate = manifest["source"]["cny_per_usd"]
    if manifest["source"]["per_source"]:  # each source's rate is printed; the manifest states none of them
        return []
    patterns = _rate_patterns(manifest)
    for page in doc:
        text = " ".join(page.lines)
        for pattern in patterns:
            for match in pattern.finditer(text):
                printed = decimal_of(match.group(1))
                if rate is None:
                    return [
                        f"page {page.number}: prints the exchange rate {match.group(1)}, the manifest has none"
                    ]
                if printed not in (Decimal(rate), printed_rate(Decimal(rate))):
                    return [
                        f"page {page.number}: prints the exchange rate {match.group(1)}, the manifest's is {rate}"
                    ]
    return []


def _amounts(doc: list[Page], manifest: dict[str, Any]) -> list[str]:
    t = manifest["totals"]
    rate = manifest["source"]["cny_per_usd"]
    whole = manifest["charged"] is None  # a project's statement prints its charged shares, not the rows
    usd = cents(t["cost_usd"])
    cny = None if rate is None or manifest["source"]["per_source"] else cents(t["cost_usd"] * Decimal(rate))
    found: list[str] = []
    if whole:
        for page, n, value in after(doc, labels_of(manifest, "grand_total_usd")):
            if money_of(value) != usd:
                found.append(f"page {page.number}, line {n}: the total {value!r} is not the rows' USD {usd}")
        for page, n, value in after(doc, labels_of(manifest, "grand_total_cny")):
            if cny is not None and money_of(value) != cny:
                found.append(f"page {page.number}, line {n}: the total {value!r} is not the rows' CNY {cny}")
    claimed = []
    for page, n, value in after(doc, labels_of(manifest, "claim_amount_figures")):
        amount = money_of(value)
        claimed.append(amount)
        bases = [t["cost_usd"]]
        if t["subscription_quota"]:  # a claim of the wallet-paid spend leaves the subscription's out
            bases.append(
                t["cost_usd"]
                - Decimal(t["subscription_quota"]) / Decimal(manifest["source"]["quota_per_unit"])
            )
        if whole and cny is not None and amount not in {cents(b * Decimal(rate)) for b in bases}:
            found.append(f"page {page.number}, line {n}: the amount {value!r} is not the rows' CNY {cny}")
    for (page, n, value), amount in zip(
        after(doc, labels_of(manifest, "claim_amount_words")), claimed, strict=False
    ):
        if (
            amount is not None
            and amount >= 0
            and value.startswith("人民币")
            and value != rmb_capitals(amount)
        ):
            found.append(
                f"page {page.number}, line {n}: the amount in words {value!r} is not {rmb_capitals(amount)} "
                f"(the amount in figures)"
            )
    return found


# -- member and model lines --------------------------------------------------------------------


def _tables(doc: list[Page], manifest: dict[str, Any], derived: Derived) -> list[str]:
    """Every table line printed is one the rows give, and every line the rows give is printed."""
    members = manifest["members"]
    if members is None or manifest["charged"] is not None:
        return []
    qpu = Decimal(manifest["source"]["quota_per_unit"])
    heads = _table_heads(manifest)
    header = next((kind for page in doc for line in page.lines for kind, h in heads if line == h), None)
    if header is None:
        return []  # a template without member tables (or worded as verify cannot know): the totals above stand
    by_model, by_member, total = _expected(members, derived, qpu)
    want = Counter(by_member + [total]) if header == "member" else Counter(by_model + by_member)
    printed: list[tuple[Page, str, Figures]] = []
    for page in doc:
        for line in page.lines:
            match = _TABLE_LINE.match(line)
            if match:
                figures = (*(int(g.replace(",", "")) for g in match.groups()[1:4]), money_of(match.group(5)))
                printed.append((page, line, figures))  # type: ignore[arg-type]
    left = want.copy()
    for page, line, figures in printed:
        if left[figures] > 0:
            left[figures] -= 1
        else:
            return [f"page {page.number}: the line {one_line(line, 120)!r} is not a line the rows give"]
    missing = [f for f, n in left.items() if n > 0 and f != (0, 0, 0, Decimal("0.00"))]
    if missing:
        r, p, c, usd = missing[0]
        return [
            f"no line prints what the rows give for one of its members or models "
            f"({r:,} requests, {p:,} and {c:,} tokens, USD {usd}): a line was removed or changed"
        ]
    return []


def _table_heads(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for wording in wordings(manifest):
        figures = [wording(k) for k in ("requests", "prompt_tokens", "completion_tokens", "amount_usd")]
        for kind in ("model", "member"):
            out.append((kind, " ".join(" ".join([wording(kind), *figures]).split())))
    return out


def _expected(
    members: list[dict[str, Any]], derived: Derived, qpu: Decimal
) -> tuple[list[Figures], list[Figures], Figures]:
    """The model lines, the member lines (each a subtotal too) and the total line the rows give."""
    by_model: list[Figures] = []
    by_member: list[Figures] = []
    everyone = [0, 0, 0, 0]
    for member in members:
        keys = set(member["keys"])
        models: dict[str, list[int]] = {}
        for (key, model), figures in derived.by_key_model.items():
            if key in keys:
                into = models.setdefault(model, [0] * len(figures))
                for i, value in enumerate(figures):
                    into[i] += value
        mine = [sum(m[i] for m in models.values()) for i in range(6)] if models else [0] * 6
        if not (mine[0] or mine[1] or mine[5]):
            continue  # shown among the members without use
        by_model += [_figures(m, qpu) for m in models.values()]
        by_member.append(_figures(mine, qpu))
        for i, k in enumerate((0, 2, 3, 4)):
            everyone[i] += mine[k]
    total = (everyone[0], everyone[1], everyone[2], cents(Decimal(everyone[3]) / qpu))
    return by_model, by_member, total


def _figures(line: list[int], qpu: Decimal) -> Figures:
    return line[0], line[2], line[3], cents(Decimal(line[4]) / qpu)


def money_of(text: str) -> Decimal | None:
    match = _AMOUNT.match(text.strip())
    return None if match is None else decimal_of(match.group(1))


def decimal_of(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


def check_pdf(name: str, pages: list[str], manifest: dict[str, Any], derived: Derived,
              differ: Callable[[str], None], passed: Callable[[str], None]) -> None:  # fmt: skip
    """Record the first difference of the PDF, or that its figures are the rows'."""
    found = check_statement(name, pages, manifest, derived)
    if found:
        differ(found[0])
    else:
        passed(f"its {len(pages)} page(s) print the rows' figures, totals, rate and fingerprint")


__all__ = [
    "Malformed",
    "Page",
    "after",
    "check_pdf",
    "check_statement",
    "decimal_of",
    "footers",
    "labels_of",
    "money_of",
]
