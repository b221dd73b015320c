"""The import rules of docs/architecture.md: no import points outward, and none closes a cycle.

The imports are read from the source with :mod:`ast` (nothing is imported), every one of
them: at the top of a module, inside a function, and under ``TYPE_CHECKING`` (a type is a
dependency too). Cycles are counted over the imports that run, so those under
``TYPE_CHECKING`` are left out of that test only.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "chatrec"

# Outermost first. A module may import its own top-level package and any package of a
# later (inner) layer; packages that share a layer may not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("chatrec.__main__",),
    ("chatrec.cli",),
    ("chatrec.simulate",),
    ("chatrec.bootstrap",),
    ("chatrec.web", "chatrec.demo"),
    ("chatrec.services",),
    ("chatrec.config", "chatrec.verification"),
    ("chatrec.delivery", "chatrec.live"),
    ("chatrec.store",),
    ("chatrec.files", "chatrec.blocking"),
    ("chatrec.flows",),
    ("chatrec.domain",),
    ("chatrec.errors",),
)

# The imports that break the layers today, each with why it stays (importer, imported).
EXCEPTIONS: frozenset[tuple[str, str]] = frozenset(
    {
        # The demo page of the widget (/widget/demo) lists the demo company's services.
        ("chatrec.web.pages", "chatrec.demo.company"),
    }
)


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    type_only: bool

    def __str__(self) -> str:
        path = _path_of(self.importer).relative_to(SRC.parent)
        return f"{self.importer} imports {self.imported} ({path}:{self.line})"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _path_of(module: str) -> Path:
    return MODULES[module]


def _resolve(name: str) -> str | None:
    """The module of ``name`` (a module, or a name defined in one)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            inside.update(id(sub) for stmt in node.body for sub in ast.walk(stmt))
    return inside


def _imports_of(module: str) -> Iterator[Import]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    type_only = _type_checking_nodes(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            names = [source] + [f"{source}.{alias.name}" for alias in node.names]
        for name in names:
            if name != "chatrec" and not name.startswith("chatrec."):
                continue
            target = _resolve(name)
            if target is not None and target != module:
                yield Import(module, target, node.lineno, id(node) in type_only)


IMPORTS: list[Import] = sorted(
    {i for module in MODULES for i in _imports_of(module)},
    key=lambda i: (i.importer, i.imported, i.line),
)


def _layer_of(module: str) -> tuple[int, str] | None:
    for depth, layer in enumerate(LAYERS):
        for package in layer:
            if module == package or module.startswith(package + "."):
                return depth, package
    return None


def outward_imports(imports: list[Import]) -> list[str]:
    """Every import that points outward or sideways between layers, as a sentence."""
    found: list[str] = []
    for i in imports:
        if (i.importer, i.imported) in EXCEPTIONS:
            continue
        source, target = _layer_of(i.importer), _layer_of(i.imported)
        if source is None or target is None:
            continue  # test_every_module_has_a_layer names it
        if source[1] == target[1] or target[0] > source[0]:
            continue
        if target[0] < source[0]:
            found.append(f"{i}: {target[1]} is a layer outside {source[1]}")
        else:
            found.append(f"{i}: {target[1]} shares the layer of {source[1]}")
    return found


def import_cycles(imports: list[Import]) -> list[list[str]]:
    """The cycles among the imports that run (Tarjan's strongly connected components)."""
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for i in imports:
        if not i.type_only:
            graph[i.importer].add(i.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return cycles


def test_the_imports_are_read() -> None:
    assert len(MODULES) > 100
    assert any(i.importer == "chatrec.web.ws" for i in IMPORTS)


def test_every_module_has_a_layer() -> None:
    unplaced = sorted(m for m in MODULES if m != "chatrec" and _layer_of(m) is None)
    assert not unplaced, (
        "modules outside every layer; place them in LAYERS of tests/unit/test_architecture.py "
        f"and in docs/architecture.md: {unplaced}"
    )


def test_no_import_points_outward() -> None:
    found = outward_imports(IMPORTS)
    assert not found, "imports against the layers of docs/architecture.md:\n" + "\n".join(found)


def test_the_exceptions_still_exist() -> None:
    pairs = {(i.importer, i.imported) for i in IMPORTS}
    stale = sorted(EXCEPTIONS - pairs)
    assert not stale, f"exceptions no longer needed, remove them from EXCEPTIONS: {stale}"


def test_the_domain_imports_only_the_errors() -> None:
    found = [
        str(i)
        for i in IMPORTS
        if i.importer.startswith("chatrec.domain")
        and not i.imported.startswith("chatrec.domain")
        and i.imported != "chatrec.errors"
    ]
    assert not found, "the domain is pure, it imports only chatrec.errors:\n" + "\n".join(found)


def test_no_import_cycle() -> None:
    cycles = import_cycles(IMPORTS)
    lines = []
    for cycle in cycles:
        lines.append("a cycle among " + ", ".join(cycle) + "; its imports:")
        lines += [
            f"  {i}"
            for i in IMPORTS
            if not i.type_only and i.importer in cycle and i.imported in cycle
        ]
    assert not cycles, "import cycles:\n" + "\n".join(lines)


@pytest.mark.parametrize(
    ("importer", "imported", "blamed"),
    [
        ("chatrec.domain.journal", "chatrec.store.records", True),
        ("chatrec.store.chats", "chatrec.services.chats", True),
        ("chatrec.live.registry", "chatrec.delivery.worker", True),
        ("chatrec.demo.company", "chatrec.web.pages", True),
        ("chatrec.services.chats", "chatrec.store.records", False),
        ("chatrec.web.ws", "chatrec.services.chats", False),
    ],
)
def test_the_check_blames_an_outward_import(importer: str, imported: str, blamed: bool) -> None:
    found = outward_imports([Import(importer, imported, 1, type_only=False)])
    assert bool(found) is blamed
    if blamed:
        assert f"{importer} imports {imported}" in found[0]


def test_the_check_finds_a_cycle() -> None:
    extra = Import("chatrec.store.records", "chatrec.store.chats", 1, type_only=False)
    cycles = import_cycles([*IMPORTS, extra])
    assert any({"chatrec.store.chats", "chatrec.store.records"} <= set(c) for c in cycles)
