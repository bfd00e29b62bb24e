"""No module of the package reaches into another module's private names.

A name starting with ``_`` belongs to its module: other modules (an exporter's sibling
included) import public names only, and a private module (``_name.py``) is imported only
from its own package.  What exporters share lives in :mod:`reportgen.render`.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "reportgen"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        out.append((".".join(("reportgen", *parts)), path))
    return out


def _is_module(dotted: str) -> bool:
    rel = Path(*dotted.split(".")[1:]) if "." in dotted else Path()
    return (PACKAGE / rel).with_suffix(".py").is_file() or (PACKAGE / rel / "__init__.py").is_file()


def _target(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute dotted name an ``ImportFrom`` reads from."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *(node.module.split(".") if node.module else [])])


def _package(dotted: str) -> str:
    return dotted.rpartition(".")[0]


def _problems(module: str, path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    home = module if path.name == "__init__.py" else _package(module)  # the package ``module`` lives in
    found: list[str] = []
    bound: dict[str, str] = {}  # local name -> reportgen module it names

    def private_module(target: str) -> str | None:
        """The private part of ``target`` when ``module`` lives outside its package."""
        parts = target.split(".")
        for i, part in enumerate(parts):
            if _private(part) and home != ".".join(parts[:i]):
                return ".".join(parts[: i + 1])
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = _target(module, path, node)
            if not target.startswith("reportgen"):
                continue
            if (hidden := private_module(target)) is not None:
                found.append(f"{module} imports from the private module {hidden}")
            for alias in node.names:
                full = f"{target}.{alias.name}"
                if _is_module(full):
                    bound[alias.asname or alias.name] = full
                    if _private(alias.name) and home != target:
                        found.append(f"{module} imports the private module {full}")
                elif _private(alias.name) and target != module:
                    found.append(f"{module} imports {target}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("reportgen"):
                    if (hidden := private_module(alias.name)) is not None:
                        found.append(f"{module} imports the private module {hidden}")
                    if alias.asname:
                        bound[alias.asname] = alias.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            chain = [node.attr]
            value = node.value
            while isinstance(value, ast.Attribute):
                chain.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name):
                head = bound.get(value.id) or (value.id if value.id == "reportgen" else None)
                if head is not None:
                    dotted = ".".join([head, *reversed(chain[1:])])
                    if dotted != module:
                        found.append(f"{module} reads {dotted}.{node.attr}")
    return found


def test_no_module_imports_another_modules_private_names() -> None:
    problems = [p for module, path in _modules() for p in _problems(module, path)]
    assert not problems, "\n".join(problems)


def test_the_scan_sees_what_it_forbids(tmp_path: Path) -> None:
    """The scan itself catches each form it is there for (so an empty list means something)."""
    cases = {
        "from .sheets import _Writer": "imports reportgen.exporters.xlsx.sheets._Writer",
        "from .. import _cells": "imports reportgen.exporters._cells",
        "from .. import _fonts": "imports reportgen.exporters._fonts",
        "from .._cells import csv_text": "private module reportgen.exporters._cells",
        "from . import sheets\nsheets._day(1)": "reads reportgen.exporters.xlsx.sheets._day",
        "import reportgen.exporters.xlsx.sheets as s\ns._day(1)": "reads reportgen.exporters.xlsx.sheets._day",
        "from reportgen.render import cells\ncells._EPOCH": "reads reportgen.render.cells._EPOCH",
    }
    for source, expected in cases.items():
        path = tmp_path / "probe.py"
        path.write_text(source + "\n", encoding="utf-8")
        problems = _problems("reportgen.exporters.xlsx.probe", path)
        assert any(expected in p for p in problems), (source, problems)
    path = tmp_path / "probe.py"
    path.write_text(
        "from .sheets import Writer\nfrom ..pdf import builder\nbuilder.Builder\n", encoding="utf-8"
    )
    assert _problems("reportgen.exporters.xlsx.probe", path) == []


def test_other_modules_import_an_exporter_through_its_package() -> None:
    """Outside ``reportgen/exporters/X/``, only ``reportgen.exporters.X`` itself is imported (its
    ``__init__`` says what is public), never one of its modules; what exporters share is in
    :mod:`reportgen.render`."""
    exporters = PACKAGE / "exporters"
    packages = {p.name for p in exporters.iterdir() if (p / "__init__.py").is_file()}
    found = []
    for module, path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                targets = [_target(module, path, node)]
                targets += [
                    f"{targets[0]}.{a.name}" for a in node.names if _is_module(f"{targets[0]}.{a.name}")
                ]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for target in targets:
                parts = target.split(".")
                if parts[:2] == ["reportgen", "exporters"] and len(parts) > 3 and parts[2] in packages:
                    owner = ".".join(parts[:3])
                    if not (module == owner or module.startswith(owner + ".")):
                        found.append(f"{module} imports {target}")
    assert not found, "\n".join(found)
