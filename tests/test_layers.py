"""The package reads top to bottom: each layer imports only the layers below it, SQL lives in the store."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "reportgen"

#: Layers from the bottom; a module may import its own layer and any layer listed before it.
LAYERS: list[tuple[str, set[str]]] = [
    ("errors", {"errors"}),
    ("core", {"core"}),
    ("config", {"config", "templating"}),
    ("plugins", {"hookspecs", "plugins", "flavors"}),
    ("testing", {"testing"}),
    ("gateway", {"gateway"}),
    ("sources", {"sources"}),
    ("store", {"store"}),
    ("read", {"read"}),
    ("exporters", {"exporters", "fonts", "render"}),
    ("app", {"app"}),
    ("web", {"web"}),
    ("alerts", {"alerts"}),  # watch and deliveries: sync, read and month-end's packets, then send
    ("cli", {"cli", "console", "demo", "__main__", "__init__"}),
]
#: Test helpers shipped in the package (the fake gateway): nothing of the package but the
#: demo imports them, and they import no layer above the flavour registry.
TEST_HELPERS = {"testing"}
#: The only imports allowed inside a function, each for a reason: the verifier alone loads
#: no store (its comparison with the preparer's store is loaded when one is given); openpyxl
#: is imported only when a workbook is written, reportlab only when a PDF is.
LAZY = {
    ("app.verify.check", "app.verify.against_store"),
    ("app.pades", "app.pdfa"),  # pdfa imports pyHanko (the pades extra): loaded only to sign PDFs
    ("app.packet", "app.pdfa"),
    ("app.signreport", "app.pdfa"),
    ("exporters.xlsx.__init__", "exporters.xlsx.workbook"),
    ("exporters.pdf.__init__", "exporters.pdf.document"),
    ("exporters.html.__init__", "exporters.html.page"),  # Jinja2 only when a page is written
    # a packet's modules (signing keys, PAdES, the manifest and the verifier its documents
    # import) only when a packet is written: `report --format csv` is timed against a bare script
    ("app.documents", "app.packet"),
    ("app.documents", "app.pades"),
    ("app.documents", "app.signing"),
    ("app.documents", "app.packetdocs"),
    ("app.documents", "app.signreport"),
}
#: Modules whose functions may import anything their layer may: each CLI command imports the
#: library it calls when it runs, so ``--version``, ``--help`` and one command import only
#: what they need (issue 27's start-up); the package's public names are imported on first use.
LAZY_MODULES = {
    "cli.commands",
    "cli.keys",
    "cli.stores",
    "cli.syncing",
    "cli.watching",
    "cli.serving",
    "__init__",
}
#: Pairs of layers that may not see each other although one sits above the other.
FORBIDDEN = {
    ("store", "config"),  # the store takes computed values; what the config means is decided above it
    ("store", "plugins"),  # nor which flavour reads a credit row: the bridge is computed in read/
    ("store", "gateway"),
    ("store", "sources"),
    ("exporters", "sources"),
    ("exporters", "store"),
    ("exporters", "read"),
    ("exporters", "gateway"),
}


def _top(module: str) -> str:
    return module.split(".")[0]


def _layer(top: str) -> int:
    for index, (_, members) in enumerate(LAYERS):
        if top in members:
            return index
    raise AssertionError(f"reportgen.{top} belongs to no layer; add it to LAYERS")


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        out.append((".".join(rel.parts), path))
    return out


def _imports(name: str, path: Path) -> list[tuple[str, bool]]:
    """reportgen modules imported by ``name`` (relative to the package), and whether inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name.split(".")[:-1]  # a module's package; an ``__init__``'s name ends in ``__init__``
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = nested or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package[: len(package) - (child.level - 1)] if child.level > 1 else package
                    target = ".".join([*base, *(child.module.split(".") if child.module else [])])
                    if not child.module:
                        for alias in child.names:
                            target = ".".join([*base, alias.name])
                            is_module = (PACKAGE / Path(*target.split("."))).with_suffix(".py").is_file() or (
                                PACKAGE / Path(*target.split("."))
                            ).is_dir()
                            found.append((target if is_module else ".".join(base) or "__init__", inner))
                        continue
                    found.append((target, inner))
                elif child.module and child.module.startswith("reportgen"):
                    found.append((child.module.removeprefix("reportgen").lstrip("."), inner))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("reportgen."):
                        found.append((alias.name.removeprefix("reportgen."), inner))
            visit(child, inner)

    visit(tree, False)
    return [(t, n) for t, n in found if t]


def test_every_module_imports_only_its_own_layer_and_the_layers_below() -> None:
    problems = []
    for name, path in _modules():
        top = _top(name)
        for target, nested in _imports(name, path):
            other = _top(target)
            if other == "__init__" or target == "":
                continue
            if other in TEST_HELPERS and top not in TEST_HELPERS | {"demo"}:
                problems.append(f"{name} imports the fake gateway")
                continue
            if nested and (name, target) not in LAZY and name not in LAZY_MODULES:
                problems.append(f"{name} imports reportgen.{target} inside a function")
            mine, theirs = _layer(top), _layer(other)
            if theirs > mine:
                problems.append(
                    f"{name} ({LAYERS[mine][0]}) imports reportgen.{target} ({LAYERS[theirs][0]})"
                )
            if (LAYERS[mine][0], LAYERS[theirs][0]) in FORBIDDEN:
                problems.append(f"{name} may not import reportgen.{target}")
    assert not problems, "\n".join(problems)


def test_the_import_graph_has_no_cycles() -> None:
    names = {name for name, _ in _modules()}
    graph: dict[str, set[str]] = {}
    for name, path in _modules():
        edges = set()
        for target, _ in _imports(name, path):
            if target in names:
                edges.add(target)
            elif f"{target}.__init__" in names:
                edges.add(f"{target}.__init__")
        graph[name] = edges - {name}
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node)


def test_no_module_is_imported_by_name_to_dodge_these_rules() -> None:
    """Lazy imports are spelled as imports (and listed in LAZY), never ``importlib`` by name;
    only the plugin manager imports by name (the built-in plugins it lists)."""
    found = [
        name
        for name, path in _modules()
        if name != "plugins" and "import_module(f" in path.read_text(encoding="utf-8")
    ]
    assert not found, found


def test_sql_runs_only_in_the_store() -> None:
    """No module but the store runs SQL on the store (``sources`` queries the gateway's own database)."""
    outside = []
    for name, path in _modules():
        if _top(name) in {"store", "testing", "sources"}:
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("execute(", "executemany(", "executescript(", "sqlite3"):
            if needle in text:
                outside.append(f"{name}: {needle}")
    assert not outside, outside


def test_only_the_store_package_touches_the_private_connection() -> None:
    users = [name for name, path in _modules() if "._conn" in path.read_text(encoding="utf-8")]
    assert users and all(_top(name) == "store" for name in users), users


def test_every_package_is_listed_for_a_normal_install() -> None:
    """pyproject.toml lists the packages a wheel holds: one left out installs a broken tool
    (``pip install .`` then fails to import it), though an editable install hides it."""
    import tomllib

    listed = set(
        tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
            "packages"
        ]
    )
    found = {
        ".".join(("reportgen", *init.parent.relative_to(PACKAGE).parts))
        for init in PACKAGE.rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert found <= listed, sorted(found - listed)
