"""Does each member sheet of a packet's workbook total what the rows give for that member?

A member's sheet (a sheet headed as the registered workbook detail columns; past Excel's row
limit, several parts, the last one totalled) lists the member's rows, each naming its key; its
total line must give the member's input and output tokens, net quota and USD as the packet's
rows do.  The member is known from the keys its rows name (a sheet of no rows: from its title).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import IO, Any

from ... import plugins
from ...core.columns import DETAIL_XLSX, header_keys
from .figures import Derived, wordings

#: The figures a member sheet's total line gives, by column key: their index in the rows' figures.
_TOTALS = {"prompt_tokens": 2, "completion_tokens": 3, "quota": 4}
_NEEDED = ("key", "prompt_tokens", "completion_tokens", "quota", "cost_usd")
#: How far a USD total printed as a float may lie from the exact figure.
_USD_SLACK = Decimal("0.000001")


def member_sheet_problem(fp: IO[bytes], manifest: dict[str, Any], derived: Derived) -> tuple[str | None, int]:
    """The first member sheet whose total line is not its member's (None: all are), and how many
    member sheets were checked."""
    import openpyxl  # here: loading the plugins (this module's checks are registered) stays light

    members = manifest["members"] or []
    owner = {key: m["name"] for m in members for key in m["keys"]}
    expected = _by_member(members, derived)
    qpu = Decimal(manifest["source"]["quota_per_unit"])
    worded = wordings(manifest)
    columns = plugins.columns().detail(DETAIL_XLSX)
    totals = {w("total") for w in worded}
    checked = 0
    wb = openpyxl.load_workbook(fp, read_only=True, data_only=True)
    try:
        member: str | None = None
        for ws in wb.worksheets[1:]:
            rows = ws.iter_rows(values_only=True)
            keys = _header(next(rows, ()), columns, worded)
            if keys is None:
                continue
            if not _is_part(ws.title):
                member = None
            for row in rows:
                line = {k: v for k, v in zip(keys, row, strict=False) if k is not None}
                first = row[0] if row else None
                if first in totals:
                    name = member if member is not None else _by_title(ws.title, expected)
                    problem = _compare(ws.title, name, line, expected, qpu)
                    if problem is not None:
                        return problem, checked
                    checked += 1
                    member = None
                    break
                key = line.get("key")
                if isinstance(key, str) and key in owner:
                    if member is not None and owner[key] != member:
                        return (
                            f"its sheet {ws.title[:40]!r} holds rows of {member[:40]!r} and {owner[key][:40]!r}",
                            checked,
                        )
                    member = owner[key]
        return None, checked
    finally:
        wb.close()


def _header(
    row: tuple[Any, ...], columns: Any, worded: list[Callable[[str], str]]
) -> list[str | None] | None:
    cells = ["" if v is None else str(v) for v in row]
    for wording in worded:
        try:
            found = header_keys(cells, columns, wording)
        except ValueError:
            continue
        if all(k in found for k in _NEEDED):
            return found
    return None


def _is_part(title: str) -> bool:
    """A further part of ``member``'s sheet ("张三 (2)") follows its previous part."""
    return title.rstrip().endswith(")") and " (" in title


def _by_title(title: str, expected: dict[str, list[int]]) -> str | None:
    return title if title in expected else None


def _by_member(members: list[dict[str, Any]], derived: Derived) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for m in members:
        keys = set(m["keys"])
        mine = [0] * 6
        for (key, _), figures in derived.by_key_model.items():
            if key in keys:
                mine = [a + b for a, b in zip(mine, figures, strict=True)]
        out[m["name"]] = mine
    return out


def _compare(
    title: str, member: str | None, line: dict[str, Any], expected: dict[str, list[int]], qpu: Decimal
) -> str | None:
    if member is None:
        return f"its sheet {title[:40]!r} has a total line but no row naming a member's key"
    want = expected[member]
    shown = ", ".join(f"{k} {line.get(k)}" for k in (*_TOTALS, "cost_usd"))
    wrong = any(line.get(k) != want[i] for k, i in _TOTALS.items())
    usd = line.get("cost_usd")
    if wrong or usd is None or abs(Decimal(str(usd)) - Decimal(want[4]) / qpu) > _USD_SLACK:
        return f"the total line of {member[:60]!r}'s sheet {title[:40]!r} ({shown}) is not what the rows give"
    return None


__all__ = ["member_sheet_problem"]
